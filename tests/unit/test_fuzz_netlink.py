"""Fuzzing the C core's reply parsers (nlc_parse_link, _addr, _route:
one dump message into one record; nlc_parse_acks: one datagram of
replies into the batch's results), the very functions the dump and exec
paths run on what the kernel sends.

Inputs are arbitrary bytes, and messages encoded by pyroute2's classes,
whole (they must parse to the values pyroute2 encoded) or damaged (bits
flipped, cut, extended, header and attribute lengths rewritten, nested
attributes broken).  Every input sits in a heap block of exactly its
length, so under `.ci/dev asan` any read past it fails the run; in any
build the C results must equal those of an independent model of the
documented contract (fuzz_util.py) and keep their invariants
(NUL-terminated strings, nothing written on failure or past n results).
No root, no socket.
"""

from __future__ import annotations

import ipaddress
import struct

import pytest

from fuzz_util import (EPROTO, FAMLEN, HDR, IFLA_LINKINFO, MODELS,
                       NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR,
                       NLMSG_NOOP, PENDING, RTM_NEWADDR, RTM_NEWLINK,
                       RTM_NEWROUTE, align4, model_acks, parse, parse_acks)

pytest.importorskip("pyroute2")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

FUZZ = settings(deadline=None, max_examples=400,
                suppress_health_check=[HealthCheck.too_slow])
TYPES = (RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE)
PORT, BASE = 4242, 2**32 - 3            # sequence numbers wrap in a batch
U8, U16 = st.integers(0, 255), st.integers(0, 2**16 - 1)
U32, U64 = st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)
S32 = st.integers(-(2**31), 2**31 - 1)
# printable, no NUL: pyroute2's asciiz adds the terminator
text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
               max_size=40)
ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


def check_all(msg: bytes) -> None:
    """Every parser on msg agrees with its model."""
    for mtype in TYPES:
        got = parse(mtype, msg)
        assert got == MODELS[mtype](msg), mtype
        if got[0] != 1:
            event(f"rc {got[0]}")    # --hypothesis-show-statistics


def check_acks(buf: bytes, n: int) -> None:
    """nlc_parse_acks on buf agrees with the model."""
    got = parse_acks(buf, PORT, BASE, n)
    assert got == _model_acks(buf, n)
    event(f"rc {got[0]}" if got[0] < 0 else "acks taken")


def _encode(m, mtype: int, attrs: list, draw) -> bytes:
    m["header"]["type"] = mtype
    m["header"]["flags"] = draw(U16)
    m["attrs"] = draw(st.permutations(attrs))
    m.encode()
    return bytes(m.data)


# --------------------------------------------- pyroute2-encoded messages

@st.composite
def links(draw):
    """(bytes, the record they must parse to)."""
    m = ifinfmsg()
    m["family"], m["ifi_type"] = draw(U8), draw(U16)
    m["index"], m["flags"], m["change"] = draw(S32), draw(U32), draw(U32)
    want = dict(index=m["index"], flags=m["flags"], name=b"", mtu=0,
                master=0, link=0, link_netnsid=-1, group=0, alias=b"",
                mac_len=0, mac=bytes(32), stats=(0,) * 8, kind=b"")
    attrs = [("IFLA_TXQLEN", draw(U32)), ("IFLA_QDISC", draw(text))]
    if draw(st.booleans()):
        name = draw(text)
        attrs.append(("IFLA_IFNAME", name))
        want["name"] = name.encode()[:15]
    if draw(st.booleans()):
        alias = draw(text)
        attrs.append(("IFLA_IFALIAS", alias))
        want["alias"] = alias.encode() if len(alias.encode()) < 127 else b""
    for nla, key, val in (("IFLA_MTU", "mtu", U32),
                          ("IFLA_MASTER", "master", S32),
                          ("IFLA_LINK", "link", S32),
                          ("IFLA_GROUP", "group", U32),
                          ("IFLA_LINK_NETNSID", "link_netnsid", S32)):
        if draw(st.booleans()):
            want[key] = draw(val)
            attrs.append((nla, want[key] % 2**32
                          if nla != "IFLA_LINK_NETNSID" else want[key]))
    if draw(st.booleans()):
        mac = draw(st.binary(min_size=6, max_size=6))
        attrs.append(("IFLA_ADDRESS", ":".join(f"{b:02x}" for b in mac)))
        want["mac_len"], want["mac"] = 6, mac.ljust(32, b"\0")
    if draw(st.booleans()):
        names = [f for f, _ in ifinfmsg.ifstats64.fields]
        stats = {f: draw(U64) for f in names}
        attrs.append(("IFLA_STATS64", stats))
        want["stats"] = tuple(stats[f] for f in names[:8])
    if draw(st.booleans()):
        kind = draw(text)
        attrs.append(("IFLA_LINKINFO",
                      {"attrs": [("IFLA_INFO_KIND", kind)]}))
        want["kind"] = kind.encode()[:15]
    return _encode(m, RTM_NEWLINK, attrs, draw), want


