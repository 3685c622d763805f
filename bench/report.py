"""The comparison report: every peer, one process, one run, one table.

    python -m libnetwork.isolate -- python bench/report.py \\
        [--n 1 100 500] [--rounds 3] [--impls native pyroute2 ip-batch ...] \\
        [--ip-jobs J] [--settle S] [--no-stages] [--no-wiring] \\
        [--no-bitmap] [--bitmap-budget 45] [--json out.json]

Part 1, wiring (``bench/wiring.py``): wire then unwire N endpoints with
each peer (native, pyroute2, ip -batch, native one op at a time,
pyroute2's own IPRoute API one request at a time), R rounds, peers
rotated every round so none always runs first; the median round is
reported.  Part 2, the IPAM bitmap: an allocate+release pair
(native ``Bitmap``, pure-Python ``PyBitmap``, and a ``set.add`` +
``set.discard`` pair as the yardstick), and ``allocate_many`` throughput,
at fill 0 / 50 / 99.9 % of /16, /8 and /64 ranges.

Prints one table (absolute numbers and ratios) and one line per target
of the issue, marked PASS or MISS (INFO: a comparison without a
threshold).  The exit status is 0 regardless: a peer that cannot run or
fails its result checks is listed as skipped with the reason, and the
rest is reported.  The wiring part runs only inside
``python -m libnetwork.isolate`` (it creates namespaces and links).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wiring  # noqa: E402  (bench/wiring.py)

PAIR_SIZES = {"/16": 1 << 16, "/8": 1 << 24, "/64": 1 << 64}
FILLS = (0.0, 0.5, 0.999)
WINDOW = 1 << 16      # fills are laid out over the first WINDOW ordinals
MANY_COUNT = 1 << 16  # allocate_many() batch size
# a pair is timed in short chunks, many times, and the best chunk kept:
# on a shared machine a short chunk often runs unpreempted
PAIR_CHUNK_S = 0.004
PAIR_REPEAT = 31
MANY_REPEAT = 7


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ================================================================== wiring

def run_wiring(ns, impls, rounds, base, settle_max):
    """{(impl, phase, n): [Timing per round]}, and the skipped peers."""
    results: dict = {}
    skipped: dict = {}
    errors: dict = {}
    live = []
    for impl in impls:                     # availability + warm-up (untimed)
        try:
            wiring.cycle(impl, 3, os.path.join(base, "warmup", impl))
            live.append(impl)
        except wiring.Unavailable as exc:
            skipped[impl] = str(exc)
            log(f"  skip {impl}: {exc}")
        except Exception as exc:
            skipped[impl] = f"warm-up failed: {type(exc).__name__}: {exc}"
            log(f"  skip {impl}: {skipped[impl]}")
        wiring.settle(settle_max)
    for n in ns:
        for r in range(rounds):
            order = live[r % len(live):] + live[:r % len(live)] if live else []
            for impl in order:
                workdir = os.path.join(base, f"{impl}-{n}-{r}")
                try:
                    with wiring.make(impl, workdir) as w:
                        t_wire = w.wire(n)
                        wiring.settle(settle_max, 0.05)
                        t_unwire = w.unwire()
                except Exception as exc:   # a wrong result: say, go on
                    msg = f"{type(exc).__name__}: {exc}"
                    errors.setdefault(f"{impl} N={n}", msg)
                    log(f"  n={n:<4} round {r} {impl:<16} FAILED: {msg}")
                    wiring.settle(settle_max)
                    continue
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                waited = wiring.settle(settle_max)
                for t in (t_wire, t_unwire):
                    t.extra["round"] = r
                    results.setdefault((impl, t.phase, n), []).append(t)
                log(f"  n={n:<4} round {r} {impl:<16} "
                    f"wire {t_wire.wall * 1e3:8.1f} ms "
                    f"(u {t_wire.user * 1e3:6.1f} s {t_wire.sys * 1e3:7.1f})  "
                    f"unwire {t_unwire.wall * 1e3:7.1f} ms "
                    f"(u {t_unwire.user * 1e3:5.1f} s "
                    f"{t_unwire.sys * 1e3:6.1f})  settle {waited:.2f} s  "
                    f"csw vol/invol {t_wire.extra['vcsw']}/"
                    f"{t_wire.extra['ivcsw']}")
    for k, v in errors.items():
        skipped[f"{k} (failed)"] = v
    return results, skipped, live


def run_stages(n, backends, base, settle_max):
    """{backend: [Timing per stage]} for one round at N=n."""
    out = {}
    for be in backends:
        try:
            out[be] = wiring.stages(be, n, os.path.join(base, f"stages-{be}"))
        except Exception as exc:
            log(f"  stages {be}: FAILED: {type(exc).__name__}: {exc}")
        wiring.settle(settle_max)
    for be, ts in out.items():
        log(f"  stages {be} N={n}: " + ", ".join(
            f"{t.phase} {t.wall * 1e3:.0f} ms (csw vol/invol "
            f"{t.extra['vcsw']}/{t.extra['ivcsw']})" for t in ts))
    return out


def med(timings, attr):
    return statistics.median(getattr(t, attr) for t in timings)


# ================================================================== bitmap

class BitmapAdapter:
    """One bitmap implementation behind the calls the benchmark needs,
    whatever the exact spelling of ``libnetwork.ipam``'s API."""

    def __init__(self, name, cls):
        self.name, self.cls = name, cls

    def new(self, size):
        try:
            return self.cls(size)
        except TypeError:
            return self.cls(last=size - 1)

    @staticmethod
    def setter(bm):
        for attr in ("allocate_specific", "set", "allocate_ordinal"):
            f = getattr(bm, attr, None)
            if f is not None:
                return f
        return lambda o: bm.allocate(ordinal=o)



