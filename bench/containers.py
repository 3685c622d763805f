"""The report's containers part: full setup and teardown per container,
libnetwork through its CNM API next to the tools runtimes exec.

* libnetwork (``cnm/scale.py``): ``attach()`` / ``detach()`` of N
  containers in one call, per backend, R rounds; RSS per endpoint and
  restore time at each N;
* the exec peers (``peers/``): CNI plugins and netavark, one container at
  a time, at the N up to ``exec_max`` (they run at tens of containers a
  second), ``exec_rounds`` rounds;
* one-container latency (``cnm/latency.py``) and, with ``large``, the
  10,000 run (``cnm/large.py``).

The bare wiring peers come from the wiring part; :func:`merge_wiring`
puts them beside these as contenders ``wire native``, ``wire ip-batch``,
``wire pyroute2-iproute``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import traceback

from cnm.large import run_large
from cnm.latency import run_latency
from cnm.scale import BACKENDS, run_scale
from peers.runner import EXEC_PEERS, make, run as run_peer
from wiring.measure import settle
from wiring.peer import Unavailable

WIRING_CONTENDERS = ("native", "ip-batch", "pyroute2-iproute")


def _exec_part(results, skipped, ns, rounds, peers, settle_max, log):
    live = []
    base = tempfile.mkdtemp(prefix="bench-peers-", dir="/run"
                            if os.path.isdir("/run") else None)
    try:
        for name in peers:
            try:
                p = make(name, base)
            except Unavailable as exc:
                skipped[name] = str(exc)
                log(f"  skip {name}: {exc}")
                continue
            try:
                run_peer(p, 2)                         # warm-up
                live.append(name)
                for n in ns:
                    for r in range(rounds):
                        settle(settle_max)
                        a, d = run_peer(p, n, lambda: settle(settle_max))
                        for t in (a, d):
                            t.extra["round"] = r
                            results.setdefault((name, t.phase, n),
                                               []).append(t)
                        log(f"  {name:<18} n={n:<4} round {r} attach "
                            f"{n / a.wall:6.1f}/s detach {n / d.wall:6.1f}/s"
                            f" ({a.extra['execs']} + {d.extra['execs']} "
                            f"processes)")
            except Exception as exc:
                skipped[f"{name} (failed)"] = f"{type(exc).__name__}: {exc}"
                log(f"  {name} FAILED: {exc}")
            finally:
                p.cleanup()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return live


def run_containers(args, log):
    """The part's results (see ``report_containers.py``) and skipped."""
    results, skipped = {}, {}
    out = {"results": results, "ns": sorted(set(args.containers_n)),
           "exec_ns": [], "contenders": [], "latency": None, "large": None,
           "exec_max": args.exec_max, "count": args.latency_count,
           "pool": args.warm_pool, "bulk": args.reap_n}
    if not args.no_cnm:
        log(f"containers (libnetwork): N={out['ns']}, {args.rounds} round(s)")
        try:
            r, s = run_scale(out["ns"], args.rounds, BACKENDS, args.settle,
                             log)
            results.update(r)
            skipped.update(s)
        except Exception as exc:
            traceback.print_exc()
            skipped["containers (aborted)"] = f"{type(exc).__name__}: {exc}"
        out["contenders"] += [b for b in BACKENDS
                              if any(k[0] == b for k in results)]
    if args.exec_peers:
        out["exec_ns"] = [n for n in out["ns"] if n <= args.exec_max]
        log(f"containers (exec peers): N={out['exec_ns']}, "
            f"{args.exec_rounds} round(s)")
        out["contenders"] += _exec_part(results, skipped, out["exec_ns"],
                                        args.exec_rounds, args.exec_peers,
                                        args.settle, log)
    if not args.no_latency:
        log(f"latency: {args.latency_count} x one container, warm pool "
            f"{args.warm_pool}, {args.reap_n} reaped")
        try:
            out["latency"], s = run_latency(
                BACKENDS, args.latency_count, args.warm_pool, args.reap_n,
                args.settle, log)
            skipped.update(s)
        except Exception as exc:
            traceback.print_exc()
            skipped["latency (aborted)"] = f"{type(exc).__name__}: {exc}"
    if args.large:
        log(f"large: {args.large_n} containers in batches of 500")
        try:
            settle(args.settle)
            out["large"] = run_large(args.large_n, 500, "native",
                                     args.settle, log)
        except Exception as exc:
            traceback.print_exc()
            skipped["large (aborted)"] = f"{type(exc).__name__}: {exc}"
    return out, skipped


def merge_wiring(cont, wres) -> None:
    """The bare wiring peers' wire/unwire timings as contenders
    ``wire <peer>`` (phases ``attach``/``detach``) at the N both parts
    ran."""
    for (impl, phase, n), ts in wres.items():
        if impl in WIRING_CONTENDERS and n in cont["ns"]:
            name = f"wire {impl}"
            cont["results"][(name, {"wire": "attach", "unwire": "detach"}
                             [phase], n)] = ts
            if name not in cont["contenders"]:
                cont["contenders"].append(name)


__all__ = ["run_containers", "merge_wiring", "EXEC_PEERS"]
