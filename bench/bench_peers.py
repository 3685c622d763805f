"""pytest-benchmark: the exec peers (``peers/``) -- the CNI plugins and
netavark set up and tear down N containers one at a time.

    python -m libnetwork.isolate -- python -m pytest bench/bench_peers.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

``peer-N``: one round is ``peers.runner.run``: N containers set up, checked,
torn down, checked (untimed checks).  A peer whose tools are missing
skips with the reason (``.ci/bench-deps`` installs them).  Smoke: N = 2,
one round; else N = 10, 3 rounds (``LIBNETWORK_BENCH_PEER_N``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers.runner import EXEC_PEERS, make, run  # noqa: E402
from wiring.peer import Unavailable  # noqa: E402
from wiring.workload import require_isolated  # noqa: E402

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
N = int(os.environ.get("LIBNETWORK_BENCH_PEER_N", 2 if SMOKE else 10))
ROUNDS = 1 if SMOKE else 3

_why = require_isolated()
pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(_why is not None, reason=_why or "")]


@pytest.mark.parametrize("name", EXEC_PEERS)
def test_peer(benchmark, name):
    d = tempfile.mkdtemp(prefix="bench-peer-", dir="/run"
                         if os.path.isdir("/run") else None)
    try:
        try:
            p = make(name, d)
        except Unavailable as exc:
            pytest.skip(str(exc))
        benchmark.group = f"peer-{N}"
        done = []
        try:
            benchmark.pedantic(lambda: done.append(run(p, N)),
                               rounds=ROUNDS, iterations=1)
        finally:
            p.cleanup()
        a, t = done[-1]
        assert a.n == t.n == N and a.extra["execs"] >= N
    finally:
        shutil.rmtree(d, ignore_errors=True)
