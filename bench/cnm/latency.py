"""One container at a time: the latency a runtime sees.

Cells, per backend (each its own controller):

* ``attach`` / ``detach`` -- ``count`` x ``attach([id])`` back to back,
  each timed alone, then ``count`` x ``detach([id])``;
* ``attach pool`` / ``detach pool`` -- the same on a controller made with
  ``libnetwork.new(..., warm_pool=P)``;
* ``detach async`` -- ``count`` x ``detach([id], wait=False)`` (what it
  returns in), then ``stop()``: ``reaper`` is the time stop() waited for
  the reaper to finish those;
* ``bulk async`` -- ``detach(<bulk> ids, wait=False)`` of ``bulk``
  containers attached in one call: ``returned`` and ``reaped`` (until
  ``stop()`` returned, from the detach call).

A cell whose option the library lacks (TypeError, InvalidParameter) is
recorded as skipped "not available: ...".  Results:
``{(backend, cell): {"median", "p99", "n", "samples"} | {"skipped"}}``,
in seconds.
"""

from __future__ import annotations

import gc
import statistics
import time

from wiring.measure import settle
from wiring.peer import Unavailable

from .world import World, not_available


def summary(samples: list) -> dict:
    s = sorted(samples)
    p99 = s[min(len(s) - 1, max(0, round(0.99 * len(s)) - 1))]
    return {"median": statistics.median(s), "p99": p99, "n": len(s),
            "samples": s}


def _each(fn, ids, before=None) -> list:
    out = []
    gc.collect()
    gc.disable()            # a collection inside one call would be noise
    try:
        for cid in ids:
            if before is not None:
                before()    # untimed
            t0 = time.perf_counter()
            fn(cid)
            out.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return out


def _pool_full(w: World, timeout: float = 5.0) -> None:
    """Until the warm pool holds its size of sandboxes wired for the
    network (containers that start one at a time, as a host sees them,
    each find it refilled; back to back, a pool serves a burst of its
    size and the rest are made as without it)."""
    pool, nid = w.c.pool, w.nets[0].id()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = pool.state()
        if st["wired"].get(nid, 0) >= st["size"] and not st["making"]:
            return
        time.sleep(0.001)


def _pair(res, b, w: World, count: int, suffix: str) -> None:
    ids = w.ids(count)
    before = (lambda: _pool_full(w)) if getattr(w.c, "pool", None) \
        else None
    res[(b, "attach" + suffix)] = summary(_each(lambda c: w.attach([c]),
                                                ids, before))
    w.check(count)
    res[(b, "detach" + suffix)] = summary(_each(lambda c: w.detach([c]),
                                                ids))
    w.check(0)


def _async(res, b, count: int, bulk: int, settle_max: float) -> None:
    w = World(b)
    try:
        ids = w.ids(count)
        w.attach(ids)
        settle(settle_max)
        try:
            s = _each(lambda c: w.detach([c], wait=False), ids)
        except Exception as exc:
            if not_available(exc):
                raise Unavailable(f"not available: {exc}") from None
            raise
        res[(b, "detach async")] = summary(s)
        t = w.stop()
        res[(b, "reaper")] = {"median": t, "p99": t, "n": 1, "samples": [t]}
    finally:
        w.close()
    w = World(b)
    try:
        ids = w.ids(bulk)
        w.attach(ids)
        settle(settle_max)
        gc.collect()
        t0 = time.perf_counter()
        w.detach(ids, wait=False)
        t1 = time.perf_counter()
        w.stop()
        t2 = time.perf_counter()
        for cell, v in (("bulk returned", t1 - t0), ("bulk reaped", t2 - t0)):
            res[(b, cell)] = {"median": v, "p99": v, "n": bulk,
                              "samples": [v]}
    finally:
        w.close()


CELLS = ("attach", "detach", "attach pool", "detach pool", "detach async",
         "reaper", "bulk returned", "bulk reaped")


def run_latency(backends, count=200, pool=16, bulk=500, settle_max=2.0,
                log=print):
    """(results, skipped) -- see the module's docstring."""
    res: dict = {}
    skipped: dict = {}

    def skip(b, cells, why):
        for c in cells:
            res[(b, c)] = {"skipped": why}
        log(f"  latency {b} {'/'.join(cells)}: {why}")

    for b in backends:
        for suffix, opts in (("", {}), (" pool", {"warm_pool": pool})):
            cells = ("attach" + suffix, "detach" + suffix)
            try:
                w = World(b, **opts)
            except Unavailable as exc:
                skip(b, cells, str(exc))
                continue
            try:
                settle(settle_max)
                warm = w.ids(3)
                w.attach(warm)
                w.detach(warm)
                settle(settle_max)
                _pair(res, b, w, count, suffix)
            except Exception as exc:
                skip(b, cells, f"failed: {type(exc).__name__}: {exc}")
            finally:
                w.close()
        try:
            settle(settle_max)
            _async(res, b, count, bulk, settle_max)
        except Unavailable as exc:
            skip(b, CELLS[4:], str(exc))
        except Exception as exc:
            skip(b, CELLS[4:], f"failed: {type(exc).__name__}: {exc}")
        for c in CELLS:
            v = res.get((b, c))
            if v and "median" in v:
                log(f"  latency {b:<8} {c:<14} median "
                    f"{v['median'] * 1e3:7.3f} ms  p99 "
                    f"{v['p99'] * 1e3:7.3f} ms  (n={v['n']})")
    for (b, c), v in res.items():
        if "skipped" in v:            # one line per backend and reason
            key = f"latency {b}: {v['skipped']}"
            skipped.setdefault(key, [])
            skipped[key].append(c)
    skipped = {f"{k.split(': ', 1)[0]} ({', '.join(v)})":
               k.split(": ", 1)[1] for k, v in skipped.items()}
    return res, skipped
