"""pytest-benchmark suite: the IPAM bitmap, NativeBitmap vs PyBitmap.

    python -m pytest -p no:cacheprovider bench/bench_bitmap.py
    LIBNETWORK_BENCH_SMOKE=1 python -m pytest bench --benchmark-disable  # CI

Groups (parameters impl, prefix, fill in every id):

``bitmap-pair``
    ``release(allocate(serial=True, lo=0, hi=window))``, one foreign call
    each, ``PAIRS`` times per round: the per-pair time is the round time
    divided by ``PAIRS`` (also in ``extra_info``).  Next-fit walks the
    cursor through the whole window, so every hole gets visited.  The
    ``impl=set`` entry is the baseline: ``add(x); discard(x)`` on a Python
    set, ``PAIRS`` times, in the same run.
``bitmap-bulk``
    ``allocate_many(n, lo=0, hi=window)`` with n = min(65536, free in the
    window), first-fit, on a fresh copy of the filled state each round
    (restored untimed, by ``from_bytes``): ordinals/s = n / round time.

The states (random, fragmented fills of a window of each range, built as
serialized bytes and loaded with ``from_bytes``, so both implementations
start from identical states and no filling is timed) are those of
``bitmap_states.py``, which the report measures too.

``LIBNETWORK_BENCH_SMOKE=1``: windows of 2^12 ordinals and 100 pairs a
round, for a quick correctness pass (seconds in all).
"""

from __future__ import annotations

import functools
import os
import sys

import pytest

from libnetwork import _binding
from libnetwork.ipam import NativeBitmap, PyBitmap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bitmap_states import (  # noqa: E402  (bench/bitmap_states.py)
    FILLS, PREFIXES, state, window_of)

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
PAIRS = 100 if SMOKE else 1000
BULK = 1024 if SMOKE else 65536
BULK_ROUNDS = 1 if SMOKE else 10

IMPLS = [
    pytest.param(NativeBitmap, id="impl=native", marks=pytest.mark.skipif(
        not _binding.AVAILABLE,
        reason=f"the C core is not built: {_binding.IMPORT_ERROR}")),
    pytest.param(PyBitmap, id="impl=py"),
]
PREFIX = pytest.mark.parametrize("prefix", list(PREFIXES),
                                 ids=lambda p: f"prefix={p}")
FILL = pytest.mark.parametrize("fill", FILLS, ids=lambda f: f"fill={f:.1%}")


@pytest.fixture(scope="module")
def states():
    """state(prefix, fill) -> serialized bytes, built once per module."""
    return functools.lru_cache(maxsize=None)(state)


def per_unit(benchmark, key: str, units: int) -> None:
    """Records units per round, and the best time per unit once known."""
    benchmark.extra_info[key] = units
    if benchmark.stats is not None:
        benchmark.extra_info[f"best_us_per_{key[:-1]}"] = (
            benchmark.stats.stats.min / units * 1e6)


@pytest.mark.benchmark(group="bitmap-pair")
def test_pair_set_baseline(benchmark):
    s = set()
    add, discard = s.add, s.discard

    def run():
        for _ in range(PAIRS):
            add(5)
            discard(5)

    benchmark(run)
    per_unit(benchmark, "pairs", PAIRS)


@pytest.mark.benchmark(group="bitmap-pair")
@FILL
@PREFIX
@pytest.mark.parametrize("cls", IMPLS)
def test_pair(benchmark, states, cls, prefix, fill):
    bm = cls.from_bytes(states(prefix, fill))
    used = bm.used
    alloc, release, hi = bm.allocate, bm.release, window_of(prefix)

    def run():
        for _ in range(PAIRS):
            release(alloc(True, 0, hi))

    benchmark(run)
    per_unit(benchmark, "pairs", PAIRS)
    assert bm.used == used


@pytest.mark.benchmark(group="bitmap-bulk")
@FILL
@PREFIX
@pytest.mark.parametrize("cls", IMPLS)
def test_bulk(benchmark, states, cls, prefix, fill):
    data = states(prefix, fill)
    window = window_of(prefix)
    probe = cls.from_bytes(data)
    count = min(BULK, probe.free - (probe.size - window))

    def setup():
        return (cls.from_bytes(data),), {}

    def run(bm):
        return bm.allocate_many(count, lo=0, hi=window)

    benchmark.pedantic(run, setup=setup, rounds=BULK_ROUNDS)
    per_unit(benchmark, "ordinals", count)
    assert len(run(probe)) == count
