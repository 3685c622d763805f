"""Ownership is provable: controllers with separate stores on one host,
with separate or shared exec roots, restarted alternately many times,
never lose an object; a namespace and veths made by other tools beside
them (one even in a network's link group) survive every restart; two
controllers on one store never share a link group."""

from __future__ import annotations

import os

import pytest

import libnetwork
from libnetwork import IpamConf

from cnm_util import *  # noqa: F401,F403
from cnm_util import is_netns, make_ctl, ns_links, nsexec  # noqa: F401
from kernel_util import make_netns


def sh(ns, *args):
    r = nsexec(ns, *args)
    assert r.returncode == 0, r.stderr


def world_of(c):
    """What a controller's containers need in the kernel, by name."""
    out = {}
    for nw in c.networks():
        out[nw.driver_state["bridge"]] = "bridge"
        for ep in nw.endpoints():
            if ep.sandbox_id:
                out[ep.host_ifname] = nw.driver_state["bridge"]
    return out


def assert_intact(c, netns):
    links = ns_links(netns)
    for name, master in world_of(c).items():
        assert name in links, f"{name} of {c.identity[:8]} lost"
        if master != "bridge":
            assert links[name].master == links[master].index
    for sb in c.sandboxes():
        assert is_netns(sb.key()), f"namespace {sb.key()} lost"
        assert [ep.ifname for ep in sb.endpoints()] == ["eth0"]


@pytest.mark.parametrize("shared_exec_root", [False, True],
                         ids=["own-exec-roots", "shared-exec-root"])
def test_two_controllers_restarted_alternately(make_ctl, netns, nsdir,
                                               tmp_path, shared_exec_root):
    dirs = {name: dict(data_dir=str(tmp_path / f"data-{name}"),
                       exec_root=os.path.join(
                           nsdir, "exec" if shared_exec_root
                           else f"exec-{name}"))
            for name in ("p", "q")}
    ctls = {name: make_ctl(**kw) for name, kw in dirs.items()}
    for i, (name, c) in enumerate(sorted(ctls.items())):
        nw = c.new_network("bridge", f"net-{name}",
                           ipv4=[IpamConf(f"10.12{i}.0.0/24")])
        c.attach(nw, [f"{name}{k}" for k in range(3)])
    p, q = ctls["p"], ctls["q"]
    # the two stores number their networks alike: the same link group
    assert p.networks()[0].driver_state["group"] == \
        q.networks()[0].driver_state["group"]
    # other tools' objects beside them, one in that very link group
    user_ns = make_netns(os.path.join(p.netns_dir, "user-ns"))
    sh(netns, "ip", "link", "add", "uveth", "type", "veth", "peer", "name",
       "upeer")
    sh(netns, "ip", "link", "add", "ugroup", "group",
       str(p.networks()[0].driver_state["group"]), "type", "veth", "peer",
       "name", "ugroupp")
    user = {"uveth", "upeer", "ugroup", "ugroupp"}
    expect = {name: (world_of(c), sorted(sb.container_id()
                                         for sb in c.sandboxes()))
              for name, c in ctls.items()}
    for round_ in range(6):
        name = "pq"[round_ % 2]
        ctls[name].stop()
        ctls[name] = make_ctl(**dirs[name])
        for n, c in ctls.items():
            assert (world_of(c), sorted(sb.container_id()
                                        for sb in c.sandboxes())) == \
                expect[n], f"round {round_}: {n} changed"
            assert_intact(c, netns)
        assert user <= set(ns_links(netns)), f"round {round_}"
        assert is_netns(user_ns)
    # and each still works: the containers of both talk to their bridges
    for c in ctls.values():
        nw = c.networks()[0]
        ep = nw.endpoints()[0]
        r = nsexec(ep.sandbox().key(), "ping", "-c1", "-W2",
                   str(nw.gateway4().ip))
        assert r.returncode == 0, r.stdout + r.stderr


def test_one_store_two_controllers_never_share_a_group(make_ctl, tmp_path):
    """Link groups come from the store, inside the creating transaction:
    two controllers on one store that never saw each other's networks in
    memory still pick different groups."""
    a = make_ctl()
    b = make_ctl()               # the same store, before a's network
    n1 = a.new_network("bridge", "n1", ipv4=[IpamConf("10.130.0.0/24")])
    n2 = b.new_network("bridge", "n2", ipv4=[IpamConf("10.131.0.0/24")])
    assert n1.driver_state["group"] != n2.driver_state["group"]
    assert a.identity == b.identity


def test_missing_store_with_namespaces_refuses(make_ctl, tmp_path, netns):
    """The store file gone while the exec root holds our namespaces: start
    refuses, naming the file, and touches nothing."""
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.132.0.0/24")])
    c.attach(nw, ["a"])
    key = c.sandboxes()[0].key()
    before = sorted(ns_links(netns)), sorted(os.listdir(c.netns_dir))
    c.stop()
    db = os.path.join(c.config.data_dir, "local.db")
    for extra in ("", "-wal", "-shm"):
        if os.path.exists(db + extra):
            os.unlink(db + extra)
    with pytest.raises(libnetwork.errors.StoreUnusable, match="missing") \
            as ei:
        make_ctl()
    assert ei.value.path == db and "recover" in str(ei.value)
    assert (sorted(ns_links(netns)), sorted(os.listdir(c.netns_dir))) == \
        before
    assert is_netns(key) and not os.path.exists(db)


@pytest.mark.parametrize("umask", [0o077, 0o000, 0o022])
def test_directory_modes_whatever_the_umask(make_ctl, nsdir, tmp_path,
                                            umask):
    """Every directory the controller creates has its mode set: the exec
    root and what namespaces are bound in 0755, intents 0700, the data
    directory (every level created) 0700."""
    old = os.umask(umask)
    try:
        data = tmp_path / "a" / "b" / "data"
        exec_root = os.path.join(nsdir, "x", "exec")
        c = make_ctl(data_dir=str(data), exec_root=exec_root)
        nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.133.0.0/24")])
        c.attach(nw, ["a"])
    finally:
        os.umask(old)

    def mode(p):
        return oct(os.stat(p).st_mode & 0o777)
    for d in (tmp_path / "a", tmp_path / "a" / "b", data):
        assert mode(d) == "0o700", d
    for d in (os.path.join(nsdir, "x"), exec_root, c.netns_dir,
              c.files_dir, os.path.join(c.files_dir,
                                        c.sandboxes()[0].id())):
        assert mode(d) == "0o755", d
    assert mode(os.path.join(exec_root, "intents")) == "0o700"
    assert mode(os.path.join(data, "local.db")) == "0o600"
