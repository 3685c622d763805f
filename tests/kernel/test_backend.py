"""The Backend contract against the real kernel, for every backend.

Each test runs once per backend (``native``, ``pyroute2``) in its own fresh
network namespace and checks what the kernel holds afterwards through the
oracle of conftest.py (pyroute2 on a socket opened inside the namespace,
and ``ip -j``), never through the backend under test alone.  Error cases
assert the exact errno and exception type, so both backends are held to
the same answers.
"""

from __future__ import annotations

import errno as E
import ipaddress
import os
import socket
import subprocess
import threading
import time

import pytest

from libnetwork.backends import ops as O
from libnetwork.errors import (
    InvalidParameter,
    NetlinkConflict,
    NetlinkError,
    NetlinkInvalid,
    NetlinkNotFound,
)

from kernel_util import (
    BACKENDS, drop_netns, in_netns, is_netns, make_netns, ns_inode,
    ns_socket,
)

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_LOWER_UP = 0x10000
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
RTNH_F_ONLINK = 0x4
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_UNICAST = 1
MAIN = 254


# --------------------------------------------------------------- helpers

def ok(be, batch):
    """Execute and insist that every operation succeeded."""
    res = be.execute(batch)
    assert len(res) == len(batch)
    bad = [r for r in res if not r.ok]
    assert not bad, bad
    return res


def failed(result, errno_, exc_type):
    """``result`` failed with exactly ``errno_`` and maps to exactly
    ``exc_type``; returns the exception."""
    assert result.errno == errno_, result
    exc = result.exception()
    assert type(exc) is exc_type, (type(exc), result)
    assert exc.errno == errno_
    assert exc.op is result.op
    return exc


def settle(get_a, get_b, tries=200):
    """``get_a() == get_b()``, allowing the kernel's asynchronous work
    (carrier, DAD, link-local addresses) a moment to finish."""
    for _ in range(tries):
        a, b = get_a(), get_b()
        if a == b:
            return a
        time.sleep(0.05)
    assert a == b


def _links(ls):
    # IFF_RUNNING follows the operstate, which the kernel updates late
    return {link._replace(flags=link.flags & ~IFF_RUNNING) for link in ls}


def same_links(be, orc, ns=None):
    return settle(lambda: _links(be.links(ns)),
                  lambda: _links(orc.links().values()))


def same_addresses(be, orc, ns=None, family=0):
    return settle(lambda: set(be.addresses(ns, family)),
                  lambda: set(orc.addresses(family)))


def same_routes(be, orc, ns=None, family=0):
    return settle(lambda: set(be.routes(ns, family)),
                  lambda: set(orc.routes(family)))


def thread_ns():
    return os.readlink("/proc/thread-self/ns/net")


def uplink(be, orc):
    """A veth pair up0/up1, both up (carrier), with 10.1.0.1/24 and
    fd00:1::1/64 on up0; returns up0's ifindex."""
    ok(be, [O.LinkAddVeth("up0", "up1", up=True),
            O.LinkSet("up1", up=True),
            O.AddrAdd("up0", "10.1.0.1/24"),
            O.AddrAdd("up0", "fd00:1::1/64", nodad=True)])
    return orc.link("up0").index


def find_route(routes, dst, table=MAIN):
    dst = ipaddress.ip_network(dst)
    hits = [r for r in routes if r.dst == dst and r.table == table]
    assert len(hits) == 1, (dst, table, routes)
    return hits[0]


# ----------------------------------------------------------------- links

def test_bridge_create(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0", mtu=1400, mac="02:AA:00:00:00:01",
                                 up=True, group=7)])
    br = oracle().link("br0")
    assert br.kind == "bridge"
    assert br.mtu == 1400
    assert br.mac == "02:aa:00:00:00:01"
    assert br.flags & IFF_UP
    assert br.group == 7
    assert (br.master, br.link, br.link_netnsid) == (0, 0, -1)
    j = oracle().ip("-d", "link", "show", "br0")[0]
    assert j["linkinfo"]["info_kind"] == "bridge"
    assert j["mtu"] == 1400
    assert j["address"] == "02:aa:00:00:00:01"
    assert "UP" in j["flags"]
    assert j["group"] == "7"
    assert {link.name: link for link in _links(backend.links())}["br0"] == \
        br._replace(flags=br.flags & ~IFF_RUNNING)


def test_bridge_defaults(backend, oracle):
    ok(backend, [O.LinkAddBridge("br1")])
    br = oracle().link("br1")
    assert br.kind == "bridge"
    assert not br.flags & IFF_UP
    assert br.group == 0
    assert br.mtu == 1500
    assert len(bytes.fromhex(br.mac.replace(":", ""))) == 6
    same_links(backend, oracle())


