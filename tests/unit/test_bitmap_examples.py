"""The sparse bitmap allocator by example, on every implementation
(NativeBitmap, PyBitmap): sizes, exhaustion and all-or-nothing batches,
serial wrap-around, errors, the serialized bytes (good, bad, garbage and
damaged ones), and memory and search cost on huge ranges.  The model-based
stateful test is in test_bitmap.py.  No root needed.
"""

from __future__ import annotations

import random
import struct
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libnetwork import _binding
from libnetwork.errors import AlreadyAllocated, PoolExhausted
from libnetwork.ipam import Bitmap, NativeBitmap, PyBitmap

from test_bitmap import IMPLS, needs_native


# --------------------------------------------------------- example tests


def test_bitmap_is_native_when_built():
    assert (Bitmap is NativeBitmap) is _binding.AVAILABLE
    if not _binding.AVAILABLE:
        assert Bitmap is PyBitmap


@pytest.mark.parametrize("cls", IMPLS)
@pytest.mark.parametrize("size", [0, -1, 2**64 + 1])
def test_bad_size(cls, size):
    with pytest.raises(ValueError, match=str(size)):
        cls(size)


@pytest.mark.parametrize("cls", IMPLS)
def test_sizes_one_and_two_to_the_64(cls):
    one = cls(1)
    assert one.allocate(serial=True) == 0 and one.cursor == 0
    with pytest.raises(PoolExhausted, match="size 1"):
        one.allocate()
    big = cls(2**64)
    assert big.size == 2**64 and big.free == 2**64
    big.allocate_specific(2**64 - 1)
    assert big.allocate(lo=2**64 - 2) == 2**64 - 2
    assert big.cursor == 2**64 - 1
    big.release(2**64 - 1)
    assert big.allocate(serial=True) == 2**64 - 1
    assert big.cursor == 0


@pytest.mark.parametrize("cls", IMPLS)
def test_exhausted_range_changes_nothing(cls):
    bm = cls(16)
    assert bm.allocate_many(4, lo=4, hi=8).tolist() == [4, 5, 6, 7]
    before = bm.to_bytes()
    with pytest.raises(PoolExhausted,
                       match=r"\[4, 8\) of a bitmap of size 16"):
        bm.allocate(lo=4, hi=8)
    with pytest.raises(PoolExhausted):
        bm.allocate(serial=True, lo=4, hi=8)
    with pytest.raises(PoolExhausted):
        bm.allocate_many(1, lo=4, hi=8)
    assert bm.to_bytes() == before
    assert bm.allocate(lo=4) == 8


@pytest.mark.parametrize("cls", IMPLS)
def test_allocate_many_is_all_or_nothing(cls):
    bm = cls(100)
    bm.allocate_specific(50)
    assert bm.allocate(serial=True, lo=40, hi=60) == 40
    before = bm.to_bytes()
    # [41, 60) then [0, 40): 18 + 40 = 58 free, not 59
    with pytest.raises(PoolExhausted, match="59"):
        bm.allocate_many(59, serial=True, lo=0, hi=60)
    assert bm.to_bytes() == before and bm.cursor == 41
    got = bm.allocate_many(58, serial=True, lo=0, hi=60)
    assert got.tolist() == [*range(41, 50), *range(51, 60), *range(40)]
    assert bm.cursor == 40
    assert bm.allocate_many(0).tolist() == []
    with pytest.raises(ValueError, match="negative"):
        bm.allocate_many(-1)


@pytest.mark.parametrize("cls", IMPLS)
@pytest.mark.parametrize("count", [1, 17, 1000, 2047, 2048])
def test_allocate_many_in_fragmented_leaves(cls, count):
    """Half of two leaves taken at random: the free ordinals come back in
    order, up to count, cut inside a leaf or not."""
    rng = random.Random(count)
    taken = set(rng.sample(range(8192), 4096))
    bm = cls(2**64)
    for n in sorted(taken):
        bm.allocate_specific(n)
    free = [n for n in range(100, 8192) if n not in taken]
    got = bm.allocate_many(count, lo=100)
    assert got.tolist() == free[:count]
    assert bm.cursor == free[count - 1] + 1
    assert bm.allocate(lo=100) == (free + [8192])[count]


