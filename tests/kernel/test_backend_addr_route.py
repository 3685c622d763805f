"""The Backend contract against the real kernel, for every backend: addresses
(IPv4 broadcast, IPv6 nodad, delete, errors) and routes (default, static,
metric, table, onlink, delete).

Each test runs once per backend in its own fresh network namespace and
checks what the kernel holds afterwards through the oracle of conftest.py,
never through the backend under test alone.
"""

from __future__ import annotations

import errno as E
import ipaddress
import socket

import pytest

from libnetwork.backends import ops as O
from libnetwork.errors import (
    NetlinkConflict,
    NetlinkError,
    NetlinkNotFound,
)

from backend_util import *  # noqa: F401,F403


# ------------------------------------------------------------- addresses

@pytest.mark.parametrize("plen,brd", [(24, "10.3.0.255"), (31, None),
                                      (32, None), (16, "10.3.255.255")])
def test_ipv4_address_and_broadcast(backend, oracle, plen, brd):
    ok(backend, [O.LinkAddBridge("br0"), O.AddrAdd("br0", f"10.3.0.1/{plen}")])
    index = oracle().link("br0").index
    [(addr, attrs)] = [(a, x) for a, x in oracle().raw_addresses(
        socket.AF_INET) if a.index == index]
    assert addr.address == ipaddress.ip_interface(f"10.3.0.1/{plen}")
    assert attrs.get("IFA_BROADCAST") == brd
    assert addr.flags & IFA_F_PERMANENT
    assert addr.label == "br0" and addr.scope == 0
    [info] = oracle().ip("addr", "show", "br0")[0]["addr_info"]
    assert info.get("broadcast") == brd
    assert addr in backend.addresses(family=socket.AF_INET)
    same_addresses(backend, oracle())


def test_ipv6_address_nodad(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"),
                 O.AddrAdd("br0", "fd00::1/64", nodad=True),
                 O.AddrAdd("br0", "fd00::2/64")])
    index = oracle().link("br0").index
    got = {a.address: a for a in oracle().addresses(socket.AF_INET6)
           if a.index == index}
    nodad = got[ipaddress.ip_interface("fd00::1/64")]
    dad = got[ipaddress.ip_interface("fd00::2/64")]
    assert nodad.flags & IFA_F_NODAD and not nodad.flags & IFA_F_TENTATIVE
    assert dad.flags & IFA_F_TENTATIVE and not dad.flags & IFA_F_NODAD
    infos = {i["local"]: i for i in
             oracle().ip("-6", "addr", "show", "br0")[0]["addr_info"]}
    assert infos["fd00::1"].get("nodad") and not infos["fd00::1"].get(
        "tentative")
    assert infos["fd00::2"].get("tentative")
    assert not infos["fd00::2"].get("nodad")
    same_addresses(backend, oracle(), family=socket.AF_INET6)


def test_address_delete(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"),
                 O.AddrAdd("br0", "10.3.0.1/24"),
                 O.AddrAdd("br0", "fd00::1/64", nodad=True)])
    ok(backend, [O.AddrDel("br0", "10.3.0.1/24"),
                 O.AddrDel("br0", "fd00::1/64")])
    index = oracle().link("br0").index
    assert not [a for a in oracle().addresses()
                if a.index == index and not a.address.is_link_local]
    res = backend.execute([O.AddrDel("br0", "10.3.0.1/24"),
                           O.AddrDel("br0", "fd00::1/64")])
    failed(res[0], E.EADDRNOTAVAIL, NetlinkNotFound)
    failed(res[1], E.EADDRNOTAVAIL, NetlinkNotFound)


