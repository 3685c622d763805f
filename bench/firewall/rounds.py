"""The report's schedule for the firewall: libnetwork's attach and detach
of N containers with and without a published port each (per backend), one
transaction of ``batch`` port elements (per backend), ``batch`` endpoints
created in one change with and without a port each, and the exec peers
publishing N ports; R rounds each, the kernel settling between
measurements (the namespaces of a detach are cleaned up by the kernel in
the background, holding RTNL, which would slow the next measurement).

Within a round a backend runs both variants back to back, their order
alternating from round to round, so that the ratio with/without compares
neighbours in time."""

from __future__ import annotations

import gc

from wiring.measure import Meter, settle
from wiring.peer import Unavailable

from .library import PortTransaction, World
from .peers import make

BACKENDS = ("native", "pyroute2")
PEERS = ("nft-rule", "nft-element", "iptables")
ATTACH = {True: "attach+ports", False: "attach"}
DETACH = {True: "detach+ports", False: "detach"}
BATCH = {True: "endpoints+ports", False: "endpoints"}


def _record(results, t, r):
    t.extra["round"] = r
    results.setdefault((t.impl, t.phase, t.n), []).append(t)


def attach_round(w: World, n: int, ports: bool, settle_max: float):
    """(attach Timing, detach Timing) of ``n`` containers, checked."""
    cids = w.ids(n)
    gc.collect()
    with Meter(w.backend_name, ATTACH[ports], n, collect=False) as a:
        w.attach(cids, ports)
    w.check(n, ports)
    settle(settle_max, 0.05)
    gc.collect()
    with Meter(w.backend_name, DETACH[ports], n, collect=False) as d:
        w.detach(cids)
    w.check(0, ports)
    return a.timing, d.timing


def _worlds(backends, skipped, log):
    worlds = {}
    for b in backends:
        try:
            w = World(b)
        except Unavailable as exc:
            skipped[f"firewall {b}"] = str(exc)
            log(f"  skip firewall {b}: {exc}")
            continue
        try:                         # warm-up: imports, caches
            for ports in (True, False):
                attach_round(w, 3, ports, 0.5)
        except Exception as exc:
            skipped[f"firewall {b}"] = (f"warm-up failed: "
                                        f"{type(exc).__name__}: {exc}")
            log(f"  skip firewall {b}: {skipped[f'firewall {b}']}")
            w.close()
            continue
        worlds[b] = w
    return worlds


def _attach_part(results, skipped, n, rounds, backends, settle_max, log):
    worlds = _worlds(backends, skipped, log)
    try:
        for r in range(rounds):
            for b, w in worlds.items():
                for ports in ((True, False) if r % 2 == 0
                              else (False, True)):
                    settle(settle_max)
                    try:
                        ta, td = attach_round(w, n, ports, settle_max)
                    except Exception as exc:
                        msg = f"{type(exc).__name__}: {exc}"
                        skipped.setdefault(f"firewall {b} (failed)", msg)
                        log(f"  fw n={n} round {r} {b} FAILED: {msg}")
                        continue
                    _record(results, ta, r)
                    _record(results, td, r)
                    log(f"  fw n={n} round {r} {b:<8} {ATTACH[ports]:<13}"
                        f" {ta.wall * 1e3:8.1f} ms ({n / ta.wall:6.0f}/s)"
                        f"  {DETACH[ports]:<13} {td.wall * 1e3:7.1f} ms")
    finally:
        for w in worlds.values():
            w.close()
    return list(worlds)


def _txn_part(results, skipped, batch, rounds, backends, log):
    for b in backends:
        try:
            txn = PortTransaction(b)
        except Unavailable as exc:
            skipped[f"port txn {b}"] = str(exc)
            log(f"  skip port txn {b}: {exc}")
            continue
        try:
            txn.timed(min(batch, 10))            # warm-up
            for r in range(rounds):
                t = txn.timed(batch)
                _record(results, t, r)
                log(f"  port txn {b:<8} {batch} elements "
                    f"{t.wall * 1e3:7.2f} ms ({t.wall / batch * 1e6:.1f} "
                    f"us/port)")
        except Exception as exc:
            skipped[f"port txn {b} (failed)"] = f"{type(exc).__name__}: {exc}"
            log(f"  port txn {b} FAILED: {exc}")
        finally:
            txn.close()


def _batch_part(results, skipped, batch, rounds, backends, log):
    """``batch`` endpoints created in one change with and without one
    published port each, back to back per round: the whole cost of a port
    in a batch (allocation, elements, the transaction, the records)."""
    for b in backends:
        try:
            w = World(b)
        except Unavailable as exc:
            skipped[f"endpoint batch {b}"] = str(exc)
            log(f"  skip endpoint batch {b}: {exc}")
            continue
        try:
            for ports in (True, False):                    # warm-up
                w.delete(w.create(w.ids(10), ports))
            for r in range(rounds):
                for ports in ((False, True) if r % 2 == 0 else
                              (True, False)):
                    names = w.ids(batch)
                    gc.collect()
                    with Meter(b, BATCH[ports], batch, collect=False) as m:
                        eps = w.create(names, ports)
                    _record(results, m.timing, r)
                    w.delete(eps)
                log(f"  endpoint batch {b:<8} {batch}: " + ", ".join(
                    f"{BATCH[p]} {results[(b, BATCH[p], batch)][-1].wall * 1e3:.1f} ms"
                    for p in (False, True)))
        except Exception as exc:
            skipped[f"endpoint batch {b} (failed)"] = \
                f"{type(exc).__name__}: {exc}"
            log(f"  endpoint batch {b} FAILED: {exc}")
        finally:
            w.close()


def peer_round(p, n: int):
    """Timing of ``p`` publishing ``n`` ports (tables made and removed
    untimed, the rules checked)."""
    p.prepare()
    try:
        with Meter(p.label, "publish", n) as m:
            p.publish(n)
        p.check(n)
    finally:
        p.cleanup()
    return m.timing


def _peer_part(results, skipped, n, rounds, peers, settle_max, log):
    live = []
    for name in peers:
        try:
            p = make(name)
            peer_round(p, 3)                     # warm-up
        except Unavailable as exc:
            skipped[name] = str(exc)
            log(f"  skip {name}: {exc}")
            continue
        except Exception as exc:
            skipped[name] = f"warm-up failed: {type(exc).__name__}: {exc}"
            log(f"  skip {name}: {skipped[name]}")
            continue
        live.append((name, p))
    for r in range(rounds):
        for name, p in live:
            settle(settle_max)
            try:
                t = peer_round(p, n)
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                skipped.setdefault(f"{name} (failed)", msg)
                log(f"  {name} n={n} round {r} FAILED: {msg}")
                continue
            t.extra["execs"] = 1 + p.count() * n
            _record(results, t, r)
            log(f"  {name:<12} n={n} round {r} publish "
                f"{t.wall * 1e3:8.1f} ms ({t.wall / n * 1e6:.0f} us/port)")
    return [name for name, _ in live]


def run_firewall(n, batch, rounds, backends=BACKENDS, peers=PEERS,
                 settle_max=2.0, log=print):
    """({(impl, phase, n): [Timing per round]}, skipped, backends that
    ran the attach, peers that ran)."""
    results: dict = {}
    skipped: dict = {}
    ran = _attach_part(results, skipped, n, rounds, backends, settle_max,
                       log)
    _txn_part(results, skipped, batch, rounds, backends, log)
    _batch_part(results, skipped, batch, rounds, backends, log)
    live = _peer_part(results, skipped, n, rounds, peers, settle_max, log)
    return results, skipped, ran, live
