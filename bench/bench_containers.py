"""pytest-benchmark: the containers part's code (``cnm/``, the settle
probe, the report's sections and records) at small sizes.

    python -m libnetwork.isolate -- python -m pytest bench/bench_containers.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

``cnm-attach-N`` / ``cnm-detach-N``: ``attach()`` / ``detach()`` of N
containers through ``cnm.world.World`` (the report's controller), each
round after its own untimed setup; the memory, restore, latency and
``--large`` code paths run once at small sizes and their results go
through the report's table and records.  Skips unless root inside
``python -m libnetwork.isolate``.  Smoke: N = 1 and 5, one round.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiring.workload import require_isolated  # noqa: E402

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
NS = [1, 5] if SMOKE else [1, 100, 500]
if os.environ.get("LIBNETWORK_BENCH_N"):
    NS = [int(x) for x in os.environ["LIBNETWORK_BENCH_N"].split()]
ROUNDS = 1 if SMOKE else 3
BACKENDS = ["native", "pyroute2"]

_why = require_isolated()
pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(_why is not None, reason=_why or "")]


@pytest.fixture
def world():
    from cnm.world import World
    from wiring.peer import Unavailable
    made = []

    def make(backend, **kw):
        try:
            w = World(backend, **kw)
        except Unavailable as exc:
            pytest.skip(str(exc))
        made.append(w)
        return w
    yield make
    for w in made:
        w.close()


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_cnm_attach(benchmark, world, backend, n):
    w = world(backend)
    benchmark.group = f"cnm-attach-{n}"

    def setup():
        if w.attached:
            w.detach(list(w.attached))
        return (w.ids(n),), {}

    benchmark.pedantic(w.attach, setup=setup, rounds=ROUNDS, iterations=1)
    w.check(n)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_cnm_detach(benchmark, world, backend, n):
    w = world(backend)
    benchmark.group = f"cnm-detach-{n}"

    def setup():
        cids = w.ids(n)
        w.attach(cids)
        return (cids,), {}

    benchmark.pedantic(w.detach, setup=setup, rounds=ROUNDS, iterations=1)
    w.check(0)


def test_restore_and_memory(world):
    from cnm.world import rss_kib
    w = world("native")
    assert rss_kib() > 0
    w.attach(w.ids(5))
    t = w.restore()
    assert t > 0
    w.check(5)


def test_scale_latency_sections():
    """The report's containers code at tiny sizes, through its table,
    targets and records."""
    from cnm.latency import run_latency
    from cnm.scale import run_scale
    from report_containers import (containers_lines, latency_lines,
                                   records)
    from report_table import render
    from report_targets import containers_targets
    res, skipped = run_scale([2], 1, ["native"], 0.2, lambda *a: None)
    assert not skipped, skipped
    lat, _ = run_latency(["native"], count=3, pool=2, bulk=3,
                         settle_max=0.2, log=lambda *a: None)
    for cell in ("attach", "detach"):
        assert "median" in lat[("native", cell)]
    for cell in ("attach pool", "detach async", "bulk reaped"):
        v = lat[("native", cell)]
        assert "median" in v or v["skipped"].startswith(("not available",
                                                         "failed"))
    cont = {"results": res, "ns": [2], "exec_ns": [], "contenders":
            ["native"], "latency": lat, "large": None, "exec_max": 0,
            "count": 3, "pool": 2, "bulk": 3, "large_only": False}
    text = render(containers_lines(cont) + latency_lines(cont))
    assert "setup N=2 containers/s" in text
    recs = records(cont, {})
    assert recs and all({"workload", "contender", "n", "wall_s", "user_s",
                         "sys_s", "per_s"} <= set(r) for r in recs)
    assert containers_targets(cont, {})


def test_large_small():
    from cnm.large import run_large
    from report_containers import large_lines
    out = run_large(total=30, batch=10, settle_max=0.2, log=lambda *a: None)
    assert len(out["attach"]) == 3 and len(out["detach"]) == 3
    assert out["restore_s"] > 0
    assert large_lines({"large": out})


def test_settle_probe():
    from settle_probe import Probe
    p = Probe()
    try:
        assert p.wait(timeout=2) >= 0
        assert 0 < p.best < 1
    finally:
        p.close()
