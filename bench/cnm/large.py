"""``--large``: 10,000 containers in 10 networks of 1,000 (a bridge holds
at most 1,023 ports), attached in batches of 500 through one controller
(native): the rate of every batch and the last batch's rate over the
first's; the RSS growth per endpoint over the 10,000; the time of
``libnetwork.new()`` restoring them (kernel objects present); then
detached in batches of 500 (their rates too).

Result: ``{"attach": [Timing per batch], "detach": [...], "rss_kib",
"restore_s", "n"}``, or raises Unavailable."""

from __future__ import annotations

import gc

from wiring.measure import Meter, settle

from .world import World, rss_kib

PER_NETWORK = 1000


def run_large(total=10000, batch=500, backend="native", settle_max=2.0,
              log=print) -> dict:
    nets = -(-total // PER_NETWORK)
    w = World(backend, networks=nets)
    out = {"n": total, "batch": batch, "attach": [], "detach": [],
           "backend": backend}
    try:
        warm = w.ids(3)
        w.attach(warm)
        w.detach(warm)
        settle(settle_max)
        rss0 = rss_kib()
        done: list = []
        while len(done) < total:
            k = min(batch, total - len(done))
            cids = [f"L{len(done) + i}" for i in range(k)]
            gc.collect()
            first = len(done)
            with Meter(backend, "attach", k, collect=False) as m:
                while cids:               # a batch stays in one network
                    room = PER_NETWORK - first % PER_NETWORK
                    w.attach(cids[:room], net=first // PER_NETWORK)
                    first += len(cids[:room])
                    cids = cids[room:]
            cids = [f"L{len(done) + i}" for i in range(k)]
            m.timing.extra["batch"] = len(out["attach"])
            out["attach"].append(m.timing)
            done += cids
            log(f"  large attach batch {len(out['attach']):>2} "
                f"({len(done)}): {k / m.timing.wall:6.0f}/s")
        out["rss_kib"] = rss_kib() - rss0
        w.check(total)
        settle(settle_max)
        out["restore_s"] = w.restore()
        log(f"  large restore of {total}: {out['restore_s'] * 1e3:.0f} ms, "
            f"rss {out['rss_kib'] / total:.2f} KiB/endpoint")
        w.check(total)
        settle(settle_max)
        for s in range(0, total, batch):
            cids = done[s:s + batch]
            gc.collect()
            with Meter(backend, "detach", len(cids), collect=False) as m:
                w.detach(cids)
            out["detach"].append(m.timing)
        w.check(0)
        log("  large detach: " + " ".join(
            f"{t.n / t.wall:.0f}" for t in out["detach"]) + " /s")
    finally:
        w.close()
        settle(settle_max)
    return out
