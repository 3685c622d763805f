"""The report's table: numbers formatted, ratios taken, rows laid out in
sections (wiring, stages, bitmap, firewall) and rendered as aligned text.

A table is a list of lines: a section title is a 1-tuple, then a header
row and metric rows (tuples of cells).
"""

from __future__ import annotations

import statistics

from bitmap_timing import MANY_COUNT, PAIR_REPEAT
from firewall.summary import backend_numbers, peer_numbers
from wiring.stages import STAGES

# (label, Timing attribute, scale, lower is better) of each wiring metric
WIRING_METRICS = (("endpoints/s", "eps", 1, False),
                  ("wall ms", "wall", 1e3, True),
                  ("user CPU ms", "user", 1e3, True),
                  ("sys CPU ms", "sys", 1e3, True),
                  ("sendmsg calls", "sendmsg", 1, True))


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}" + unit
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


def med(timings, attr):
    """Median of ``attr`` over the rounds; None if a round lacks it."""
    vals = [getattr(t, attr) for t in timings]
    return None if None in vals else statistics.median(vals)


def _scaled(v, scale):
    return fmt(None if v is None else v * scale)


def wiring_lines(wres, wlive, ns):
    """Per N and phase, each metric for native and every other peer, then
    native's advantage over each ('vs X'); per N >= 10, the user/sys CPU
    percentage of every peer."""
    peers = [i for i in wlive if i != "native"]

    def get(impl, phase, n, attr):
        ts = wres.get((impl, phase, n))
        return med(ts, attr) if ts else None

    lines = [("## wiring, median of rounds.  'vs X' = X time / native "
              "time, or native rate / X rate (>1: native better).  CPU = "
              "this process + its children.  sendmsg: where the backend "
              "counts them.",),
             ("metric", "native", *peers, *[f"vs {p}" for p in peers])]
    for n in ns:
        for phase in ("wire", "unwire"):
            for label, attr, scale, better_low in WIRING_METRICS:
                # N=1: a latency; its CPU split is below the kernel's
                # accounting resolution (a tick), so only wall time and
                # the sendmsg count (exact)
                if n < 10 and attr not in ("wall", "sendmsg"):
                    continue
                nat = get("native", phase, n, attr)
                vals = [get(p, phase, n, attr) for p in peers]
                row = [f"{phase} N={n} {label}", _scaled(nat, scale)]
                row += [_scaled(v, scale) for v in vals]
                row += [xfmt(ratio(v, nat) if better_low else ratio(nat, v))
                        for v in vals]
                lines.append(tuple(row))
        if n >= 10:
            row = [f"wire N={n} user/sys CPU (sum of rounds)"]
            for impl in ["native"] + peers:
                ts = wres.get((impl, "wire", n))
                u = sum(t.user for t in ts) if ts else 0
                sy = sum(t.sys for t in ts) if ts else 0
                row.append(f"{100 * u / sy:.1f}%" if sy else "-")
            lines.append(tuple(row))
    return lines


def stage_lines(stg, stg_n):
    """Wall, user and system ms of each stage, per backend."""
    names = list(stg)
    lines = [(f"## where the time goes: each run of the batched plan in "
              f"its own execute(), N={stg_n}, one round",),
             ("stage", *[f"{b} {c}" for b in names
                         for c in ("wall", "user", "sys")])]
    for i, stage in enumerate(STAGES):
        row = [f"{stage} ms"]
        for b in names:
            t = stg[b][i]
            row += [fmt(t.wall * 1e3), fmt(t.user * 1e3), fmt(t.sys * 1e3)]
        lines.append(tuple(row))
    return lines


