"""The containers part in the report: its table sections (full setup and
teardown per N, native's distance from the kernel floor, memory and
restore, one-container latency, the 10,000 run) and its records for
``bench/results/latest.json``.

``cont`` is :func:`containers.run_containers`'s result, with the bare
wiring merged in (:func:`containers.merge_wiring`)."""

from __future__ import annotations

from report_table import _scaled, fmt, med, ratio, xfmt

PHASES = (("attach", "setup"), ("detach", "teardown"))


def _get(cont, who, phase, n, attr):
    ts = cont["results"].get((who, phase, n))
    return med(ts, attr) if ts else None


def containers_lines(cont):
    ns, who = cont["ns"], list(cont["contenders"])
    others = [w for w in who if w != "native"]
    lines = [(f"## containers: full setup (attach) and teardown (detach) of "
              f"N containers, containers/s, median of rounds.  native, "
              f"pyroute2 = libnetwork's attach()/detach() of N in one call "
              f"(creates the namespaces; masquerade on); cni-*, netavark* = "
              f"one container at a time, one process per plugin call, the "
              f"namespace made in-process and included (only N <= "
              f"{cont['exec_max']}); wire X = bare wiring (no IPAM, store, "
              f"files)",),
             ("metric", *who)]
    ratios = [("## containers: native's advantage, native rate / X rate "
               "(>1: native faster)",),
              ("metric", *[f"vs {o}" for o in others])]
    for n in ns:
        for phase, word in PHASES:
            nat = _get(cont, "native", phase, n, "eps")
            vals = [_get(cont, w, phase, n, "eps") for w in who]
            lines.append((f"{word} N={n} containers/s",
                          *[fmt(v) for v in vals]))
            ratios.append((f"{word} N={n}", *[
                xfmt(ratio(nat, _get(cont, o, phase, n, "eps")))
                for o in others]))
    for n in ns:
        if n < 10:
            continue
        for label, attr in (("wall ms", "wall"), ("user CPU ms", "user"),
                            ("sys CPU ms", "sys")):
            vals = [_get(cont, w, "attach", n, attr) for w in who]
            if any(v is not None for v in vals):
                lines.append((f"setup N={n} {label}",
                              *[_scaled(v, 1e3) for v in vals]))
    return lines + ratios + floor_lines(cont) + memory_lines(cont)


def floor_lines(cont):
    """native's attach: wall / sys CPU (its distance from the kernel's own
    work) and user / sys CPU, sums over the rounds."""
    lines = [("## native attach: wall time as a multiple of its system CPU "
              "(1.0x = every moment spent in the kernel on our behalf) and "
              "user CPU as a share of system CPU; sums over the rounds",),
             ("metric", *[f"N={n}" for n in cont["ns"] if n >= 10])]
    walls, users = ["wall / sys CPU"], ["user / sys CPU"]
    for n in cont["ns"]:
        if n < 10:
            continue
        ts = cont["results"].get(("native", "attach", n)) or []
        w, u, s = (sum(getattr(t, a) for t in ts)
                   for a in ("wall", "user", "sys"))
        walls.append(xfmt(w / s) if s else "-")
        users.append(f"{100 * u / s:.0f}%" if s else "-")
    return lines + [tuple(walls), tuple(users)]


def memory_lines(cont):
    be = [b for b in ("native", "pyroute2") if b in cont["contenders"]]
    lines = [("## memory (VmRSS growth over the attach of N, after a "
              "collection, KiB per endpoint) and restore (libnetwork.new() "
              "on the store of N endpoints, kernel objects present, ms)",),
             ("metric", *be)]
    for n in cont["ns"]:
        if n < 10:
            continue
        row = [f"RSS N={n} KiB/endpoint"]
        for b in be:
            ts = cont["results"].get((b, "attach", n)) or []
            kib = [t.extra["rss_kib"] for t in ts if "rss_kib" in t.extra]
            row.append(fmt(kib[0] / n) if kib else "-")
        lines.append(tuple(row))
    for n in cont["ns"]:
        lines.append((f"restore N={n} ms", *[
            _scaled(_get(cont, b, "restore", n, "wall"), 1e3) for b in be]))
    return lines


