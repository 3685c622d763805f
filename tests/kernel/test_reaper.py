"""``controller.detach(ids, wait=False)`` and the reaper (both backends):
what the call does at once, what stays held until the kernel has let go of
a host interface, and how the reaper finishes (in time, at stop, at a
network's deletion, at the next start)."""

from __future__ import annotations

import os

import pytest

import libnetwork
from libnetwork import IpamConf, osl, reaper
from libnetwork.errors import NoSuchSandbox, PortAlreadyAllocated
from libnetwork.store import open_store
from libnetwork.types import PortBinding

from cnm_util import *  # noqa: F401,F403
from cnm_util import assert_unchanged, is_netns, ns_links, snapshot
from firewall_util import port_elements, table_of
from reaper_util import (POOL, free, held, port_states, records, settled,
                         veths)


@pytest.fixture
def slow(monkeypatch):
    """The reaper never deletes a host end itself (only the kernel's
    destruction of a namespace takes them)."""
    monkeypatch.setattr(reaper, "GRACE", 3600.0)


def _net(c, pool=POOL):
    return c.new_network("bridge", "n", ipv4=[IpamConf(pool)])


def _ports(netns, c) -> set:
    return {e[1][-1] for e in port_elements(netns, table_of(c))}


def test_detach_nowait_leaves_only_the_kernels_part(ctl, netns, slow):
    c = ctl
    nw = _net(c)
    free0 = free(c)
    eps = c.attach(nw, ["a", "b", "c"],
                   port_mapping=[PortBinding("tcp", 80)])
    keys = [ep.sandbox().key() for ep in eps]
    names = {ep.host_ifname: ep for ep in eps}
    host_ports = {str(ep.ports[0].host_port) for ep in eps}
    assert _ports(netns, c) == host_ports
    with held(keys):
        c.detach(["a", "b", "c"], wait=False)
        # gone as objects, records and namespaces
        assert c.sandboxes() == [] and nw.endpoints() == []
        assert not c.store.list("sandbox") and not c.store.list("endpoint")
        for key in keys:
            assert not os.path.exists(key)
        with pytest.raises(NoSuchSandbox):
            c.sandbox_by_container("a")
        # unreachable: host ends' bridge ports disabled, ports unpublished
        links = veths(netns)
        states = port_states(netns)
        for name in names:
            assert states[name] == "disabled"
        assert _ports(netns, c) == set()
        # held: the host ends' names and ifindexes, addresses and ports
        recs = records(c)
        assert set(recs) == set(names)
        for name, rec in recs.items():
            ep = names[name]
            assert rec["ifindex"] == links[name].index
            assert rec["addr"] == str(ep.addr)
            assert rec["ports"] == [b.to_dict() for b in ep.ports]
            assert rec["owner"] == c._reaper.token
        assert free(c) == free0 - 3
        assert c._reaper.pending() == sorted(names)
    # the kernel destroys the namespaces, the reaper gives everything back
    assert reaper.wait(c, 15)
    assert not set(names) & set(veths(netns))
    assert records(c) == {} and free(c) == free0
    assert c._reaper.stats["released"] == 3
    assert c._reaper.stats["deleted"] == 0


def test_held_addresses_and_ports_are_not_handed_out(ctl, netns, slow):
    c = ctl
    nw = _net(c, "10.170.0.0/28")           # .2 to .14
    eps = c.attach(nw, [f"a{i}" for i in range(5)])
    (web,) = c.attach(nw, ["web"],
                      port_mapping=[PortBinding("tcp", 80, 8080)])
    taken = {str(ep.addr.ip) for ep in eps + [web]}
    keys = [ep.sandbox().key() for ep in eps + [web]]
    with held(keys):
        c.detach([f"a{i}" for i in range(5)] + ["web"], wait=False)
        more = c.attach(nw, [f"b{i}" for i in range(6)])
        assert not {str(ep.addr.ip) for ep in more} & taken
        with pytest.raises(PortAlreadyAllocated, match="being reaped"):
            c.attach(nw, ["web2"],
                     port_mapping=[PortBinding("tcp", 80, 8080)])
        with pytest.raises(libnetwork.errors.PoolExhausted):
            c.attach(nw, ["one", "too-many"])     # 13 addresses in all
    assert reaper.wait(c, 15)
    # given back: the same port and the addresses again
    (web2,) = c.attach(nw, ["web2"],
                       port_mapping=[PortBinding("tcp", 80, 8080)])
    again = c.attach(nw, [f"c{i}" for i in range(5)])
    assert {str(ep.addr.ip) for ep in again + [web2]} == taken