def test_loopback_reported_as_the_kernel_gives_it(backend, oracle):
    lo = {link.name: link for link in backend.links()}["lo"]
    assert lo.index == 1
    assert lo.kind == ""
    assert lo.mac == "00:00:00:00:00:00"
    assert (lo.master, lo.link, lo.link_netnsid, lo.group) == (0, 0, -1, 0)
    assert lo == oracle().link("lo")


def test_veth_peer_created_inside_another_namespace(backend, oracle, make_ns):
    sb = make_ns()
    ok(backend, [
        O.LinkAddBridge("br0", up=True),
        O.LinkAddVeth("v0", "eth0", peer_ns=sb, master="br0", mtu=1450,
                      mac="02:aa:00:00:00:10", up=True, group=9,
                      peer_mtu=1450, peer_mac="02:aa:00:00:00:11"),
    ])
    root, inside = oracle().links(), oracle(sb).links()
    assert set(root) == {"lo", "br0", "v0"}
    assert set(inside) == {"lo", "eth0"}      # born there, final name
    v0, eth0 = root["v0"], inside["eth0"]
    assert v0.kind == eth0.kind == "veth"
    assert v0.master == root["br0"].index
    assert v0.flags & IFF_UP
    assert (v0.mtu, v0.mac, v0.group) == (1450, "02:aa:00:00:00:10", 9)
    assert (eth0.mtu, eth0.mac, eth0.group) == (1450, "02:aa:00:00:00:11", 0)
    assert eth0.master == 0
    assert not eth0.flags & IFF_UP             # the peer is left down
    assert v0.link == eth0.index and eth0.link == v0.index
    assert v0.link_netnsid >= 0 and eth0.link_netnsid >= 0
    j = oracle(sb).ip("-d", "link", "show", "eth0")[0]
    assert j["linkinfo"]["info_kind"] == "veth"
    assert (j["mtu"], j["address"]) == (1450, "02:aa:00:00:00:11")
    assert oracle().ip("link", "show", "v0")[0]["master"] == "br0"

    ok(backend, [O.LinkSet("eth0", up=True, ns=sb)])
    eth0 = oracle(sb).link("eth0")
    assert eth0.flags & IFF_UP and eth0.flags & IFF_LOWER_UP
    assert oracle().link("v0").flags & IFF_LOWER_UP
    same_links(backend, oracle())
    same_links(backend, oracle(sb), sb)


def test_veth_both_ends_beside_each_other(backend, oracle):
    ok(backend, [O.LinkAddVeth("a0", "a1", mtu=1400, peer_mtu=1300)])
    links = oracle().links()
    a0, a1 = links["a0"], links["a1"]
    assert (a0.link, a1.link) == (a1.index, a0.index)
    assert a0.link_netnsid == a1.link_netnsid == -1
    assert (a0.mtu, a1.mtu) == (1400, 1300)
    same_links(backend, oracle())


def test_veth_queues(backend, oracle, make_ns):
    """``queues`` sets numtxqueues/numrxqueues of both ends, the peer's too
    (in its own namespace); without it, the kernel's default: a queue per
    possible CPU, one of them in use."""
    sb = make_ns()
    ok(backend, [O.LinkAddVeth("q0", "eth0", peer_ns=sb, queues=1),
                 O.LinkAddVeth("d0", "d1")])

    def queues(name, path=None):
        j = oracle(path).ip("-d", "link", "show", name)[0]
        return j["num_tx_queues"], j["num_rx_queues"]
    assert queues("q0") == queues("eth0", sb) == (1, 1)
    ncpu = os.sysconf("SC_NPROCESSORS_CONF")
    default = queues("d0")
    assert default == queues("d1")
    assert default[0] >= 1 and default[0] == default[1]
    if ncpu > 1:                     # the control: the kernel's default
        assert default[0] > 1
    ok(backend, [O.LinkAddVeth("q2", "q3", queues=3)])
    assert queues("q2") == queues("q3") == (3, 3)
    for bad in (0, 4097, True, "1"):
        with pytest.raises(InvalidParameter):
            backend.execute([O.LinkAddVeth("q4", "q5", queues=bad)])
    assert "q4" not in oracle().links()


def test_link_set_and_del_by_name(backend, oracle, make_ns):
    """A LinkSet (but a rename) and a LinkDel name their link to the
    kernel: a run that creates a link can set it up and delete it in the
    same batch, and a missing name gives ENODEV with a message naming
    it, as a lookup would."""
    sb = make_ns()
    res = ok(backend, [O.LinkAddVeth("b0", "b1", ns=sb),
                       O.LinkSet("b0", up=True, mtu=1300, ns=sb),
                       O.LinkSet("b1", up=True, ns=sb),
                       O.LinkAddVeth("c0", "c1", ns=sb),
                       O.LinkDel("c0", ns=sb)])
    assert len(res) == 5
    links = oracle(sb).links()
    assert set(links) == {"lo", "b0", "b1"}
    assert links["b0"].mtu == 1300
    assert links["b0"].flags & IFF_UP and links["b1"].flags & IFF_UP
    res = backend.execute([O.LinkSet("nosuch", up=True, ns=sb),
                           O.LinkDel("nosuch", ns=sb),
                           O.LinkSet("nosuch", mtu=1400, ipv6_ll=False,
                                     ns=sb)])
    for r in res:
        exc = failed(r, E.ENODEV, NetlinkNotFound)
        assert "no link named 'nosuch'" in str(exc), str(exc)
    assert oracle(sb).links() == links


