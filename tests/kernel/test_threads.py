"""Thread safety of one Controller (docs/threads.md): many threads making
changes on distinct names while others look things up; many threads racing
for one name; then the objects, the store, IPAM and the kernel agree.

* :func:`test_concurrent_changes_and_lookups`: attach/detach, endpoint
  batches, join/leave and network create/delete on distinct names from
  several threads, and readers calling the lock-free lookups meanwhile.
  Writers must raise nothing; readers only ``NotFound`` (an object went
  between two calls), and no reader ever sees two endpoints of one
  network with one address.
* :func:`test_same_name_one_winner`: threads released together by a
  barrier make the same sandbox, attach, endpoint, network or endpoint
  batch: exactly one wins, the others get the typed Conflict and leave
  nothing behind; the same detach, leave or deletion: one does it, the
  others get NoSuchSandbox, NotJoined or NoSuchNetwork (an endpoint's
  deletion is idempotent instead: every call returns).
* :func:`test_lookup_while_another_thread_changes`: the lookups that walk
  the controller's objects, with a thread switch forced at the first line
  inside their loop while another thread changes them.

After each: :func:`check_consistent` (store records equal the objects,
IPAM's bitmaps hold exactly the gateways and endpoint addresses, no
address twice, the root namespace holds exactly the bridges and joined
veth ends, the netns directory exactly the sandboxes, each sandbox exactly
its interfaces with their addresses -- read by the oracle).  Every thread
is joined with a deadline: one still running is reported with its stack
(a deadlock), so the whole module stays under 20 s per backend.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from libnetwork import IpamConf, errors, netlabel
from libnetwork.controller import Controller
from libnetwork.network import Network

from cnm_util import *  # noqa: F401,F403
from threads_util import (BRIDGE, DEADLINE, POOL, _raise_unexpected,
                          check_consistent, fast_switching, run_threads)


# -------------------------------------------------------------- fixture

@pytest.fixture
def world(ctl):
    nw = ctl.new_network("bridge", "t", ipv4=[IpamConf(POOL)],
                         generic={netlabel.BRIDGE_NAME: BRIDGE})
    return ctl, nw


# ------------------------------------------------ changes and lookups

def test_concurrent_changes_and_lookups(world, backend):
    c, nw = world
    done = threading.Event()
    kept: dict = {}

    def attacher(w, rounds=5, n=4):
        def run():
            for r in range(rounds):
                cids = [f"a{w}-{r}-{i}" for i in range(n)]
                eps = c.attach(nw, cids, hostname=f"a{w}")
                assert [ep.sandbox().container_id() for ep in eps] == cids
                if r < rounds - 1:
                    c.detach(cids)
            kept[f"a{w}"] = cids
        return run

    def endpoints(rounds=8):
        for r in range(rounds):
            batch = nw.create_endpoints([f"e-{r}-{i}" for i in range(3)])
            one = nw.create_endpoint(f"e1-{r}")
            assert nw.endpoint_by_id(one.id()) is one
            if r < rounds - 1:
                for ep in batch + [one]:
                    ep.delete()
        kept["e"] = [ep.name() for ep in batch + [one]]

    def joiner(rounds=8):
        ep1, ep2 = nw.create_endpoints(["j1", "j2"])
        home = c.new_sandbox("j-home")
        for r in range(rounds):
            ep1.join(home)
            ep2.join(home)
            assert [e.ifname for e in (ep1, ep2)] == ["eth0", "eth1"]
            ep1.leave(home)
            ep2.leave(home)
            sb = c.new_sandbox(f"j-{r}")
            ep1.join(sb)
            sb.delete()                  # leaves first
            assert ep1.sandbox() is None
        ep1.join(home)

    def networks(rounds=4):
        for r in range(rounds):
            n2 = c.new_network("bridge", f"n-{r}")     # automatic pool
            eps = c.attach(n2, [f"n-{r}-c"])
            ep = n2.create_endpoint(f"n-{r}-free")
            if r < rounds - 1:
                c.detach([f"n-{r}-c"])
                ep.delete()
                n2.delete()
        kept["n"], kept["n3"] = [eps[0].name(), ep.name()], n2.id()

    seen = {"passes": 0, "gone": 0}

    def one_pass():
        for n in c.networks():
            assert c.network_by_id(n.id()) is n
            eps = n.endpoints()
            ips = [str(e.info().iface().address()) for e in eps]
            assert len(ips) == len(set(ips)), ips
            for e in eps:
                e.driver_info()
                assert e.network() == n.name()
                sb = e.sandbox()
                if sb is not None:
                    sb.key()
                assert n.endpoint_by_id(e.id()) is e
            len(n)
        for sb in c.sandboxes():
            assert c.sandbox_by_container(sb.container_id()) is sb
            assert c.sandbox_by_id(sb.id()) is sb
        c.walk_networks(lambda n: False)

    def reader():
        # the lookups that copy or get under the GIL; the ones that walk
        # live dicts are test_lookup_while_another_thread_changes' (a bug)
        while not done.is_set():
            try:
                one_pass()
            except errors.NotFound:       # went between two calls
                seen["gone"] += 1
            seen["passes"] += 1

    writers = {"attach0": attacher(0), "attach1": attacher(1),
               "endpoints": endpoints, "join": joiner, "networks": networks}
    running = [len(writers)]
    lock = threading.Lock()

    def counted(fn):
        def run():
            try:
                return fn()
            finally:
                with lock:
                    running[0] -= 1
                    if not running[0]:
                        done.set()
        return run

    targets = {n: counted(f) for n, f in writers.items()}
    targets.update(reader0=reader, reader1=reader)
    t0 = time.monotonic()
    with fast_switching():
        results = run_threads(targets)
    took = time.monotonic() - t0
    _raise_unexpected(results)
    assert seen["passes"] > 0
    # exactly what the writers kept
    assert sorted(sb.container_id() for sb in c.sandboxes()) == sorted(
        kept["a0"] + kept["a1"] + ["j-home", "n-3-c"])
    assert sorted(e.name() for e in nw.endpoints()) == sorted(
        kept["a0"] + kept["a1"] + kept["e"] + ["j1", "j2"])
    assert sorted(n.name() for n in c.networks()) == ["n-3", "t"]
    assert sorted(e.name() for e in c.network_by_id(
        kept["n3"]).endpoints()) == sorted(kept["n"])
    check_consistent(c)
    sys.stderr.write(f"\nthreads {backend.name}: {took:.1f}s, "
                     f"{seen['passes']} reader passes "
                     f"({seen['gone']} met a NotFound)\n")


# ------------------------------------------------------------- one name

def _one_winner(results, conflict):
    """Exactly one thread returned; every other one raised ``conflict``."""
    won = [n for n, (kind, _) in results.items() if kind == "ok"]
    lost = {n: v for n, (kind, v) in results.items() if kind == "error"}
    _raise_unexpected({n: ("error", v) for n, v in lost.items()}, conflict)
    assert len(won) == 1, (won, lost)
    return results[won[0]][1]


N = 6


def _together(fn):
    """``N`` threads calling ``fn(i)`` at once (a barrier releases them)."""
    gate = threading.Barrier(N)

    def run(i):
        def go():
            gate.wait()
            return fn(i)
        return go
    with fast_switching():
        return run_threads({f"t{i}": run(i) for i in range(N)})


RACES = {
    # name: (setup(c, nw) -> state, call(c, nw, state, i), conflict,
    #        check(c, nw, state, winner's value))
    "new_sandbox": (
        lambda c, nw: None,
        lambda c, nw, st, i: c.new_sandbox("same", labels={"i": str(i)}),
        errors.SandboxExists,
        lambda c, nw, st, v: c.sandboxes() == [v]),
    "attach": (
        lambda c, nw: None,
        lambda c, nw, st, i: c.attach(nw, ["same"]),
        errors.SandboxExists,
        lambda c, nw, st, v: [e.name() for e in nw.endpoints()] ==
        ["same"] and v[0].sandbox().container_id() == "same"),
    "create_endpoint": (
        lambda c, nw: None,
        lambda c, nw, st, i: nw.create_endpoint("same"),
        errors.EndpointNameExists,
        lambda c, nw, st, v: nw.endpoints() == [v]),
    "create_endpoints_overlapping": (      # all or none: one batch stays
        lambda c, nw: None,
        lambda c, nw, st, i: nw.create_endpoints(
            [f"b{i}", "shared", f"c{i}"]),
        errors.EndpointNameExists,
        lambda c, nw, st, v: nw.endpoints() == v),
    "new_network": (
        lambda c, nw: None,
        lambda c, nw, st, i: c.new_network("bridge", "same"),
        errors.NetworkNameExists,
        lambda c, nw, st, v: sorted(n.name() for n in c.networks()) ==
        ["same", "t"]),
    "detach": (
        lambda c, nw: c.attach(nw, ["x", "y"]),
        lambda c, nw, st, i: c.detach(["x", "y"]),
        errors.NoSuchSandbox,
        lambda c, nw, st, v: c.sandboxes() == [] and nw.endpoints() == []),
    "leave": (
        lambda c, nw: c.attach(nw, ["x"])[0],
        lambda c, nw, st, i: st.leave(c.sandbox_by_container("x")),
        errors.NotJoined,
        lambda c, nw, st, v: st.sandbox() is None and
        c.sandbox_by_container("x").endpoints() == []),
    "sandbox_delete": (
        lambda c, nw: c.new_sandbox("x"),
        lambda c, nw, st, i: st.delete(),
        errors.NoSuchSandbox,
        lambda c, nw, st, v: c.sandboxes() == []),
    "network_delete": (
        lambda c, nw: c.new_network("bridge", "x"),
        lambda c, nw, st, i: st.delete(),
        errors.NoSuchNetwork,
        lambda c, nw, st, v: c.networks() == [nw]),
}


@pytest.mark.parametrize("race", sorted(RACES))
def test_same_name_one_winner(world, race):
    c, nw = world
    setup, call, conflict, check = RACES[race]
    state = setup(c, nw)
    results = _together(lambda i: call(c, nw, state, i))
    winner = _one_winner(results, conflict)
    assert check(c, nw, state, winner)
    check_consistent(c)


def test_distinct_names_all_win(world):
    """The same calls on distinct names: every thread's call succeeds."""
    c, nw = world
    results = _together(lambda i: (c.new_sandbox(f"s{i}"),
                                   nw.create_endpoint(f"e{i}"),
                                   c.attach(nw, [f"a{i}"])))
    _raise_unexpected(results)
    assert len(c.sandboxes()) == 2 * N
    assert len(nw.endpoints()) == 2 * N
    check_consistent(c)