def test_address_errors(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"), O.AddrAdd("br0", "10.3.0.1/24")])
    res = backend.execute([
        O.AddrAdd("br0", "10.3.0.1/24"),          # exists
        O.AddrAdd(424242, "10.3.0.2/24"),         # no such ifindex
        O.AddrAdd("nosuch", "10.3.0.3/24"),       # no such name
    ])
    failed(res[0], E.EEXIST, NetlinkConflict)
    failed(res[1], E.ENODEV, NetlinkNotFound)
    failed(res[2], E.ENODEV, NetlinkNotFound)
    assert "nosuch" in res[2].message
    with pytest.raises(NetlinkNotFound):
        backend.run([O.AddrAdd("nosuch", "10.3.0.3/24")])


# ---------------------------------------------------------------- routes

def test_default_route_ipv4(backend, oracle):
    up0 = uplink(backend, oracle())
    ok(backend, [O.RouteAdd(gateway="10.1.0.254")])
    r = find_route(oracle().routes(socket.AF_INET), "0.0.0.0/0")
    assert r.gateway == ipaddress.ip_address("10.1.0.254")
    assert r.oif == up0
    assert (r.protocol, r.scope, r.type) == (RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                                             RTN_UNICAST)
    assert r.priority == 0 and not r.flags & RTNH_F_ONLINK
    [j] = oracle().ip("route", "show", "default")
    # (iproute2 prints no "protocol" for boot, its default)
    assert (j["gateway"], j["dev"]) == ("10.1.0.254", "up0")
    assert j.get("protocol", "boot") == "boot"
    assert r in backend.routes(family=socket.AF_INET)
    same_routes(backend, oracle())


def test_default_route_ipv6(backend, oracle):
    up0 = uplink(backend, oracle())
    ok(backend, [O.RouteAdd(gateway="fd00:1::fe", oif="up0")])
    r = find_route(oracle().routes(socket.AF_INET6), "::/0")
    assert r.gateway == ipaddress.ip_address("fd00:1::fe")
    assert r.oif == up0
    assert (r.protocol, r.type) == (RTPROT_BOOT, RTN_UNICAST)
    assert r.priority == 1024                   # the kernel's IPv6 default
    [j] = oracle().ip("-6", "route", "show", "default")
    assert (j["gateway"], j["dev"]) == ("fd00:1::fe", "up0")
    same_routes(backend, oracle(), family=socket.AF_INET6)


def test_static_routes_metric_and_table(backend, oracle):
    up0 = uplink(backend, oracle())
    ok(backend, [
        O.RouteAdd(dst="192.168.50.0/24", gateway="10.1.0.254", metric=50),
        O.RouteAdd(dst="192.168.60.0/24", oif="up0", table=100),
        O.RouteAdd(dst="192.168.70.0/24", oif=up0, table=1000, metric=7),
        O.RouteAdd(dst="10.9.9.9/32", gateway="10.1.0.254", oif="up0"),
        O.RouteAdd(dst="fd00:50::/64", gateway="fd00:1::fe", oif="up0",
                   metric=77),
    ])
    routes = oracle().routes()
    r = find_route(routes, "192.168.50.0/24")
    assert (r.gateway, r.oif, r.priority, r.scope) == (
        ipaddress.ip_address("10.1.0.254"), up0, 50, RT_SCOPE_UNIVERSE)
    r = find_route(routes, "192.168.60.0/24", table=100)
    assert (r.gateway, r.oif, r.scope, r.protocol) == (
        None, up0, RT_SCOPE_LINK, RTPROT_BOOT)
    r = find_route(routes, "192.168.70.0/24", table=1000)
    assert (r.gateway, r.oif, r.priority) == (None, up0, 7)
    r = find_route(routes, "10.9.9.9/32")
    assert r.gateway == ipaddress.ip_address("10.1.0.254")
    r = find_route(routes, "fd00:50::/64")
    assert (r.gateway, r.priority) == (ipaddress.ip_address("fd00:1::fe"), 77)
    [j] = oracle().ip("route", "show", "table", "1000")
    assert (j["dst"], j["dev"], j["metric"]) == ("192.168.70.0/24", "up0", 7)
    same_routes(backend, oracle())


def test_onlink_route_to_a_gateway_outside_the_subnet(backend, oracle):
    up0 = uplink(backend, oracle())
    res = backend.execute([O.RouteAdd(dst="192.168.80.0/24",
                                      gateway="172.16.0.1", oif="up0")])
    exc = failed(res[0], E.ENETUNREACH, NetlinkError)
    assert res[0].message            # the kernel explains (ext-ack)
    assert res[0].message in str(exc)
    ok(backend, [O.RouteAdd(dst="192.168.80.0/24", gateway="172.16.0.1",
                            oif="up0", onlink=True),
                 O.RouteAdd(gateway="172.16.0.1", oif=up0, onlink=True)])
    routes = oracle().routes(socket.AF_INET)
    for dst in ("192.168.80.0/24", "0.0.0.0/0"):
        r = find_route(routes, dst)
        assert r.flags & RTNH_F_ONLINK
        assert r.gateway == ipaddress.ip_address("172.16.0.1")
    [j] = oracle().ip("route", "show", "192.168.80.0/24")
    assert "onlink" in j["flags"]
    same_routes(backend, oracle())


def test_route_delete(backend, oracle):
    uplink(backend, oracle())
    ok(backend, [
        O.RouteAdd(gateway="10.1.0.254"),
        O.RouteAdd(dst="192.168.50.0/24", gateway="10.1.0.254", metric=50),
        O.RouteAdd(dst="192.168.60.0/24", oif="up0", table=100),
        O.RouteAdd(gateway="fd00:1::fe", oif="up0"),
    ])
    ok(backend, [
        O.RouteDel(dst="192.168.50.0/24"),           # wildcards: gw, metric
        O.RouteDel(dst="192.168.60.0/24", table=100),
        O.RouteDel(gateway="10.1.0.254"),            # the v4 default
        O.RouteDel(family=socket.AF_INET6, oif="up0"),  # the v6 default
    ])
    left = oracle().routes()
    gone = {ipaddress.ip_network(d) for d in
            ("0.0.0.0/0", "::/0", "192.168.50.0/24", "192.168.60.0/24")}
    assert not [r for r in left if r.dst in gone]
    res = backend.execute([O.RouteDel(dst="192.168.99.0/24"),
                           O.RouteDel(dst="192.168.60.0/24", table=100)])
    failed(res[0], E.ESRCH, NetlinkNotFound)
    failed(res[1], E.ESRCH, NetlinkNotFound)


def test_route_via_unreachable_gateway(backend, oracle):
    res = backend.execute([O.RouteAdd(gateway="10.200.0.1"),
                           O.RouteAdd(gateway="fd00:200::1")])
    failed(res[0], E.ENETUNREACH, NetlinkError)
    assert "gateway" in res[0].message.lower(), res[0]
    # IPv6 cannot resolve the nexthop either
    assert res[1].errno in (E.ENETUNREACH, E.EHOSTUNREACH), res[1]
    assert type(res[1].exception()) is NetlinkError
    assert not [r for r in oracle().routes() if r.dst.prefixlen == 0]
