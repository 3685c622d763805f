"""pytest-benchmark suite: wire / unwire N endpoints with every peer.

    python -m libnetwork.isolate -- python -m pytest bench/bench_wiring.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

Groups ``wire-N`` and ``unwire-N`` compare the peers of ``bench/wiring.py``
(native, pyroute2, ip -batch, native one op at a time, pyroute2's public
IPRoute API one request at a time) on the same workload.  Setup and
teardown are destructive, so each round gets its own untimed setup
(``benchmark.pedantic``); only the kernel work of the phase is timed, and
the results are checked after every round, untimed.  CPU time (user/sys,
this process and its children) of each round is kept in ``extra_info``.

Skips unless root inside ``python -m libnetwork.isolate``.  With
``LIBNETWORK_BENCH_SMOKE=1``: N=5, one round (seconds in all);
``LIBNETWORK_BENCH_N="100 500"`` chooses the sizes.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wiring  # noqa: E402  (bench/wiring.py)

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
NS = [5] if SMOKE else [1, 100, 500]
if os.environ.get("LIBNETWORK_BENCH_N"):     # e.g. "100 500"
    NS = [int(x) for x in os.environ["LIBNETWORK_BENCH_N"].split()]
ROUNDS = 1 if SMOKE else 3
WARMUP = 0 if SMOKE else 1        # first use (imports, caches) untimed
# the report's default peers; pyroute2-iproute (the IPRoute API baseline)
# is among them, listed here too so it stays even if the default changes
IMPLS = list(dict.fromkeys([*wiring.DEFAULT_IMPLS, "pyroute2-iproute"]))

_why = wiring.require_isolated()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(_why is not None, reason=_why or ""),
]


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="libnetwork-bench-",
                         dir="/run" if os.path.isdir("/run") else None)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _peer(impl, workdir):
    try:
        return wiring.make(impl, workdir)
    except wiring.Unavailable as exc:
        pytest.skip(f"{impl}: {exc}")


def _info(benchmark, timings):
    """Per-round CPU numbers in the saved JSON (ms)."""
    benchmark.extra_info["n"] = timings[0].n if timings else None
    benchmark.extra_info["user_ms"] = [round(t.user * 1e3, 2) for t in timings]
    benchmark.extra_info["sys_ms"] = [round(t.sys * 1e3, 2) for t in timings]
    benchmark.extra_info["wall_ms"] = [round(t.wall * 1e3, 2) for t in timings]


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("impl", IMPLS)
def test_wire(benchmark, impl, n, workdir):
    benchmark.group = f"wire-{n}"
    benchmark.extra_info["impl"] = impl
    w = _peer(impl, workdir)
    timings = []

    def setup():
        if w.wired:                 # the previous round's endpoints
            w.end_wire()
            w.unwire()
            wiring.settle()
        w.begin_wire(n)
        gc.collect()

    def target():
        with wiring.Meter(impl, "wire", n, collect=False) as m:
            w.do_wire()
        timings.append(m.timing)

    try:
        benchmark.pedantic(target, setup=setup, rounds=ROUNDS, iterations=1,
                           warmup_rounds=WARMUP)
        w.end_wire()
        w.unwire()
        _info(benchmark, timings[-ROUNDS:])
    finally:
        w.close()
        wiring.settle()


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("impl", IMPLS)
def test_unwire(benchmark, impl, n, workdir):
    benchmark.group = f"unwire-{n}"
    benchmark.extra_info["impl"] = impl
    w = _peer(impl, workdir)
    timings = []
    pending = []

    def setup():
        if pending:                 # check the previous round's teardown
            pending.pop()
            w.end_unwire()
            wiring.settle()
        w.wire(n)
        wiring.settle(min_s=0.05)
        w.begin_unwire()
        gc.collect()

    def target():
        with wiring.Meter(impl, "unwire", n, collect=False) as m:
            w.do_unwire()
        pending.append(True)
        timings.append(m.timing)

    try:
        benchmark.pedantic(target, setup=setup, rounds=ROUNDS, iterations=1,
                           warmup_rounds=WARMUP)
        if pending:
            w.end_unwire()          # teardown is synchronous: checked here
        _info(benchmark, timings[-ROUNDS:])
        assert timings, "the unwire target never ran"
    finally:
        w.close()
        wiring.settle()
