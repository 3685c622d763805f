"""Kernel-free checks of the pyroute2 backend's nftables messages
(backends/pyroute2/nft.py) and of its transaction's results.

Every message is decoded with the pyroute2 classes it was built with
(:mod:`~libnetwork.backends.pyroute2.nft_msgs`, pyroute2's own with the
attribute types corrected) and compared with what each operation means;
a raw walk of the bytes checks what the decoder cannot see: attribute
order, ``NLA_F_NESTED`` on every nest and only there, list elements typed
``NFTA_LIST_ELEM``.  The transaction is driven against a scripted socket
that answers as the kernel does.  Nothing here needs root.
"""

from __future__ import annotations

import errno as E
import socket
import struct

import pytest

pytest.importorskip("pyroute2")

from libnetwork.backends import nft_ops as N  # noqa: E402
from libnetwork.backends.pyroute2 import (  # noqa: E402
    Pyroute2Backend, nft, transport)
from libnetwork.backends.pyroute2 import nft_msgs as M  # noqa: E402
from libnetwork.backends.validate import prepare  # noqa: E402
from libnetwork.errors import InvalidParameter  # noqa: E402
from libnetwork.firewall import ruleset  # noqa: E402

NESTED = 0x8000
REQ_ACK, CREATE, APPEND = 0x5, 0x400, 0x800
CLASSES = {0: M.table_msg, 2: M.table_msg, 3: M.chain_msg, 6: M.rule_msg,
           9: M.set_msg, 12: M.elem_msg, 14: M.elem_msg}
_NLA = struct.Struct("=HH")


class Nest(list):
    """A nest's attributes (or a list nest's elements) in a tree."""


def tree(m):
    """``[(name, value)]`` of a decoded message or nest; nests as Nest."""
    out = []
    for slot in m["attrs"]:
        nla = slot.nla
        if getattr(nla, "_nla_array", False):
            value = Nest(tree(c) for c in nla.value)
        elif nla.nla_map and not hasattr(nla, "udata_types"):
            value = Nest(tree(nla))
        else:
            value = slot.value
        out.append((slot.name, value))
    return out


def decode(data: bytes):
    """(header, nfgenmsg fields, attribute tree) of one message."""
    length, mtype = struct.unpack_from("=IH", data)
    assert length == len(data)
    assert mtype >> 8 == 10                          # NFNL_SUBSYS_NFTABLES
    m = CLASSES[mtype & 0xFF](data)
    m.decode()
    return (dict(m["header"]),
            (m["nfgen_family"], m["version"], m["res_id"]), tree(m))


def one(op):
    data = nft.encode(op, prepare(op))
    return decode(data)


def raw(data: bytes, off: int, end: int):
    """``[(type, nested, children | payload)]``, recursing into nests."""
    out = []
    while off < end:
        length, kind = _NLA.unpack_from(data, off)
        assert 4 <= length <= end - off
        body = (raw(data, off + 4, off + length) if kind & NESTED
                else data[off + 4:off + length])
        out.append((kind & ~NESTED, bool(kind & NESTED), body))
        off += (length + 3) & ~3
    assert off == end or (off - end) < 4
    return out


def same_shape(named, walked):
    """The decoded tree and the raw walk agree: nests are flagged, the rest
    not; types ascend at every level; list elements are type 1."""
    assert len(named) == len(walked), (named, walked)
    kinds = [k for k, _, _ in walked]
    assert kinds == sorted(kinds), named
    for (name, value), (kind, nested, body) in zip(named, walked):
        assert nested == isinstance(value, Nest), name
        if not nested:
            continue
        if value and isinstance(value[0], list):    # a list nest
            assert all(k == 1 and f for k, f, _ in body), name
            for v, (_, _, b) in zip(value, body):
                same_shape(v, b)
            assert len(value) == len(body)
        else:
            same_shape(value, body)


def value(raw_bytes):
    return Nest([("NFTA_DATA_VALUE", raw_bytes)])


def expr(name, *attrs):
    return [("NFTA_EXPR_NAME", name), ("NFTA_EXPR_DATA", Nest(attrs))]


# ------------------------------------------------------------ operations

