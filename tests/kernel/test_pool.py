"""Warm pools (docs/pool.md): prepared sandboxes that ``attach`` takes.

Every check reads the kernel (the oracle, ``ip``-free) or the files; waits
are bounded polls on the pool's state, never timing assertions.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from libnetwork import IpamConf, config, create_option_ifname
from libnetwork.errors import InvalidParameter

from cnm_util import *  # noqa: F401,F403
from cnm_util import (IFF_UP, default_routes, is_netns, kernel_dump,
                      ns_addrs, ns_links, nsexec, udp_exchange)


def until(fn, timeout=20.0, what="condition"):
    """Poll ``fn`` until it is true (bounded)."""
    end = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def full(c, nw=None):
    """Wait until the pool is full (and, with ``nw``, wired for it)."""
    want = c.pool.size

    def done():
        st = c.pool.state()
        return st["ready"] == want and (
            nw is None or st["wired"].get(nw.id(), 0) == want)
    until(done, what=f"a full pool: {c.pool.state()}")
    return c.pool.state()


def netns_files(c) -> list:
    return sorted(os.listdir(c.netns_dir))


def ours(c, netns) -> set:
    """Root links that carry the controller's mark."""
    return {n for n, link in ns_links(netns).items() if link.alias == c.mark}


def unrecorded(c, netns) -> set:
    """Root links with the controller's mark that no network or endpoint
    record names: the pool's veths, or leaks."""
    named = set()
    for nw in c.networks():
        named.add(nw.driver_state["bridge"])
        named |= {ep.host_ifname for ep in nw.endpoints()}
    return ours(c, netns) - named


@pytest.fixture
def pooled(make_ctl):
    def make(size=4, **kw):
        c = make_ctl(warm_pool=size, **kw)
        nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.171.0.0/24")])
        return c, nw
    return make


def test_pool_fills_with_prepared_namespaces(pooled):
    c, nw = pooled(4)
    st = full(c)
    assert len(st["paths"]) == 4
    assert netns_files(c) == sorted(os.path.basename(p) for p in st["paths"])
    for path in st["paths"]:
        name = os.path.basename(path)
        assert name.startswith(c.identity[:8] + "-") and len(name) == 21
        assert is_netns(path)
        links = ns_links(path)
        assert set(links) == {"lo"} and links["lo"].flags & IFF_UP
    assert c.sandboxes() == []


def test_attach_from_pool_gives_a_working_container(pooled, netns):
    c, nw = pooled(4)
    c.attach(nw, ["warm-up"])             # the pool now wires for nw
    full(c, nw)
    before = set(c.pool.state()["paths"])
    a, b = c.attach(nw, ["a", "b"])
    sa, sb = c.sandbox_by_container("a"), c.sandbox_by_container("b")
    assert {sa.key(), sb.key()} <= before   # both taken from the pool
    assert c.pool.stats["taken"] >= 2
    br = ns_links(netns)[nw.driver_state["bridge"]].index
    for ep, sbx in ((a, sa), (b, sb)):
        assert os.path.basename(sbx.key()) == \
            f"{c.identity[:8]}-{sbx.id()[:12]}"
        links = ns_links(sbx.key())
        assert set(links) == {"lo", "eth0"}
        eth0 = links["eth0"]
        assert eth0.flags & IFF_UP and eth0.mac == ep.mac
        assert eth0.mtu == 1500
        assert {x for x in ns_addrs(sbx.key()) if x[0] != "lo"} == {
            ("eth0", ep.addr)}
        assert default_routes(sbx.key()) == [("10.171.0.1", "eth0")]
        host = ns_links(netns)[ep.host_ifname]
        assert host.master == br and host.flags & IFF_UP
        assert host.alias == c.mark and host.group == nw.driver_state["group"]
        assert len(ep.host_ifname) == 15 and ep.host_ifname[:4] == "veth"
        assert {"hosts", "resolv.conf"} <= set(
            os.listdir(os.path.dirname(sbx.hosts_path)))
    # traffic across the bridge, both ways
    data, peer, reply = udp_exchange(sa.key(), sb.key(), b.addr.ip, b"warm")
    assert (data, peer, reply) == (b"warm", str(a.addr.ip), b"mraw")
    r = nsexec(sa.key(), "ping", "-c", "1", "-W", "5", str(b.addr.ip))
    assert r.returncode == 0, r.stdout + r.stderr
    # no pooled veth left in the bridge beyond the pool's own
    full(c, nw)
    st = full(c, nw)
    assert unrecorded(c, netns) == set(st["hosts"]) and len(st["hosts"]) == 4
    br = ns_links(netns)[nw.driver_state["bridge"]].index
    for host in st["hosts"]:                # in the bridge, down
        link = ns_links(netns)[host]
        assert link.master == br and not link.flags & IFF_UP


