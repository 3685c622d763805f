"""The batch API (create_endpoints, new_sandboxes, attach, detach): the
same kernel state and store as one call at a time, and all or nothing.

Equivalence is checked with two controllers in two fresh root namespaces
configured alike: one does the work in a batch, the other one by one;
the kernel dumps (root and every sandbox, by container) and the store
(ids and paths replaced by names) must be equal.
"""

from __future__ import annotations

import os
import threading

import pytest

import libnetwork
from libnetwork import IpamConf, errors, netlabel

from cnm_util import *  # noqa: F401,F403
from cnm_util import (kernel_dump, normalized_store, ns_addrs, ns_links,
                      nsexec)

POOL = "10.120.0.0/24"
CIDS = [f"c{i}" for i in range(6)]


@pytest.fixture
def twin(make_ctl, make_ns, tmp_path, nsdir):
    """Two controllers alike, each with its own root namespace, store and
    exec root; the network ``n`` (bridge ``brtwin``) in each."""
    root2 = make_ns("root2")
    a = make_ctl()
    b = make_ctl(data_dir=str(tmp_path / "data-b"),
                 exec_root=os.path.join(nsdir, "exec-b"),
                 root_namespace=root2)
    nets = [c.new_network("bridge", "n", ipv4=[IpamConf(POOL)],
                          generic={netlabel.BRIDGE_NAME: "brtwin"})
            for c in (a, b)]
    return a, b, nets[0], nets[1]


def _kernel(c):
    root = kernel_dump(c.config.root_namespace)
    sbs = {sb.container_id(): kernel_dump(sb.key()) for sb in c.sandboxes()}
    files = {sb.container_id(): (open(sb.hosts_path).read(),
                                 open(sb.resolv_conf_path).read())
             for sb in c.sandboxes()}
    return root, sbs, files, sorted(len(os.listdir(c.netns_dir)) * "x")


def _equal(a, b):
    assert _kernel(a) == _kernel(b)
    assert normalized_store(a) == normalized_store(b)


def test_create_endpoints_same_as_one_by_one(twin):
    a, b, na, nb = twin
    eps = na.create_endpoints(CIDS, exposed_ports=[("tcp", 80)])
    assert [e.name() for e in eps] == CIDS == [e.name() for e in na]
    for cid in CIDS:
        nb.create_endpoint(cid, exposed_ports=[("tcp", 80)])
    assert [str(e.info().iface().address()) for e in eps] == \
        [f"10.120.0.{i}/24" for i in range(2, 8)]
    _equal(a, b)


def test_new_sandboxes_same_as_one_by_one(twin):
    a, b, na, nb = twin
    sbs = a.new_sandboxes(CIDS, hostname="h", dns=["192.0.2.9"])
    assert [s.container_id() for s in sbs] == CIDS
    assert all(is_netns(s.key()) for s in sbs)
    assert len({s.key() for s in sbs}) == len(CIDS)
    for cid in CIDS:
        b.new_sandbox(cid, hostname="h", dns=["192.0.2.9"])
    _equal(a, b)


def test_attach_same_as_one_by_one(twin):
    a, b, na, nb = twin
    eps = a.attach(na, CIDS, libnetwork.option_hostname("web"),
                   libnetwork.create_option_exposed_ports([("tcp", 8080)]))
    assert [e.name() for e in eps] == CIDS
    for cid in CIDS:
        ep = nb.create_endpoint(
            cid, libnetwork.create_option_exposed_ports([("tcp", 8080)]))
        sb = b.new_sandbox(cid, libnetwork.option_hostname("web"))
        ep.join(sb)
    _equal(a, b)
    # spot checks against the kernel
    root = ns_links(a.config.root_namespace)
    for ep in eps:
        sb = ep.sandbox()
        assert sb.container_id() == ep.name()
        assert root[ep.host_ifname].master == root["brtwin"].index
        assert ns_links(sb.key())["eth0"].mac == \
            mac_of_ipv4(ep.info().iface().address().ip)
    assert ep.driver_info()[netlabel.EXPOSED_PORTS] == [("tcp", 8080)]