@st.composite
def addrs(draw):
    m = ifaddrmsg()
    v6 = draw(st.booleans())
    m["family"] = 10 if v6 else 2
    m["prefixlen"], m["flags"], m["scope"] = draw(U8), draw(U8), draw(U8)
    m["index"] = draw(U32)
    ip = ipv6 if v6 else ipv4
    want = dict(index=m["index"] - (m["index"] >> 31 << 32),
                family=m["family"], prefixlen=m["prefixlen"],
                scope=m["scope"], flags=m["flags"], addr=bytes(16),
                local=bytes(16), label=b"")
    attrs = []
    address, local = draw(st.none() | ip), draw(st.none() | ip)
    if address is not None:
        attrs.append(("IFA_ADDRESS", str(address)))
    if local is not None:
        attrs.append(("IFA_LOCAL", str(local)))
    if address is None:
        address = local
    if local is None:
        local = address
    if address is not None:
        want["addr"] = address.packed.ljust(16, b"\0")
        want["local"] = local.packed.ljust(16, b"\0")
    if draw(st.booleans()):
        label = draw(text)
        attrs.append(("IFA_LABEL", label))
        want["label"] = label.encode()[:15]
    if draw(st.booleans()):
        want["flags"] = draw(U32)
        attrs.append(("IFA_FLAGS", want["flags"]))
    return _encode(m, RTM_NEWADDR, attrs, draw), want


@st.composite
def routes(draw):
    m = rtmsg()
    v6 = draw(st.booleans())
    m["family"] = 10 if v6 else 2
    for f in ("dst_len", "src_len", "tos", "table", "proto", "scope",
              "type"):
        m[f] = draw(U8)
    m["flags"] = draw(U32)
    ip = ipv6 if v6 else ipv4
    want = dict(family=m["family"], dst_len=m["dst_len"],
                protocol=m["proto"], scope=m["scope"], type=m["type"],
                flags=m["flags"], table=m["table"], oif=0, priority=0,
                dst=bytes(16), has_gateway=0, gateway=bytes(16))
    attrs = [("RTA_MARK", draw(U32))]
    for nla, key in (("RTA_DST", "dst"), ("RTA_GATEWAY", "gateway")):
        if draw(st.booleans()):
            a = draw(ip)
            attrs.append((nla, str(a)))
            want[key] = a.packed.ljust(16, b"\0")
            want["has_gateway"] |= key == "gateway"
    for nla, key, val in (("RTA_TABLE", "table", U32),
                          ("RTA_OIF", "oif", S32),
                          ("RTA_PRIORITY", "priority", U32)):
        if draw(st.booleans()):
            want[key] = draw(val)
            attrs.append((nla, want[key] % 2**32))
    return _encode(m, RTM_NEWROUTE, attrs, draw), want


ENCODED = {RTM_NEWLINK: links(), RTM_NEWADDR: addrs(),
           RTM_NEWROUTE: routes()}


@pytest.mark.parametrize("mtype", TYPES)
@FUZZ
@given(data=st.data())
def test_encoded_messages_parse_to_their_values(mtype, data):
    msg, want = data.draw(ENCODED[mtype])
    assert parse(mtype, msg) == (0, want)
    assert MODELS[mtype](msg) == (0, want)        # the model agrees
    # another parser's type: 1; bytes past nlmsg_len are not read
    for other in TYPES:
        if other != mtype:
            assert parse(other, msg)[0] == 1
    assert parse(mtype, msg + data.draw(st.binary(max_size=64))) == \
        (0, want)


# ------------------------------------------------------------- damage

def tlv_offsets(buf: bytes, start: int, end: int, depth: int = 0) -> list:
    """Offsets of the attribute headers in buf[start:end], nested ones
    (NLA_F_NESTED, IFLA_LINKINFO's) included, as far as they are whole."""
    out, off = [], start
    while end - off >= 4:
        nla_len, nla_type = struct.unpack_from("=HH", buf, off)
        if nla_len < 4 or off + nla_len > end:
            break
        out.append(off)
        if depth < 3 and (nla_type & 0x8000 or
                          (depth == 0 and nla_type == IFLA_LINKINFO)):
            out += tlv_offsets(buf, off + 4, off + nla_len, depth + 1)
        off += align4(nla_len)
    return out