def load_bitmaps():
    """[(adapter)], {name: why skipped}."""
    out, skipped = [], {}
    try:
        import libnetwork.ipam as ipam
    except Exception as exc:
        return out, {"Bitmap": f"libnetwork.ipam not importable: {exc}",
                     "PyBitmap": "idem"}
    native = getattr(ipam, "NativeBitmap", None)
    py = getattr(ipam, "PyBitmap", None)
    if native is None:
        bm = getattr(ipam, "Bitmap", None)
        if bm is not None and bm is not py:
            native = bm
    if native is None:
        skipped["Bitmap"] = ("no native bitmap (libnetwork.ipam.NativeBitmap"
                             " missing, or Bitmap is PyBitmap: no C core)")
    else:
        out.append(BitmapAdapter("Bitmap", native))
    if py is None:
        skipped["PyBitmap"] = "libnetwork.ipam.PyBitmap does not exist"
    else:
        out.append(BitmapAdapter("PyBitmap", py))
    return out, skipped


class OwnStates:
    """Fallback when ``bench_bitmap.py`` cannot be imported: ``frac`` of the
    first min(size, 65536) ordinals allocated at random (fragmented) places,
    the rest of the range free; first-fit pairs (``allocate()``), whose
    path is that of a range filled the same way throughout."""

    name = ("report.py's own states: fill of the first 2^16 ordinals, "
            "first-fit pairs")
    serial = False

    def __init__(self):
        self.rng = random.Random(20240601)
        self.cells = [(s, size, f) for s, size in PAIR_SIZES.items()
                      for f in FILLS]

    def window(self, cell):
        return min(cell[1], WINDOW)

    def new(self, ad, cell):
        _, size, frac = cell
        bm = ad.new(size)
        window = self.window(cell)
        k = int(round(window * frac))
        if k:
            setter = ad.setter(bm)
            for o in self.rng.sample(range(window), k):
                setter(o)
        return bm

    def fresh(self, ad, cell, bm):
        """A bitmap in the state of ``bm`` (allocate_many changes it)."""
        return ad.cls.from_bytes(bm.to_bytes())