def test_pooled_container_is_like_a_fresh_one(make_ctl, pooled, netns,
                                              nsdir, tmp_path):
    c, nw = pooled(2)
    c.attach(nw, ["w"])
    full(c, nw)
    (ep,) = c.attach(nw, ["x"], create_option_ifname("eth7"))
    sb = ep.sandbox()
    fresh = make_ctl(data_dir=str(tmp_path / "other"),
                     exec_root=os.path.join(nsdir, "other"))
    nw2 = fresh.new_network("bridge", "n", ipv4=[IpamConf("10.172.0.0/24")])
    fresh.attach(nw2, ["w"])
    (ep2,) = fresh.attach(nw2, ["x"], create_option_ifname("eth7"))
    sb2 = ep2.sandbox()
    assert fresh.pool is None

    def shape(path):
        return repr(kernel_dump(path)).replace("10.172.", "10.171.") \
            .replace(":0a:ac:00:", ":0a:ab:00:")
    assert shape(sb.key()) == shape(sb2.key())
    assert ns_links(sb.key())["eth7"].mac == ep.mac
    # the same files, with the same text (but for the address)
    d, d2 = os.path.dirname(sb.hosts_path), os.path.dirname(sb2.hosts_path)
    assert sorted(os.listdir(d)) == sorted(os.listdir(d2))
    for f in ("hosts", "resolv.conf"):
        with open(os.path.join(d, f)) as a, open(os.path.join(d2, f)) as b:
            assert a.read() == b.read().replace("10.172.", "10.171.")
    assert set(ns_links(sb.key())) == {"lo", "eth7"}
    for key in ("net/ipv6/conf/eth7/addr_gen_mode",
                "net/ipv4/conf/all/forwarding"):
        a = nsexec(sb.key(), "cat", f"/proc/sys/{key}").stdout
        b = nsexec(ep2.sandbox().key(), "cat", f"/proc/sys/{key}").stdout
        assert a == b, key


def test_pool_refills_to_its_size(pooled):
    c, nw = pooled(3)
    full(c)
    c.attach(nw, [f"c{i}" for i in range(5)])   # takes 3, makes 2
    assert c.pool.stats["taken"] == 3
    st = full(c, nw)
    assert st["ready"] == 3
    assert len(netns_files(c)) == 5 + 3
    c.detach([f"c{i}" for i in range(5)])
    assert len(netns_files(c)) == 3


def test_pool_rewires_for_the_network_last_attached_to(pooled, netns):
    c, nw = pooled(2)
    c.attach(nw, ["a"])
    full(c, nw)
    nw2 = c.new_network("bridge", "m", ipv4=[IpamConf("10.173.0.0/24")])
    c.attach(nw2, ["b"])
    full(c, nw2)
    st = full(c, nw2)
    assert unrecorded(c, netns) == set(st["hosts"])
    br2 = ns_links(netns)[nw2.driver_state["bridge"]].index
    assert {ns_links(netns)[h].master for h in st["hosts"]} == {br2}
    # a deleted network's veths go
    c.detach(["a", "b"])
    nw2.delete()
    until(lambda: c.pool.state()["wired"] == {}
          and c.pool.ready() == 2, what="bare entries")
    until(lambda: not unrecorded(c, netns), what="no pooled veth left")


def test_pool_zero_changes_nothing(make_ctl, netns):
    c = make_ctl()
    assert c.pool is None and c.config.warm_pool == 0
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.174.0.0/24")])
    c.attach(nw, ["a"])
    assert len(netns_files(c)) == 1
    assert not os.listdir(os.path.join(c.config.exec_root, "intents"))
    assert not [t for t in threading.enumerate()
                if t.name == "libnetwork-pool"]
    c.detach(["a"])
    assert netns_files(c) == []


def test_stop_deletes_the_pool(pooled, make_ctl, netns):
    c, nw = pooled(3)
    c.attach(nw, ["a"])
    full(c, nw)
    c.stop()
    assert netns_files(c) == [os.path.basename(
        c.sandbox_by_container("a").key())]
    intents_dir = os.path.join(c.config.exec_root, "intents")
    assert [f for f in os.listdir(intents_dir)
            if not f.startswith(".")] == []
    until(lambda: not unrecorded(c, netns), what="pooled veths gone")
    assert ours(c, netns) == {nw.driver_state["bridge"],
                              c.sandbox_by_container("a").endpoints()[0]
                              .host_ifname}
    c2 = make_ctl(warm_pool=3)
    assert c2.reconciled.pool_removed == []
    assert c2.reconciled.namespaces_removed == []
    assert c2.reconciled.links_removed == []
    full(c2)