def test_table_add():
    hdr, gen, attrs = one(N.NftTableAdd("T", comment="libnetwork test"))
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | 0, REQ_ACK | CREATE)
    assert (hdr["sequence_number"], hdr["pid"]) == (0, 0)
    assert gen == (N.INET, 0, 0)
    assert attrs == [("NFTA_TABLE_NAME", "T"), ("NFTA_TABLE_USERDATA", [
        ("NFTNL_UDATA_TABLE_COMMENT", b"libnetwork test")])]
    data = nft.encode(N.NftTableAdd("T", comment="ab"), None)
    # nftnl's TLV: type 0 (comment), length, text and its NUL
    assert data.endswith(struct.pack("=HH", 9, 6) + b"\x00\x03ab\x00" +
                         bytes(3))
    _, gen, attrs = one(N.NftTableAdd("T", family=N.IPV4))
    assert gen[0] == N.IPV4 and attrs == [("NFTA_TABLE_NAME", "T")]
    _, _, attrs = one(N.NftTableAdd("T", comment=""))
    assert attrs[1][1] == [("NFTNL_UDATA_TABLE_COMMENT", b"")]


def test_table_del():
    hdr, gen, attrs = one(N.NftTableDel("T", family=N.IPV6))
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | 2, REQ_ACK)
    assert gen == (N.IPV6, 0, 0) and attrs == [("NFTA_TABLE_NAME", "T")]


def test_chains():
    hdr, _, attrs = one(N.NftChainAdd("T", "pre", "prerouting", -100, "nat",
                                      "drop"))
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | 3, REQ_ACK | CREATE)
    assert attrs == [
        ("NFTA_CHAIN_TABLE", "T"), ("NFTA_CHAIN_NAME", "pre"),
        ("NFTA_CHAIN_HOOK", Nest([("NFTA_HOOK_HOOKNUM", 0),
                                  ("NFTA_HOOK_PRIORITY", -100)])),
        ("NFTA_CHAIN_POLICY", N.DROP), ("NFTA_CHAIN_TYPE", "nat")]
    _, _, attrs = one(N.NftChainAdd("T", "fwd", "forward"))
    assert [a for a, _ in attrs] == ["NFTA_CHAIN_TABLE", "NFTA_CHAIN_NAME",
                                     "NFTA_CHAIN_HOOK", "NFTA_CHAIN_TYPE"]
    _, _, attrs = one(N.NftChainAdd("T", "publish"))
    assert attrs == [("NFTA_CHAIN_TABLE", "T"), ("NFTA_CHAIN_NAME",
                                                 "publish")]


def _head(name, flags, ktype, klen):
    return [("NFTA_SET_TABLE", "T"), ("NFTA_SET_NAME", name),
            ("NFTA_SET_FLAGS", flags), ("NFTA_SET_KEY_TYPE", ktype),
            ("NFTA_SET_KEY_LEN", klen)]


def _fields(*lens):
    return [("NFTA_SET_DESC", Nest([("NFTA_SET_DESC_CONCAT", Nest(
        [[("NFTA_SET_FIELD_LEN", n)] for n in lens]))]))]


def ID(key, data=None):
    """NFTA_SET_ID, and the byte orders nft reads (0 invalid: a
    concatenation or verdict, 1 host endian, 2 big endian)."""
    udata = [("NFTNL_UDATA_SET_KEYBYTEORDER", struct.pack("=I", key))]
    if data is not None:
        udata.append(("NFTNL_UDATA_SET_DATABYTEORDER",
                      struct.pack("=I", data)))
    return [("NFTA_SET_ID", 1), ("NFTA_SET_USERDATA", udata)]