def test_link_set_every_field(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"), O.LinkAddBridge("br1"),
                 O.LinkAddVeth("v0", "v1")])
    ok(backend, [O.LinkSet("v0", mtu=1300, mac="02:aa:00:00:00:20",
                           group=4, master="br0", up=True)])
    links = oracle().links()
    v0 = links["v0"]
    assert (v0.mtu, v0.mac, v0.group) == (1300, "02:aa:00:00:00:20", 4)
    assert v0.master == links["br0"].index
    assert v0.flags & IFF_UP

    ok(backend, [O.LinkSet("v0", master="br1")])
    assert oracle().link("v0").master == links["br1"].index
    ok(backend, [O.LinkSet(v0.index, master=links["br0"].index)])
    assert oracle().link("v0").master == links["br0"].index
    ok(backend, [O.LinkSet("v0", nomaster=True)])
    assert oracle().link("v0").master == 0
    ok(backend, [O.LinkSet("v0", up=False)])
    assert not oracle().link("v0").flags & IFF_UP
    ok(backend, [O.LinkSet(v0.index, mtu=1280, group=0)])
    v0 = oracle().link("v0")
    assert (v0.mtu, v0.group) == (1280, 0)
    same_links(backend, oracle())


def test_link_up_without_ipv6_link_local(backend, oracle):
    """ipv6_ll=False (addrgenmode none) set before up: the link comes up
    without an fe80:: address; its twin gets one as usual.  Both in one
    LinkSet is refused (the kernel would apply the mode after the flags)."""
    ok(backend, [O.LinkAddVeth("n0", "n1"), O.LinkAddVeth("e0", "e1")])
    with pytest.raises(InvalidParameter, match="ipv6_ll"):
        backend.execute([O.LinkSet("n0", up=True, ipv6_ll=False)])
    ok(backend, [O.LinkSet("n0", ipv6_ll=False),
                 O.LinkSet("n1", ipv6_ll=False),
                 O.LinkSet("n0", up=True), O.LinkSet("n1", up=True),
                 O.LinkSet("e0", up=True), O.LinkSet("e1", up=True)])
    links = oracle().links()

    def link_locals(name):
        return [a for a in oracle().addresses(socket.AF_INET6)
                if a.index == links[name].index and a.address.is_link_local]
    # the control: e0 does get one (the kernel's addrconf runs at carrier
    # up; settle waits generously, a loaded machine can take seconds)
    assert settle(lambda: bool(link_locals("e0")), lambda: True)
    assert link_locals("n0") == [] and link_locals("n1") == []
    assert oracle().link("n0").flags & IFF_UP

    def mode(name):
        return oracle().ip("-d", "link", "show", name)[0][
            "inet6_addr_gen_mode"]
    assert (mode("n0"), mode("e0")) == ("none", "eui64")
    ok(backend, [O.LinkSet("n0", ipv6_ll=True)])
    assert mode("n0") == "eui64"