@pytest.mark.parametrize("cls", IMPLS)
def test_serial_wraps_around(cls):
    bm = cls(100)
    assert [bm.allocate(serial=True, lo=10, hi=20) for _ in range(10)] == \
        list(range(10, 20))
    bm.release(12)
    bm.release(17)
    assert bm.cursor == 20                          # release keeps it
    assert bm.allocate(serial=True, lo=10, hi=20) == 12   # cursor outside
    bm.release(11)
    assert bm.allocate(serial=True, lo=10, hi=20) == 17   # after cursor 13
    assert bm.allocate(serial=True, lo=10, hi=20) == 11   # wrapped
    bm.allocate_specific(99)                        # does not move it
    assert bm.cursor == 12
    assert bm.allocate() == 0 and bm.cursor == 1    # first-fit moves it


@pytest.mark.parametrize("cls", IMPLS)
def test_release_and_ordinal_errors(cls):
    bm = cls(10)
    with pytest.raises(ValueError, match="ordinal 3 is not allocated"):
        bm.release(3)
    bm.allocate_specific(3)
    with pytest.raises(AlreadyAllocated, match="ordinal 3 is already"):
        bm.allocate_specific(3)
    for n in (-1, 10, 2**64, 2**100):
        with pytest.raises(ValueError,
                           match=rf"ordinal {n} is not within \[0, 10\)"):
            bm.release(n)
    with pytest.raises(ValueError, match=r"range \[5, 5\)"):
        bm.allocate(lo=5, hi=5)
    with pytest.raises(ValueError, match=r"range \[0, 11\)"):
        bm.allocate(hi=11)
    assert bm.used == 1 and bm.is_set(3) and not bm.is_set(4)


@pytest.mark.parametrize("cls", IMPLS)
def test_equality(cls):
    a, b = cls(300), PyBitmap(300)
    assert a == b
    a.allocate_specific(7)
    assert a != b
    b.allocate_specific(7)
    assert a == b and b == a
    assert a != cls(301)
    assert a != "bitmap"


# ------------------------------------------------------------ bytes


def header(last, cursor=0, used=0, nleaves=0, magic=b"NLCB", version=1,
           reserved=b"\0\0\0"):
    return struct.pack("<4sB3sQQQQ", magic, version, reserved, last, cursor,
                       used, nleaves)


def record(k, mask, *words):
    return struct.pack(f"<QQ{len(words)}Q", k, mask, *words)


#: size 5000: leaf 0 full, leaf 1 holds ordinal 4999 (word 14, bit 7)
GOOD = header(4999, 3, 4097, 2) + record(0, 0) + record(1, 1 << 14, 1 << 7)

BAD = {
    "magic": header(4999, magic=b"NLCX"),
    "version": header(4999, version=2),
    "reserved": header(4999, reserved=b"\0\1\0"),
    "truncated header": GOOD[:39],
    "truncated record": GOOD[:-1],
    "trailing byte": GOOD + b"\0",
    "cursor past last": header(4999, cursor=5000),
    "used too small": header(4999, 3, 4096, 2) + GOOD[40:],
    "used too large": header(4999, 3, 4098, 2) + GOOD[40:],
    "too few leaves": header(4999, 3, 4097, 1) + GOOD[40:],
    "too many leaves": header(4999, 3, 4097, 3) + GOOD[40:],
    "leaves out of order": header(4999, 3, 4097, 2)
    + record(1, 1 << 14, 1 << 7) + record(0, 0),
    "leaf repeated": header(4999, 3, 8192, 2) + record(0, 0) + record(0, 0),
    "leaf past last": header(4999, 0, 1, 1) + record(2, 1, 1),
    "zero word": header(4999, 0, 1, 1) + record(0, 3, 1, 0),
    "bit past last": header(4999, 0, 1, 1) + record(1, 1 << 14, 1 << 8),
    "word past last": header(4999, 0, 1, 1) + record(1, 1 << 15, 1),
    "full leaf with a mask": header(4999, 0, 4096, 1)
    + record(0, 2**64 - 1, *[2**64 - 1] * 64),
    "full last leaf with a mask": header(4999, 0, 904, 1)
    + record(1, 2**15 - 1, *[2**64 - 1] * 14, 0xFF),
}


@pytest.mark.parametrize("cls", IMPLS)
def test_good_bytes(cls):
    bm = cls.from_bytes(GOOD)
    assert (bm.size, bm.cursor, bm.used) == (5000, 3, 4097)
    assert bm.is_set(4095) and not bm.is_set(4096) and bm.is_set(4999)
    assert bm.to_bytes() == GOOD
    assert cls.from_bytes(bytearray(GOOD)) == bm
    # mask 0 on the partial last leaf means "full up to last"
    full = header(4999, 0, 904, 1) + record(1, 0)
    assert cls.from_bytes(full).to_bytes() == full


@pytest.mark.parametrize("cls", IMPLS)
@pytest.mark.parametrize("why", sorted(BAD))
def test_bad_bytes(cls, why):
    with pytest.raises(ValueError, match="not a serialized bitmap"):
        cls.from_bytes(BAD[why])