def offsets(buf: bytes) -> tuple[list, list]:
    """(message headers, attribute headers) of a datagram: the attributes
    of dump records, of RTM_NEWLINK replies and acks' ext-ack TLVs."""
    heads, attrs, off = [], [], 0
    while len(buf) - off >= HDR:
        length, mtype, flags = struct.unpack_from("=IHH", buf, off)
        if length < HDR or off + length > len(buf):
            break
        heads.append(off)
        start = None
        if mtype in FAMLEN:
            start = off + HDR + align4(FAMLEN[mtype])
        elif mtype == NLMSG_ERROR and length >= HDR + 20:
            quoted = struct.unpack_from("=I", buf, off + HDR + 4)[0]
            start = off + HDR + 20
            if not flags & NLM_F_CAPPED and quoted > HDR:
                start += align4(quoted) - HDR
        if start is not None:
            attrs += tlv_offsets(buf, start, off + length)
        off += align4(length)
    return heads, attrs


@st.composite
def damaged(draw, msg: bytes):
    """msg (a message or a datagram) damaged one to four times."""
    buf = bytearray(msg)
    heads, attrs = offsets(msg)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "extend", "insert",
                                    "nlmsg_len", "nla_len", "nla_len",
                                    "nla_type"]))
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        if how == "flip" and buf:
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del buf[draw(st.integers(0, len(buf))):]
        elif how == "extend":
            buf += draw(st.binary(min_size=1, max_size=64))
        elif how == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "nlmsg_len" and heads:
            off = draw(st.sampled_from(heads))
            n = draw(st.integers(0, len(buf) + 16) | st.just(2**32 - 1))
            if off + 4 <= len(buf):
                buf[off:off + 4] = struct.pack("=I", n)
        elif how == "nla_len" and attrs:
            off = draw(st.sampled_from(attrs))
            old = struct.unpack_from("=H", msg, off)[0]
            n = draw(st.integers(0, 8) | st.integers(0, 2**16 - 1) |
                     st.integers(max(old - 8, 0), min(old + 8, 2**16 - 1)))
            if off + 2 <= len(buf):
                buf[off:off + 2] = struct.pack("=H", n)
        elif how == "nla_type" and attrs:
            off = draw(st.sampled_from(attrs))
            if off + 4 <= len(buf):
                buf[off + 2:off + 4] = struct.pack("=H", draw(U16))
    return bytes(buf)


@FUZZ
@given(data=st.data())
def test_damaged_messages_match_the_model(data):
    mtype = data.draw(st.sampled_from(TYPES))
    msg, _ = data.draw(ENCODED[mtype])
    check_all(data.draw(damaged(msg)))


@FUZZ
@given(msg=st.binary(max_size=2048))
def test_arbitrary_bytes(msg):
    check_all(msg)
    check_acks(msg, 3)


@st.composite
def attribute_streams(draw):
    """Attributes of random types and lengths, framed correctly: short,
    long and unterminated payloads for the fields the parsers read."""
    out = b""
    for _ in range(draw(st.integers(0, 8))):
        nla_type = draw(st.integers(0, 40) | U16)
        payload = draw(st.binary(max_size=80))
        out += struct.pack("=HH", 4 + len(payload), nla_type) + payload
        out += bytes(align4(len(payload)) - len(payload))
    return out


@FUZZ
@given(mtype=st.sampled_from(TYPES), flags=U16, fam=st.binary(max_size=16),
       body=st.binary(max_size=512) | attribute_streams(),
       slack=st.binary(max_size=8), length=st.none() | st.integers(0, 600))
def test_plausible_header_arbitrary_body(mtype, flags, fam, body, slack,
                                         length):
    """A header that frames a family header and a body (or lies about
    them), then noise."""
    fam = fam.ljust(align4(FAMLEN[mtype]), b"\0")
    n = HDR + len(fam) + len(body) if length is None else length
    msg = struct.pack("=IHHII", n, mtype, flags, 0, 0) + fam + body + slack
    check_all(msg)


# --------------------------------------------------------------- acks

def _model_acks(buf: bytes, n: int):
    res = [dict(err=PENDING, value=0, link=0, msg=b"") for _ in range(n)]
    return model_acks(buf, PORT, BASE, res), res