def test_link_set_leaves_unnamed_fields_alone(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0", mtu=1400, group=3, up=True)])
    before = oracle().link("br0")
    ok(backend, [O.LinkSet("br0")])
    ok(backend, [O.LinkSet("br0", mac="02:aa:00:00:00:30")])
    after = oracle().link("br0")
    # carrier bits follow the (asynchronous) bridge state; IFF_UP may not
    assert after._replace(mac=before.mac, flags=after.flags & IFF_UP) == \
        before._replace(flags=before.flags & IFF_UP)
    assert after.mac == "02:aa:00:00:00:30"


def test_link_rename(backend, oracle):
    ok(backend, [O.LinkAddVeth("v0", "v1")])
    index = oracle().link("v0").index
    ok(backend, [O.LinkSet("v0", name="renamed0")])
    links = oracle().links()
    assert "v0" not in links and links["renamed0"].index == index
    # a later op names the link by its new name, in the same batch
    ok(backend, [O.LinkSet("renamed0", name="again0"),
                 O.LinkSet("again0", up=True)])
    link = oracle().link("again0")
    assert link.index == index and link.flags & IFF_UP
    res = backend.execute([O.LinkSet("again0", name="lo")])
    failed(res[0], E.EEXIST, NetlinkConflict)


def test_link_move_to_another_namespace(backend, oracle, make_ns):
    sb = make_ns()
    ok(backend, [O.LinkAddVeth("a0", "a1"), O.LinkAddVeth("b0", "b1")])
    b1 = oracle().link("b1").index
    ok(backend, [O.LinkSet("a1", netns=sb)])
    root, inside = oracle().links(), oracle(sb).links()
    assert "a1" not in root and "a1" in inside
    assert root["a0"].link_netnsid >= 0
    # by ifindex, renamed on the way, and used by its new name at once
    ok(backend, [O.LinkSet(b1, netns=sb, name="eth1"),
                 O.LinkSet("eth1", up=True, mtu=1400, ns=sb)])
    root, inside = oracle().links(), oracle(sb).links()
    assert "b1" not in root and "eth1" not in root
    assert inside["eth1"].flags & IFF_UP and inside["eth1"].mtu == 1400
    assert inside["eth1"].link == root["b0"].index
    # and back, into the root (the backend's root path)
    ok(backend, [O.LinkSet("a1", netns=oracle().path, ns=sb)])
    assert "a1" in oracle().links() and "a1" not in oracle(sb).links()
    same_links(backend, oracle(sb), sb)


def test_link_del(backend, oracle, make_ns):
    sb = make_ns()
    ok(backend, [O.LinkAddBridge("br0"), O.LinkAddBridge("br1"),
                 O.LinkAddVeth("d0", "eth0", peer_ns=sb)])
    br1 = oracle().link("br1").index
    ok(backend, [O.LinkDel("br0"), O.LinkDel(br1), O.LinkDel("d0")])
    assert set(oracle().links()) == {"lo"}
    assert set(oracle(sb).links()) == {"lo"}     # the peer went with it


def test_link_del_group(backend, oracle, make_ns):
    s1, s2 = make_ns(), make_ns()
    ok(backend, [
        O.LinkAddBridge("gbr", group=42),
        O.LinkAddBridge("keep0", group=43),
        O.LinkAddBridge("keep1"),
        O.LinkAddVeth("g0", "eth0", peer_ns=s1, group=42),
        O.LinkAddVeth("g1", "eth0", peer_ns=s2, group=42),
        O.LinkAddVeth("g2", "g2p", group=42),
        O.LinkAddVeth("k0", "eth1", peer_ns=s1),
    ])
    keep = {n: v for n, v in oracle().links().items() if n in
            ("lo", "keep0", "keep1", "k0")}
    res = backend.execute([O.LinkDelGroup(42)])
    assert res[0].ok, res
    after = oracle().links()
    assert set(after) == set(keep)
    assert all(after[n].index == keep[n].index and
               after[n].group == keep[n].group for n in keep)
    assert set(oracle(s1).links()) == {"lo", "eth1"}
    assert set(oracle(s2).links()) == {"lo"}
    # nothing left in the group: the kernel says ENODEV
    res = backend.execute([O.LinkDelGroup(42)])
    failed(res[0], E.ENODEV, NetlinkNotFound)


def test_link_get(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0")])
    index = oracle().link("br0").index
    res = ok(backend, [O.LinkGet("br0"), O.LinkGet(index), O.LinkGet(1),
                       O.LinkGet("lo")])
    assert [r.value for r in res] == [index, index, 1, 1]
    assert backend.link_index("br0") == index
    res = backend.execute([O.LinkGet("nosuch"), O.LinkGet(424242)])
    failed(res[0], E.ENODEV, NetlinkNotFound)
    failed(res[1], E.ENODEV, NetlinkNotFound)
    assert [r.value for r in res] == [None, None]
    with pytest.raises(NetlinkNotFound) as info:
        backend.link_index("nosuch")
    assert info.value.errno == E.ENODEV


def test_link_get_sees_a_link_made_earlier_in_the_batch(backend, oracle):
    res = ok(backend, [O.LinkAddBridge("br0"), O.LinkGet("br0")])
    assert res[1].value == oracle().link("br0").index
    assert res[0].value is None


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


# ---------------------------------------------------------------- errors

def test_create_existing_link(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"), O.LinkAddVeth("v0", "v1")])
    res = backend.execute([O.LinkAddBridge("br0"),
                           O.LinkAddVeth("v0", "x1"),
                           O.LinkAddVeth("x0", "v1")])
    for r in res:
        failed(r, E.EEXIST, NetlinkConflict)
    with pytest.raises(NetlinkConflict) as info:
        backend.run([O.LinkAddBridge("br0")])
    assert info.value.errno == E.EEXIST
    assert len(info.value.results) == 1
    assert set(oracle().links()) == {"lo", "br0", "v0", "v1"}


@pytest.mark.parametrize("bad", [
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("x" * 16)],
    [O.LinkAddBridge("ok0"), O.LinkAddVeth("v0", "p" * 16)],
    [O.LinkAddBridge("ok0"), O.LinkSet("lo", name="n" * 20)],
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("b1", mac="01:00:5e:00:00:01")],
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("b1", mtu=10)],
    [O.LinkAddBridge("ok0"), O.AddrAdd("lo", "10.0.0.300/24")],
    [O.LinkAddBridge("ok0"), O.RouteAdd(dst="10.0.0.1/24", oif="lo")],
], ids=["name", "peer-name", "rename", "mac", "mtu", "addr", "host-bits"])
def test_invalid_batch_changes_nothing(backend, oracle, bad):
    before = oracle().links()
    with pytest.raises(InvalidParameter) as info:
        backend.execute(bad)
    assert type(info.value) is InvalidParameter
    assert oracle().links() == before