@pytest.mark.parametrize("op, attrs", [
    (N.NftSetAdd("T", "s", ("ifname",)), _head("s", 0, 41, 16) + ID(1)),
    (N.NftSetAdd("T", "mk", ("mark",)), _head("mk", 0, 19, 4) + ID(1)),
    (N.NftSetAdd("T", "m4", ("ipv4_addr",), interval=True),
     _head("m4", N.SET_INTERVAL, 7, 4) + ID(2)),
    (N.NftSetAdd("T", "sn", ("ipv4_addr",), ("ipv4_addr",), True),
     _head("sn", N.SET_INTERVAL | N.SET_MAP, 7, 4) + [
         ("NFTA_SET_DATA_TYPE", 7), ("NFTA_SET_DATA_LEN", 4)] + ID(2, 2)),
    (N.NftSetAdd("T", "own", ("ipv6_addr", "ifname"), interval=True),
     _head("own", N.SET_INTERVAL | N.SET_CONCAT, 8 << 6 | 41, 32)
     + _fields(16, 16) + ID(0)),
    (N.NftSetAdd("T", "p", ("ipv4_addr", "inet_proto", "inet_service"),
                 ("ipv4_addr", "inet_service")),
     _head("p", N.SET_MAP | N.SET_CONCAT, (7 << 6 | 12) << 6 | 13, 12) + [
         ("NFTA_SET_DATA_TYPE", 7 << 6 | 13), ("NFTA_SET_DATA_LEN", 8)]
     + _fields(4, 1, 2) + ID(0, 0)),
    (N.NftSetAdd("T", "v", ("ifname", "ifname"), ("verdict",)),
     _head("v", N.SET_MAP | N.SET_CONCAT, 41 << 6 | 41, 32) + [
         ("NFTA_SET_DATA_TYPE", N.DATA_VERDICT)] + _fields(16, 16)
     + ID(0, 0)),
    (N.NftSetAdd("T", "iv", ("ifname",), ("verdict",)),
     _head("iv", N.SET_MAP, 41, 16) + [
         ("NFTA_SET_DATA_TYPE", N.DATA_VERDICT)] + ID(1, 0)),
    (N.NftSetAdd("T", "ai", ("ipv4_addr",), ("ifname",)),
     _head("ai", N.SET_MAP, 7, 4) + [
         ("NFTA_SET_DATA_TYPE", 41), ("NFTA_SET_DATA_LEN", 16)]
     + ID(2, 1)),
], ids=["set", "mark", "interval", "map", "concat-interval", "concat-map",
        "concat-vmap", "vmap", "ifname-map"])
def test_sets(op, attrs):
    hdr, gen, got = one(op)
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | 9, REQ_ACK | CREATE)
    assert gen == (N.INET, 0, 0)
    assert got == attrs
    # the user data: nftnl TLVs, each a type byte, a length byte, a u32
    data = nft.encode(op, prepare(op))
    udata = b"".join(
        bytes([t, 4]) + v for t, (_, v) in enumerate(attrs[-1][1]))
    assert data.endswith(struct.pack("=HH", 4 + len(udata), 13) + udata +
                         bytes(-len(udata) % 4))