class SharedStates(OwnStates):
    """The states of ``bench_bitmap.py`` (built as serialized bytes by its
    helpers, loaded with ``from_bytes``) and its pair: next-fit
    ``release(allocate(True, 0, window))``, so that the report and the
    pytest suite measure the same thing."""

    serial = True

    def __init__(self, bb):
        self.bb = bb
        bits = bb.WINDOW.bit_length() - 1
        self.name = ("bench_bitmap.py's states (random fill of a window of "
                     f"2^{bits} ordinals; a /64's window is its start) and "
                     "next-fit pairs over the window")
        self.cells = [(p, size, f) for p, size in bb.PREFIXES.items()
                      for f in bb.FILLS]
        self._data = {}

    def window(self, cell):
        return self.bb.window_of(cell[0])

    def data(self, cell):
        if cell not in self._data:
            self._data[cell] = self.bb.state_bytes(
                cell[1], self.bb.random_leaves(self.window(cell), cell[2]))
        return self._data[cell]

    def new(self, ad, cell):
        return ad.cls.from_bytes(self.data(cell))

    def fresh(self, ad, cell, bm):
        return ad.cls.from_bytes(self.data(cell))


def bitmap_states():
    """SharedStates over bench_bitmap.py's helpers, else OwnStates."""
    try:
        import bench_bitmap as bb
        for attr in ("random_leaves", "state_bytes", "window_of",
                     "PREFIXES", "FILLS", "WINDOW"):
            getattr(bb, attr)
        return SharedStates(bb)
    except Exception as exc:
        log(f"  bench_bitmap.py helpers not usable ({type(exc).__name__}: "
            f"{exc}); using report.py's own states")
        return OwnStates()


def best_rate(fn, loops, repeat, budget_end):
    """Best (lowest) seconds per loop of ``fn(loops)`` over ``repeat``
    runs, stopping early when the budget is spent."""
    best = float("inf")
    gc.collect()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(loops)
        dt = (time.perf_counter() - t0) / loops
        best = min(best, dt)
        if time.perf_counter() > budget_end:
            break
    return best


def best_rates_interleaved(fns, repeat):
    """Best (lowest) seconds per loop of each ``(fn, loops)`` in ``fns``,
    the functions' chunks run in turn, ``repeat`` rounds: a slow spell of
    the machine then hits all of them, not just the one measured during
    it, so their ratio holds on a noisy host."""
    best = [float("inf")] * len(fns)
    gc.collect()
    for _ in range(repeat):
        for k, (fn, loops) in enumerate(fns):
            t0 = time.perf_counter()
            fn(loops)
            best[k] = min(best[k], (time.perf_counter() - t0) / loops)
    return best


def pair_loop(bm, serial=False, hi=None):
    alloc, release = bm.allocate, bm.release
    if serial:
        def run(loops):
            for _ in range(loops):
                release(alloc(True, 0, hi))
    else:
        def run(loops):
            for _ in range(loops):
                release(alloc())
    return run


def set_pair_loop():
    s = set(range(0, 2 * WINDOW, 2))       # a populated set, like a pool
    add, discard = s.add, s.discard
    x = 12345

    def run(loops):
        for _ in range(loops):
            add(x)
            discard(x)
    return run


def calibrate(fn, target=0.05):
    """Loops that take about ``target`` seconds."""
    loops = 64
    while True:
        t0 = time.perf_counter()
        fn(loops)
        dt = time.perf_counter() - t0
        if dt >= target or loops >= 1 << 24:
            return max(1, int(loops * target / max(dt, 1e-9)))
        loops *= 4


def many_rate(states, ad, cell, bm, repeat):
    """Ordinals per second of one first-fit ``allocate_many(k, lo=0,
    hi=window)``, k = min(MANY_COUNT, free ordinals in the window), each
    call on a fresh copy of the state (made untimed).  Best of
    ``repeat``."""
    window = states.window(cell)
    count = min(MANY_COUNT, bm.free - (bm.size - window))
    if count <= 0:
        return None
    best = 0.0
    for _ in range(repeat):
        fresh = states.fresh(ad, cell, bm)
        t0 = time.perf_counter()
        got = fresh.allocate_many(count, lo=0, hi=window)
        dt = time.perf_counter() - t0
        best = max(best, len(got) / dt if dt > 0 else 0.0)
    return best