def test_delete_missing_link(backend):
    res = backend.execute([O.LinkDel("nosuch"), O.LinkDel(424242)])
    failed(res[0], E.ENODEV, NetlinkNotFound)
    failed(res[1], E.ENODEV, NetlinkNotFound)


def test_missing_namespace_path(backend, oracle, nsdir):
    bad = os.path.join(nsdir, "nope")
    res = backend.execute([
        O.LinkAddBridge("x0", ns=bad),
        O.AddrAdd("lo", "10.0.0.1/8", ns=bad),
    ])
    failed(res[0], E.ENOENT, NetlinkNotFound)
    failed(res[1], E.ENOENT, NetlinkNotFound)
    res = backend.execute([
        O.LinkAddVeth("v0", "eth0", peer_ns=bad),
        O.LinkAddVeth("v2", "v3"),
        O.LinkSet("v3", netns=bad),
        O.NetnsDelete(bad),
    ])
    failed(res[0], E.ENOENT, NetlinkNotFound)
    assert res[1].ok
    failed(res[2], E.ENOENT, NetlinkNotFound)
    failed(res[3], E.ENOENT, NetlinkNotFound)
    assert set(oracle().links()) == {"lo", "v2", "v3"}
    assert not os.path.exists(bad)


def test_path_that_is_not_a_namespace(backend, oracle, nsdir):
    plain = os.path.join(nsdir, "plain")
    with open(plain, "w"):
        pass
    res = backend.execute([O.LinkAddBridge("x0", ns=plain),
                           O.LinkAddVeth("v0", "eth0", peer_ns=plain)])
    failed(res[0], E.EINVAL, NetlinkInvalid)
    failed(res[1], E.EINVAL, NetlinkInvalid)
    assert set(oracle().links()) == {"lo"}


# ----------------------------------------------------------------- batches

def test_failure_in_the_middle_does_not_stop_the_batch(backend, oracle):
    batch = [O.LinkAddBridge("b1"),
             O.LinkAddBridge("b1"),                  # EEXIST
             O.LinkAddBridge("b2", up=True),
             O.AddrAdd("b2", "10.6.0.1/24"),
             O.RouteAdd(gateway="10.99.0.1"),        # ENETUNREACH
             O.LinkGet("b2")]
    res = backend.execute(batch)
    assert [r.op for r in res] == batch
    assert [r.errno for r in res] == [0, E.EEXIST, 0, 0, E.ENETUNREACH, 0]
    links = oracle().links()
    assert res[5].value == links["b2"].index
    assert {"b1", "b2"} <= set(links)
    assert [a for a in oracle().addresses(socket.AF_INET)
            if a.address == ipaddress.ip_interface("10.6.0.1/24")]


def test_run_raises_the_first_failure_with_every_result(backend, oracle):
    batch = [O.LinkAddBridge("b1"), O.LinkDel("nosuch"), O.LinkAddBridge("b1"),
             O.LinkAddBridge("b3")]
    with pytest.raises(NetlinkNotFound) as info:
        backend.run(batch)
    exc = info.value
    assert exc.errno == E.ENODEV and exc.op == batch[1]
    assert [r.errno for r in exc.results] == [0, E.ENODEV, E.EEXIST, 0]
    assert {"b1", "b3"} <= set(oracle().links())


def test_one_execute_across_namespaces(backend, oracle, nsdir):
    p = os.path.join(nsdir, "sandbox")
    me = thread_ns()
    ok(backend, [
        O.LinkAddBridge("br0", up=True),
        O.AddrAdd("br0", "10.2.0.1/24"),
        O.NetnsCreate(p),
        O.LinkAddVeth("h0", "eth0", peer_ns=p, master="br0", up=True,
                      peer_mac="02:aa:00:00:02:02"),
        O.AddrAdd("eth0", "10.2.0.2/24", ns=p),
        O.LinkSet("lo", up=True, ns=p),
        O.LinkSet("eth0", up=True, ns=p),
        O.RouteAdd(gateway="10.2.0.1", oif="eth0", ns=p),
    ])
    assert thread_ns() == me
    assert is_netns(p)
    inside = oracle(p).links()
    assert set(inside) == {"lo", "eth0"}
    assert inside["lo"].flags & IFF_UP and inside["eth0"].flags & IFF_UP
    assert inside["eth0"].mac == "02:aa:00:00:02:02"
    assert ipaddress.ip_interface("10.2.0.2/24") in {
        a.address for a in oracle(p).addresses()}
    r = find_route(oracle(p).routes(socket.AF_INET), "0.0.0.0/0")
    assert r.gateway == ipaddress.ip_address("10.2.0.1")
    assert r.oif == inside["eth0"].index
    root = oracle().links()
    assert root["h0"].master == root["br0"].index
    same_links(backend, oracle(p), p)
    same_addresses(backend, oracle(p), p)
    same_routes(backend, oracle(p), p)