def test_same_endpoint_deleted_by_many(world):
    """``Endpoint.delete`` of an endpoint already deleted returns quietly
    (it forgets what it still knows of), so every thread's call succeeds
    and the address is given back once."""
    c, nw = world
    ep = c.attach(nw, ["x"])[0]
    results = _together(lambda i: ep.delete(force=True))
    _raise_unexpected(results)
    assert nw.endpoints() == []
    assert [sb.endpoints() for sb in c.sandboxes()] == [[]]
    check_consistent(c)


# -------------------------------------------- lookups over live dicts

def switch_once(code, action):
    """From now on in this thread, the first time a line of ``code`` runs
    after its first one (the first line inside its loop), run ``action``
    on another thread: a thread switch at that point, made certain.  If
    ``action`` waits for a lock the caller holds, the caller goes on after
    a second.  Returns ``(fired, join)``: the lines where it fired; a
    function that waits for the action and stops tracing."""
    fired: list = []
    threads: list = []

    def local(frame, event, arg):
        if event == "line" and not fired:
            lines.append(frame.f_lineno)
            if len(set(lines)) > 1:
                fired.append(frame.f_lineno)
                t = threading.Thread(target=action)
                threads.append(t)
                t.start()
                t.join(1.0)
        return local

    lines: list = []

    def tracer(frame, event, arg):
        return local if frame.f_code is code else None

    sys.settrace(tracer)

    def join():
        sys.settrace(None)
        for t in threads:
            t.join(DEADLINE)
    return fired, join


