"""Warm pools and crashes: a process with a pool is SIGKILLed (at random
moments of an attach/detach loop, inside an attach that took from the
pool, right after one); the next controller on the same store leaks
nothing -- every namespace under the exec root is a recorded sandbox's,
every root link with the store's mark a recorded network's or endpoint's
-- and its own pool fills again.  A pool of a live process is left alone
by a controller starting meanwhile."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from libnetwork import IpamConf

from cnm_util import *  # noqa: F401,F403
from kernel_util import settled
from cnm_util import Oracle, is_netns, ns_links

SEEDS = int(os.environ.get("LIBNETWORK_CRASH_SEEDS", "3"))

WORKER = textwrap.dedent('''
    import json, os, signal, sys, time
    import libnetwork
    from libnetwork import plan
    args = json.loads(sys.argv[1])
    c = libnetwork.new(**args["ctl"])
    nw = c.network_by_name("n")
    mode = args["mode"]

    def full():
        while c.pool.ready() < c.pool.size or \\
                c.pool.state()["wired"].get(nw.id(), 0) < c.pool.size:
            time.sleep(0.005)

    if mode == "loop":
        print("ready", flush=True)
        i = 0
        while True:
            ids = [f"c{i}-{k}" for k in range(args["n"])]
            c.attach(nw, ids)
            c.detach(ids[1:])
            i += 1
    c.attach(nw, ["first"])
    full()
    if mode == "in-attach":        # killed inside the attach's plan
        real = plan.execute

        def execute(*a, **kw):
            out = real(*a, **kw)
            os.kill(os.getpid(), signal.SIGKILL)
            return out
        plan.execute = execute
        c.attach(nw, ["doomed"])
    elif mode == "after-attach":   # killed once the attach committed
        c.attach(nw, ["kept"])
        print("attached", flush=True)
        time.sleep(60)
    else:                          # a full pool, then killed
        print("full", flush=True)
        time.sleep(60)
''')



def no_leaks(c, netns):
    """Everything of ours in the kernel is recorded, and the reverse
    (once the pool is still)."""
    if c.pool is not None and not c._stopped:
        until_full(c)
    sbs = c.sandboxes()
    keys = sorted(os.path.basename(sb.key()) for sb in sbs)
    mine = sorted(f for f in os.listdir(c.netns_dir)
                  if f.startswith(c.identity[:8]))
    pool = set(c.pool.state()["paths"]) if c.pool else set()
    assert sorted(set(mine) - {os.path.basename(p) for p in pool}) == keys
    for sb in sbs:
        assert is_netns(sb.key())
        eps = sb.endpoints()
        assert set(Oracle(sb.key()).links()) == {"lo"} | {
            ep.ifname for ep in eps}

    def kernel():
        links = ns_links(netns)
        recorded = set()
        for nw in c.networks():
            recorded.add(nw.driver_state["bridge"])
            recorded |= {ep.host_ifname for ep in nw.endpoints()
                         if ep.sandbox_id}
        pooled = set(c.pool.state()["hosts"]) if c.pool else set()
        ours = {n for n, link in links.items() if link.alias == c.mark}
        assert ours == recorded | pooled, (ours, recorded, pooled)
        assert not [n for n in links if n.startswith("veth")
                    and n not in recorded | pooled], "an unrecorded veth"
    settled(kernel)


def run_worker(ctl, mode, n=3, wait_for=None, sleep=0.0):
    p = subprocess.Popen(
        [sys.executable, "-c", WORKER,
         json.dumps({"ctl": ctl, "mode": mode, "n": n})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if wait_for:
            line = p.stdout.readline().strip()
            assert line == wait_for, (line, p.stderr.read())
            time.sleep(sleep)
        else:
            p.wait(timeout=60)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL, err
    return err


@pytest.fixture
def world(make_ctl, netns, nsdir, tmp_path, backend):
    ctl = dict(data_dir=str(tmp_path / "data"),
               exec_root=os.path.join(nsdir, "exec"),
               backend=backend.name, root_namespace=netns, warm_pool=4)
    c = make_ctl(**ctl)
    c.new_network("bridge", "n", ipv4=[IpamConf("10.175.0.0/16")])
    c.stop()
    return ctl


def restart(make_ctl, ctl, netns):
    c = make_ctl(**ctl)
    no_leaks(c, netns)
    until_full(c)
    no_leaks(c, netns)
    return c


def until_full(c, timeout=20.0):
    """Until the pool is full and still: nothing being made, every entry
    wired for the network it wires for (bounded)."""
    end = time.monotonic() + timeout
    while True:
        st = c.pool.state()
        if st["ready"] == st["size"] and not st["making"] and (
                st["hot"] is None or st["wired"].get(st["hot"]) == st["size"]):
            return
        assert time.monotonic() < end, st
        time.sleep(0.01)


def test_killed_with_a_full_pool(world, make_ctl, netns):
    run_worker(world, "full", wait_for="full")
    c = make_ctl(**world)
    assert len(c.reconciled.pool_removed) == 4
    assert c.reconciled.links_removed == []      # replay took them
    assert [sb.container_id() for sb in c.sandboxes()] == ["first"]
    no_leaks(c, netns)
    until_full(c)
    no_leaks(c, netns)


def test_killed_inside_an_attach_from_the_pool(world, make_ctl, netns):
    run_worker(world, "in-attach")
    c = restart(make_ctl, world, netns)
    assert sorted(sb.container_id() for sb in c.sandboxes()) == ["first"]
    assert [ep.name() for ep in c.network_by_name("n").endpoints()] == [
        "first"]
    # all of it works on
    eps = c.attach(c.network_by_name("n"), ["doomed"])
    assert eps[0].sandbox().key() in {sb.key() for sb in c.sandboxes()}
    no_leaks(c, netns)


def test_killed_after_an_attach_from_the_pool(world, make_ctl, netns):
    run_worker(world, "after-attach", wait_for="attached")
    c = restart(make_ctl, world, netns)
    sb = c.sandbox_by_container("kept")
    (ep,) = sb.endpoints()
    assert set(Oracle(sb.key()).links()) == {"lo", "eth0"}
    assert ns_links(netns)[ep.host_ifname].alias == c.mark
    assert not any(sb.key() == p for p in c.reconciled.pool_removed)
    c.detach(["kept", "first"])
    no_leaks(c, netns)
    assert c.sandboxes() == []


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_anywhere_with_a_pool(world, make_ctl, netns, seed):
    rnd = random.Random(seed)
    run_worker(world, "loop", wait_for="ready",
               sleep=rnd.uniform(0.05, 1.5))
    c = restart(make_ctl, world, netns)
    c2 = make_ctl(**world)          # a second start changes nothing
    assert c2.reconciled.namespaces_removed == []
    assert c2.reconciled.links_removed == []
    c2.stop()
    c.detach([sb.container_id() for sb in c.sandboxes()])
    no_leaks(c, netns)


def test_a_live_pool_is_left_alone(world, make_ctl, netns):
    a = make_ctl(**world)
    until_full(a)
    a.attach(a.network_by_name("n"), ["x"])
    until_full(a)
    paths = a.pool.state()["paths"]
    hosts = a.pool.state()["hosts"]
    b = make_ctl(**dict(world, warm_pool=0))    # starts meanwhile
    assert b.reconciled.pool_removed == []
    assert b.reconciled.namespaces_removed == []
    assert b.reconciled.links_removed == []
    assert all(is_netns(p) for p in paths)
    assert set(hosts) <= set(ns_links(netns))
    b.stop()
    eps = a.attach(a.network_by_name("n"), ["y"])    # still works
    assert eps[0].sandbox().key() in paths
    a.stop()
    c = make_ctl(**dict(world, warm_pool=0))
    assert c.reconciled.pool_removed == []
    no_leaks(c, netns)
