"""Shared by the builder round-trip tests (``test_builders_*.py``): the
batch plumbing over a cffi buffer, a strict TLV walker (lengths, zero
padding, nesting, no duplicate attributes), decoding with pyroute2's
message classes (the independent oracle), netlink constants and hypothesis
strategies.  Nothing opens a socket: no root, no kernel.
"""

from __future__ import annotations

import ipaddress
import string
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)

pytest.importorskip("pyroute2")
pytest.importorskip("hypothesis")

from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402,F401
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402,F401
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402,F401

ffi, lib = _binding.ffi, _binding.lib

# <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/veth.h>
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x4, 0x8
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
REQ = NLM_F_REQUEST | NLM_F_ACK
REQ_NEW = REQ | NLM_F_CREATE | NLM_F_EXCL
NLA_F_NESTED = 0x8000
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR = 20, 21
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER = 18, 2, 1
IFF_UP = 0x1
IFA_F_NODAD = 0x02
RTNH_F_ONLINK = 0x04
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RTN_UNICAST = 1
RT_TABLE_MAIN = 254
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFINFOMSG, IFADDRMSG, RTMSG = 16, 8, 12
U32 = 2**32 - 1

MAC1 = bytes.fromhex("0242ac110002")
MAC2 = bytes.fromhex("02005e0053ff")

SETTINGS = settings(deadline=None, max_examples=200)


# ------------------------------------------------------------- plumbing

class Batch:
    """A batch over a cffi buffer with ``slack`` guard bytes past cap."""

    GUARD = 0xA5

    def __init__(self, cap: int = 4096, slack: int = 0, null: bool = False):
        self.raw = ffi.new("uint8_t[]", max(cap + slack, 1))
        mem = ffi.buffer(self.raw)
        mem[:] = bytes([self.GUARD]) * len(mem)
        self.b = ffi.new("struct nlc_batch *")
        lib.nlc_batch_init(self.b, ffi.NULL if null else self.raw, cap)
        self.cap = cap

    @property
    def len(self) -> int:
        return self.b.len

    @property
    def count(self) -> int:
        return self.b.count

    def bytes(self) -> bytes:
        return ffi.buffer(self.raw, self.b.len)[:]

    def after_cap(self) -> bytes:
        return ffi.buffer(self.raw)[self.cap:]

    def messages(self) -> list[bytes]:
        return split(self.bytes(), self.b.count)


def split(data: bytes, count: int) -> list[bytes]:
    """The messages of a batch: 4-byte aligned, consecutive, whole."""
    out, off = [], 0
    assert len(data) % 4 == 0
    while off < len(data):
        assert off % 4 == 0
        assert len(data) - off >= 16
        length, _, _, seq, pid = struct.unpack_from("=IHHII", data, off)
        assert 16 <= length <= len(data) - off
        assert seq == 0 and pid == 0          # written by nlc_sock_exec
        out.append(data[off:off + length])
        off += (length + 3) & ~3
    assert off == len(data)
    assert len(out) == count
    return out


def tlvs(buf: bytes, path: tuple = ()) -> None:
    """Strictly checks an attribute stream and everything nested in it."""
    off, seen = 0, set()
    while off < len(buf):
        assert len(buf) - off >= 4, f"truncated attribute header at {path}"
        nla_len, nla_type = struct.unpack_from("=HH", buf, off)
        step = (nla_len + 3) & ~3
        assert 4 <= nla_len, f"nla_len < 4 at {path}"
        assert step <= len(buf) - off, f"nla_len too long at {path}"
        assert buf[off + nla_len:off + step] == bytes(step - nla_len)
        kind = nla_type & ~0xC000
        assert kind not in seen, f"duplicate attribute {kind} at {path}"
        seen.add(kind)
        payload = buf[off + 4:off + nla_len]
        if nla_type & NLA_F_NESTED:
            peer = (IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER)
            if path + (kind,) == peer:
                assert len(payload) >= IFINFOMSG
                payload = payload[IFINFOMSG:]          # the peer's ifinfomsg
            tlvs(payload, path + (kind,))
        off += step


def decode(cls, data: bytes, famlen: int):
    """Checks the framing, then decodes with pyroute2."""
    tlvs(data[16 + famlen:])
    msg = cls(data)
    msg.decode()
    assert msg["header"]["length"] == len(data)
    return msg


def attrs(nla) -> dict:
    names = [a[0] for a in nla["attrs"]]
    assert len(names) == len(set(names))
    return {a[0]: a[1] for a in nla["attrs"]}


def macstr(mac: bytes) -> str:
    return ":".join(f"{x:02x}" for x in mac)


def ips(d: dict) -> dict:
    """Address attributes as ipaddress objects (pyroute2 gives strings)."""
    return {k: ipaddress.ip_address(v) if isinstance(v, str) else v
            for k, v in d.items()}


def nul(x):
    return ffi.NULL if x is None else x


def only(batch: Batch) -> bytes:
    msgs = batch.messages()
    assert len(msgs) == 1
    return msgs[0]


# ---------------------------------------------------------- strategies

NAME_CHARS = string.ascii_letters + string.digits + "-_."
names = st.text(NAME_CHARS, min_size=1, max_size=15).map(str.encode)
mtus = st.one_of(st.just(0), st.integers(1, U32))
macs = st.one_of(st.none(), st.binary(min_size=6, max_size=6))
ups = st.sampled_from([-1, 0, 1])
groups = st.one_of(st.integers(-(2**63), -1), st.integers(0, U32))
tristate = st.integers(-1, 2**31 - 1)             # -1 unset, 0, ifindex/fd
ifindexes = st.integers(1, 2**31 - 1)
