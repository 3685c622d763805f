"""The store and restarts: a new controller on the same data_dir and
exec_root finds everything, and reconciles records with the kernel."""

from __future__ import annotations

import ipaddress
import os

import pytest

from libnetwork import IpamConf, errors

from cnm_util import *  # noqa: F401,F403
from cnm_util import default_routes, ns_addrs, ns_links, nsexec
from kernel_util import make_netns


def _state(c):
    """What a user can see through the API, by name."""
    out = {}
    for nw in c.networks():
        i4, i6 = nw.info().ipam_info()
        out[("network", nw.name())] = (
            nw.id(), nw.type(), [str(i.pool) for i in i4 + i6],
            [str(i.gateway) for i in i4 + i6], nw.info().labels(),
            nw.info().ipv6_enabled(), nw.info().internal())
        for ep in nw.endpoints():
            iface = ep.info().iface()
            out[("endpoint", nw.name(), ep.name())] = (
                ep.id(), None if iface is None else str(iface.address()),
                None if iface is None else str(iface.address_ipv6()),
                None if iface is None else iface.mac_address(),
                None if ep.sandbox() is None else ep.sandbox().container_id(),
                None if iface is None else iface.srcname(),
                ep.driver_info())
    for sb in c.sandboxes():
        out[("sandbox", sb.container_id())] = (
            sb.id(), sb.key(), sb.labels(),
            [e.name() for e in sb.endpoints()], sb.hosts_path,
            sb.resolv_conf_path)
    return out


def _build(c):
    n1 = c.new_network("bridge", "n1", labels={"l": "1"},
                       ipv4=[IpamConf("10.100.0.0/24")])
    n2 = c.new_network("bridge", "n2", enable_ipv6=True,
                       ipv4=[IpamConf("10.101.0.0/24")],
                       ipv6=[IpamConf("fd01::/64")])
    host = c.new_network("host", "host")
    a = n1.create_endpoint("a", exposed_ports=[("tcp", 80)])
    b = n1.create_endpoint("b", mac="02:00:00:00:00:0b")
    n1.create_endpoint("unjoined")
    d = n2.create_endpoint("d")
    h = host.create_endpoint("h")
    s1 = c.new_sandbox("c1", hostname="one", labels={"k": "v"})
    s2 = c.new_sandbox("c2", hostname="two")
    s3 = c.new_sandbox("c3", use_default_sandbox=True)
    a.join(s1)
    d.join(s1)
    b.join(s2)
    h.join(s3)
    return n1, n2


def test_restart_restores_everything(make_ctl, netns, backend):
    c = make_ctl()
    n1, n2 = _build(c)
    state = _state(c)
    store = {k: c.store.list(k) for k in STORE_KINDS}
    root = ns_links(netns)
    sbs = {sb.container_id(): (sb.key(), kernel_dump(sb.key()))
           for sb in c.sandboxes() if sb.key() != netns}
    hosts = {sb.container_id(): open(sb.hosts_path).read()
             for sb in c.sandboxes()}
    c.stop()

    c2 = make_ctl()
    assert _state(c2) == state
    assert {k: c2.store.list(k) for k in STORE_KINDS} == store
    assert ns_links(netns) == root           # reconcile removed nothing
    for cid, (key, dump) in sbs.items():
        assert kernel_dump(key) == dump
    assert {sb.container_id(): open(sb.hosts_path).read()
            for sb in c2.sandboxes()} == hosts

    # fresh addresses only: never one an endpoint holds
    m1 = c2.network_by_name("n1")
    held = {str(e.info().iface().address()) for e in m1.endpoints()}
    new = m1.create_endpoint("new")
    assert str(new.info().iface().address()) == "10.100.0.5/24"
    assert str(new.info().iface().address()) not in held
    with pytest.raises(errors.AlreadyAllocated):
        m1.create_endpoint("dup", ipv4="10.100.0.2")
    with pytest.raises(errors.PoolOverlap):
        c2.new_network("bridge", "again", ipv4=[IpamConf("10.100.0.0/24")])
    with pytest.raises(errors.SandboxExists):
        c2.new_sandbox("c1")

    # the restored objects work: leave, join, delete
    a = m1.endpoint_by_name("a")
    s1 = c2.sandbox_by_container("c1")
    veth = a.host_ifname
    a.leave(s1)
    assert veth not in ns_links(netns)
    assert set(ns_links(s1.key())) == {"lo", "eth1"}
    assert default_routes(s1.key()) == [("10.101.0.1", "eth1")]
    a.join(s1)
    assert set(ns_links(s1.key())) == {"lo", "eth0", "eth1"}
    for sb in c2.sandboxes():
        sb.delete()
    for nw in c2.networks():
        for ep in nw.endpoints():
            ep.delete()
        if nw.type() == "bridge":
            nw.delete()
    assert os.listdir(c2.netns_dir) == []
    assert c2.store.list("endpoint") == [] and c2.store.list("sandbox") == []
    assert [n.name() for n in c2.networks()] == ["host"]
    assert {l.kind for l in ns_links(netns).values()} <= {""}   # just lo