def test_names_made_earlier_in_the_batch_resolve(backend, oracle):
    res = ok(backend, [
        O.LinkAddBridge("br0"),
        O.LinkAddVeth("v0", "v1", master="br0"),
        O.LinkSet("v1", name="v1x"),
        O.LinkSet("v1x", up=True, master="br0"),
        O.AddrAdd("v1x", "10.4.0.1/24"),
        O.LinkGet("v1x"),
        O.LinkAddBridge("tmp0"),
        O.LinkDel("tmp0"),
    ])
    links = oracle().links()
    assert links["v0"].master == links["br0"].index
    assert links["v1x"].master == links["br0"].index
    assert links["v1x"].flags & IFF_UP
    assert res[5].value == links["v1x"].index
    assert "tmp0" not in links and "v1" not in links
    res = backend.execute([O.LinkAddBridge("tmp1"), O.LinkDel("tmp1"),
                           O.AddrAdd("tmp1", "10.4.1.1/24")])
    assert res[0].ok and res[1].ok
    failed(res[2], E.ENODEV, NetlinkNotFound)


# -------------------------------------------------------------- namespaces

def test_netns_create_and_delete_many(backend, oracle, nsdir):
    paths = [os.path.join(nsdir, f"sb{i}") for i in range(16)]
    ok(backend, [O.NetnsCreate(p) for p in paths])
    inodes = {ns_inode(p) for p in paths}
    assert all(is_netns(p) for p in paths)
    assert len(inodes) == 16 and ns_inode(oracle().path) not in inodes
    ok(backend, [O.LinkSet("lo", up=True, ns=p) for p in paths])
    assert all(oracle(p).link("lo").flags & IFF_UP for p in paths[:3])
    ok(backend, [O.NetnsDelete(p) for p in paths])
    assert not any(os.path.exists(p) for p in paths)
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert not [p for p in paths if f" {p} " in mounts]


def test_netns_create_a_large_batch(backend, oracle, nsdir):
    """Enough distinct paths for the native core to share them among one
    helper thread per CPU: every one a namespace of its own, with its
    socket working, the results in the batch's order.  The same path twice
    in a batch: the first creates it, the second finds it (EEXIST), as in
    order, however many helpers."""
    me = thread_ns()
    paths = [os.path.join(nsdir, f"big{i}") for i in range(150)]
    ok(backend, [O.NetnsCreate(p) for p in paths]
       + [O.LinkSet("lo", up=True, ns=p) for p in paths])
    assert thread_ns() == me
    assert len({ns_inode(p) for p in paths}) == 150
    assert ns_inode(oracle().path) not in {ns_inode(p) for p in paths}
    for p in (paths[0], paths[75], paths[149]):
        assert oracle(p).link("lo").flags & IFF_UP
    dup = [os.path.join(nsdir, f"dup{i}") for i in range(100)]
    dup[90] = dup[7]
    res = backend.execute([O.NetnsCreate(p) for p in dup])
    assert [k for k, r in enumerate(res) if r.errno] == [90]
    failed(res[90], E.EEXIST, NetlinkConflict)
    assert all(is_netns(p) for p in dup)
    gone = paths + sorted(set(dup))
    gone.insert(200, gone[3])           # deleted twice: the second fails
    res = backend.execute([O.NetnsDelete(p) for p in gone])
    assert [k for k, r in enumerate(res) if r.errno] == [200]
    failed(res[200], E.ENOENT, NetlinkNotFound)
    assert not any(os.path.exists(p) for p in paths + dup)


def test_netns_create_over_an_existing_path(backend, oracle, make_ns,
                                            nsdir):
    taken = make_ns("taken")
    subprocess.run(["nsenter", f"--net={taken}", "ip", "link", "add",
                    "keepme", "type", "bridge"], check=True)
    ino = ns_inode(taken)
    plain = os.path.join(nsdir, "plain")
    with open(plain, "w") as f:
        f.write("data")
    missing_dir = os.path.join(nsdir, "no", "such", "x")
    res = backend.execute([O.NetnsCreate(taken), O.NetnsCreate(plain),
                           O.NetnsCreate(missing_dir)])
    failed(res[0], E.EEXIST, NetlinkConflict)
    failed(res[1], E.EEXIST, NetlinkConflict)
    failed(res[2], E.ENOENT, NetlinkNotFound)
    assert ns_inode(taken) == ino and "keepme" in oracle(taken).links()
    with open(plain) as f:
        assert f.read() == "data"
    assert not is_netns(plain)


