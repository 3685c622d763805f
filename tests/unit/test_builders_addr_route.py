"""Kernel-free round trips of the native request builders: addresses and routes.

Each builder writes into a cffi buffer; the bytes are checked by the TLV
walker and decoded with pyroute2's message classes (builders_util.py).
Nothing here opens a socket: no root, no kernel.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from builders_util import *  # noqa: F401,F403  (skips without the core)
from hypothesis import given
from hypothesis import strategies as st


# ------------------------------------------------------------ addresses

def check_addr(data, *, add, index, ip, plen, flags):
    msg = decode(ifaddrmsg, data, IFADDRMSG)
    assert msg["header"]["type"] == (RTM_NEWADDR if add else RTM_DELADDR)
    assert msg["header"]["flags"] == (REQ_NEW if add else REQ)
    fam = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    assert msg["family"] == fam
    assert msg["prefixlen"] == plen
    assert msg["flags"] == flags & 0xFF
    assert msg["scope"] == 0
    assert msg["index"] == index
    got = ips(attrs(msg))
    if ip.version == 4:
        exp = {"IFA_LOCAL": ip, "IFA_ADDRESS": ip}
        if add and plen < 31:
            net = ipaddress.IPv4Network((ip, plen), strict=False)
            exp["IFA_BROADCAST"] = net.broadcast_address
    else:
        exp = {"IFA_ADDRESS": ip}
        # IFA_LOCAL is optional for IPv6 (the kernel takes either)
        assert got.pop("IFA_LOCAL", ip) == ip
    if flags:
        exp["IFA_FLAGS"] = flags
    assert got == exp


@SETTINGS
@given(ip=st.ip_addresses(v=4), plen=st.integers(0, 32), index=ifindexes,
       flags=st.sampled_from([0, lib.NLC_ADDR_NODAD]))
def test_addr4_round_trip(ip, plen, index, flags):
    b = Batch()
    assert lib.nlc_addr_add(b.b, index, socket.AF_INET, ip.packed, plen,
                            flags) == 0
    assert lib.nlc_addr_del(b.b, index, socket.AF_INET, ip.packed, plen) == 1
    add, dele = b.messages()
    check_addr(add, add=True, index=index, ip=ip, plen=plen, flags=flags)
    check_addr(dele, add=False, index=index, ip=ip, plen=plen, flags=0)


@SETTINGS
@given(ip=st.ip_addresses(v=6), plen=st.integers(0, 128), index=ifindexes,
       flags=st.sampled_from([0, lib.NLC_ADDR_NODAD]))
def test_addr6_round_trip(ip, plen, index, flags):
    b = Batch()
    assert lib.nlc_addr_add(b.b, index, socket.AF_INET6, ip.packed, plen,
                            flags) == 0
    assert lib.nlc_addr_del(b.b, index, socket.AF_INET6, ip.packed, plen) == 1
    add, dele = b.messages()
    check_addr(add, add=True, index=index, ip=ip, plen=plen, flags=flags)
    check_addr(dele, add=False, index=index, ip=ip, plen=plen, flags=0)


@pytest.mark.parametrize("cidr, brd", [
    ("10.1.2.3/24", "10.1.2.255"),
    ("10.1.2.3/23", "10.1.3.255"),
    ("10.1.2.3/8", "10.255.255.255"),
    ("10.1.2.3/30", "10.1.2.3"),
    ("192.168.7.9/0", "255.255.255.255"),
    ("10.1.2.2/31", None),
    ("10.1.2.3/32", None),
])
def test_addr4_broadcast(cidr, brd):
    iface = ipaddress.IPv4Interface(cidr)
    b = Batch()
    assert lib.nlc_addr_add(b.b, 3, socket.AF_INET, iface.ip.packed,
                            iface.network.prefixlen, 0) == 0
    got = attrs(decode(ifaddrmsg, only(b), IFADDRMSG))
    assert got.get("IFA_BROADCAST") == brd
    assert "IFA_FLAGS" not in got


def test_addr_nodad():
    b = Batch()
    ip6 = ipaddress.IPv6Address("fd00::1")
    assert lib.nlc_addr_add(b.b, 4, socket.AF_INET6, ip6.packed, 64,
                            lib.NLC_ADDR_NODAD) == 0
    assert lib.NLC_ADDR_NODAD == IFA_F_NODAD
    msg = decode(ifaddrmsg, only(b), IFADDRMSG)
    assert msg["flags"] == IFA_F_NODAD
    assert msg.get_attr("IFA_FLAGS") == IFA_F_NODAD
    assert msg.get_attr("IFA_BROADCAST") is None


# --------------------------------------------------------------- routes

def check_route(data, *, add, ip_version, dst, dst_len, gw, oif, flags,
                priority, table):
    msg = decode(rtmsg, data, RTMSG)
    assert msg["header"]["type"] == (RTM_NEWROUTE if add else RTM_DELROUTE)
    assert msg["header"]["flags"] == (REQ_NEW if add else REQ)
    fam = socket.AF_INET if ip_version == 4 else socket.AF_INET6
    table = table or RT_TABLE_MAIN
    assert msg["family"] == fam
    assert msg["dst_len"] == dst_len
    assert msg["src_len"] == 0 and msg["tos"] == 0
    assert msg["table"] == (table if table < 256 else 0)
    if add:
        assert msg["proto"] == RTPROT_BOOT
        assert msg["scope"] == (RT_SCOPE_UNIVERSE if gw else RT_SCOPE_LINK)
        assert msg["type"] == RTN_UNICAST
        assert msg["flags"] == flags
    else:                                        # wildcards
        assert msg["proto"] == 0
        assert msg["scope"] == RT_SCOPE_NOWHERE
        assert msg["type"] == 0
        assert msg["flags"] == 0
    exp = {"RTA_TABLE": table}
    if dst is not None:
        exp["RTA_DST"] = dst
    if gw is not None:
        exp["RTA_GATEWAY"] = gw
    if oif > 0:
        exp["RTA_OIF"] = oif
    if priority:
        exp["RTA_PRIORITY"] = priority
    assert ips(attrs(msg)) == exp


@st.composite
def routes(draw, version):
    bits = 32 if version == 4 else 128
    addr = st.ip_addresses(v=version)
    dst = draw(st.one_of(st.none(), addr))
    dst_len = 0 if dst is None else draw(st.integers(0, bits))
    gw = draw(st.one_of(st.none(), addr))
    oif = draw(st.integers(1 if gw is None else 0, 2**31 - 1))
    return dict(
        version=version, dst=dst, dst_len=dst_len, gw=gw, oif=oif,
        flags=draw(st.sampled_from([0, lib.NLC_ROUTE_ONLINK])),
        priority=draw(st.one_of(st.just(0), st.integers(1, U32))),
        table=draw(st.one_of(st.just(0), st.integers(1, 255),
                             st.integers(256, U32))))


@SETTINGS
@given(r=st.one_of(routes(4), routes(6)))
def test_route_round_trip(r):
    fam = socket.AF_INET if r["version"] == 4 else socket.AF_INET6
    dst = ffi.NULL if r["dst"] is None else r["dst"].packed
    gw = ffi.NULL if r["gw"] is None else r["gw"].packed
    b = Batch()
    assert lib.nlc_route_add(b.b, fam, dst, r["dst_len"], gw, r["oif"],
                             r["flags"], r["priority"], r["table"]) == 0
    assert lib.nlc_route_del(b.b, fam, dst, r["dst_len"], gw, r["oif"],
                             r["priority"], r["table"]) == 1
    add, dele = b.messages()
    common = dict(ip_version=r["version"], dst=r["dst"], dst_len=r["dst_len"],
                  gw=r["gw"], oif=r["oif"], priority=r["priority"],
                  table=r["table"])
    check_route(add, add=True, flags=r["flags"], **common)
    check_route(dele, add=False, flags=0, **common)


def test_route_del_wildcards():
    """A delete with only a destination: no gateway, oif, priority."""
    b = Batch()
    dst = ipaddress.IPv4Address("10.88.0.0")
    assert lib.nlc_route_del(b.b, socket.AF_INET, dst.packed, 16, ffi.NULL,
                             0, 0, 0) == 0
    check_route(only(b), add=False, ip_version=4, dst=dst, dst_len=16,
                gw=None, oif=0, flags=0, priority=0, table=0)
    assert lib.NLC_ROUTE_ONLINK == RTNH_F_ONLINK