@st.composite
def replies(draw, n: int):
    """One reply message to one of the n requests (or to no request, or
    from another port, now and then)."""
    seq = BASE + draw(st.integers(0, n - 1))
    if not draw(st.integers(0, 15)):
        seq += draw(st.integers(-2, n + 2))     # out of range, now and then
    seq %= 2**32
    pid = PORT if draw(st.integers(0, 15)) else draw(U32)
    kind = draw(st.sampled_from(["ack", "ack", "link", "other"]))
    if kind == "link":
        m = ifinfmsg()
        m["header"].update(type=RTM_NEWLINK, sequence_number=seq, pid=pid)
        m["index"] = draw(S32)
        attrs = [("IFLA_IFNAME", draw(text))]
        if draw(st.booleans()):
            attrs.append(("IFLA_LINK", draw(U32)))
        m["attrs"] = attrs
        m.encode()
        return bytes(m.data)
    if kind == "other":
        mtype = draw(st.sampled_from([NLMSG_NOOP, NLMSG_DONE, RTM_NEWADDR]))
        body = draw(st.binary(max_size=24))
        return struct.pack("=IHHII", HDR + len(body), mtype, 0, seq,
                           pid) + body
    # an ack: error, the request's header (+ payload unless CAPPED), TLVs
    error = draw(st.integers(-4095, 0) | S32)
    capped = draw(st.booleans())
    payload = b"" if capped else draw(st.binary(max_size=40))
    quoted = struct.pack("=IHHII", HDR + len(payload), RTM_NEWLINK, 5, seq,
                         0) + payload
    tlvs = b""
    flags = NLM_F_CAPPED if capped else 0
    if draw(st.booleans()):
        flags |= NLM_F_ACK_TLVS
        for t, v in draw(st.lists(st.tuples(
                st.sampled_from([1, 1, 2, 3, 4]),
                st.binary(max_size=200) | text.map(
                    lambda s: s.encode() + b"\0")), max_size=3)):
            tlvs += struct.pack("=HH", 4 + len(v), t) + v
            tlvs += bytes(align4(len(v)) - len(v))
    body = struct.pack("=i", error) + quoted + bytes(align4(len(quoted)) -
                                                     len(quoted)) + tlvs
    return struct.pack("=IHHII", HDR + len(body), NLMSG_ERROR, flags, seq,
                       pid) + body


@st.composite
def datagrams(draw, n: int):
    msgs = draw(st.lists(replies(n), max_size=6))
    return b"".join(m + bytes(align4(len(m)) - len(m)) for m in msgs)


@FUZZ
@given(data=st.data(), n=st.integers(1, 4))
def test_ack_datagrams_match_the_model(data, n):
    check_acks(data.draw(datagrams(n)), n)


@FUZZ
@given(data=st.data(), n=st.integers(1, 4))
def test_damaged_ack_datagrams_match_the_model(data, n):
    buf = data.draw(datagrams(n))
    check_acks(data.draw(damaged(buf)), n)


@FUZZ
@given(data=st.data(), errors=st.lists(st.integers(-4095, 0), min_size=1,
                                       max_size=8))
def test_one_ack_per_request_in_any_order(data, errors):
    """Each request's error and text land in its own result."""
    n = len(errors)
    texts = [data.draw(text) for _ in errors]
    msgs = []
    for i, (error, why) in enumerate(zip(errors, texts)):
        v = why.encode() + b"\0"
        tlv = struct.pack("=HH", 4 + len(v), 1) + v + \
            bytes(align4(len(v)) - len(v))
        body = struct.pack("=iIHHII", error, HDR, RTM_NEWLINK, 5,
                           (BASE + i) % 2**32, 0) + tlv
        msgs.append(struct.pack("=IHHII", HDR + len(body), NLMSG_ERROR,
                                NLM_F_CAPPED | NLM_F_ACK_TLVS,
                                (BASE + i) % 2**32, PORT) + body)
    buf = b"".join(data.draw(st.permutations(msgs)))
    rc, res = parse_acks(buf, PORT, BASE, n)
    assert rc == n
    assert [r["err"] for r in res] == errors
    assert [r["msg"] for r in res] == [
        why.encode()[:127] if e else b"" for e, why in zip(errors, texts)]
    # the same acks again are second acks; the first ones are kept
    assert parse_acks(buf + buf, PORT, BASE, n) == (EPROTO, res)
