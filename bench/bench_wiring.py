"""pytest-benchmark suite: wire / unwire N endpoints with every peer.

    python -m libnetwork.isolate -- python -m pytest bench/bench_wiring.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

Groups ``wire-N`` and ``unwire-N`` compare the peers of ``bench/wiring/``
(native, pyroute2, ip -batch, native one op at a time, pyroute2's public
IPRoute API one request at a time) on the same workload.  Setup and
teardown are destructive, so each round gets its own untimed setup
(``benchmark.pedantic``); only the kernel work of the phase is timed, and
the results are checked after every round, untimed.  CPU time (user/sys,
this process and its children) of each round is kept in ``extra_info``,
with the backend's sendmsg calls where it counts them.

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

from wiring.measure import settle  # noqa: E402  (bench/wiring/)
from wiring.peer import Unavailable  # noqa: E402
from wiring.registry import DEFAULT_IMPLS, make  # noqa: E402
from wiring.workload import require_isolated  # noqa: E402

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
NS = [5] if SMOKE else [1, 100, 500]
if os.environ.get("LIBNETWORK_BENCH_N"):     # e.g. "100 500"
    NS = [int(x) for x in os.environ["LIBNETWORK_BENCH_N"].split()]
ROUNDS = 1 if SMOKE else 3
WARMUP = 0 if SMOKE else 1        # first use (imports, caches) untimed
# the report's default peers; pyroute2-iproute (the IPRoute API baseline)
# is among them, listed here too so it stays even if the default changes
IMPLS = list(dict.fromkeys([*DEFAULT_IMPLS, "pyroute2-iproute"]))

_why = require_isolated()
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


def measure(benchmark, phase, impl, n, workdir, setup, target, finish):
    """``target(w)`` timed over ROUNDS rounds, each after its own untimed
    ``setup(w)``, on the harness ``w`` of peer ``impl``; then
    ``finish(w)``, the per-round numbers into ``extra_info``, and ``w``
    closed.  Group ``phase-n``; skips a peer that cannot run here."""
    benchmark.group = f"{phase}-{n}"
    benchmark.extra_info["impl"] = impl
    try:
        w = make(impl, workdir)
    except Unavailable as exc:
        pytest.skip(f"{impl}: {exc}")
    timings = []
    try:
        benchmark.pedantic(lambda: timings.append(target(w)),
                           setup=lambda: setup(w), rounds=ROUNDS,
                           iterations=1, warmup_rounds=WARMUP)
        finish(w)
        assert timings, f"the {phase} target never ran"
        ts = timings[-ROUNDS:]
        benchmark.extra_info["n"] = n
        for key, attr in (("user_ms", "user"), ("sys_ms", "sys"),
                          ("wall_ms", "wall")):
            benchmark.extra_info[key] = [round(getattr(t, attr) * 1e3, 2)
                                         for t in ts]
        benchmark.extra_info["sendmsg"] = [t.sendmsg for t in ts]
    finally:
        w.close()
        settle()


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("impl", IMPLS)
def test_wire(benchmark, impl, n, workdir):
    def setup(w):
        if w.wired:                 # the previous round's endpoints
            w.end_wire()
            w.unwire()
            settle()
        w.begin_wire(n)
        gc.collect()

    def finish(w):
        w.end_wire()
        w.unwire()

    measure(benchmark, "wire", impl, n, workdir, setup,
            lambda w: w.timed_wire(collect=False), finish)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("impl", IMPLS)
def test_unwire(benchmark, impl, n, workdir):
    pending = []                    # a teardown timed, not yet checked

    def setup(w):
        if pending:                 # check the previous round's teardown
            pending.pop()
            w.end_unwire()
            settle()
        w.wire(n)
        settle(min_s=0.05)
        w.begin_unwire()
        gc.collect()

    def target(w):
        t = w.timed_unwire(collect=False)
        pending.append(True)
        return t

    def finish(w):
        if pending:
            w.end_unwire()          # teardown is synchronous: checked here

    measure(benchmark, "unwire", impl, n, workdir, setup, target, finish)