def run_bitmap(budget):
    """Rows of measurements, the skipped implementations, and the name of
    the states used.  Cells (size, fill) are measured one after the other;
    within a cell, the chunks of the set pair and of every implementation's
    pair run in turn (:func:`best_rates_interleaved`), so that the ratios
    compare numbers taken under the same machine load."""
    adapters, skipped = load_bitmaps()
    states = bitmap_states()
    log(f"  states: {states.name}")
    rows = {}
    end = time.perf_counter() + budget
    set_fn = set_pair_loop()
    set_loops = calibrate(set_fn, PAIR_CHUNK_S)
    for ad in adapters:                 # warm-up, discarded: first calls,
        try:                            # caches, a kernel still cleaning up
            warm = pair_loop(ad.new(1 << 16))
            best_rate(warm, calibrate(warm, PAIR_CHUNK_S), 10, float("inf"))
        except Exception:
            pass
    for cell in states.cells:
        sname, size, frac = cell
        key = (sname, frac)
        if time.perf_counter() > end:
            skipped.setdefault(f"bitmap {sname} fill {frac * 100:g}%",
                               f"the bitmap budget ({budget:g} s) was "
                               "spent (raise --bitmap-budget)")
            continue
        made = []
        for ad in adapters:
            try:
                bm = states.new(ad, cell)
                fn = pair_loop(bm, states.serial, states.window(cell))
                made.append((ad, bm, fn, calibrate(fn, PAIR_CHUNK_S)))
            except Exception as exc:
                skipped[f"{ad.name} {sname} fill {frac * 100:g}%"] = \
                    f"{type(exc).__name__}: {exc}"
        best = best_rates_interleaved(
            [(set_fn, set_loops)] + [(m[2], m[3]) for m in made],
            PAIR_REPEAT)
        sp = best[0]
        rows[("set", "pair", *key)] = sp
        msg = [f"set {sp * 1e9:.0f} ns"]
        for (ad, bm, _, _), pair in zip(made, best[1:]):
            try:
                rows[(ad.name, "pair", *key)] = pair
                msg.append(f"{ad.name} pair {pair * 1e9:.0f} ns")
                rate = many_rate(states, ad, cell, bm, MANY_REPEAT)
                if rate is not None:
                    rows[(ad.name, "many", *key)] = rate
                    msg.append(f"allocate_many {rate / 1e6:.2f} M/s")
            except Exception as exc:
                skipped[f"{ad.name} {sname} fill {frac * 100:g}%"] = \
                    f"{type(exc).__name__}: {exc}"
        log(f"  {sname:<3} fill {frac * 100:5.1f}%: " + ", ".join(msg))
    return rows, skipped, states.name


# ================================================================== report

def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v == float("inf"):
        return "inf"
    a = abs(v)
    if a >= 1000:
        s = f"{v:,.0f}"
    elif a >= 100:
        s = f"{v:.0f}"
    elif a >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def xfmt(r):
    return "-" if r is None else f"{r:.2f}x"