def latency_lines(cont):
    lat = cont["latency"]
    if not lat:
        return []
    be = list(dict.fromkeys(b for b, _ in lat))
    lines = [(f"## one container: {cont['count']} x attach([id]) then "
              f"{cont['count']} x detach([id]), each timed alone, ms; pool = "
              f"libnetwork.new(warm_pool={cont['pool']}); async = "
              f"detach([id], wait=False), reaper = the stop() after them; "
              f"bulk = detach of {cont['bulk']} with wait=False: returned, "
              f"and reaped (until stop() returned)",),
             ("metric", *[f"{b} {s}" for b in be for s in ("median", "p99")])]
    for cell in ("attach", "attach pool", "detach", "detach pool",
                 "detach async", "reaper", "bulk returned", "bulk reaped"):
        row = [cell]
        for b in be:
            v = lat.get((b, cell)) or {}
            if "median" in v:
                row += [_scaled(v["median"], 1e3), _scaled(v["p99"], 1e3)]
            else:
                row += ["n/a", ""]
        lines.append(tuple(row))
    return lines


def large_summary(large):
    """(first batch /s, last batch /s, last/first, KiB/endpoint,
    restore s) of the --large run."""
    a = large["attach"]
    first, last = a[0].eps, a[-1].eps
    return (first, last, last / first, large["rss_kib"] / large["n"],
            large["restore_s"])


def large_lines(cont):
    large = cont["large"]
    if not large:
        return []
    first, last, r, kib, rest = large_summary(large)
    lines = [(f"## --large: {large['n']:,} containers ({large['backend']}) "
              f"in 10 networks of 1,000, attached then detached in batches "
              f"of {large['batch']}, containers/s per batch",),
             ("metric", *[str(i + 1) for i in range(len(large['attach']))])]
    lines.append(("attach batch /s", *[fmt(t.eps) for t in large["attach"]]))
    lines.append(("detach batch /s", *[fmt(t.eps) for t in large["detach"]]))
    lines.append(("last / first attach batch", xfmt(r)))
    lines.append(("RSS KiB/endpoint", fmt(kib)))
    lines.append((f"restore of {large['n']:,} ms", fmt(rest * 1e3)))
    return lines


def _rec(workload, contender, n, wall, user=None, sys_=None, **extra):
    return {"workload": workload, "contender": contender, "n": n,
            "wall_s": wall, "user_s": user, "sys_s": sys_,
            "per_s": n / wall if wall else None, **extra}


def records(cont, wres) -> list:
    """Every measurement as ``{"workload", "contender", "n", "wall_s",
    "user_s", "sys_s", "per_s"}`` (medians of rounds; extras where a
    workload has more)."""
    out = []
    for (who, phase, n), ts in sorted(cont["results"].items()):
        if who.startswith("wire "):
            continue                      # from wres below, by their name
        extra = {"rounds": len(ts)}
        kib = [t.extra["rss_kib"] for t in ts if "rss_kib" in t.extra]
        if kib:
            extra["rss_kib_per_endpoint"] = kib[0] / n
        out.append(_rec(phase, who, n, med(ts, "wall"), med(ts, "user"),
                        med(ts, "sys"), **extra))
    for (impl, phase, n), ts in sorted(wres.items()):
        out.append(_rec(phase, impl, n, med(ts, "wall"), med(ts, "user"),
                        med(ts, "sys"), rounds=len(ts)))
    for (b, cell), v in sorted((cont["latency"] or {}).items()):
        if "median" not in v:
            continue
        n = (v["n"] if cell.startswith("bulk") else
             cont["count"] if cell == "reaper" else 1)
        out.append(_rec(f"latency {cell}", b, n, v["median"],
                        p99_s=v["p99"], samples=len(v["samples"])))
    large = cont["large"]
    if large:
        for phase in ("attach", "detach"):
            for i, t in enumerate(large[phase]):
                out.append(_rec(f"large {phase} batch {i + 1}",
                                large["backend"], t.n, t.wall, t.user, t.sys))
        out.append(_rec("large restore", large["backend"], large["n"],
                        large["restore_s"],
                        rss_kib_per_endpoint=large["rss_kib"] / large["n"]))
    return out