def test_attach_keyword_options(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.121.0.0/24")])
    eps = ctl.attach(nw, ["x", "y"], hostname="kw", exposed_ports=[
        ("udp", 53)], labels={"batch": "1"})
    for ep in eps:
        sb = ep.sandbox()
        assert sb.labels() == {"batch": "1"}
        assert ep.driver_info()[netlabel.EXPOSED_PORTS] == [("udp", 53)]
        ip = ep.info().iface().address().ip
        assert f"{ip}\tkw\n" in open(sb.hosts_path).read()


def test_detach_same_as_one_by_one(twin):
    a, b, na, nb = twin
    a.attach(na, CIDS)
    b.attach(nb, CIDS)
    _equal(a, b)
    gone = CIDS[1:4]
    keys = [a.sandbox_by_container(c).key() for c in gone]
    a.detach(gone)
    for cid in gone:
        sb = b.sandbox_by_container(cid)
        ep = sb.endpoints()[0]
        sb.delete()
        ep.delete()
    _equal(a, b)
    assert not any(os.path.exists(k) for k in keys)
    assert sorted(e.name() for e in na) == ["c0", "c4", "c5"]
    # the freed addresses are handed out again, lowest first
    (again,) = a.attach(na, ["new"])
    assert str(again.info().iface().address()) == "10.120.0.3/24"


def test_detach_removes_all_endpoints_of_the_sandbox(ctl, netns):
    n1 = ctl.new_network("bridge", "n1", ipv4=[IpamConf("10.122.0.0/24")])
    n2 = ctl.new_network("bridge", "n2", ipv4=[IpamConf("10.123.0.0/24")])
    (ep,) = ctl.attach(n1, ["c"])
    extra = n2.create_endpoint("extra")
    extra.join(ep.sandbox())
    key = ep.sandbox().key()
    ctl.detach(["c"])
    assert not os.path.exists(key)
    assert n1.endpoints() == [] and n2.endpoints() == []
    root = ns_links(netns)
    assert ep.host_ifname not in root and extra.host_ifname not in root
    assert ctl.store.list("endpoint") == []


def test_attach_pool_exhausted_changes_nothing(ctl, backend):
    """A /28 has 13 free addresses; attaching 20 fails with PoolExhausted
    and leaves no namespace, veth, record or address behind: the next,
    smaller attach gets the addresses it would have got anyway."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.124.0.0/28")])
    nw.create_endpoint("first")                     # holds .2
    before = snapshot(ctl, backend)
    with pytest.raises(errors.PoolExhausted):
        ctl.attach(nw, [f"c{i}" for i in range(20)])
    assert_unchanged(before, ctl, backend)
    eps = ctl.attach(nw, [f"d{i}" for i in range(3)])
    assert [str(e.info().iface().address()) for e in eps] == \
        ["10.124.0.3/28", "10.124.0.4/28", "10.124.0.5/28"]


def test_new_sandboxes_duplicate_in_batch_changes_nothing(ctl, backend):
    ctl.new_sandbox("old")
    before = snapshot(ctl, backend)
    with pytest.raises(errors.SandboxExists):
        ctl.new_sandboxes(["a", "b", "a"])
    assert_unchanged(before, ctl, backend)
    with pytest.raises(errors.SandboxExists):
        ctl.new_sandboxes(["a", "old"])
    assert_unchanged(before, ctl, backend)


def test_detach_unknown_changes_nothing(ctl, backend):
    nw = ctl.new_network("bridge", "n")
    ctl.attach(nw, ["a", "b"])
    before = snapshot(ctl, backend)
    with pytest.raises(errors.NoSuchSandbox):
        ctl.detach(["a", "nope"])
    assert_unchanged(before, ctl, backend)


def test_attach_kernel_failure_rolls_back(ctl, backend, netns):
    """The bridge vanished behind the controller's back: the veths cannot
    be made (ENODEV) after the namespaces were; everything is undone."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.125.0.0/24")])
    ctl.attach(nw, ["keep"])
    assert nsexec(netns, "ip", "link", "del",
                  nw.driver_state["bridge"]).returncode == 0
    before = snapshot(ctl, backend)
    with pytest.raises(errors.NetlinkNotFound) as ei:
        ctl.attach(nw, [f"c{i}" for i in range(4)])
    assert ei.value.errno == 19
    assert_unchanged(before, ctl, backend)
    assert sorted(os.listdir(ctl.netns_dir)) == before["netns"]
    # with the bridge back (a restart reconciles it) the same attach works
    # and gets the addresses the failed one would have had
    ctl.stop()
    c2 = libnetwork.new(data_dir=ctl.config.data_dir,
                        exec_root=ctl.config.exec_root,
                        backend=backend.name, root_namespace=netns,
                        host_resolv_conf=ctl.config.host_resolv_conf)
    try:
        eps = c2.attach(c2.network_by_name("n"), [f"c{i}" for i in range(4)])
        assert [str(e.info().iface().address()) for e in eps] == \
            [f"10.125.0.{i}/24" for i in range(3, 7)]
    finally:
        c2.stop()


def test_attach_then_traffic_between_batch_members(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.126.0.0/24")])
    eps = ctl.attach(nw, [f"c{i}" for i in range(4)])
    src = eps[0].sandbox().key()
    for ep in eps[1:]:
        data, peer, _ = udp_exchange(src, ep.sandbox().key(),
                                     ep.info().iface().address().ip, b"b")
        assert data == b"b"
        assert peer == str(eps[0].info().iface().address().ip)


def test_concurrent_attach_and_detach(ctl, netns):
    """Threads attaching and detaching at once: every call succeeds, no
    address is handed out twice, and the kernel matches the records."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.127.0.0/24")])
    ctl.attach(nw, [f"old{i}" for i in range(4)])
    errors_seen = []

    def work(k):
        try:
            ctl.attach(nw, [f"t{k}c{i}" for i in range(5)])
            if k % 2:
                ctl.detach([f"t{k}c0", f"t{k}c1"])
            if k == 0:
                ctl.detach([f"old{i}" for i in range(4)])
        except BaseException as exc:  # reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors_seen == []
    eps = nw.endpoints()
    assert len(eps) == 4 * 5 - 2 * 2
    addrs = [str(e.info().iface().address()) for e in eps]
    assert len(set(addrs)) == len(addrs)
    assert len(os.listdir(ctl.netns_dir)) == len(eps)
    root = ns_links(netns)
    br = root["br-" + nw.id()[:12]].index
    assert {l.name for l in root.values() if l.master == br} == \
        {e.host_ifname for e in eps}
    for ep in eps:
        key = ep.sandbox().key()
        assert ("eth0", ep.info().iface().address()) in ns_addrs(key)
