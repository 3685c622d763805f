"""The Backend contract against the real kernel, for every backend: namespaces
(many at once, over an existing path, the caller's thread never moves,
rebinding), packets between sandboxes, and both backends agreeing.

Each test runs once per backend in its own fresh network namespace and
checks what the kernel holds afterwards through the oracle of conftest.py,
never through the backend under test alone.
"""

from __future__ import annotations

import errno as E
import os
import socket
import subprocess
import threading
import time

import pytest

from libnetwork.backends import ops as O
from libnetwork.errors import (
    NetlinkConflict,
    NetlinkNotFound,
)

from kernel_util import (
    BACKENDS, drop_netns, in_netns, is_netns, make_netns, ns_inode,
    ns_socket,
)

from backend_util import *  # noqa: F401,F403


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