def test_restart_in_memory_store_forgets(make_ctl, netns, backend):
    """data_dir=None: nothing persists, not even the store's identity, so
    a restart on the same exec root cannot prove the namespaces and links
    it finds are its own, and leaves them alone."""
    c = make_ctl(data_dir=None)
    nw = c.new_network("bridge", "n")
    sb = c.new_sandbox("c")
    nw.create_endpoint("e").join(sb)
    left = sorted(os.listdir(c.netns_dir)), sorted(ns_links(netns))
    c.stop()
    c2 = make_ctl(data_dir=None)
    assert c2.networks() == [] and c2.sandboxes() == []
    assert c2.identity != c.identity
    assert (sorted(os.listdir(c2.netns_dir)), sorted(ns_links(netns))) == left


def test_reconcile_sandbox_namespace_vanished(make_ctl, netns):
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.102.0.0/24")])
    ep = nw.create_endpoint("e")
    other = nw.create_endpoint("other")
    sb = c.new_sandbox("c1")
    keep = c.new_sandbox("c2")
    ep.join(sb)
    other.join(keep)
    key, sid, eid = sb.key(), sb.id(), ep.id()
    c.stop()
    drop_netns(key)                         # behind the controller's back

    c2 = make_ctl()
    assert [s.container_id() for s in c2.sandboxes()] == ["c2"]
    assert c2.store.get("sandbox", sid) is None
    ep2 = c2.network_by_name("n").endpoint_by_id(eid)
    assert ep2.sandbox() is None
    assert c2.store.get("endpoint", eid)["sandbox"] is None
    assert ep2.host_ifname not in ns_links(netns)
    assert not os.path.exists(os.path.join(c2.files_dir, sid))
    # the other sandbox is untouched
    k2 = c2.sandbox_by_container("c2")
    assert k2.endpoints()[0].name() == "other"
    assert "eth0" in ns_links(k2.key())
    # a new sandbox for the same container, and the endpoint joins it
    sb2 = c2.new_sandbox("c1")
    ep2.join(sb2)
    assert ("eth0", ipaddress.ip_interface("10.102.0.2/24")) in \
        ns_addrs(sb2.key())


