"""What the thread tests (test_threads.py) share: running threads with a
deadline (a deadlock fails with every thread's stack), fast thread
switching, and the check that the objects, the store, IPAM and the kernel
agree afterwards.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import traceback

import pytest

from libnetwork.ipam import Bitmap

from cnm_util import is_netns, ns_addrs, ns_links

POOL = "10.141.0.0/22"
BRIDGE = "brthr"
DEADLINE = 30.0          # seconds for all threads of one test to finish


# ------------------------------------------------------------- threads

@contextlib.contextmanager
def fast_switching(interval=1e-4):
    """More thread switches, so more interleavings per second of test."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(targets, deadline=DEADLINE) -> dict:
    """Run ``{name: fn}`` each on its own thread; returns ``{name:
    ("ok", value) | ("error", exception)}``.  A thread still running
    after ``deadline`` seconds fails the test with every stack."""
    out: dict = {}

    def wrap(name, fn):
        try:
            out[name] = ("ok", fn())
        except BaseException as exc:      # reported to the test
            out[name] = ("error", exc)

    threads = [threading.Thread(target=wrap, args=(n, f), name=n,
                                daemon=True) for n, f in targets.items()]
    end = time.monotonic() + deadline
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    if alive:
        frames = sys._current_frames()
        stacks = "\n".join(
            f"--- {t.name}\n" + "".join(traceback.format_stack(
                frames.get(t.ident)))
            for t in alive if frames.get(t.ident) is not None)
        pytest.fail(f"threads still running after {deadline}s "
                    f"(deadlock?):\n{stacks}")
    return out


def _raise_unexpected(results, allowed=()) -> None:
    for name, (kind, value) in sorted(results.items()):
        if kind == "error" and not isinstance(value, allowed):
            raise AssertionError(f"thread {name}: "
                                 f"{type(value).__name__}: {value}") \
                from value


# -------------------------------------------------------- consistency

def _json(v):
    return json.loads(json.dumps(v))


def _ordinals(net, ips):
    base = int(net.network_address)
    return {int(ipaddress.ip_address(ip)) - base for ip in ips}


def check_consistent(c) -> None:
    """Objects, store, IPAM and kernel agree (see the module docstring)."""
    nets = c.networks()
    eps = [ep for nw in nets for ep in nw.endpoints()]
    sbs = c.sandboxes()
    # store records are the objects
    for kind, objs in (("network", nets), ("endpoint", eps),
                       ("sandbox", sbs)):
        records = dict(c.store.list(kind))
        assert sorted(records) == sorted(o.id() for o in objs), kind
        for o in objs:
            assert records[o.id()] == _json(o.to_json()), (kind, o)
    # links between objects, both ways
    by_id = {sb.id(): sb for sb in sbs}
    assert len({sb.container_id() for sb in sbs}) == len(sbs)
    for ep in eps:
        if ep.sandbox_id is not None:
            assert ep.id() in by_id[ep.sandbox_id].endpoint_ids, ep
    for sb in sbs:
        assert c.sandbox_by_container(sb.container_id()) is sb
        for eid in sb.endpoint_ids:
            assert any(e.id() == eid and e.sandbox_id == sb.id()
                       for e in eps), (sb, eid)
    # addresses: unique per network; IPAM holds exactly the reserved
    # ordinals, the gateway and the endpoints' addresses
    dump = c.ipam.dump()
    for nw in nets:
        if nw.type() != "bridge":
            continue
        addrs = [ep.addr.ip for ep in nw.endpoints()]
        assert len(addrs) == len(set(addrs)), nw
        assert len({ep.mac for ep in nw.endpoints()}) == len(addrs), nw
        (info,) = nw.ipam_v4
        sub = next(d for d in dump.values()
                   if d["subnet"] == str(info.pool))
        bm = Bitmap.from_bytes(bytes.fromhex(sub["bitmap"]))
        pool = info.pool
        want = _ordinals(pool, [pool.network_address, pool.broadcast_address,
                                info.gateway.ip] + addrs)
        assert sub["size"] - sub["free"] == len(want), nw
        assert all(bm.is_set(o) for o in want), nw
    # the kernel, read by the oracle
    root = ns_links(c.config.root_namespace)
    bridges = {nw.driver_state["bridge"]: nw for nw in nets
               if nw.type() == "bridge"}
    joined = {ep.host_ifname: ep for ep in eps if ep.sandbox_id}
    assert set(root) == {"lo"} | set(bridges) | set(joined), sorted(root)
    for name, ep in joined.items():
        br = ep.network_object().driver_state["bridge"]
        assert root[name].master == root[br].index, name
    assert sorted(os.listdir(c.netns_dir)) == sorted(
        os.path.basename(sb.key()) for sb in sbs)
    assert sorted(os.listdir(c.files_dir)) == sorted(sb.id() for sb in sbs)
    for sb in sbs:
        assert is_netns(sb.key()), sb
        inside = {ep.ifname: ep for ep in sb.endpoints()}
        assert set(ns_links(sb.key())) == {"lo"} | set(inside), sb
        assert {(n, a) for n, a in ns_addrs(sb.key(), socket.AF_INET)
                if n != "lo"} == {(n, ep.addr) for n, ep in inside.items()}, sb
