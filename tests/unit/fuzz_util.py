"""Shared by the fuzz tests (``test_fuzz_*.py``): inputs in heap blocks of
exactly their length, and an independent model of the reply parsers'
documented contract (csrc/nlc.h, "parse") to compare the C core with.

Exact blocks: cffi and Python keep small buffers in pooled arenas, where
AddressSanitizer cannot see a read past their end; a block of its own
from malloc (ASan's, under `.ci/dev asan`, which preloads it) ends in a
redzone, so the sanitizer build reports the first byte read out of
bounds.  malloc's blocks are 16-byte aligned, as the parsers need.

The model is written from nlc.h's text, in Python, and shares no code
with the C core: framing, the attribute walk (last one of a type wins,
NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off, trailing bytes shorter
than an attribute header refused), what each record field takes from
which attribute, and the ack demultiplexer.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)

ffi, lib = _binding.ffi, _binding.lib

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.restype = None
_libc.free.argtypes = [ctypes.c_void_p]


@contextlib.contextmanager
def exact(data: bytes, ffi=ffi):
    """``data`` in a malloc block of exactly ``len(data)`` bytes, as a
    ``const uint8_t *`` of ``ffi``."""
    p = _libc.malloc(max(len(data), 1))
    if not p:
        raise MemoryError("malloc")
    try:
        ctypes.memmove(p, bytes(data), len(data))
        yield ffi.cast("const uint8_t *", p)
    finally:
        _libc.free(p)


# ---------------------------------------------------------------- netlink

EBADMSG, EPROTO, ESRCH = -errno.EBADMSG, -errno.EPROTO, -errno.ESRCH
HDR = 16                                    # NLMSG_HDRLEN
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLA_TYPE_MASK = 0x3FFF
PENDING = 0x7FFFFFFF                        # NLC_ACK_PENDING
FAMLEN = {RTM_NEWLINK: 16, RTM_NEWADDR: 8, RTM_NEWROUTE: 12}
# <linux/if_link.h>, <linux/if_addr.h>, <linux/rtnetlink.h>
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_MASTER, IFLA_LINKINFO, IFLA_STATS64 = 10, 18, 23
IFLA_GROUP, IFLA_LINK_NETNSID, IFLA_INFO_KIND = 27, 37, 1
IFLA_IFALIAS, ALIAS_MAX = 20, 128
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS = 1, 2, 3, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
NLMSGERR_ATTR_MSG = 1


def align4(n: int) -> int:
    return (n + 3) & ~3


def walk(data: bytes):
    """The attributes of ``data`` as {type: payload}, or None when the
    stream is malformed."""
    tb, off = {}, 0
    while len(data) - off >= 4:
        rest = len(data) - off
        nla_len, nla_type = struct.unpack_from("=HH", data, off)
        if nla_len < 4 or nla_len > rest:
            return None
        tb[nla_type & NLA_TYPE_MASK] = data[off + 4:off + nla_len]
        if align4(nla_len) >= rest:
            return tb
        off += align4(nla_len)
    return tb if off == len(data) else None


def cstr(payload: bytes, cap: int) -> bytes:
    """A string attribute copied into a char[cap]: cut to cap - 1 bytes,
    then at its first NUL."""
    return payload[:cap - 1].split(b"\0", 1)[0]


def u32(payload, default=0) -> int:
    """A u32 attribute; a short one reads as 0, an absent one default."""
    if payload is None:
        return default
    return struct.unpack_from("=I", payload)[0] if len(payload) >= 4 else 0


def s32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


def field(payload: bytes, size: int) -> bytes:
    """An address attribute copied into a zeroed uint8_t[size]."""
    return payload[:size].ljust(size, b"\0")


def frame(msg: bytes, mtype: int):
    """(rc, tb, message): rc as the documented parsers return it, tb the
    attributes when rc is 0."""
    if len(msg) < HDR:
        return EBADMSG, None, None
    length, got = struct.unpack_from("=IH", msg)
    if length < HDR or length > len(msg):
        return EBADMSG, None, None
    if got != mtype:
        return 1, None, None
    msg = msg[:length]
    famlen = FAMLEN[mtype]
    if length < HDR + famlen:
        return EBADMSG, None, None
    tb = walk(msg[HDR + align4(famlen):])
    return (EBADMSG, None, None) if tb is None else (0, tb, msg)


def model_link(msg: bytes):
    rc, tb, msg = frame(msg, RTM_NEWLINK)
    if rc:
        return rc, None
    index, flags = struct.unpack_from("=iI", msg, HDR + 4)
    mac = tb.get(IFLA_ADDRESS, b"")[:32]
    stats = tb.get(IFLA_STATS64, b"")
    info = walk(tb[IFLA_LINKINFO]) if IFLA_LINKINFO in tb else None
    return 0, dict(
        index=index, flags=flags,
        name=cstr(tb.get(IFLA_IFNAME, b""), 16),
        mtu=u32(tb.get(IFLA_MTU)),
        master=s32(u32(tb.get(IFLA_MASTER))),
        link=s32(u32(tb.get(IFLA_LINK))),
        link_netnsid=s32(u32(tb.get(IFLA_LINK_NETNSID), 2**32 - 1)),
        group=u32(tb.get(IFLA_GROUP)),
        alias=cstr(tb.get(IFLA_IFALIAS, b""), ALIAS_MAX)
        if len(tb.get(IFLA_IFALIAS, b"")) < ALIAS_MAX else b"",
        mac_len=len(mac), mac=field(mac, 32),
        stats=struct.unpack_from("=8Q", stats) if len(stats) >= 64
        else (0,) * 8,
        kind=cstr(info.get(IFLA_INFO_KIND, b""), 16) if info else b"")


def model_addr(msg: bytes):
    rc, tb, msg = frame(msg, RTM_NEWADDR)
    if rc:
        return rc, None
    family, prefixlen, flags, scope, index = struct.unpack_from("=BBBBI",
                                                                msg, HDR)
    addr = field(tb.get(IFA_ADDRESS, b""), 16)
    local = field(tb[IFA_LOCAL], 16) if IFA_LOCAL in tb else addr
    if IFA_ADDRESS not in tb:
        addr = local
    return 0, dict(
        index=s32(index), family=family, prefixlen=prefixlen, scope=scope,
        flags=u32(tb.get(IFA_FLAGS), flags), addr=addr, local=local,
        label=cstr(tb.get(IFA_LABEL, b""), 16))


def model_route(msg: bytes):
    rc, tb, msg = frame(msg, RTM_NEWROUTE)
    if rc:
        return rc, None
    (family, dst_len, _, _, table, protocol, scope, rtype,
     flags) = struct.unpack_from("=8BI", msg, HDR)
    return 0, dict(
        family=family, dst_len=dst_len, protocol=protocol, scope=scope,
        type=rtype, flags=flags, table=u32(tb.get(RTA_TABLE), table),
        oif=s32(u32(tb.get(RTA_OIF))), priority=u32(tb.get(RTA_PRIORITY)),
        dst=field(tb.get(RTA_DST, b""), 16),
        has_gateway=int(RTA_GATEWAY in tb),
        gateway=field(tb.get(RTA_GATEWAY, b""), 16))


MODELS = {RTM_NEWLINK: model_link, RTM_NEWADDR: model_addr,
          RTM_NEWROUTE: model_route}


def _ext_ack(msg: bytes, flags: int) -> bytes | None:
    """The extended-ack text of a whole ack, or None."""
    if not flags & NLM_F_ACK_TLVS:
        return None
    off = 20                                # struct nlmsgerr
    if not flags & NLM_F_CAPPED:
        quoted = struct.unpack_from("=I", msg, HDR + 4)[0]
        off += align4(quoted) - HDR if quoted > HDR else 0
    if len(msg) < HDR + off:
        return None
    tb = walk(msg[HDR + off:])
    if tb is None or NLMSGERR_ATTR_MSG not in tb:
        return None
    return cstr(tb[NLMSGERR_ATTR_MSG], 128)


def model_acks(buf: bytes, portid: int, base: int, res: list) -> int:
    """nlc_parse_acks on ``res`` (dicts err, value, link, msg), in
    place; returns its rc."""
    off, acks = 0, 0
    while off < len(buf):
        rest = len(buf) - off
        if rest < HDR:
            return EBADMSG
        length, mtype, flags, seq, pid = struct.unpack_from("=IHHII", buf,
                                                            off)
        if length < HDR or length > rest:
            return EBADMSG
        if pid != portid:
            return ESRCH
        idx = (seq - base) & 0xFFFFFFFF
        if idx >= len(res):
            return EPROTO
        r, msg = res[idx], buf[off:off + length]
        if mtype == NLMSG_ERROR:
            if length < HDR + 20:
                return EBADMSG
            if r["err"] != PENDING:
                return EPROTO
            error = struct.unpack_from("=i", msg, HDR)[0]
            r["err"] = -error if error > 0 else error
            text = _ext_ack(msg, flags)
            if text is not None:
                r["msg"] = text
            if r["err"] == 0:
                r["msg"] = b""
            acks += 1
        elif mtype == RTM_NEWLINK and length >= HDR + 16:
            tb = walk(msg[HDR + 16:])
            if tb is None:
                return EBADMSG
            r["value"] = struct.unpack_from("=i", msg, HDR + 4)[0]
            r["link"] = s32(u32(tb.get(IFLA_LINK)))
        if align4(length) >= rest:
            break
        off += align4(length)
    return acks


# ------------------------------------------------------- the C records


def _bytes(arr) -> bytes:
    return bytes(ffi.buffer(arr))


def c_link(o) -> dict:
    return dict(index=o.index, flags=o.flags, name=ffi.string(o.name),
                mtu=o.mtu, master=o.master, link=o.link,
                link_netnsid=o.link_netnsid, group=o.group,
                alias=ffi.string(o.alias),
                mac_len=o.mac_len, mac=_bytes(o.mac),
                stats=(o.rx_packets, o.tx_packets, o.rx_bytes, o.tx_bytes,
                       o.rx_errors, o.tx_errors, o.rx_dropped,
                       o.tx_dropped),
                kind=ffi.string(o.kind))


def c_addr(o) -> dict:
    return dict(index=o.index, family=o.family, prefixlen=o.prefixlen,
                scope=o.scope, flags=o.flags, addr=_bytes(o.addr),
                local=_bytes(o.local), label=ffi.string(o.label))


def c_route(o) -> dict:
    return dict(family=o.family, dst_len=o.dst_len, protocol=o.protocol,
                scope=o.scope, type=o.type, flags=o.flags, table=o.table,
                oif=o.oif, priority=o.priority, dst=_bytes(o.dst),
                has_gateway=o.has_gateway, gateway=_bytes(o.gateway))


#: message type -> (C function, record type, record as a dict, its strings)
PARSERS = {
    RTM_NEWLINK: (lib.nlc_parse_link, "struct nlc_link *", c_link,
                  ("name", "kind")),
    RTM_NEWADDR: (lib.nlc_parse_addr, "struct nlc_addr *", c_addr,
                  ("label",)),
    RTM_NEWROUTE: (lib.nlc_parse_route, "struct nlc_route *", c_route, ()),
}


def parse(mtype: int, msg: bytes):
    """(rc, record dict or None) from the C parser of ``mtype`` over an
    exact copy of ``msg``.  Checks what holds for any input: an rc from
    the documented set, the record untouched unless rc is 0, and every
    string NUL-terminated inside its array."""
    fn, ctype, as_dict, strings = PARSERS[mtype]
    out = ffi.new(ctype)
    raw = ffi.buffer(out)
    raw[:] = b"\x5a" * len(raw)
    with exact(msg) as p:
        rc = fn(p, len(msg), out)
    assert rc in (0, 1, EBADMSG), rc
    if rc:
        assert raw[:] == b"\x5a" * len(raw)
        return rc, None
    for name in strings:
        assert b"\0" in _bytes(getattr(out, name)), name
    return rc, as_dict(out)


def parse_acks(buf: bytes, portid: int, base: int, n: int):
    """(rc, results as dicts) from nlc_parse_acks over an exact copy of
    ``buf`` and n pending results; a result past n is never written."""
    res = ffi.new("struct nlc_result[]", n + 1)
    for r in res:
        r.err = lib.NLC_ACK_PENDING
    with exact(buf) as p:
        rc = lib.nlc_parse_acks(p, len(buf), portid, base, n, res)
    assert rc in (EBADMSG, EPROTO, ESRCH) or 0 <= rc <= n, rc
    past = res[n]
    assert (past.err, past.value, past.link) == (PENDING, 0, 0)
    assert ffi.string(past.msg) == b""
    out = []
    for r in list(res)[:n]:
        assert b"\0" in _bytes(r.msg)
        assert r.err <= 0 or r.err == PENDING
        out.append(dict(err=r.err, value=r.value, link=r.link,
                        msg=ffi.string(r.msg)))
    return rc, out
