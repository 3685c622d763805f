"""Links stacked on a parent, built by the native core (real kernel).

A macvlan is created directly inside a sandbox namespace over a veth
"uplink" in the root: the kernel resolves IFLA_LINK in the namespace the
request is sent in and creates the link in IFLA_NET_NS_FD's.  The oracle
(pyroute2 inside the sandbox, and ``ip -d -j``) reads its kind and mode.
ipvlan and 802.1Q need their modules; a kernel without them answers
EOPNOTSUPP ("Unknown device type") and those tests skip, saying so.
"""

from __future__ import annotations

import errno

import pytest

from libnetwork.backends import ops as O


@pytest.fixture
def be(make_backend, netns):
    return make_backend("native", netns)


@pytest.fixture
def uplink(be):
    """A veth up0/up1 in the root namespace, both up; its result."""
    veth = O.LinkAddVeth("up0", "up1", up=True)
    res = be.execute([veth, O.LinkSet("up1", up=True)])
    assert all(r.ok for r in res), res
    return veth


def skip_unless_supported(result, kind):
    if result.errno == errno.EOPNOTSUPP:
        pytest.skip(f"this kernel cannot create {kind} links (no module): "
                    f"{result.message or 'EOPNOTSUPP'}")


def detail(oracle, name):
    [link] = oracle.ip("-d", "link", "show", "dev", name)
    return link


@pytest.mark.parametrize("mode", ["bridge", "private", "vepa"])
def test_macvlan_born_in_a_sandbox(be, make_ns, oracle, uplink, mode):
    sb = make_ns()
    mac = "02:42:0a:00:00:07"
    res = be.execute([O.LinkAddMacvlan("eth0", "up0", mode=mode, netns=sb,
                                       mac=mac, mtu=1400, up=True)])
    assert res[0].ok, res
    assert oracle().link("eth0") is None            # never beside up0
    link = oracle(sb).link("eth0")
    assert link.kind == "macvlan" and link.mac == mac and link.mtu == 1400
    assert link.flags & 1
    info = detail(oracle(sb), "eth0")["linkinfo"]
    assert info["info_kind"] == "macvlan"
    assert info["info_data"]["mode"] == mode
    # its parent is up0, in the root namespace
    assert link.link == oracle().link("up0").index
    assert link.link_netnsid >= 0


def test_macvlan_beside_its_parent_with_index_of(be, oracle):
    """Parent and macvlan in one plan: indexes from the echoes only."""
    veth = O.LinkAddVeth("up0", "up1", up=True)
    mv = O.LinkAddMacvlan("mv0", O.IndexOf(veth), mode="passthru")
    res = be.execute([veth, mv, O.AddrAdd(O.IndexOf(mv), "10.3.0.1/24")])
    assert all(r.ok for r in res), res
    mv0 = oracle().link("mv0")
    assert res[1].value == O.Created(mv0.index, oracle().link("up0").index)
    assert detail(oracle(), "mv0")["linkinfo"]["info_data"]["mode"] == \
        "passthru"


def test_macvlan_on_a_missing_parent(be, make_ns):
    res = be.execute([O.LinkAddMacvlan("eth0", "nosuch0", netns=make_ns())])
    assert res[0].errno == errno.ENODEV


def test_ipvlan(be, make_ns, oracle, uplink):
    sb = make_ns()
    res = be.execute([O.LinkAddIpvlan("eth0", "up0", mode="l3", netns=sb)])
    skip_unless_supported(res[0], "ipvlan")
    assert res[0].ok, res
    info = detail(oracle(sb), "eth0")["linkinfo"]
    assert info["info_kind"] == "ipvlan"
    assert info["info_data"]["mode"] == "l3"


def test_vlan(be, oracle, uplink):
    res = be.execute([O.LinkAddVlan("up0.42", "up0", vid=42, up=True)])
    skip_unless_supported(res[0], "802.1Q vlan")
    assert res[0].ok, res
    info = detail(oracle(), "up0.42")["linkinfo"]
    assert info["info_kind"] == "vlan"
    assert info["info_data"]["id"] == 42
