"""Where the time goes: a backend's batched plan executed as its six runs
(namespaces, veths, in-sandbox configuration, host ends up, ``link del
group``, namespace deletion), each in its own ``execute()``, timed on its
own; one round at one N."""

from __future__ import annotations

import os

from .measure import Meter, Timing, settle
from .peer import Unavailable
from .peer_backend import failures, open_backend
from .workload import (GROUP, check_unwired, ensure_bridge,
                       require_isolated, sandbox_paths, setup_plan,
                       teardown_plan)

STAGES = ("netns create", "veth add", "in-sandbox config", "host ends up",
          "link del group", "netns delete")


def stages(backend: str, n: int, workdir: str,
           group: int = GROUP) -> list[Timing]:
    """One Timing per stage of :data:`STAGES`, ``phase`` = its name."""
    why = require_isolated()
    if why:
        raise Unavailable(why)
    ensure_bridge()
    os.makedirs(workdir, exist_ok=True)
    be = open_backend(backend)
    # each stage its own batch: an index cannot travel between batches, so
    # the sandboxes name eth0 (one lookup each)
    plan = setup_plan(n, workdir, group, indexes=False)
    down = teardown_plan(n, workdir, group)
    parts = [plan[:n], plan[n:2 * n], plan[2 * n:7 * n], plan[7 * n:],
             down[:1], down[1:]]
    out = []
    try:
        for name, part in zip(STAGES, parts):
            with Meter(backend, name, n) as m:
                results = be.execute(part)
            failures(results, f"{backend} {name} {n}")
            out.append(m.timing)
    finally:
        be.close()
        check_unwired(backend, sandbox_paths(n, workdir))
    return out


def run_stages(n, backends, base, settle_max, log):
    """{backend: [Timing per stage]} for one round at N=n; a backend that
    fails is logged and left out."""
    out = {}
    for be in backends:
        try:
            out[be] = stages(be, n, os.path.join(base, f"stages-{be}"))
        except Exception as exc:
            log(f"  stages {be}: FAILED: {type(exc).__name__}: {exc}")
        settle(settle_max)
    for be, ts in out.items():
        log(f"  stages {be} N={n}: " + ", ".join(
            f"{t.phase} {t.wall * 1e3:.0f} ms (csw vol/invol "
            f"{t.extra['vcsw']}/{t.extra['ivcsw']})" for t in ts))
    return out