def build_table(wres, wlive, ns, bres, stg=None, stg_n=None):
    """One table, in sections: a title line (1-tuple), then a header row
    and metric rows (tuples of cells)."""
    lines = []
    peers = [i for i in wlive if i != "native"]

    def get(impl, phase, n, attr):
        ts = wres.get((impl, phase, n))
        return med(ts, attr) if ts else None

    if wres:
        lines.append(("## wiring, median of rounds.  'vs X' = X time / "
                      "native time, or native rate / X rate (>1: native "
                      "better).  CPU = this process + its children.",))
        lines.append(("metric", "native", *peers,
                      *[f"vs {p}" for p in peers]))
        for n in ns:
            for phase in ("wire", "unwire"):
                for label, attr, scale, better_low in (
                        ("endpoints/s", "eps", 1, False),
                        ("wall ms", "wall", 1e3, True),
                        ("user CPU ms", "user", 1e3, True),
                        ("sys CPU ms", "sys", 1e3, True)):
                    # N=1: a latency; its CPU split is below the kernel's
                    # accounting resolution (a tick), so only wall time
                    if n < 10 and attr != "wall":
                        continue
                    nat = get("native", phase, n, attr)
                    vals = [get(p, phase, n, attr) for p in peers]
                    row = [f"{phase} N={n} {label}",
                           fmt(None if nat is None else nat * scale)]
                    row += [fmt(None if v is None else v * scale)
                            for v in vals]
                    if better_low:
                        row += [xfmt(ratio(v, nat)) for v in vals]
                    else:
                        row += [xfmt(ratio(nat, v)) for v in vals]
                    lines.append(tuple(row))
            if n >= 10:
                row = [f"wire N={n} user/sys CPU (sum of rounds)"]
                for impl in ["native"] + peers:
                    ts = wres.get((impl, "wire", n))
                    u = sum(t.user for t in ts) if ts else 0
                    sy = sum(t.sys for t in ts) if ts else 0
                    row.append(f"{100 * u / sy:.1f}%" if sy else "-")
                lines.append(tuple(row))
    if stg:
        names = list(stg)
        lines.append((f"## where the time goes: each run of the batched "
                      f"plan in its own execute(), N={stg_n}, one round",))
        lines.append(("stage", *[f"{b} {c}" for b in names
                                 for c in ("wall", "user", "sys")]))
        for i, stage in enumerate(wiring.STAGES):
            row = [f"{stage} ms"]
            for b in names:
                t = stg[b][i]
                row += [fmt(t.wall * 1e3), fmt(t.user * 1e3),
                        fmt(t.sys * 1e3)]
            lines.append(tuple(row))
    if bres is not None:
        rows, _, states = bres
        cells = list(dict.fromkeys(k[2:] for k in rows if len(k) == 4))
        lines.append(("## bitmap: allocate()+release() pair, ns (best of "
                      "31 runs; in each row the set pair's and the bitmaps' runs "
                      "alternate).  "
                      "'Py/native' = PyBitmap time / Bitmap time; "
                      "'native/set' = Bitmap pair / set.add+set.discard "
                      "pair (cost multiple, lower is better).  States: "
                      f"{states}",))
        lines.append(("metric", "Bitmap", "PyBitmap", "set pair",
                      "Py/native", "native/set"))
        for sname, frac in cells:
            nat = rows.get(("Bitmap", "pair", sname, frac))
            py = rows.get(("PyBitmap", "pair", sname, frac))
            set_pair = rows.get(("set", "pair", sname, frac))
            if nat is None and py is None:
                continue
            lines.append((
                f"pair {sname} fill {frac * 100:g}% ns",
                fmt(None if nat is None else nat * 1e9),
                fmt(None if py is None else py * 1e9),
                fmt(None if set_pair is None else set_pair * 1e9),
                xfmt(ratio(py, nat)), xfmt(ratio(nat, set_pair))))
        lines.append(("## bitmap: allocate_many(), million ordinals/s "
                      f"(one first-fit call of up to {MANY_COUNT} in the "
                      "window, on a fresh copy, best of runs).  "
                      "'native/Py' = Bitmap rate / PyBitmap rate",))
        lines.append(("metric", "Bitmap", "PyBitmap", "native/Py"))
        for sname, frac in cells:
            nat = rows.get(("Bitmap", "many", sname, frac))
            py = rows.get(("PyBitmap", "many", sname, frac))
            if nat is None and py is None:
                continue
            lines.append((
                f"allocate_many {sname} fill {frac * 100:g}% M/s",
                fmt(None if nat is None else nat / 1e6),
                fmt(None if py is None else py / 1e6),
                xfmt(ratio(nat, py))))
    return lines