def bitmap_lines(bres):
    """The pair section (ns, Py/native, native/set) and the
    allocate_many section (M/s, native/Py)."""
    rows, _, states = bres
    cells = list(dict.fromkeys(k[2:] for k in rows if len(k) == 4))
    lines = [(f"## bitmap: allocate()+release() pair, ns (best of "
              f"{PAIR_REPEAT} runs; in each row the set pair's and the "
              "bitmaps' runs alternate).  'Py/native' = PyBitmap time / "
              "Bitmap time; 'native/set' = Bitmap pair / "
              "set.add+set.discard pair (cost multiple, lower is better).  "
              f"States: {states}",),
             ("metric", "Bitmap", "PyBitmap", "set pair", "Py/native",
              "native/set")]
    for sname, frac in cells:
        nat = rows.get(("Bitmap", "pair", sname, frac))
        py = rows.get(("PyBitmap", "pair", sname, frac))
        set_pair = rows.get(("set", "pair", sname, frac))
        if nat is None and py is None:
            continue
        lines.append((f"pair {sname} fill {frac * 100:g}% ns",
                      _scaled(nat, 1e9), _scaled(py, 1e9),
                      _scaled(set_pair, 1e9),
                      xfmt(ratio(py, nat)), xfmt(ratio(nat, set_pair))))
    lines += [("## bitmap: allocate_many(), million ordinals/s (one "
               f"first-fit call of up to {MANY_COUNT} in the window, on a "
               "fresh copy, best of runs).  'native/Py' = Bitmap rate / "
               "PyBitmap rate",),
              ("metric", "Bitmap", "PyBitmap", "native/Py")]
    for sname, frac in cells:
        nat = rows.get(("Bitmap", "many", sname, frac))
        py = rows.get(("PyBitmap", "many", sname, frac))
        if nat is None and py is None:
            continue
        lines.append((f"allocate_many {sname} fill {frac * 100:g}% M/s",
                      _scaled(nat, 1e-6), _scaled(py, 1e-6),
                      xfmt(ratio(nat, py))))
    return lines


def firewall_lines(fw):
    """libnetwork's attach with and without a published port per
    container (per backend), then the cost of a published port next to
    the exec peers'."""
    res, n, batch, backends, peers = (fw["results"], fw["n"], fw["batch"],
                                      fw["backends"], fw["peers"])
    nums = {b: backend_numbers(res, b, n, batch) for b in backends}
    lines = [(f"## firewall: attach of N={n} containers to a bridge network "
              "with masquerade, one published port each (tcp/80, host port "
              "picked) or none; median of rounds",),
             ("metric", *backends)]
    for label, key, scale in (
            ("attach, no ports, containers/s", "attach_rate", 1),
            ("attach, one port each, containers/s", "attach_fw_rate", 1),
            ("attach rate with ports / without", "ratio", None),
            ("detach, no ports, wall ms", "detach", 1e3),
            ("detach, one port each, wall ms", "detach_fw", 1e3),
            ("port: attach marginal, us (with - without) / N, "
             "median of rounds",
             "marginal", 1e6),
            (f"port: {batch} endpoints in one change, with - without, "
             "us per port", "batch_marginal", 1e6),
            (f"port: one transaction of {batch}, us per port", "txn", 1e6)):
        row = [label]
        for b in backends:
            v = nums[b][key]
            row.append(xfmt(v) if scale is None else _scaled(v, scale))
        lines.append(tuple(row))
    pn = {p: peer_numbers(res, p, n) for p in peers}
    cols = [*backends, *peers]
    lines += [(f"## firewall: a published port, libnetwork (the largest of "
               f"the attach marginal, the endpoint-batch marginal and the "
               f"transaction share) vs one "
               f"process per change: nft-rule = `nft add rule ... dnat` "
               f"per port (a script's way), nft-element = `nft add element` "
               f"per port into a map, iptables = Docker's 3 `iptables-nft "
               f"-A` per port (its `-C` checks left out); N={n}, plus one "
               f"masquerade for the subnet",),
              ("metric", *cols, *[f"native vs {p}" for p in peers])]
    cost = {**{b: nums[b]["charged"] for b in backends},
            **{p: pn[p]["charged"] for p in peers}}
    nat = cost.get("native")
    lines.append(("per published port us",
                  *[_scaled(cost[c], 1e6) for c in cols],
                  *[xfmt(ratio(cost[p], nat)) for p in peers]))
    lines.append((f"{n} ports ms", *[_scaled(
        None if cost[c] is None else cost[c] * n, 1e3) for c in cols],
        *[""] * len(peers)))
    lines.append(("processes run", *["0"] * len(backends),
                  *[fmt(pn[p]["execs"]) for p in peers]))
    return lines


def build_table(wres, wlive, ns, bres, stg=None, stg_n=None, fw=None):
    """The sections that have data, in order."""
    lines = []
    if wres:
        lines += wiring_lines(wres, wlive, ns)
    if stg:
        lines += stage_lines(stg, stg_n)
    if bres is not None:
        lines += bitmap_lines(bres)
    if fw:
        lines += firewall_lines(fw)
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