def test_ids_and_names_are_free_at_once(ctl, netns, slow):
    c = ctl
    nw = _net(c)
    (old,) = c.attach(nw, ["a"])
    with held([old.sandbox().key()]):
        c.detach(["a"], wait=False)
        (new,) = c.attach(nw, ["a"])
        assert new.name() == "a" and new.sandbox().container_id() == "a"
        assert new.host_ifname != old.host_ifname
        states = port_states(netns)
        assert states[old.host_ifname] == "disabled"
        assert states[new.host_ifname] == "forwarding"
        assert "eth0" in ns_links(new.sandbox().key())
        nw.create_endpoint("free")          # any name, at once
    assert reaper.wait(c, 15)
    assert new.host_ifname in veths(netns)


def test_a_held_interface_name_is_never_given_again(ctl, netns, slow,
                                                    monkeypatch):
    c = ctl
    nw = _net(c)
    (old,) = c.attach(nw, ["a"])
    with held([old.sandbox().key()]):
        c.detach(["a"], wait=False)
        assert reaper.held(c, old.host_ifname)
        # every new id is the detached endpoint's: its name is held
        monkeypatch.setattr(osl, "new_id", lambda: old.id())
        (new,) = c.attach(nw, ["b"])
        monkeypatch.undo()
        assert new.id() != old.id()
        assert new.host_ifname != old.host_ifname
        assert new.host_ifname == "veth" + new.id()[:11]
        assert veths(netns)[new.host_ifname].up
    assert reaper.wait(c, 15)


def test_an_external_namespace_loses_its_interface_at_once(ctl, netns,
                                                           make_ns):
    c = ctl
    nw = _net(c)
    path = make_ns("ext")
    (ep,) = c.attach(nw, ["x"], netns_path=path)
    free0 = free(c)
    c.detach(["x"], wait=False)
    assert is_netns(path)                    # someone else's: it stays
    assert records(c)[ep.host_ifname]["delete"] is True
    assert reaper.wait(c, 15)
    assert ep.host_ifname not in veths(netns)
    assert "eth0" not in ns_links(path)
    assert free(c) == free0 + 1
    assert c._reaper.stats["deleted"] == 1


def test_a_namespace_a_process_keeps_loses_its_veth_after_the_grace(
        ctl, netns, monkeypatch):
    c = ctl
    monkeypatch.setattr(reaper, "GRACE", 0.3)
    nw = _net(c)
    free0 = free(c)
    eps = c.attach(nw, ["a", "b"])
    with held([ep.sandbox().key() for ep in eps]):
        c.detach(["a", "b"], wait=False)
        assert reaper.wait(c, 15)            # while the namespaces live on
        assert not {ep.host_ifname for ep in eps} & set(veths(netns))
        assert c._reaper.stats["deleted"] == 2
        assert records(c) == {} and free(c) == free0


def test_stop_waits_for_the_reaper(make_ctl, netns, tmp_path):
    c = make_ctl()
    nw = _net(c)
    free0 = free(c)
    cids = [f"c{i}" for i in range(20)]
    c.attach(nw, cids)
    c.detach(cids, wait=False)
    c.stop()
    assert veths(netns) == {}
    store = open_store(str(tmp_path / "data"))
    try:
        assert store.list("reaping") == []
    finally:
        store.close()
    assert os.listdir(os.path.join(c.config.exec_root, "reapers")) == []
    c2 = make_ctl()
    assert free(c2) == free0 and c2.reconciled.links_removed == []