def test_calling_thread_never_changes_namespace(backend, nsdir, make_ns):
    me = thread_ns()
    threads = threading.active_count()
    p = os.path.join(nsdir, "p")
    other = make_ns()
    missing = os.path.join(nsdir, "missing")
    batches = [
        [O.NetnsCreate(p)],
        [O.NetnsCreate(p)],                                   # EEXIST
        [O.NetnsCreate(os.path.join(missing, "x"))],          # ENOENT
        [O.LinkAddBridge("b0", ns=p), O.LinkSet("lo", up=True, ns=other)],
        [O.LinkAddBridge("b0", ns=p)],                        # EEXIST in p
        [O.LinkAddBridge("b0", ns=missing)],                  # cannot enter
        [O.AddrAdd("nosuch", "10.0.0.1/24", ns=other)],
        [O.LinkAddVeth("v0", "eth0", peer_ns=p)],
        [O.LinkAddVeth("v1", "eth0", peer_ns=p)],             # EEXIST in p
        [O.NetnsDelete(p)],
        [O.NetnsDelete(p)],                                   # ENOENT
    ]
    for batch in batches:
        backend.execute(batch)
        assert thread_ns() == me, batch
    backend.links(other)
    backend.addresses(other)
    backend.routes(other)
    assert thread_ns() == me
    with pytest.raises(OSError):
        backend.links(missing)
    assert thread_ns() == me
    assert threading.active_count() == threads


def test_delete_then_recreate_the_same_path(backend, oracle, nsdir):
    p = os.path.join(nsdir, "again")
    ok(backend, [O.NetnsCreate(p), O.LinkAddBridge("old0", ns=p)])
    ok(backend, [O.NetnsDelete(p)])
    ok(backend, [O.NetnsCreate(p)])
    res = backend.execute([O.LinkGet("old0", ns=p)])
    failed(res[0], E.ENODEV, NetlinkNotFound)     # not the old namespace
    ok(backend, [O.LinkAddBridge("new0", ns=p)])
    assert set(oracle(p).links()) == {"lo", "new0"}


def test_path_rebound_behind_the_backends_back(backend, oracle, make_ns):
    """A path names whatever namespace is bound there now: one the backend
    has a socket in, replaced by other tooling, is not used any more."""
    p = make_ns("rebound")
    ok(backend, [O.LinkAddBridge("old0", ns=p)])
    drop_netns(p)
    make_netns(p)
    res = backend.execute([O.LinkGet("old0", ns=p)])
    failed(res[0], E.ENODEV, NetlinkNotFound)
    ok(backend, [O.LinkAddBridge("new0", ns=p)])
    assert set(oracle(p).links()) == {"lo", "new0"}


def test_netns_delete_releases_the_namespace(backend, oracle, nsdir):
    """Once deleted, nothing of the backend keeps the namespace alive: its
    veth ends die with it, taking their peers in the root along."""
    p = os.path.join(nsdir, "short")
    ok(backend, [O.NetnsCreate(p),
                 O.LinkAddVeth("h0", "eth0", peer_ns=p),
                 O.LinkSet("eth0", up=True, mtu=1400, ns=p),
                 O.LinkSet("lo", up=True, ns=p)])
    backend.links(p)
    assert "h0" in oracle().links()
    ok(backend, [O.NetnsDelete(p)])
    deadline = time.monotonic() + 10
    while "h0" in oracle().links():
        assert time.monotonic() < deadline, "namespace still alive"
        time.sleep(0.02)


# ----------------------------------------------------------------- packets

