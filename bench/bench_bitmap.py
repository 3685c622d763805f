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

Fills are random and fragmented: a fraction ``fill`` of the ordinals of
the window ``[0, window)`` is allocated at independent random places
(seeded; 50% is one random bit per ordinal, 99.9% leaves random holes).
The window is the whole /16 (2^16) and the whole /8 (2^24); a /64 cannot
be filled to 50%, so its window is its first 2^24 ordinals, filled the
same way, and every allocation is confined to it by ``lo``/``hi``; the
rest of the /64 stays free.  The states are built once per module as
serialized bytes (format v1, ``csrc/ipalloc.c``) and loaded with
``from_bytes``, so both implementations start from identical states and
no filling is timed.

``LIBNETWORK_BENCH_SMOKE=1``: windows of 2^12 ordinals and 100 pairs a
round, for a quick correctness pass (seconds in all).
"""

from __future__ import annotations

import functools
import os
import random
import struct

import pytest

from libnetwork import _binding
from libnetwork.ipam import NativeBitmap, PyBitmap

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
PAIRS = 100 if SMOKE else 1000
BULK = 1024 if SMOKE else 65536
BULK_ROUNDS = 1 if SMOKE else 10
WINDOW = 2**12 if SMOKE else 2**24
PREFIXES = {"/16": 2**16, "/8": 2**24, "/64": 2**64}
FILLS = [0.0, 0.5, 0.999]

IMPLS = [
    pytest.param(NativeBitmap, id="impl=native", marks=pytest.mark.skipif(
        not _binding.AVAILABLE,
        reason=f"the C core is not built: {_binding.IMPORT_ERROR}")),
    pytest.param(PyBitmap, id="impl=py"),
]
PREFIX = pytest.mark.parametrize("prefix", list(PREFIXES),
                                 ids=lambda p: f"prefix={p}")
FILL = pytest.mark.parametrize("fill", FILLS, ids=lambda f: f"fill={f:.1%}")


def window_of(prefix: str) -> int:
    return min(PREFIXES[prefix], WINDOW)


@functools.lru_cache(maxsize=None)
def random_leaves(window: int, fill: float) -> tuple:
    """((leaf index, 4096-bit int), ...): fill of [0, window) allocated at
    random places, empty leaves left out."""
    rng = random.Random(f"{window}-{fill}")
    nleaves = -(-window // 4096)
    caps = [(1 << min(4096, window - 4096 * k)) - 1 for k in range(nleaves)]
    if fill == 0.5:
        bits = [rng.getrandbits(4096) & cap for cap in caps]
    else:
        flip = fill > 0.5
        bits = [0] * nleaves
        picks = round(window * (1 - fill if flip else fill))
        for n in rng.sample(range(window), picks):
            bits[n >> 12] |= 1 << (n & 4095)
        if flip:
            bits = [cap ^ b for cap, b in zip(caps, bits)]
    return tuple((k, b) for k, b in enumerate(bits) if b)


def state_bytes(size: int, leaves: tuple) -> bytes:
    """The v1 serialization of a bitmap of ``size`` holding ``leaves``."""
    last = size - 1
    body, used = [], 0
    for k, bits in leaves:
        used += bits.bit_count()
        cap = (1 << min(4096, size - 4096 * k)) - 1
        if bits == cap:
            body.append(struct.pack("<QQ", k, 0))
            continue
        words = struct.unpack("<64Q", bits.to_bytes(512, "little"))
        mask = sum(1 << j for j, w in enumerate(words) if w)
        body.append(struct.pack("<QQ", k, mask))
        body.append(struct.pack(f"<{mask.bit_count()}Q",
                                *(w for w in words if w)))
    head = struct.pack("<4sB3xQQQQ", b"NLCB", 1, last, 0, used, len(leaves))
    return head + b"".join(body)


@pytest.fixture(scope="module")
def states():
    """state(prefix, fill) -> serialized bytes, built once per module."""
    @functools.lru_cache(maxsize=None)
    def state(prefix: str, fill: float) -> bytes:
        return state_bytes(PREFIXES[prefix],
                           random_leaves(window_of(prefix), fill))
    return state


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