@pytest.mark.parametrize("value", [-1, 1.5, "x", True, None, 10**6])
def test_bad_pool_size(make_ctl, value):
    with pytest.raises(InvalidParameter):
        config.option_warm_pool(value)
    with pytest.raises(InvalidParameter):
        make_ctl(warm_pool=value)


def test_option_warm_pool(make_ctl):
    c = make_ctl(config.option_warm_pool(2))
    assert c.config.warm_pool == 2
    full(c)


def test_a_batch_takes_what_the_pool_has(pooled, netns):
    c, nw = pooled(4)
    c.attach(nw, ["w"])
    st = full(c, nw)
    ids = [f"b{i}" for i in range(12)]
    taken = c.pool.stats["taken"]
    eps = c.attach(nw, ids)
    assert c.pool.stats["taken"] == taken + 4
    keys = {ep.sandbox().key() for ep in eps}
    assert len(keys & set(st["paths"])) == 4
    br = ns_links(netns)[nw.driver_state["bridge"]].index
    for ep in eps:
        sb = ep.sandbox()
        assert set(ns_links(sb.key())) == {"lo", "eth0"}
        assert ("eth0", ep.addr) in ns_addrs(sb.key())
        assert default_routes(sb.key()) == [("10.171.0.1", "eth0")]
        host = ns_links(netns)[ep.host_ifname]
        assert host.master == br and host.flags & IFF_UP
    a, b = eps[0].sandbox(), eps[-1].sandbox()   # pooled and fresh
    data, _, _ = udp_exchange(a.key(), b.key(), eps[-1].addr.ip, b"mix")
    assert data == b"mix"
    full(c, nw)
    c.detach(ids + ["w"])
    assert sorted(netns_files(c)) == sorted(
        os.path.basename(p) for p in c.pool.state()["paths"])


def test_a_failed_attach_gives_nothing_back(pooled, netns):
    from libnetwork.errors import LibnetworkError, SandboxExists
    c, nw = pooled(2)
    c.attach(nw, ["a"])
    st = full(c, nw)
    with pytest.raises(SandboxExists):
        c.attach(nw, ["b", "a"])              # refused after the take
    assert not any(os.path.exists(p) for p in st["paths"])
    with pytest.raises(LibnetworkError):
        c.attach(nw, ["c"], create_option_ifname("lo"))   # the kernel's
    assert [sb.container_id() for sb in c.sandboxes()] == ["a"]
    assert [ep.name() for ep in nw.endpoints()] == ["a"]
    st = full(c, nw)
    assert sorted(netns_files(c)) == sorted(
        [os.path.basename(c.sandbox_by_container("a").key())]
        + [os.path.basename(p) for p in st["paths"]])
    assert unrecorded(c, netns) == set(st["hosts"])
    (ep,) = c.attach(nw, ["b"])
    assert set(ns_links(ep.sandbox().key())) == {"lo", "eth0"}


def test_sandboxes_of_other_kinds_do_not_take(pooled, make_ctl):
    c, nw = pooled(2)
    full(c)
    host = c.new_network("host", "h")
    c.attach(host, ["h1"], use_default_sandbox=True)
    sb = c.new_sandbox("plain")
    assert c.pool.stats["taken"] == 0
    assert sb.key() not in c.pool.state()["paths"]
    assert c.pool.ready() == 2


def test_threads_attaching_while_the_pool_refills(pooled, netns):
    c, nw = pooled(3)
    errors = []

    def work(t):
        try:
            for i in range(8):
                ids = [f"t{t}-{i}-{k}" for k in range(1 + i % 3)]
                eps = c.attach(nw, ids)
                for ep in eps:
                    assert "eth0" in ns_links(ep.sandbox().key())
                c.detach(ids)
        except Exception as exc:        # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert c.pool.stats["taken"] > 0
    st = full(c, nw)
    assert c.sandboxes() == [] and nw.endpoints() == []
    assert netns_files(c) == sorted(os.path.basename(p) for p in st["paths"])
    until(lambda: unrecorded(c, netns) == set(st["hosts"]),
          what="only the pool's veths unrecorded")


def test_detach_without_waiting_of_pooled_containers(pooled, netns):
    from libnetwork import reaper
    c, nw = pooled(3)
    c.attach(nw, ["w"])
    st = full(c, nw)
    eps = c.attach(nw, ["a", "b"])
    assert {ep.sandbox().key() for ep in eps} <= set(st["paths"])
    c.detach(["a", "b", "w"], wait=False)
    assert reaper.wait(c, timeout=30)
    st = full(c, nw)
    assert c.sandboxes() == [] and nw.endpoints() == []
    assert netns_files(c) == sorted(os.path.basename(p) for p in st["paths"])
    until(lambda: unrecorded(c, netns) == set(st["hosts"]),
          what="only the pool's veths unrecorded")