def test_rule_expressions():
    op = N.NftRuleAdd("T", "c", (
        N.Meta(N.META_IIFNAME), N.Cmp(N.CMP_NEQ, b"br0\0", N.reg32(3)),
        N.Payload(N.PAYLOAD_TRANSPORT, 2, 2, N.REG_2),
        N.Bitwise(b"\x06\0\0\0", bytes(4), N.REG_3, N.REG_4),
        N.Ct(N.CT_STATUS, N.reg32(15)),
        N.Fib(N.FIB_F_DADDR, N.FIB_RESULT_ADDRTYPE),
        N.Lookup("s"), N.Lookup("m", N.REG_2, N.REG_1, False),
        N.Lookup("own", invert=True), N.Lookup("v", dreg=N.REG_VERDICT),
        N.Verdict(N.ACCEPT), N.Verdict(N.GOTO, "publish"),
        N.Nat(N.NAT_SNAT, N.IPV4, N.REG_1),
        N.Nat(N.NAT_DNAT, N.IPV6, N.REG_1, N.REG_2, 3),
        N.Nat(N.NAT_SNAT, N.IPV4, N.REG_1, flags=0),
        N.Masq(), N.Masq(4)))
    hdr, _, attrs = one(op)
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | 6,
                                           REQ_ACK | CREATE | APPEND)
    verdict = [("NFTA_IMMEDIATE_DREG", "NFT_REG_VERDICT")]
    assert attrs == [("NFTA_RULE_TABLE", "T"), ("NFTA_RULE_CHAIN", "c"), (
        "NFTA_RULE_EXPRESSIONS", Nest([
            expr("meta", ("NFTA_META_DREG", "NFT_REG_1"),
                 ("NFTA_META_KEY", "NFT_META_IIFNAME")),
            expr("cmp", ("NFTA_CMP_SREG", "NFT_REG32_03"),
                 ("NFTA_CMP_OP", "NFT_CMP_NEQ"),
                 ("NFTA_CMP_DATA", value(b"br0\0"))),
            expr("payload", ("NFTA_PAYLOAD_DREG", "NFT_REG_2"),
                 ("NFTA_PAYLOAD_BASE", "NFT_PAYLOAD_TRANSPORT_HEADER"),
                 ("NFTA_PAYLOAD_OFFSET", 2), ("NFTA_PAYLOAD_LEN", 2)),
            expr("bitwise", ("NFTA_BITWISE_SREG", "NFT_REG_3"),
                 ("NFTA_BITWISE_DREG", "NFT_REG_4"), ("NFTA_BITWISE_LEN", 4),
                 ("NFTA_BITWISE_MASK", value(b"\x06\0\0\0")),
                 ("NFTA_BITWISE_XOR", value(bytes(4)))),
            expr("ct", ("NFTA_CT_DREG", "NFT_REG32_15"),
                 ("NFTA_CT_KEY", "NFT_CT_STATUS")),
            expr("fib", ("NFTA_FIB_DREG", "NFT_REG_1"),
                 ("NFTA_FIB_RESULT", 3), ("NFTA_FIB_FLAGS", 2)),
            expr("lookup", ("NFTA_LOOKUP_SET", "s"),
                 ("NFTA_LOOKUP_SREG", "NFT_REG_1")),
            expr("lookup", ("NFTA_LOOKUP_SET", "m"),
                 ("NFTA_LOOKUP_SREG", "NFT_REG_2"),
                 ("NFTA_LOOKUP_DREG", "NFT_REG_1")),
            expr("lookup", ("NFTA_LOOKUP_SET", "own"),
                 ("NFTA_LOOKUP_SREG", "NFT_REG_1"),
                 ("NFTA_LOOKUP_FLAGS", 1)),
            expr("lookup", ("NFTA_LOOKUP_SET", "v"),
                 ("NFTA_LOOKUP_SREG", "NFT_REG_1"),
                 ("NFTA_LOOKUP_DREG", "NFT_REG_VERDICT")),
            expr("immediate", *verdict, ("NFTA_IMMEDIATE_DATA", Nest([
                ("NFTA_DATA_VERDICT", Nest([
                    ("NFTA_VERDICT_CODE", "NF_ACCEPT")]))]))),
            expr("immediate", *verdict, ("NFTA_IMMEDIATE_DATA", Nest([
                ("NFTA_DATA_VERDICT", Nest([
                    ("NFTA_VERDICT_CODE", "NFT_GOTO"),
                    ("NFTA_VERDICT_CHAIN", "publish")]))]))),
            expr("nat", ("NFTA_NAT_TYPE", "NFT_NAT_SNAT"),
                 ("NFTA_NAT_FAMILY", N.IPV4),
                 ("NFTA_NAT_REG_ADDR_MIN", "NFT_REG_1"),
                 ("NFTA_NAT_REG_ADDR_MAX", "NFT_REG_1"),
                 ("NFTA_NAT_FLAGS", N.NAT_MAP_IPS)),
            expr("nat", ("NFTA_NAT_TYPE", "NFT_NAT_DNAT"),
                 ("NFTA_NAT_FAMILY", N.IPV6),
                 ("NFTA_NAT_REG_ADDR_MIN", "NFT_REG_1"),
                 ("NFTA_NAT_REG_ADDR_MAX", "NFT_REG_1"),
                 ("NFTA_NAT_REG_PROTO_MIN", "NFT_REG_2"),
                 ("NFTA_NAT_REG_PROTO_MAX", "NFT_REG_2"),
                 ("NFTA_NAT_FLAGS", 3)),
            expr("nat", ("NFTA_NAT_TYPE", "NFT_NAT_SNAT"),
                 ("NFTA_NAT_FAMILY", N.IPV4),
                 ("NFTA_NAT_REG_ADDR_MIN", "NFT_REG_1"),
                 ("NFTA_NAT_REG_ADDR_MAX", "NFT_REG_1")),
            expr("masq"),
            expr("masq", ("NFTA_MASQ_FLAGS", 4)),
        ]))]
    data = nft.encode(op, None)
    same_shape(attrs, raw(data, 20, len(data)))


V4_CONCAT = ("ipv4_addr", "ifname")
ELEMS = (
    N.NftElem(N.pack(V4_CONCAT, ("10.0.1.0", "br-a")),
              key_end=N.pack(V4_CONCAT, ("10.0.1.255", "br-a"))),
    N.NftElem(b"\x0a\0\0\0", data=b"\xc0\0\x02\x01"),
    N.NftElem(b"\x0a\0\x01\0", interval_end=True),
    N.NftElem(N.pack(("ifname", "ifname"), ("a", "b")),
              verdict=N.Verdict(N.ACCEPT)),
    N.NftElem(b"1234", verdict=N.Verdict(N.JUMP, "chain")),
)


