"""The macvlan and ipvlan drivers over a veth "uplink": endpoints born
inside their sandboxes over the parent, packets between sandboxes and to a
peer namespace on the far end of the uplink, the modes, one network per
parent, the 802.1Q sub-interface a ``parent=IF.VID`` network creates (where
the kernel has 8021q), and ipvlan (where the kernel has it).  The kernel is
read back with ``ip -d -j`` (an independent decoder)."""

from __future__ import annotations

import errno as E
import json

import pytest

import libnetwork
from libnetwork.errors import (InvalidParameter, NetlinkError, ParentInUse,
                               TeardownIncomplete)

from cnm_util import *  # noqa: F401,F403
from cnm_util import (assert_unchanged, default_routes, make_ctl, ns_links,
                      nsexec, snapshot, udp_exchange)  # noqa: F401

POOL = "10.88.0.0/24"
GW = "10.88.0.1"


def ip_json(ns, *args):
    out = nsexec(ns, "ip", "-d", "-j", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def sh(ns, *args):
    out = nsexec(ns, *args)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def uplink(netns, make_ns):
    """``up0`` in the root namespace, its peer ``up1`` in a far namespace
    holding the gateway address: the wire the parent sits on."""
    far = make_ns("far")
    sh(netns, "ip", "link", "add", "up0", "type", "veth", "peer", "name",
       "up1", "netns", far)
    sh(netns, "ip", "link", "set", "up0", "up")
    sh(far, "ip", "link", "set", "up1", "up")
    sh(far, "ip", "addr", "add", f"{GW}/24", "dev", "up1")
    return far


def ipam(gateway=GW):
    return [libnetwork.IpamConf(preferred_pool=POOL, gateway=gateway)]


def info_data(ns, ifname):
    return ip_json(ns, "link", "show", ifname)[0]["linkinfo"]


def network(c, kind, **opts):
    try:
        return c.new_network(kind, f"{kind}-net", ipv4=ipam(),
                             options={"parent": "up0", **opts})
    except NetlinkError as exc:
        if exc.errno in (E.EOPNOTSUPP, E.ENOENT):
            pytest.skip(f"this kernel lacks a link kind the network needs "
                        f"(no module): {exc}")
        raise


def attach(c, nw, cids):
    try:
        return c.attach(nw, cids)
    except NetlinkError as exc:
        if exc.errno == E.EOPNOTSUPP:
            pytest.skip(f"this kernel has no {nw.type()} ({exc})")
        raise


def test_macvlan_sandboxes_talk_to_each_other_and_the_far_end(
        make_ctl, netns, uplink):
    c = make_ctl()
    nw = network(c, "macvlan")
    a, b = attach(c, nw, ["a", "b"])
    sa, sb = a.sandbox().key(), b.sandbox().key()
    for ep, ns in ((a, sa), (b, sb)):
        li = info_data(ns, "eth0")
        assert li["info_kind"] == "macvlan"
        assert li["info_data"]["mode"] == "bridge"
        link = ns_links(ns)["eth0"]
        assert link.mac == ep.mac and link.up
        assert default_routes(ns) == [(GW, "eth0")]
    # no bridge, no interface of an endpoint in the root namespace
    assert set(ns_links(netns)) == {"lo", "up0"}
    got, peer, _ = udp_exchange(sa, sb, b.addr.ip)
    assert got == b"ping" and peer == str(a.addr.ip)
    got, peer, _ = udp_exchange(sb, uplink, GW)
    assert peer == str(b.addr.ip)
    got, peer, _ = udp_exchange(uplink, sa, a.addr.ip)
    assert peer == GW
    c.detach(["a", "b"])
    assert c.sandboxes() == [] and nw.endpoints() == []
    nw.delete()
    assert set(ns_links(netns)) == {"lo", "up0"}


@pytest.mark.parametrize("mode", ["private", "vepa", "passthru"])
def test_macvlan_modes(make_ctl, uplink, mode):
    c = make_ctl()
    nw = network(c, "macvlan", macvlan_mode=mode)
    (ep,) = attach(c, nw, ["a"])
    ns = ep.sandbox().key()
    assert info_data(ns, "eth0")["info_data"]["mode"] == mode
    got, peer, _ = udp_exchange(ns, uplink, GW)
    assert peer == str(ep.addr.ip)
    ep.sandbox().delete()
    ep.delete()


def test_leave_removes_the_device(make_ctl, uplink):
    c = make_ctl()
    nw = network(c, "macvlan")
    (ep,) = attach(c, nw, ["a"])
    sb = ep.sandbox()
    ep.leave(sb)
    assert set(ns_links(sb.key())) == {"lo"}
    ep.join(sb)
    assert "eth0" in ns_links(sb.key())


def test_one_network_per_parent(make_ctl, backend, uplink):
    c = make_ctl()
    network(c, "macvlan")
    before = snapshot(c, backend)
    with pytest.raises(ParentInUse, match="up0"):
        c.new_network("macvlan", "second", ipv4=[libnetwork.IpamConf(
            preferred_pool="10.89.0.0/24")], options={"parent": "up0"})
    assert_unchanged(before, c, backend)


@pytest.mark.parametrize("opts,match", [
    ({}, "parent"),
    ({"parent": "nosuch0"}, "does not exist"),
    ({"parent": "nosuch0.10"}, "does not exist"),
    ({"parent": "up0", "macvlan_mode": "source"}, "macvlan_mode"),
])
def test_bad_options_change_nothing(make_ctl, backend, uplink, opts, match):
    c = make_ctl()
    before = snapshot(c, backend)
    with pytest.raises(InvalidParameter, match=match):
        c.new_network("macvlan", "bad", ipv4=ipam(), options=opts)
    assert_unchanged(before, c, backend)


def test_vlan_sub_interface_created_and_removed(make_ctl, netns, uplink):
    """``parent=up0.10``: the network creates the 802.1Q sub-interface,
    carrying its link group, and removes it with the network."""
    c = make_ctl()
    nw = network(c, "macvlan", parent="up0.10")
    links = ns_links(netns)
    assert "up0.10" in links
    li = info_data(netns, "up0.10")
    assert li["info_kind"] == "vlan" and li["info_data"]["id"] == 10
    assert links["up0.10"].group == nw.driver_state["group"]
    (ep,) = attach(c, nw, ["a"])
    assert info_data(ep.sandbox().key(), "eth0")["info_kind"] == "macvlan"
    c.detach(["a"])
    nw.delete()
    assert "up0.10" not in ns_links(netns)


def test_ipvlan_l2_and_l3(make_ctl, uplink):
    c = make_ctl()
    nw = network(c, "ipvlan")
    (ep,) = attach(c, nw, ["a"])
    ns = ep.sandbox().key()
    assert info_data(ns, "eth0")["info_data"]["mode"] == "l2"
    got, peer, _ = udp_exchange(ns, uplink, GW)
    assert peer == str(ep.addr.ip)
    c.detach(["a"])
    nw.delete()
    nw3 = network(c, "ipvlan", ipvlan_mode="l3")
    (ep,) = attach(c, nw3, ["b"])
    ns = ep.sandbox().key()
    routes = [r for r in ip_json(ns, "route", "show")
              if r["dst"] == "default"]
    assert routes and "gateway" not in routes[0] and \
        routes[0]["dev"] == "eth0"


def test_macvlan_teardown_failure_is_honest(make_ctl, uplink):
    """Detach whose namespace cannot be deleted: the endpoint left (its
    device deleted inside the sandbox), the sandbox stays for the next
    detach."""
    from libnetwork.backends import ops as O
    from test_cnm_teardown import faulty
    c = make_ctl()
    nw = network(c, "macvlan")
    (ep,) = attach(c, nw, ["a"])
    key = ep.sandbox().key()
    faulty(c).fail(lambda op: isinstance(op, O.NetnsDelete), E.EPERM)
    with pytest.raises(TeardownIncomplete):
        c.detach(["a"])
    assert nw.endpoints() == []
    assert set(ns_links(key)) == {"lo"}
    c.detach(["a"])
    assert c.sandboxes() == []

