"""Attach and detach of N containers through the controller, per backend
(R rounds, the kernel settling before every timed call), and at each N,
in the first round: the RSS growth per endpoint after the attach and the
time of ``libnetwork.new()`` restoring the N endpoints (kernel objects
present).

Records: ``(contender, phase, n) -> [Timing]`` with phases ``attach``,
``detach``, ``restore``; the memory as ``extra["rss_kib"]`` of the
attach Timing of round 0 (KiB grown over the attach, after a
collection)."""

from __future__ import annotations

import gc

from wiring.measure import Meter, Timing, settle
from wiring.peer import Unavailable

from .world import World, rss_kib

BACKENDS = ("native", "pyroute2")


def _record(results, t: Timing, r: int) -> None:
    t.extra["round"] = r
    results.setdefault((t.impl, t.phase, t.n), []).append(t)


def one_round(w: World, n: int, r: int, results: dict, settle_max: float,
              memory: bool) -> None:
    b = w.backend_name
    cids = w.ids(n)
    settle(settle_max)
    rss0 = rss_kib() if memory else 0
    gc.collect()
    with Meter(b, "attach", n, collect=False) as a:
        w.attach(cids)
    if memory:
        a.timing.extra["rss_kib"] = rss_kib() - rss0
    w.check(n)
    _record(results, a.timing, r)
    if memory:                       # restore of n, kernel objects present
        settle(settle_max)
        t = w.restore()
        _record(results, Timing(b, "restore", n, t, 0.0, 0.0), r)
        w.check(n)
    settle(settle_max)
    gc.collect()
    with Meter(b, "detach", n, collect=False) as d:
        w.detach(cids)
    w.check(0)
    _record(results, d.timing, r)


def run_scale(ns, rounds, backends=BACKENDS, settle_max=2.0, log=print):
    """({(backend, phase, n): [Timing]}, skipped)."""
    results: dict = {}
    skipped: dict = {}
    for b in backends:
        try:
            w = World(b)
        except Unavailable as exc:
            skipped[f"containers {b}"] = str(exc)
            log(f"  skip containers {b}: {exc}")
            continue
        try:
            cids = w.ids(3)                      # warm-up
            w.attach(cids)
            w.detach(cids)
            for n in ns:
                for r in range(rounds):
                    one_round(w, n, r, results, settle_max, memory=r == 0)
                    a = results[(b, "attach", n)][-1]
                    d = results[(b, "detach", n)][-1]
                    log(f"  cnm {b:<8} n={n:<5} round {r} attach "
                        f"{a.wall * 1e3:8.1f} ms ({n / a.wall:6.0f}/s)  "
                        f"detach {d.wall * 1e3:8.1f} ms" + (
                            f"  rss {a.extra['rss_kib'] / n:.2f} KiB/ep, "
                            f"restore {results[(b, 'restore', n)][-1].wall * 1e3:.0f} ms"
                            if r == 0 else ""))
        except Exception as exc:
            skipped[f"containers {b} (failed)"] = \
                f"{type(exc).__name__}: {exc}"
            log(f"  containers {b} FAILED: {exc}")
        finally:
            w.close()
    return results, skipped