def _expected_elems():
    out = []
    for el in ELEMS:
        e = [("NFTA_SET_ELEM_KEY", value(el.key))]
        if el.data is not None:
            e.append(("NFTA_SET_ELEM_DATA", value(el.data)))
        if el.verdict is not None:
            v = [("NFTA_VERDICT_CODE", {N.ACCEPT: "NF_ACCEPT",
                                        N.JUMP: "NFT_JUMP"}[el.verdict.code])]
            if el.verdict.chain:
                v.append(("NFTA_VERDICT_CHAIN", el.verdict.chain))
            e.append(("NFTA_SET_ELEM_DATA", Nest([
                ("NFTA_DATA_VERDICT", Nest(v))])))
        if el.interval_end:
            e.append(("NFTA_SET_ELEM_FLAGS", 1))
        if el.key_end is not None:
            e.append(("NFTA_SET_ELEM_KEY_END", value(el.key_end)))
        out.append(e)
    return out


@pytest.mark.parametrize("cls, cmd, flags", [
    (N.NftElemAdd, 12, REQ_ACK | CREATE), (N.NftElemDel, 14, REQ_ACK)])
def test_elements(cls, cmd, flags):
    op = cls("T", "s", ELEMS, family=N.IPV4)
    hdr, gen, attrs = one(op)
    assert (hdr["type"], hdr["flags"]) == (10 << 8 | cmd, flags)
    assert gen == (N.IPV4, 0, 0)
    assert attrs == [("NFTA_SET_ELEM_LIST_TABLE", "T"),
                     ("NFTA_SET_ELEM_LIST_SET", "s"),
                     ("NFTA_SET_ELEM_LIST_ELEMENTS",
                      Nest(_expected_elems()))]
    data = nft.encode(op, None)
    same_shape(attrs, raw(data, 20, len(data)))
    # elem_size() is what each element takes in the message
    nest = raw(data, 20, len(data))[2]
    assert nest[0] == 3
    assert 4 + sum(map(nft.elem_size, ELEMS)) == \
        _NLA.unpack_from(data, len(data) - _nest_len(data))[0]


def _nest_len(data):
    """Bytes of the message's last attribute (the element list)."""
    off, last = 20, 0
    while off < len(data):
        last = off
        off += (_NLA.unpack_from(data, off)[0] + 3) & ~3
    return len(data) - last


def test_large_element_list_is_cut_where_an_attribute_ends():
    els = tuple(N.NftElem(N.pack(("ipv4_addr", "inet_proto", "inet_service"),
                                 ("10.0.0.1", "tcp", p)),
                          data=N.pack(("ipv4_addr", "inet_service"),
                                      ("10.0.1.2", 80)))
                for p in range(1, 5001))
    op = N.NftElemAdd("T", "ports4", els)
    msgs = nft.messages(op, prepare(op))
    assert len(msgs) > 1
    assert nft.encode(op, None) == b"".join(msgs)
    got = []
    for data in msgs:
        _, _, attrs = decode(data)
        assert attrs[:2] == [("NFTA_SET_ELEM_LIST_TABLE", "T"),
                             ("NFTA_SET_ELEM_LIST_SET", "ports4")]
        size = _nest_len(data)
        assert size <= 0xFFFF
        got += [dict(e)["NFTA_SET_ELEM_KEY"][0][1] for e in attrs[2][1]]
    assert got == [el.key for el in els]
    # full: the next element would not have fitted
    first = len(decode(msgs[0])[2][2][1])
    assert _nest_len(msgs[0]) + nft.elem_size(els[first]) > 0xFFFF


def test_the_ruleset_messages_are_well_formed():
    ops = ruleset.table_ops("libnetwork_test", "libnetwork test")
    ops.append(N.NftElemAdd("libnetwork_test", "own4", ELEMS[:1]))
    for op in ops:
        data = nft.encode(op, prepare(op))
        hdr, gen, attrs = decode(data)
        assert hdr["flags"] & REQ_ACK == REQ_ACK
        same_shape(attrs, raw(data, 20, len(data)))


def test_batch_begin_and_end():
    for data, mtype in ((nft._BEGIN, 0x10), (nft._END, 0x11)):
        assert data == struct.pack("=IHHII", 20, mtype, 1, 0, 0) + \
            struct.pack("=BB", 0, 0) + struct.pack("!H", 10)


def test_backend_encode():
    be = Pyroute2Backend()
    try:
        for op in ruleset.table_ops("t", "c"):
            assert be.encode(op) == nft.encode(op, prepare(op))
        with pytest.raises(InvalidParameter):
            be.encode(N.NftSetAdd("t", "s", ("nosuchtype",)))
        with pytest.raises(InvalidParameter):
            be.encode(N.NftElemAdd("t", "s", (N.NftElem(b"abc"),)))
    finally:
        be.close()