def test_reconcile_removes_only_links_with_its_mark(make_ctl, netns):
    """A veth with this store's alias and no record goes; one that only
    shares a network's link group, one with another store's alias and one
    of nobody's stay (not provably ours)."""
    c = make_ctl()
    nw = c.new_network("bridge", "n")
    ep = nw.create_endpoint("e")
    sb = c.new_sandbox("c")
    ep.join(sb)
    group = nw.driver_state["group"]
    assert ns_links(netns)[ep.host_ifname].alias == c.mark
    assert ns_links(netns)[nw.driver_state["bridge"]].alias == c.mark
    made = {"vstale": ("alias", c.mark),
            "vgroup": ("group", str(group)),
            "vother": ("alias", "libnetwork " + "f" * 32),
            "vmine": None}
    for name, how in made.items():
        r = nsexec(netns, "ip", "link", "add", name, *(how or ()), "type",
                   "veth", "peer", "name", name + "p")
        assert r.returncode == 0, r.stderr
        if how and how[0] == "alias":    # the kernel ignores it on create
            r = nsexec(netns, "ip", "link", "set", name, "alias", how[1])
            assert r.returncode == 0, r.stderr
    c.stop()
    c2 = make_ctl()
    links = ns_links(netns)
    assert "vstale" not in links and "vstalep" not in links
    for name in ("vgroup", "vother", "vmine"):
        assert name in links and name + "p" in links
    assert nw.driver_state["bridge"] in links
    assert ep.host_ifname in links
    assert c2.sandbox_by_container("c").endpoints()[0].id() == ep.id()


def test_reconcile_removes_only_namespaces_with_its_mark(make_ctl, netns):
    """An unrecorded namespace named with this store's mark goes; one made
    by a person (``ip netns add``-style name) or by another store stays."""
    c = make_ctl()
    sb = c.new_sandbox("c")
    c.stop()
    mine = make_netns(os.path.join(c.netns_dir, f"{c.identity[:8]}-"
                                                "0123456789ab"))
    person = make_netns(os.path.join(c.netns_dir, "orphan"))
    other = make_netns(os.path.join(c.netns_dir, "ffffffff-0123456789ab"))
    c2 = make_ctl()
    assert not os.path.exists(mine)
    assert is_netns(person) and is_netns(other)
    assert sorted(os.listdir(c2.netns_dir)) == sorted(
        [os.path.basename(sb.key()), "orphan", "ffffffff-0123456789ab"])
    assert is_netns(sb.key())
    assert [s.id() for s in c2.sandboxes()] == [sb.id()]


def test_reconcile_recreates_vanished_bridge(make_ctl, netns):
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.103.0.0/24")],
                       generic={"com.docker.network.driver.mtu": 1450})
    br = nw.driver_state["bridge"]
    old_index = ns_links(netns)[br].index
    c.stop()
    assert nsexec(netns, "ip", "link", "del", br).returncode == 0
    assert br not in ns_links(netns)
    c2 = make_ctl()
    links = ns_links(netns)
    assert br in links and links[br].index != old_index
    assert links[br].kind == "bridge" and links[br].flags & IFF_UP
    assert links[br].mtu == 1450
    assert links[br].group == nw.driver_state["group"]
    assert (br, ipaddress.ip_interface("10.103.0.1/24")) in ns_addrs(netns)
    # and it is usable
    ep = c2.network_by_name("n").create_endpoint("e")
    sb = c2.new_sandbox("c")
    ep.join(sb)
    assert ns_links(netns)[ep.host_ifname].master == links[br].index


def test_reconcile_recreated_bridge_takes_back_joined_veths(make_ctl, netns):
    """Endpoints joined before the bridge vanished are ports of the
    recreated bridge again, and their sandboxes reach the gateway
    (otherwise they are cut off while the records say they are joined)."""
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.104.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = c.new_sandbox("c")
    ep.join(sb)
    br = nw.driver_state["bridge"]
    c.stop()
    assert nsexec(netns, "ip", "link", "del", br).returncode == 0
    assert ns_links(netns)[ep.host_ifname].master == 0
    c2 = make_ctl()
    links = ns_links(netns)
    ep2 = c2.network_by_name("n").endpoint_by_name("e")
    assert ep2.sandbox() is c2.sandbox_by_container("c")
    assert links[ep2.host_ifname].master == links[br].index
    assert links[ep2.host_ifname].flags & IFF_UP
    data, peer, _ = udp_exchange(sb.key(), netns, "10.104.0.1", b"back")
    assert data == b"back" and peer == "10.104.0.2"
