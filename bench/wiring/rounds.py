"""The report's schedule for the wiring: every peer warmed up once, then
for each N, R rounds of wire + unwire with the peers' order rotated every
round so none always runs first, the kernel settling between phases."""

from __future__ import annotations

import os
import shutil

from .measure import settle
from .peer import Unavailable
from .registry import make


def _warm_up(impls, base, settle_max, log):
    """Wire and unwire 3 endpoints with each peer (untimed: imports,
    caches, availability): the peers that can run, and the skipped ones."""
    live, skipped = [], {}
    for impl in impls:
        try:
            with make(impl, os.path.join(base, "warmup", impl)) as w:
                w.wire(3)
                w.unwire()
            live.append(impl)
        except Unavailable as exc:
            skipped[impl] = str(exc)
            log(f"  skip {impl}: {exc}")
        except Exception as exc:
            skipped[impl] = f"warm-up failed: {type(exc).__name__}: {exc}"
            log(f"  skip {impl}: {skipped[impl]}")
        settle(settle_max)
    return live, skipped


def _progress(n, r, impl, t_wire, t_unwire, waited):
    line = (f"  n={n:<4} round {r} {impl:<16} "
            f"wire {t_wire.wall * 1e3:8.1f} ms "
            f"(u {t_wire.user * 1e3:6.1f} s {t_wire.sys * 1e3:7.1f})  "
            f"unwire {t_unwire.wall * 1e3:7.1f} ms "
            f"(u {t_unwire.user * 1e3:5.1f} s "
            f"{t_unwire.sys * 1e3:6.1f})  settle {waited:.2f} s  "
            f"csw vol/invol {t_wire.extra['vcsw']}/{t_wire.extra['ivcsw']}")
    if t_wire.sendmsg is not None:
        line += f"  sendmsg {t_wire.sendmsg}/{t_unwire.sendmsg}"
    return line


def run_wiring(ns, impls, rounds, base, settle_max, log):
    """{(impl, phase, n): [Timing per round]}, the skipped peers, and the
    peers that ran.  A peer that fails a round is reported and skipped
    for that round; ``log`` gets the progress lines."""
    results: dict = {}
    errors: dict = {}
    live, skipped = _warm_up(impls, base, settle_max, log)
    for n in ns:
        for r in range(rounds):
            order = live[r % len(live):] + live[:r % len(live)] if live else []
            for impl in order:
                workdir = os.path.join(base, f"{impl}-{n}-{r}")
                try:
                    with make(impl, workdir) as w:
                        t_wire = w.wire(n)
                        settle(settle_max, 0.05)
                        t_unwire = w.unwire()
                except Exception as exc:   # a wrong result: say, go on
                    msg = f"{type(exc).__name__}: {exc}"
                    errors.setdefault(f"{impl} N={n}", msg)
                    log(f"  n={n:<4} round {r} {impl:<16} FAILED: {msg}")
                    settle(settle_max)
                    continue
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                waited = settle(settle_max)
                for t in (t_wire, t_unwire):
                    t.extra["round"] = r
                    results.setdefault((impl, t.phase, n), []).append(t)
                log(_progress(n, r, impl, t_wire, t_unwire, waited))
    for k, v in errors.items():
        skipped[f"{k} (failed)"] = v
    return results, skipped, live
