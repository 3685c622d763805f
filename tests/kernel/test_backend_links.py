"""The Backend contract against the real kernel, for every backend: links:
bridges, veths (peers born in other namespaces, queues), set, rename, move,
delete (by name, by group), get.

Each test runs once per backend in its own fresh network namespace and
checks what the kernel holds afterwards through the oracle of conftest.py,
never through the backend under test alone.
"""

from __future__ import annotations

import errno as E
import os
import socket

import pytest

from libnetwork.backends import ops as O
from libnetwork.errors import (
    InvalidParameter,
    NetlinkConflict,
    NetlinkNotFound,
)

from backend_util import *  # noqa: F401,F403


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
    assert {link.name: link for link in links_of(backend.links())}["br0"] == \
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


def test_link_alias(backend, oracle):
    """``ip link set LINK alias A``: the kernel keeps it, a dump reports it
    (an alias longer than the core keeps reads as ""); bad aliases are
    refused before anything is sent."""
    ok(backend, [O.LinkAddBridge("br0"),
                 O.LinkSet("br0", alias="libnetwork 0123abcd", up=True)])
    assert oracle().link("br0").alias == "libnetwork 0123abcd"
    assert oracle().link("br0").flags & IFF_UP
    mine = {link.name: link for link in backend.links()}
    assert mine["br0"].alias == "libnetwork 0123abcd"
    assert mine["lo"].alias == ""
    for bad in ("", "a" * 128, "nul\0"):
        with pytest.raises(InvalidParameter, match="alias"):
            backend.execute([O.LinkSet("br0", alias=bad)])
    assert oracle().link("br0").alias == "libnetwork 0123abcd"