def render(lines):
    """Aligned text; column widths per section, the first column shared."""
    out = []
    first = max((len(r[0]) for r in lines if len(r) > 1), default=0)
    sections, cur = [], None
    for r in lines:
        if len(r) == 1 or cur is None:
            cur = [r] if len(r) == 1 else [("",), r]
            sections.append(cur)
        else:
            cur.append(r)
    for sec in sections:
        title, rows = sec[0][0], sec[1:]
        out += ["", title] if title else [""]
        if not rows:
            continue
        width = max(len(r) for r in rows)
        rows = [r + ("",) * (width - len(r)) for r in rows]
        w = [max(len(r[i]) for r in rows) for i in range(width)]
        for r in rows:
            out.append("  ".join([r[0].ljust(first)] + [
                c.rjust(w[i]) for i, c in enumerate(r) if i]).rstrip())
    return "\n".join(out)


def targets(wres, ns, bres):
    """[(PASS|MISS|n/a|INFO, text)]; INFO: a number without a target"""
    out = []
    big = 500 if 500 in ns else (max(ns) if ns else None)

    def eps(impl, phase="wire"):
        ts = wres.get((impl, phase, big))
        return med(ts, "eps") if ts else None

    nat = eps("native")
    for peer in ("pyroute2", "ip-batch"):
        p = eps(peer)
        r = ratio(nat, p)
        out.append((None if r is None else r >= 3,
                    f"native wiring N={big} >= 3x {peer} endpoints/s: "
                    f"{xfmt(r)} ({fmt(nat)} vs {fmt(p)} /s)"))
    # no threshold: how far the baseline (pyroute2 used through its
    # public IPRoute API) is from native, for the record
    p = eps("pyroute2-iproute")
    r = ratio(nat, p)
    out.append(("INFO", "native vs pyroute2 IPRoute API (the issue's "
                "'pyroute2 at its best ~85/s' baseline): " + (
                    f"{xfmt(r)} at N={big} ({fmt(nat)} vs {fmt(p)} /s)"
                    if r is not None else
                    "no data (needs native and pyroute2-iproute in "
                    "--impls)")))
    ts = wres.get(("native", "wire", big))
    if ts:
        u = sum(t.user for t in ts)
        s = sum(t.sys for t in ts)
        pct = 100 * u / s if s else float("inf")
        out.append((pct < 10, f"native user CPU < 10% of its system CPU "
                    f"(wire N={big}): {pct:.1f}% ({u * 1e3:.0f} / "
                    f"{s * 1e3:.0f} ms over {len(ts)} rounds)"))
    else:
        out.append((None, "native user CPU < 10% of system CPU: no data"))
    ts = wres.get(("native", "unwire", 500))
    if ts:
        w = med(ts, "wall")
        out.append((w < 1.0, f"native teardown of 500 < 1 s wall: "
                    f"{w * 1e3:.0f} ms"))
    else:
        out.append((None, "native teardown of 500 < 1 s wall: not run "
                    "(needs --n 500)"))
    rows = bres[0] if bres else {}
    many = {k: v for k, v in rows.items() if k[0] == "Bitmap"
            and k[1] == "many" and k[3] == 0.0}
    if many:
        worst = min(many, key=many.get)
        v = many[worst]
        out.append((v >= 20e6, f"allocate_many >= 20M ordinals/s (empty "
                    f"ranges, worst {worst[2]}): {v / 1e6:.1f} M/s"))
    else:
        out.append((None, "allocate_many >= 20M ordinals/s: no data"))
    pairs = {k[2:]: v / rows[("set", "pair", *k[2:])]
             for k, v in rows.items() if k[0] == "Bitmap" and k[1] == "pair"
             and ("set", "pair", *k[2:]) in rows}
    if pairs:
        worst = max(pairs, key=pairs.get)
        r = pairs[worst]
        out.append((r <= 8, f"alloc+release pair <= 8x set pair (worst "
                    f"cell: {worst[0]} fill {worst[1] * 100:g}%): {r:.2f}x; "
                    f"best cell {min(pairs.values()):.2f}x"))
    else:
        out.append((None, "alloc+release pair <= 8x set pair: no data"))
    return [(ok if isinstance(ok, str) else "n/a " if ok is None
             else "PASS" if ok else "MISS", text) for ok, text in out]