def test_udp_between_two_sandboxes_through_a_bridge(backend, oracle, nsdir):
    s1, s2 = (os.path.join(nsdir, n) for n in ("sb1", "sb2"))
    batch = [O.NetnsCreate(s1), O.NetnsCreate(s2),
             O.LinkAddBridge("br0", up=True)]
    for i, s in ((1, s1), (2, s2)):
        batch.append(O.LinkAddVeth(f"h{i}", "eth0", peer_ns=s, master="br0",
                                   up=True))
    for i, s in ((1, s1), (2, s2)):
        batch += [O.AddrAdd("eth0", f"10.5.0.{i}/24", ns=s),
                  O.LinkSet("lo", up=True, ns=s),
                  O.LinkSet("eth0", up=True, ns=s)]
    ok(backend, batch)
    rx = ns_socket(s2, socket.AF_INET, socket.SOCK_DGRAM)
    tx = ns_socket(s1, socket.AF_INET, socket.SOCK_DGRAM)
    with rx, tx:
        rx.bind(("10.5.0.2", 5555))
        rx.settimeout(0.2)
        payload = os.urandom(32)
        deadline = time.monotonic() + 10
        while True:
            tx.sendto(payload, ("10.5.0.2", 5555))
            try:
                data, addr = rx.recvfrom(2048)
                break
            except socket.timeout:
                assert time.monotonic() < deadline, "no datagram arrived"
        assert data == payload
        assert addr[0] == "10.5.0.1"
        # and not through the test's own namespace
        assert in_netns(s1, lambda: os.readlink(
            "/proc/thread-self/ns/net")) != thread_ns()
    # the counters saw it; the backend reads what the kernel counts,
    # between two readings of the oracle (traffic may go on: ARP, ND)
    for s, moved in ((s1, "tx"), (s2, "rx")):
        before = oracle(s).stats()["eth0"]
        got = backend.link_stats(s)["eth0"]
        after = oracle(s).stats()["eth0"]
        assert all(b <= g <= a for b, g, a in zip(before, got, after)), (
            before, got, after)
        nbytes, npackets = (got[0], got[1]) if moved == "rx" else (got[4],
                                                                   got[5])
        assert npackets >= 1 and nbytes >= len(payload)
    assert set(backend.link_stats()) == {"lo", "br0", "h1", "h2"}


# ----------------------------------------------------- both backends at once

def test_backends_agree(make_ns, make_backend, nsdir):
    """The same batch on each backend, each in its own fresh namespace:
    the same results, the same kernel state, the same dumps."""
    seen = {}
    for name in BACKENDS:
        root = make_ns(f"agree-{name}")
        be = make_backend(name, root)
        sb = os.path.join(nsdir, f"agree-sb-{name}")
        batch = [
            O.LinkAddBridge("br0", mac="02:bb:00:00:00:01", up=True,
                            mtu=1400, group=5),
            O.AddrAdd("br0", "10.7.0.1/24"),
            O.AddrAdd("br0", "fd00:7::1/64", nodad=True),
            O.NetnsCreate(sb),
            O.LinkAddVeth("h0", "eth0", peer_ns=sb, master="br0", up=True,
                          mac="02:bb:00:00:00:02", peer_mtu=1400, group=6,
                          peer_mac="02:bb:00:00:00:03"),
            O.AddrAdd("eth0", "10.7.0.2/24", ns=sb),
            O.AddrAdd("eth0", "fd00:7::2/64", nodad=True, ns=sb),
            O.LinkSet("lo", up=True, ns=sb),
            O.LinkSet("eth0", up=True, ns=sb),
            O.RouteAdd(gateway="10.7.0.1", oif="eth0", ns=sb),
            O.RouteAdd(gateway="fd00:7::1", oif="eth0", ns=sb),
            O.RouteAdd(dst="192.168.0.0/16", gateway="10.7.0.1", metric=9,
                       table=77, ns=sb),
            O.LinkAddBridge("br0"),                       # EEXIST
            O.RouteAdd(gateway="10.99.0.1"),              # ENETUNREACH
            O.AddrAdd("nosuch", "10.7.0.9/24"),           # ENODEV
            O.LinkGet("h0"),
            O.LinkDel(424242),                            # ENODEV
        ]
        res = be.execute(batch)
        seen[name] = dict(
            results=[(r.errno, r.value, type(r.exception())) for r in res],
            state=_settled(be, sb))
        assert seen[name]["results"][12][0] == E.EEXIST
    a, b = seen["native"], seen["pyroute2"]
    assert a["results"] == b["results"]
    for key in ("links", "addrs", "routes"):
        assert a["state"][key] == b["state"][key], key


def _settled(be, sb):
    """The backend's dumps of root and ``sb`` once two reads in a row
    agree, without what the kernel changes on its own schedule (carrier
    and operstate bits, DAD, link-local addresses and their routes)."""
    def read():
        return dict(links=[_norm(be.links()), _norm(be.links(sb))],
                    addrs=[_norm(be.addresses()), _norm(be.addresses(sb))],
                    routes=[_norm(be.routes()), _norm(be.routes(sb))])
    last = read()
    for _ in range(60):
        time.sleep(0.05)
        now = read()
        if now == last:
            break
        last = now
    return last


_ASYNC_LINK_FLAGS = IFF_RUNNING | IFF_LOWER_UP | 0x20000   # IFF_DORMANT
RTNH_F_LINKDOWN = 0x10


def _norm(items):
    keep = set()
    for x in items:
        if isinstance(x, O.Link):
            x = x._replace(flags=x.flags & ~_ASYNC_LINK_FLAGS)
        elif isinstance(x, O.Address):
            if x.address.is_link_local:
                continue
            x = x._replace(flags=x.flags & ~IFA_F_TENTATIVE)
        elif isinstance(x, O.Route):
            if x.dst.is_link_local or x.dst.is_multicast:
                continue
            x = x._replace(flags=x.flags & ~RTNH_F_LINKDOWN)
        keep.add(x)
    return keep
