"""The comparison report: every peer, one process, one run, one table.

    python -m libnetwork.isolate -- python bench/report.py \\
        [--n 1 100 500] [--rounds 3] [--impls native pyroute2 ip-batch ...] \\
        [--ip-jobs J] [--settle S] [--no-stages] [--no-wiring] \\
        [--no-bitmap] [--bitmap-budget 45] [--no-firewall] \\
        [--only-firewall] [--fw-n 500] [--fw-batch 1000] [--json out.json]

This file is the command: it parses the arguments, runs the parts, prints
the table and the targets and writes the JSON.  Part 1, wiring
(``wiring/``): wire then unwire N endpoints with each peer, R rounds, the
median round reported, and the stages of the backends' plan.  Part 2, the
IPAM bitmap (``bitmap_timing.py``).  Part 3, the firewall (``firewall/``):
attach of N containers with and without a published port each, one
transaction of port elements, and the exec peers (nft, iptables-nft);
``--only-firewall`` runs it alone.  The table is ``report_table.py``'s,
the targets ``report_targets.py``'s.

The exit status is 0 regardless: a peer that cannot run or fails its
result checks is listed as skipped with the reason, and the rest is
reported.  The wiring and firewall parts run only inside
``python -m libnetwork.isolate`` (they create namespaces, links and
nftables tables).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/

from bitmap_timing import run_bitmap  # noqa: E402
from firewall.rounds import BACKENDS as FW_BACKENDS  # noqa: E402
from firewall.rounds import PEERS as FW_PEERS  # noqa: E402
from firewall.rounds import run_firewall  # noqa: E402
from report_table import build_table, render  # noqa: E402
from report_targets import targets  # noqa: E402
from wiring.registry import DEFAULT_IMPLS, IMPLS  # noqa: E402
from wiring.rounds import run_wiring  # noqa: E402
from wiring.stages import run_stages  # noqa: E402
from wiring.workload import require_isolated  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def environment():
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "?"
    try:
        pr2 = importlib.metadata.version("pyroute2")
    except importlib.metadata.PackageNotFoundError:
        pr2 = "absent"
    return {
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "iproute2": version(["ip", "-V"]),
        "pyroute2": pr2,
        "loadavg_start": os.getloadavg(),
    }


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 100, 500],
                    help="endpoint counts (default 1 100 500)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per peer and N (median reported)")
    ap.add_argument("--impls", nargs="+", default=list(DEFAULT_IMPLS),
                    help=f"wiring peers (any of {', '.join(IMPLS)}, "
                    "ip-batch-jJ)")
    ap.add_argument("--ip-jobs", type=int, default=0,
                    help="also run ip-batch with J concurrent ip processes")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="max seconds to wait for the kernel's namespace "
                    "clean-up between measurements")
    ap.add_argument("--bitmap-budget", type=float, default=45.0,
                    help="seconds for the bitmap part (about)")
    ap.add_argument("--no-stages", dest="stages", action="store_false",
                    help="skip the per-stage breakdown of the backends")
    ap.add_argument("--no-bitmap", action="store_true")
    ap.add_argument("--no-wiring", action="store_true")
    ap.add_argument("--no-firewall", action="store_true")
    ap.add_argument("--only-firewall", action="store_true",
                    help="the firewall part alone (--no-wiring --no-bitmap)")
    ap.add_argument("--fw-n", type=int, default=500,
                    help="containers attached / ports published in the "
                    "firewall part (default 500)")
    ap.add_argument("--fw-batch", type=int, default=1000,
                    help="port elements in the firewall's one-transaction "
                    "measurement (default 1000)")
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args(argv)
    if args.only_firewall:
        args.no_wiring = args.no_bitmap = True
        args.no_firewall = False
    return args


def wiring_part(args, ns, impls):
    """(results, skipped, live peers, stages, stage N)."""
    wres, wskip, wlive, stg, stg_n = {}, {}, [], {}, None
    why = require_isolated()
    if why:
        log(f"wiring skipped: {why}")
        return wres, {"wiring": why}, wlive, stg, stg_n
    base = tempfile.mkdtemp(prefix="libnetwork-bench-",
                            dir="/run" if os.path.isdir("/run") else None)
    try:
        log(f"wiring: N={ns}, {args.rounds} round(s), peers {impls}")
        wres, wskip, wlive = run_wiring(ns, impls, args.rounds, base,
                                        args.settle, log)
        if args.stages and wlive:
            stg_n = max(ns)
            stg = run_stages(stg_n, [b for b in ("native", "pyroute2")
                                     if b in wlive], base, args.settle, log)
    except Exception as exc:        # report what there is
        traceback.print_exc()
        wskip["wiring (aborted)"] = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return wres, wskip, wlive, stg, stg_n


def bitmap_part(args):
    """(rows, skipped, states description)."""
    log(f"bitmap: budget {args.bitmap_budget} s")
    try:
        return run_bitmap(args.bitmap_budget, log)
    except Exception as exc:
        traceback.print_exc()
        return {}, {"bitmap (aborted)": f"{type(exc).__name__}: {exc}"}, ""


def firewall_part(args):
    """{"results", "n", "batch", "backends", "peers"} and the skipped."""
    why = require_isolated()
    if why:
        log(f"firewall skipped: {why}")
        return None, {"firewall": why}
    log(f"firewall: N={args.fw_n}, batch {args.fw_batch}, {args.rounds} "
        f"round(s)")
    try:
        res, skipped, _, peers = run_firewall(
            args.fw_n, args.fw_batch, args.rounds, FW_BACKENDS, FW_PEERS,
            args.settle, log)
    except Exception as exc:
        traceback.print_exc()
        return None, {"firewall (aborted)": f"{type(exc).__name__}: {exc}"}
    ran = [b for b in FW_BACKENDS if any(k[0] == b for k in res)]
    return {"results": res, "n": args.fw_n, "batch": args.fw_batch,
            "backends": ran, "peers": peers}, skipped


def write_json(path, env, args, wres, stg, skipped, bres, marks, fw=None):
    data = {
        "env": env,
        "args": vars(args),
        "wiring": [t.as_dict() for ts in wres.values() for t in ts],
        "stages": [t.as_dict() for ts in stg.values() for t in ts],
        "skipped": skipped,
        "bitmap_states": bres[2] if bres else None,
        "bitmap": [
            {"impl": k[0], "kind": k[1],
             "size": k[2] if len(k) > 2 else None,
             "fill": k[3] if len(k) > 3 else None,
             "value": v,
             "unit": "s/pair" if k[1] == "pair" else "ordinals/s"}
            for k, v in (bres[0].items() if bres else ())],
        "firewall": [t.as_dict() for ts in (fw["results"].values()
                                            if fw else ()) for t in ts],
        "targets": [{"result": m.strip(), "text": t} for m, t in marks],
    }
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def main(argv=None):
    args = parse(argv)
    env = environment()
    log("libnetwork bench report: " + ", ".join(f"{k} {v}"
                                                 for k, v in env.items()))
    impls = list(dict.fromkeys(args.impls + (
        [f"ip-batch-j{args.ip_jobs}"] if args.ip_jobs > 1 else [])))
    ns = sorted(set(args.n))
    t_start = time.perf_counter()
    wres, wskip, wlive, stg, stg_n = ({}, {}, [], {}, None) \
        if args.no_wiring else wiring_part(args, ns, impls)
    bres = None if args.no_bitmap else bitmap_part(args)
    fw, fskip = (None, {}) if args.no_firewall else firewall_part(args)
    env["loadavg_end"] = os.getloadavg()
    env["seconds"] = round(time.perf_counter() - t_start, 1)

    print()
    print(f"libnetwork benchmark report — kernel {env['kernel']}, Python "
          f"{env['python']}, {env['cpus']} CPUs, {env['iproute2']}, "
          f"pyroute2 {env['pyroute2']}")
    print(f"load average {env['loadavg_start'][0]:.2f} at start, "
          f"{env['loadavg_end'][0]:.2f} at end; {env['seconds']} s; "
          f"{args.rounds} round(s) per wiring cell")
    print(render(build_table(wres, wlive, ns, bres, stg, stg_n, fw)))
    skipped = dict(wskip)
    skipped.update(fskip)
    if bres:
        skipped.update(bres[1])
    if skipped:
        print()
        for k, v in skipped.items():
            print(f"skipped {k}: {v}")
    marks = targets(wres, ns, bres, fw, wiring=not args.no_wiring,
                    bitmap=not args.no_bitmap)
    print()
    print("## targets")
    for mark, text in marks:
        print(f"[{mark}] {text}")
    if args.json:
        write_json(args.json, env, args, wres, stg, skipped, bres, marks,
                   fw)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