def environment():
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "?"
    try:
        import pyroute2
        pr2 = getattr(pyroute2, "__version__", "?")
    except Exception:
        pr2 = "absent"
    return {
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "iproute2": version(["ip", "-V"]),
        "pyroute2": pr2,
        "loadavg_start": os.getloadavg(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 100, 500],
                    help="endpoint counts (default 1 100 500)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per peer and N (median reported)")
    ap.add_argument("--impls", nargs="+", default=list(wiring.DEFAULT_IMPLS),
                    help=f"wiring peers (any of {', '.join(wiring.IMPLS)}, "
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
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args(argv)

    env = environment()
    log("libnetwork bench report: " + ", ".join(f"{k} {v}"
                                                 for k, v in env.items()))
    impls = list(dict.fromkeys(args.impls + (
        [f"ip-batch-j{args.ip_jobs}"] if args.ip_jobs > 1 else [])))
    ns = sorted(set(args.n))
    wres, wskip, wlive = {}, {}, []
    stg, stg_n = {}, None
    t_start = time.perf_counter()
    if not args.no_wiring:
        why = wiring.require_isolated()
        if why:
            wskip = {"wiring": why}
            log(f"wiring skipped: {why}")
        else:
            base = tempfile.mkdtemp(prefix="libnetwork-bench-",
                                    dir="/run" if os.path.isdir("/run")
                                    else None)
            try:
                log(f"wiring: N={ns}, {args.rounds} round(s), "
                    f"peers {impls}")
                wres, wskip, wlive = run_wiring(ns, impls, args.rounds, base,
                                                args.settle)
                if args.stages and wlive:
                    stg_n = max(ns)
                    stg = run_stages(stg_n, [b for b in ("native", "pyroute2")
                                             if b in wlive], base,
                                     args.settle)
            except Exception as exc:        # report what there is
                traceback.print_exc()
                wskip["wiring (aborted)"] = f"{type(exc).__name__}: {exc}"
            finally:
                shutil.rmtree(base, ignore_errors=True)
    bres = None
    if not args.no_bitmap:
        log(f"bitmap: budget {args.bitmap_budget} s")
        try:
            bres = run_bitmap(args.bitmap_budget)
        except Exception as exc:
            traceback.print_exc()
            bres = ({}, {"bitmap (aborted)": f"{type(exc).__name__}: {exc}"},
                    "")
    env["loadavg_end"] = os.getloadavg()
    env["seconds"] = round(time.perf_counter() - t_start, 1)

    print()
    print(f"libnetwork benchmark report — kernel {env['kernel']}, Python "
          f"{env['python']}, {env['cpus']} CPUs, {env['iproute2']}, "
          f"pyroute2 {env['pyroute2']}")
    print(f"load average {env['loadavg_start'][0]:.2f} at start, "
          f"{env['loadavg_end'][0]:.2f} at end; {env['seconds']} s; "
          f"{args.rounds} round(s) per wiring cell")
    print(render(build_table(wres, wlive, ns, bres, stg, stg_n)))
    skipped = dict(wskip)
    if bres:
        skipped.update(bres[1])
    if skipped:
        print()
        for k, v in skipped.items():
            print(f"skipped {k}: {v}")
    print()
    print("## targets")
    for mark, text in targets(wres, ns, bres):
        print(f"[{mark}] {text}")

    if args.json:
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
            "targets": [{"result": m.strip(), "text": t}
                        for m, t in targets(wres, ns, bres)],
        }
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