def test_a_restart_finishes_what_a_reaper_left(make_ctl, netns, slow):
    c1 = make_ctl()
    nw = _net(c1)
    free0 = free(c1)
    eps = c1.attach(nw, ["a", "b", "c"])
    names = {ep.host_ifname for ep in eps}
    with held([ep.sandbox().key() for ep in eps]):
        c1.detach(["a", "b", "c"], wait=False)
        c1._reaper.close(timeout=0)          # gives up: its lock goes
        assert set(records(c1)) == names
        c2 = make_ctl()                      # finishes: deletes, confirms
        assert records(c2) == {}
        assert not names & set(veths(netns))
        assert names <= set(c2.reconciled.links_removed)
        assert free(c2) == free0
        c3 = make_ctl()                      # nothing more to do
        assert c3.reconciled.links_removed == [] and free(c3) == free0


def test_a_live_reaper_is_left_alone(make_ctl, netns, slow):
    c1 = make_ctl()
    nw = _net(c1)
    free0 = free(c1)
    eps = c1.attach(nw, ["a", "b"])
    names = {ep.host_ifname for ep in eps}
    taken = {str(ep.addr.ip) for ep in eps}
    with held([ep.sandbox().key() for ep in eps]):
        c1.detach(["a", "b"], wait=False)
        c2 = make_ctl()                      # same store, c1 alive
        assert set(records(c2)) == names
        assert names <= set(veths(netns))
        assert not names & set(c2.reconciled.links_removed)
        more = c2.attach(c2.network_by_name("n"), ["x", "y"])
        assert not {str(ep.addr.ip) for ep in more} & taken
    assert reaper.wait(c1, 15)
    assert records(c2) == {}
    c2.detach(["x", "y"])
    assert free(c2) == free0


def test_deleting_the_network_finishes_its_reaping(ctl, netns, slow):
    c = ctl
    nw = _net(c)
    eps = c.attach(nw, ["a", "b"])
    with held([ep.sandbox().key() for ep in eps]):
        c.detach(["a", "b"], wait=False)
        nw.delete()
        assert records(c) == {}
        assert not {ep.host_ifname for ep in eps} & set(veths(netns))
        assert not [s for s in c.ipam.dump().values()
                    if s["subnet"] == POOL]
    assert reaper.wait(c, 15)
    _net(c).delete()                         # the pool is free again


def test_an_unknown_container_changes_nothing(ctl, backend):
    c = ctl
    nw = _net(c)
    c.attach(nw, ["a"])
    before = snapshot(c, backend)
    with pytest.raises(NoSuchSandbox, match="'nope'"):
        c.detach(["a", "nope"], wait=False)
    assert_unchanged(before, c, backend)
    assert "_reaper" not in c.__dict__
    c.detach(["a"], wait=False)
    assert reaper.wait(c, 15)


def test_a_batch_is_reaped_together(ctl, netns):
    c = ctl
    nw = _net(c, "10.170.0.0/22")
    free0 = free(c)
    cids = [f"c{i}" for i in range(100)]
    c.attach(nw, cids)
    c.detach(cids, wait=False)
    assert reaper.wait(c, 30)
    assert veths(netns) == {} and records(c) == {} and free(c) == free0
    # a few looks at the kernel for all, not one per host end (none at
    # all when the kernel was done before the call looked)
    r = getattr(c, "_reaper", None)
    if r is not None:
        assert r.stats["rounds"] < 50
        assert r.stats["deleted"] == 0
        # and the thread ends when idle, to start again on new work
        settled(lambda: _idle(c), timeout=reaper.IDLE + 5)
    c.attach(nw, ["again"])
    c.detach(["again"], wait=False)
    assert reaper.wait(c, 15) and free(c) == free0


def _idle(c):
    assert c._reaper._thread is None