@pytest.mark.parametrize("lookup", ["network_by_name", "endpoint_by_name",
                                    "sandbox_endpoints"])
def test_lookup_while_another_thread_changes(world, lookup):
    """``Controller.network_by_name``, ``Network.endpoint_by_name`` and
    ``Controller._endpoint`` (behind ``Sandbox.endpoints()``, its
    iteration and ``statistics()``) loop over a live dict: a network, or
    an endpoint of that network, made by another thread between two
    iterations raises ``RuntimeError: dictionary changed size during
    iteration``.  Unforced, a reader meets it within 0.1 s."""
    c, nw = world
    other = c.new_network("bridge", "other")
    ep = other.create_endpoint("e")
    sb = c.new_sandbox("c")
    ep.join(sb)
    nw.create_endpoint("first")
    nw.create_endpoint("second")
    k = iter(range(1000))
    code, call, change = {
        "network_by_name": (
            Controller.network_by_name.__code__,
            lambda: c.network_by_name("other"),
            lambda: c.new_network("bridge", f"x{next(k)}")),
        "endpoint_by_name": (
            Network.endpoint_by_name.__code__,
            lambda: nw.endpoint_by_name("second"),
            lambda: nw.create_endpoint(f"x{next(k)}")),
        "sandbox_endpoints": (
            Controller._endpoint.__code__,
            lambda: sb.endpoints(),
            lambda: c.new_network("bridge", f"x{next(k)}")),
    }[lookup]
    fired, join = switch_once(code, change)
    try:
        found = call()
    finally:
        join()
    assert fired, "the forced switch did not happen: update the test"
    assert found
    check_consistent(c)