@pytest.mark.parametrize("cls", IMPLS)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_garbage_bytes(cls, data):
    with pytest.raises(ValueError):
        cls.from_bytes(data)
    with pytest.raises(ValueError):
        cls.from_bytes(GOOD[:40] + data)


@st.composite
def mutated(draw):
    """Valid bytes of a random small state, then damaged."""
    size = draw(st.sampled_from([70, 5000, 9000, 2**64]))
    bm = PyBitmap(size)
    for n in draw(st.lists(st.integers(0, 8999), max_size=20)):
        if n < size and not bm.is_set(n):
            bm.allocate_specific(n)
    if draw(st.booleans()):
        bm.allocate_many(min(size, 4096) - 30, lo=0, hi=min(size, 4096))
    data = bytearray(bm.to_bytes())
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        at = draw(st.integers(0, len(data)))
        if how == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at:at + draw(st.integers(1, 16))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif at < len(data):
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=500, deadline=None)
@given(data=mutated())
def test_damaged_bytes_rejected_or_canonical(data):
    """Anything from_bytes accepts is a canonical encoding: it comes back
    byte for byte; and both implementations accept the same inputs."""
    classes = [PyBitmap] + ([NativeBitmap] if _binding.AVAILABLE else [])
    verdicts = []
    for cls in classes:
        try:
            bm = cls.from_bytes(data)
        except ValueError:
            verdicts.append(False)
        else:
            assert bm.to_bytes() == data
            verdicts.append(True)
    assert len(set(verdicts)) == 1


# ------------------------------------------------------ memory and speed


def test_py_memory_stays_small_for_a_slash_64():
    tracemalloc.start()
    try:
        bm = PyBitmap(2**64)
        base = tracemalloc.get_traced_memory()[0]
        for n in (0, 2**63, 2**64 - 1, *range(12345, 2**64, 2**54)):
            bm.allocate_specific(n)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert bm.used == 1027
    assert grown < 1027 * 1200      # a 4096-bit int and a dict slot each


@needs_native
def test_native_memory_stays_small_for_a_slash_64():
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    bm = NativeBitmap(2**64)
    base = rss()
    for n in (0, 2**63, 2**64 - 1, *range(12345, 2**64, 2**53)):
        bm.allocate_specific(n)
    assert bm.used == 2051
    # about 8 nodes of 528 bytes per far-away ordinal (more under ASan)
    assert rss() - base < 2051 * 10 * 1024
    assert len(bm.to_bytes()) == 40 + 2051 * 24


@pytest.mark.parametrize("cls", IMPLS)
def test_search_skips_a_run_of_full_leaves(cls):
    """Finding the first free ordinal after 2^22 allocated ones (1024
    full leaves) costs about what it costs after 2^12 (one leaf)."""
    def state(nleaves):
        return header(2**64 - 1, 0, nleaves * 4096, nleaves) + b"".join(
            record(k, 0) for k in range(nleaves))

    def cost(bm, n=300):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                bm.release(bm.allocate())
            best = min(best, time.perf_counter() - t0)
        return best

    small, big = cls.from_bytes(state(1)), cls.from_bytes(state(1024))
    assert big.allocate() == 2**22
    big.release(2**22)
    assert cost(big) < 4 * cost(small) + 0.002


@pytest.mark.parametrize("cls", IMPLS)
def test_long_full_runs(cls):
    """Runs of full leaves longer than one summary group (4096 leaves in
    PyBitmap, 64 in a C node) are skipped correctly in both directions."""
    full = [*range(8192), *range(8193, 8200)]
    bm = cls.from_bytes(header(2**64 - 1, 0, len(full) * 4096, len(full))
                        + b"".join(record(k, 0) for k in full))
    assert bm.allocate() == 2**25
    assert bm.allocate(lo=5) == 2**25 + 1
    assert bm.allocate(lo=2**25 + 4096) == 8200 * 4096
    bm.release(2**24 + 7)
    # the cursor (8200 * 4096 + 1) is past hi: the search starts at lo
    assert bm.allocate(serial=True, hi=2**25 + 3) == 2**24 + 7
    assert bm.allocate(serial=True, hi=2**25 + 3) == 2**25 + 2
    with pytest.raises(PoolExhausted):
        bm.allocate(serial=True, lo=4096, hi=2**25 + 3)
    got = bm.allocate_many(4093, lo=4096)
    assert got.tolist() == list(range(2**25 + 3, 2**25 + 4096))
    assert bm.allocate() == 8200 * 4096 + 1
