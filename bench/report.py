"""The comparison report: every peer, one process, one run, one table.

    python -m libnetwork.isolate -- python bench/report.py \\
        [--n 1 100 500] [--rounds 3] [--impls native pyroute2 ip-batch ...] \\
        [--ip-jobs J] [--settle S] [--no-stages] [--no-wiring] \\
        [--no-bitmap] [--bitmap-budget 45] [--no-firewall] \\
        [--only-firewall] [--fw-n 500] [--fw-batch 1000] [--json out.json]
        [--containers-n 1 100 500 1000] [--no-containers] [--no-cnm]
        [--exec-peers cni-bridge ... | --no-exec-peers] [--exec-max 100]
        [--exec-rounds 1] [--no-latency] [--latency-count 200]
        [--warm-pool 16] [--reap-n 500] [--results bench/results]
        [--quick] [--large [--large-n 10000]]

This file is the command: it parses the arguments, runs the parts, prints
the table and the targets and writes the JSON.  Part 1, wiring
(``wiring/``): wire then unwire N endpoints with each peer, R rounds, the
median round reported, and the stages of the backends' plan.  Part 2, the
IPAM bitmap (``bitmap_timing.py``).  Part 3, the firewall (``firewall/``):
attach of N containers with and without a published port each, one
transaction of port elements, and the exec peers (nft, iptables-nft);
``--only-firewall`` runs it alone.  Part 4, containers
(``containers.py``): libnetwork's attach/detach of N containers through
its CNM API next to the CNI plugins and netavark exec'd per container,
one-container latency, memory and restore; ``--large`` runs only the
10,000-container run.  The table is ``report_table.py``'s and
``report_containers.py``'s, the targets ``report_targets.py``'s; the
records and the chart go to ``--results`` (``latest.json``,
``attach.png``; ``large.json`` for ``--large``).  ``--quick``: every part
at small sizes, nothing written unless ``--results`` is given.

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
from chart import write_chart  # noqa: E402
from containers import EXEC_PEERS, merge_wiring, run_containers  # noqa: E402
from report_containers import (containers_lines, large_lines,  # noqa: E402
                               latency_lines, records)
from firewall.rounds import BACKENDS as FW_BACKENDS  # noqa: E402
from firewall.rounds import PEERS as FW_PEERS  # noqa: E402
from firewall.rounds import run_firewall  # noqa: E402
from report_table import build_table, render  # noqa: E402
from report_targets import targets  # noqa: E402
from wiring.registry import DEFAULT_IMPLS, IMPLS  # noqa: E402
from wiring.rounds import run_wiring  # noqa: E402
from wiring.stages import run_stages  # noqa: E402
from wiring.measure import install_probe  # noqa: E402
from wiring.workload import require_isolated  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
QUICK = dict(n=[1, 5, 20], containers_n=[1, 5, 20], rounds=1,
             latency_count=20, reap_n=20, fw_n=20, fw_batch=50,
             bitmap_budget=3.0, exec_max=5, settle=0.5, large_n=1200)


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
    ap.add_argument("--n", type=int, nargs="+", default=[1, 100, 500, 1000],
                    help="endpoint counts of the wiring part (default 1 100 "
                    "500 1000)")
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
    c = ap.add_argument_group("containers (performance part 2)")
    c.add_argument("--containers-n", type=int, nargs="+",
                   default=[1, 100, 500, 1000],
                   help="containers attached per call (default 1 100 500 "
                   "1000)")
    c.add_argument("--no-containers", action="store_true",
                   help="skip the containers part")
    c.add_argument("--no-cnm", action="store_true",
                   help="skip libnetwork's attach/detach at each N")
    c.add_argument("--exec-peers", nargs="*", default=list(EXEC_PEERS),
                   help=f"exec peers (any of {', '.join(EXEC_PEERS)})")
    c.add_argument("--no-exec-peers", dest="exec_peers",
                   action="store_const", const=[])
    c.add_argument("--exec-max", type=int, default=100,
                   help="largest N for the exec peers (default 100: they "
                   "run at tens of containers a second)")
    c.add_argument("--exec-rounds", type=int, default=1)
    c.add_argument("--no-latency", action="store_true")
    c.add_argument("--latency-count", type=int, default=200)
    c.add_argument("--warm-pool", type=int, default=16,
                   help="libnetwork.new(warm_pool=P) of the latency cells")
    c.add_argument("--reap-n", type=int, default=500,
                   help="containers detached with wait=False at once")
    c.add_argument("--large", action="store_true",
                   help="only the 10,000-container run (several minutes)")
    c.add_argument("--large-n", type=int, default=10000)
    c.add_argument("--results", default=None,
                   help="directory for latest.json and attach.png "
                   "(default bench/results; none with --quick)")
    c.add_argument("--quick", action="store_true",
                   help="every part at small sizes (an end-to-end check)")
    args = ap.parse_args(argv)
    if args.quick:
        given = {a.lstrip("-").split("=")[0].replace("-", "_")
                 for a in (argv if argv is not None else sys.argv[1:])
                 if a.startswith("--")}
        for k, v in QUICK.items():
            if k not in given:
                setattr(args, k, v)
        args.stages = False
    if args.results is None and not args.quick:
        args.results = os.path.join(BENCH, "results")
    if args.only_firewall:
        args.no_wiring = args.no_bitmap = True
        args.no_firewall = False
        args.no_containers = True
    if args.large:
        args.no_wiring = args.no_bitmap = args.no_firewall = True
        args.no_cnm = args.no_latency = True
        args.exec_peers = []
    return args


def settle_probe():
    """The RTNL probe every settle() also waits for (None outside
    isolate)."""
    if require_isolated():
        return None
    from settle_probe import Probe
    try:
        p = Probe()
    except Exception as exc:
        log(f"no settle probe: {type(exc).__name__}: {exc}")
        return None
    install_probe(p)
    return p


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


def containers_part(args):
    why = require_isolated()
    if why:
        log(f"containers skipped: {why}")
        return None, {"containers": why}
    return run_containers(args, log)


def write_results(args, env, cont, wres, skipped):
    """``latest.json`` (``large.json`` for --large): the records; and the
    chart (not for --large).  Returns notes on what was not written."""
    notes = {}
    os.makedirs(args.results, exist_ok=True)
    name = "large.json" if args.large else "latest.json"
    with open(os.path.join(args.results, name), "w") as f:
        json.dump({"env": env, "records": records(cont, wres),
                   "skipped": skipped}, f, indent=1)
    if not args.large:
        why = write_chart(cont, env, os.path.join(args.results,
                                                  "attach.png"))
        if why:
            notes["chart"] = why
    return notes


def write_json(path, env, args, wres, stg, skipped, bres, marks, fw=None,
               cont=None):
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
        "containers": records(cont, {}) if cont else [],
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
    probe = settle_probe()
    wres, wskip, wlive, stg, stg_n = ({}, {}, [], {}, None) \
        if args.no_wiring else wiring_part(args, ns, impls)
    bres = None if args.no_bitmap else bitmap_part(args)
    fw, fskip = (None, {}) if args.no_firewall else firewall_part(args)
    cont, cskip = (None, {}) if args.no_containers else \
        containers_part(args)
    if cont is not None:
        merge_wiring(cont, wres)
        cont["large_only"] = args.large
    if probe is not None:
        install_probe(None)
        env["settle_probe_best_us"] = round(probe.best * 1e6, 1)
        env["settle_probe_waited_s"] = round(probe.waited, 1)
        probe.close()
    env["loadavg_end"] = os.getloadavg()
    env["seconds"] = round(time.perf_counter() - t_start, 1)

    print()
    print(f"libnetwork benchmark report — kernel {env['kernel']}, Python "
          f"{env['python']}, {env['cpus']} CPUs, {env['iproute2']}, "
          f"pyroute2 {env['pyroute2']}")
    print(f"load average {env['loadavg_start'][0]:.2f} at start, "
          f"{env['loadavg_end'][0]:.2f} at end; {env['seconds']} s; "
          f"{args.rounds} round(s) per wiring cell")
    lines = build_table(wres, wlive, ns, bres, stg, stg_n, fw)
    if cont is not None:
        if cont["contenders"] and not args.large:
            lines += containers_lines(cont)
        lines += latency_lines(cont) + large_lines(cont)
    print(render(lines))
    skipped = dict(wskip)
    skipped.update(fskip)
    skipped.update(cskip)
    if cont is not None and args.results:
        skipped.update(write_results(args, env, cont, wres, skipped))
    if bres:
        skipped.update(bres[1])
    if skipped:
        print()
        for k, v in skipped.items():
            print(f"skipped {k}: {v}")
    marks = targets(wres, ns, bres, fw, wiring=not args.no_wiring,
                    bitmap=not args.no_bitmap, cont=cont)
    print()
    print("## targets")
    for mark, text in marks:
        print(f"[{mark}] {text}")
    if args.json:
        write_json(args.json, env, args, wres, stg, skipped, bres, marks,
                   fw, cont)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
