"""Links over a parent (macvlan, ipvlan, vlan), for every backend, against
the real kernel.

The parent is one end of a veth pair (this private world has no NIC).  The
oracle reads the links back with pyroute2 on a socket inside each
namespace, and ``ip -d -j`` (iproute2's decoder) reads the kind's data.
"""

from __future__ import annotations

import errno as E

import pytest

from libnetwork.backends import ops as O

IFF_UP = 0x1
KINDS = {O.LinkAddMacvlan: "macvlan", O.LinkAddIpvlan: "ipvlan",
         O.LinkAddVlan: "802.1Q vlan"}


@pytest.fixture
def be(backend):
    """The ``backend`` fixture, with a parent: veth up0 (up) / up1."""
    res = backend.execute([O.LinkAddVeth("up0", "up1", up=True, queues=1),
                           O.LinkSet("up1", up=True)])
    assert all(r.ok for r in res), res
    return backend


def ok(be, batch):
    res = be.execute(batch)
    for r in res:
        if r.errno == E.EOPNOTSUPP and type(r.op) in KINDS:
            # "Unknown device type": this kernel was built without it
            pytest.skip(f"the kernel has no {KINDS[type(r.op)]} links "
                        f"({r.message})")
    assert [r.errno for r in res] == [0] * len(batch), res
    return res


def info_data(orc, name):
    return orc.ip("-d", "link", "show", name)[0]["linkinfo"]


def test_macvlan(be, oracle):
    ok(be, [O.LinkAddMacvlan("mv0", "up0", mode="bridge",
                             mac="02:aa:00:00:00:20", mtu=1400, group=3,
                             up=True)])
    links = oracle().links()
    mv = links["mv0"]
    assert (mv.kind, mv.link) == ("macvlan", links["up0"].index)
    assert (mv.mac, mv.mtu, mv.group) == ("02:aa:00:00:00:20", 1400, 3)
    assert mv.flags & IFF_UP
    info = info_data(oracle(), "mv0")
    assert (info["info_kind"], info["info_data"]["mode"]) == \
        ("macvlan", "bridge")


@pytest.mark.parametrize("mode", ["private", "vepa", "passthru"])
def test_macvlan_born_in_a_sandbox(be, oracle, make_ns, mode):
    sb = make_ns()
    ok(be, [O.LinkAddMacvlan("eth0", "up0", mode=mode, netns=sb)])
    assert "eth0" not in oracle().links()
    eth0 = oracle(sb).link("eth0")
    assert eth0.kind == "macvlan" and eth0.link_netnsid >= 0
    assert info_data(oracle(sb), "eth0")["info_data"]["mode"] == mode


@pytest.mark.parametrize("mode", ["l2", "l3", "l3s"])
def test_ipvlan_born_in_a_sandbox(be, oracle, make_ns, mode):
    sb = make_ns()
    ok(be, [O.LinkAddIpvlan("eth0", "up0", mode=mode, netns=sb, mtu=1400,
                            group=4)])
    eth0 = oracle(sb).link("eth0")
    assert (eth0.kind, eth0.mtu, eth0.group) == ("ipvlan", 1400, 4)
    assert eth0.mac == oracle().link("up0").mac     # shares its parent's
    assert info_data(oracle(sb), "eth0")["info_data"]["mode"] == mode


def test_vlan(be, oracle):
    ok(be, [O.LinkAddVlan("up0.10", "up0", 10, mtu=1496, group=5, up=True)])
    links = oracle().links()
    vl = links["up0.10"]
    assert (vl.kind, vl.link) == ("vlan", links["up0"].index)
    assert (vl.mtu, vl.group) == (1496, 5) and vl.flags & IFF_UP
    data = info_data(oracle(), "up0.10")["info_data"]
    assert (data["protocol"], data["id"]) == ("802.1Q", 10)


def test_lower_link_by_echoed_index(be, oracle):
    """An echoed macvlan gives Created(index, parent index), and what
    follows in the batch uses it without a lookup."""
    get = O.LinkGet("up0")
    mv = O.LinkAddMacvlan("mv1", O.IndexOf(get))
    res = ok(be, [get, mv, O.AddrAdd(O.IndexOf(mv), "10.20.0.1/24")])
    links = oracle().links()
    assert res[0].value == links["up0"].index
    assert res[1].value == O.Created(links["mv1"].index, links["up0"].index)
    assert [a.index for a in oracle().addresses()
            if str(a.address) == "10.20.0.1/24"] == [links["mv1"].index]


def test_macvlan_on_a_missing_parent(be, make_ns):
    res = be.execute([O.LinkAddMacvlan("eth0", "nosuch0", netns=make_ns())])
    assert res[0].errno == E.ENODEV
    assert "nosuch0" in res[0].message
