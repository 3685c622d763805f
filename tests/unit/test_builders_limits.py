"""Kernel-free round trips of the native request builders: refusals (arguments
the kernel could never accept), buffer sizes and batches.

Each builder writes into a cffi buffer; the bytes are checked by the TLV
walker and decoded with pyroute2's message classes (builders_util.py).
Nothing here opens a socket: no root, no kernel.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

import pytest

from builders_util import *  # noqa: F401,F403  (skips without the core)


# ------------------------------------------------------------- refusals

V4 = bytes([10, 0, 0, 1])
V6 = ipaddress.IPv6Address("fd00::1").packed
AF4, AF6 = socket.AF_INET, socket.AF_INET6
LONG = b"0123456789abcdef"                      # 16 bytes: no room for NUL
N = ffi.NULL

BR, VETH, SET = "nlc_link_add_bridge", "nlc_link_add_veth", "nlc_link_set"
MV, IPV = "nlc_link_add_macvlan", "nlc_link_add_ipvlan"
VLAN = "nlc_link_add_vlan"
ADDR, ADDR_DEL = "nlc_addr_add", "nlc_addr_del"
ROUTE, ROUTE_DEL = "nlc_route_add", "nlc_route_del"
INVALID = [  # (id, builder, arguments after the batch)
    ("bridge-null-name", BR, (N, 0, N, 0, -1)),
    ("bridge-empty-name", BR, (b"", 0, N, 0, -1)),
    ("bridge-16-byte-name", BR, (LONG, 0, N, 0, -1)),
    ("bridge-group-2**32", BR, (b"b", 0, N, 0, 2**32)),
    ("veth-null-name", VETH, (N, 0, 0, N, 0, -1, b"p", -1, 0, N, 0)),
    ("veth-16-byte-name", VETH, (LONG, 0, 0, N, 0, -1, b"p", -1, 0, N, 0)),
    ("veth-null-peer", VETH, (b"v", 0, 0, N, 0, -1, N, -1, 0, N, 0)),
    ("veth-empty-peer", VETH, (b"v", 0, 0, N, 0, -1, b"", -1, 0, N, 0)),
    ("veth-16-byte-peer", VETH, (b"v", 0, 0, N, 0, -1, LONG, -1, 0, N, 0)),
    ("veth-group-2**32", VETH, (b"v", 0, 0, N, 0, 2**32, b"p", -1, 0, N, 0)),
    ("veth-queues-4097", VETH, (b"v", 0, 0, N, 0, -1, b"p", -1, 0, N, 4097)),
    ("set-no-index-no-name", SET, (0, N, 1, -1, 0, N, -1, -1, N, -1)),
    ("set-empty-name", SET, (0, b"", 1, -1, 0, N, -1, -1, N, -1)),
    ("set-16-byte-name", SET, (-5, LONG, 1, -1, 0, N, -1, -1, N, -1)),
    ("set-rename-by-name", SET, (0, b"a", -1, -1, 0, b"b", -1, -1, N, -1)),
    ("set-16-byte-new-name", SET, (3, N, -1, -1, 0, LONG, -1, -1, N, -1)),
    ("set-empty-new-name", SET, (3, N, -1, -1, 0, b"", -1, -1, N, -1)),
    ("set-group-2**32", SET, (3, N, -1, -1, 0, N, -1, 2**32, N, -1)),
    ("set-addrgen-256", SET, (3, N, -1, -1, 0, N, -1, -1, N, 256)),
    ("macvlan-null-name", MV, (N, 2, 4, -1, N, 0, -1, 0)),
    ("macvlan-16-byte-name", MV, (LONG, 2, 4, -1, N, 0, -1, 0)),
    ("macvlan-parent-0", MV, (b"m", 0, 4, -1, N, 0, -1, 0)),
    ("macvlan-parent-neg", MV, (b"m", -2, 4, -1, N, 0, -1, 0)),
    ("macvlan-mode-0", MV, (b"m", 2, 0, -1, N, 0, -1, 0)),
    ("macvlan-group-2**32", MV, (b"m", 2, 4, -1, N, 0, 2**32, 0)),
    ("ipvlan-empty-name", IPV, (b"", 2, 0, -1, 0, -1, 0)),
    ("ipvlan-parent-0", IPV, (b"i", 0, 0, -1, 0, -1, 0)),
    ("ipvlan-mode-3", IPV, (b"i", 2, 3, -1, 0, -1, 0)),
    ("vlan-null-name", VLAN, (N, 2, 5, 0, -1, 0)),
    ("vlan-parent-0", VLAN, (b"v", 0, 5, 0, -1, 0)),
    ("vlan-vid-4095", VLAN, (b"v", 2, 4095, 0, -1, 0)),
    ("vlan-group-2**32", VLAN, (b"v", 2, 5, 0, 2**32, 0)),
    ("del-no-index-no-name", "nlc_link_del", (0, N)),
    ("del-16-byte-name", "nlc_link_del", (-1, LONG)),
    ("del-group-0", "nlc_link_del_group", (0,)),
    ("get-no-index-no-name", "nlc_link_get", (0, N)),
    ("get-empty-name", "nlc_link_get", (0, b"")),
    ("addr-unspec", ADDR, (1, socket.AF_UNSPEC, V4, 8, 0)),
    ("addr-packet", ADDR, (1, socket.AF_PACKET, V4, 8, 0)),
    ("addr-v4-plen-33", ADDR, (1, AF4, V4, 33, 0)),
    ("addr-v6-plen-129", ADDR, (1, AF6, V6, 129, 0)),
    ("addr-v4-plen-255", ADDR, (1, AF4, V4, 255, 0)),
    ("addr-null", ADDR, (1, AF4, N, 8, 0)),
    ("addr-index-0", ADDR, (0, AF4, V4, 8, 0)),
    ("addr-index-neg", ADDR, (-1, AF4, V4, 8, 0)),
    ("addr-del-bad-family", ADDR_DEL, (1, 99, V4, 8)),
    ("addr-del-v4-plen-33", ADDR_DEL, (1, AF4, V4, 33)),
    ("addr-del-v6-plen-129", ADDR_DEL, (1, AF6, V6, 129)),
    ("route-no-gw-no-oif", ROUTE, (AF4, V4, 8, N, 0, 0, 0, 0)),
    ("route-bad-family", ROUTE, (0, V4, 8, V4, 1, 0, 0, 0)),
    ("route-v4-len-33", ROUTE, (AF4, V4, 33, V4, 1, 0, 0, 0)),
    ("route-v6-len-129", ROUTE, (AF6, V6, 129, V6, 1, 0, 0, 0)),
    ("route-default-with-len", ROUTE, (AF4, N, 8, V4, 1, 0, 0, 0)),
    ("route-oif-neg", ROUTE, (AF4, V4, 8, V4, -1, 0, 0, 0)),
    ("route-del-bad-family", ROUTE_DEL, (99, V4, 8, N, 0, 0, 0)),
    ("route-del-v6-len-129", ROUTE_DEL, (AF6, V6, 129, N, 0, 0, 0)),
    ("route-del-oif-neg", ROUTE_DEL, (AF4, V4, 8, N, -1, 0, 0)),
]


@pytest.mark.parametrize("builder, args", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_arguments(builder, args):
    b = Batch(cap=1024)
    assert lib.nlc_link_del(b.b, 1, N) == 0       # something already there
    before = b.bytes()
    assert getattr(lib, builder)(b.b, *args) == -errno.EINVAL
    assert b.len == len(before) and b.count == 1
    assert b.bytes() == before


def test_longest_name_is_accepted():
    b = Batch()
    assert lib.nlc_link_add_bridge(b.b, LONG[:15], 0, N, 0, -1) == 0
    assert attrs(decode(ifinfmsg, only(b), IFINFOMSG))["IFLA_IFNAME"] == \
        LONG[:15].decode()


# ------------------------------------------------------ sizes and batches

BUILDERS = {
    "bridge": lambda b: lib.nlc_link_add_bridge(b, b"br-0123456789ab", 9000,
                                                MAC1, 1, 77),
    "veth": lambda b: lib.nlc_link_add_veth(
        b, b"veth0123456789a", 7, 1500, MAC1, 1, 3, b"eth0123456789ab", 5,
        1400, MAC2, 4096),
    "macvlan": lambda b: lib.nlc_link_add_macvlan(
        b, b"mv-0123456789a", 7, 4, 5, MAC1, 1400, 9, 1),
    "ipvlan": lambda b: lib.nlc_link_add_ipvlan(b, b"ipv-0123456789", 7, 2,
                                                5, 9000, 9, 1),
    "vlan": lambda b: lib.nlc_link_add_vlan(b, b"eth0.4094", 7, 4094, 1496,
                                            9, 1),
    "set": lambda b: lib.nlc_link_set(b, 0, b"eth0", 1, 4, 1400, N, 6, 2,
                                      MAC2, 1),
    "del": lambda b: lib.nlc_link_del(b, 0, b"gone0"),
    "del_group": lambda b: lib.nlc_link_del_group(b, 99),
    "get": lambda b: lib.nlc_link_get(b, 0, b"lo"),
    "addr_add4": lambda b: lib.nlc_addr_add(b, 2, AF4, V4, 24,
                                            lib.NLC_ADDR_NODAD),
    "addr_add6": lambda b: lib.nlc_addr_add(b, 2, AF6, V6, 64,
                                            lib.NLC_ADDR_NODAD),
    "addr_del": lambda b: lib.nlc_addr_del(b, 2, AF4, V4, 24),
    "route_add4": lambda b: lib.nlc_route_add(b, AF4, V4, 8, V4, 3,
                                              lib.NLC_ROUTE_ONLINK, 10, 1000),
    "route_add6": lambda b: lib.nlc_route_add(b, AF6, V6, 64, V6, 3, 0, 10,
                                              100),
    "route_del": lambda b: lib.nlc_route_del(b, AF6, V6, 64, V6, 3, 10, 100),
}
TYPES = {
    "bridge": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "veth": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "macvlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "ipvlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "vlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "set": (RTM_SETLINK, ifinfmsg, IFINFOMSG),
    "del": (RTM_DELLINK, ifinfmsg, IFINFOMSG),
    "del_group": (RTM_DELLINK, ifinfmsg, IFINFOMSG),
    "get": (RTM_GETLINK, ifinfmsg, IFINFOMSG),
    "addr_add4": (RTM_NEWADDR, ifaddrmsg, IFADDRMSG),
    "addr_add6": (RTM_NEWADDR, ifaddrmsg, IFADDRMSG),
    "addr_del": (RTM_DELADDR, ifaddrmsg, IFADDRMSG),
    "route_add4": (RTM_NEWROUTE, rtmsg, RTMSG),
    "route_add6": (RTM_NEWROUTE, rtmsg, RTMSG),
    "route_del": (RTM_DELROUTE, rtmsg, RTMSG),
}


def reference(name: str) -> bytes:
    b = Batch()
    assert BUILDERS[name](b.b) == 0
    return only(b)


@pytest.mark.parametrize("name", BUILDERS)
def test_every_short_buffer(name):
    """Every capacity below the needed one: -EMSGSIZE, nothing appended,
    nothing written at or past cap; the exact size gives the same bytes."""
    ref = reference(name)
    need = len(ref)
    for cap in range(need + 1):
        b = Batch(cap=cap, slack=64)
        rc = BUILDERS[name](b.b)
        if cap < need:
            assert rc == -errno.EMSGSIZE, cap
            assert (b.len, b.count) == (0, 0), cap
        else:
            assert rc == 0
            assert b.bytes() == ref
        assert b.after_cap() == bytes([Batch.GUARD]) * 64, cap


@pytest.mark.parametrize("name", ["veth", "route_add6"])
def test_every_short_buffer_after_a_message(name):
    """The same with a message already in the batch: it stays intact."""
    ref = reference(name)
    first = reference("del")
    for cap in range(len(first), len(first) + len(ref) + 1):
        b = Batch(cap=cap, slack=64)
        assert lib.nlc_link_del(b.b, 0, b"gone0") == 0
        rc = BUILDERS[name](b.b)
        if cap < len(first) + len(ref):
            assert rc == -errno.EMSGSIZE
            assert (b.len, b.count) == (len(first), 1)
            assert b.bytes() == first
        else:
            assert rc == 1
            assert b.bytes() == first + ref
        assert b.after_cap() == bytes([Batch.GUARD]) * 64


def test_no_storage():
    b = Batch(cap=4096, null=True)
    assert b.b.cap == 0
    for name, build in BUILDERS.items():
        assert build(b.b) == -errno.EMSGSIZE, name
    assert (b.len, b.count) == (0, 0)


def test_one_batch_then_reset():
    b = Batch(cap=8192)
    for i, build in enumerate(BUILDERS.values()):
        assert build(b.b) == i
    msgs = b.messages()
    assert len(msgs) == len(BUILDERS) == b.count
    off = 0
    for name, data in zip(BUILDERS, msgs):
        mtype, cls, famlen = TYPES[name]
        assert off % 4 == 0
        assert data == reference(name)          # position-independent
        msg = decode(cls, data, famlen)
        assert msg["header"]["type"] == mtype
        assert msg["header"]["flags"] & REQ == REQ
        off += (len(data) + 3) & ~3
    assert off == b.len

    lib.nlc_batch_reset(b.b)
    assert (b.len, b.count) == (0, 0)
    assert b.b.cap == 8192
    assert BUILDERS["veth"](b.b) == 0
    assert b.bytes() == reference("veth")
