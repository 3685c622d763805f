"""The sparse bitmap allocator: NativeBitmap (C core) and PyBitmap (its
pure-Python twin) against a model: the set of allocated ordinals (kept as
sorted runs, to stay fast on 2^64 ranges) and a cursor.

The stateful test drives PyBitmap alone, and NativeBitmap and PyBitmap in
lockstep (skipped without the built extension), and checks every result,
error and counter against the model, the serialized bytes against an
independent decoder, and the two implementations' bytes against each
other (the example tests are in test_bitmap_examples.py).  No root needed.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant, rule,
                                 run_state_machine_as_test)

from libnetwork import _binding
from libnetwork.errors import AlreadyAllocated, PoolExhausted
from libnetwork.ipam import NativeBitmap, PyBitmap

NATIVE_REASON = f"the C core is not built: {_binding.IMPORT_ERROR}"
needs_native = pytest.mark.skipif(not _binding.AVAILABLE,
                                  reason=NATIVE_REASON)

#: every implementation, for the example tests
IMPLS = [pytest.param(NativeBitmap, id="native", marks=needs_native),
         pytest.param(PyBitmap, id="py")]

SIZES = [1, 64, 4096, 4097, 2**16, 2**24, 2**64, 2**64 - 1]

# ------------------------------------------------------------------ model


class Model:
    """What a bitmap must do, written from the specification.  The
    allocated ordinals are kept as sorted disjoint runs [starts[i],
    ends[i]), so that it stays fast on full ranges of a 2^64 space."""

    def __init__(self, size: int):
        self.size = size
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.used = 0
        self.cursor = 0

    def copy(self) -> "Model":
        m = Model(self.size)
        m.starts, m.ends = list(self.starts), list(self.ends)
        m.used, m.cursor = self.used, self.cursor
        return m

    def _run(self, x: int) -> int:
        """Index of the last run starting at or before x, or -1."""
        return bisect_right(self.starts, x) - 1

    def __contains__(self, x: int) -> bool:
        i = self._run(x)
        return i >= 0 and x < self.ends[i]

    def add(self, x: int) -> None:
        assert x not in self
        i = self._run(x) + 1
        left = i > 0 and self.ends[i - 1] == x
        right = i < len(self.starts) and self.starts[i] == x + 1
        if left and right:
            self.ends[i - 1] = self.ends.pop(i)
            del self.starts[i]
        elif left:
            self.ends[i - 1] = x + 1
        elif right:
            self.starts[i] = x
        else:
            self.starts.insert(i, x)
            self.ends.insert(i, x + 1)
        self.used += 1

    def discard(self, x: int) -> None:
        assert x in self
        i = self._run(x)
        s, e = self.starts[i], self.ends[i]
        if e - s == 1:
            del self.starts[i], self.ends[i]
        elif s == x:
            self.starts[i] = x + 1
        elif e == x + 1:
            self.ends[i] = x
        else:
            self.ends[i] = x
            self.starts.insert(i + 1, x + 1)
            self.ends.insert(i + 1, e)
        self.used -= 1

    def first_free(self, a: int, b: int):
        """The smallest free ordinal of [a, b), or None."""
        i = self._run(a)
        x = self.ends[i] if i >= 0 and a < self.ends[i] else a
        return x if x < b else None

    def allocate(self, serial: bool, lo: int, hi: int):
        c = self.cursor
        if serial and lo <= c < hi:
            x = self.first_free(c, hi)
            if x is None:
                x = self.first_free(lo, c)
        else:
            x = self.first_free(lo, hi)
        if x is not None:
            self.add(x)
            self.cursor = 0 if x == self.size - 1 else x + 1
        return x

    def leaves(self) -> dict[int, int]:
        """{leaf index: its 4096 bits as an int}, empty leaves left out."""
        out: dict[int, int] = {}
        for s, e in zip(self.starts, self.ends):
            while s < e:
                k, stop = s >> 12, min(e, (s | 4095) + 1)
                out[k] = out.get(k, 0) | ((1 << (stop - s)) - 1) << (s & 4095)
                s = stop
        return out


def decode(data: bytes):
    """(last, cursor, used, leaves as in Model.leaves()) of format v1,
    decoded from its description; asserts the records are canonical."""
    magic, version, reserved, last, cursor, used, nleaves = struct.unpack_from(
        "<4sB3sQQQQ", data)
    assert (magic, version, reserved) == (b"NLCB", 1, b"\0\0\0")
    off, leaves, prev = 40, {}, -1
    for _ in range(nleaves):
        k, mask = struct.unpack_from("<QQ", data, off)
        off += 16
        assert prev < k <= last >> 12
        prev = k
        cap = (1 << min(4096, last + 1 - k * 4096)) - 1
        if mask == 0:
            leaves[k] = cap
            continue
        leaf = 0
        for j in range(64):
            if mask >> j & 1:
                (w,) = struct.unpack_from("<Q", data, off)
                off += 8
                assert w
                leaf |= w << (64 * j)
        assert leaf & ~cap == 0, "bits past last"
        assert leaf != cap, "a full leaf written with a mask"
        leaves[k] = leaf
    assert off == len(data)
    return last, cursor, used, leaves


# ------------------------------------------------------- stateful machine


def interesting(size: int) -> list[int]:
    """Ordinals at word, leaf and range boundaries."""
    pts = {0, 1, 63, 64, 65, 4095, 4096, 4097, 8191, 2**18, 2**63,
           size - 1, size - 2, size - 64, size - 65, size - 4096,
           size - 4097, size // 2}
    return sorted(p for p in pts if 0 <= p < size)


class BitmapMachine(RuleBasedStateMachine):
    def __init__(self, size: int, classes):
        super().__init__()
        self.size = size
        self.model = Model(size)
        self.bms = [cls(size) for cls in classes]
        self.points = interesting(size)
        self.last = None            # the last allocate()'s arguments

    # -- drawing helpers
    def ordinal(self, data) -> int:
        """Anywhere, at a boundary, or (often) an allocated one."""
        m = self.model
        kind = data.draw(st.integers(0, 3 if m.starts else 1), label="kind")
        if kind == 0:
            return data.draw(st.integers(0, self.size - 1), label="any")
        if kind == 1:
            return data.draw(st.sampled_from(self.points), label="point")
        i = data.draw(st.integers(0, len(m.starts) - 1), label="run")
        return data.draw(st.integers(m.starts[i], m.ends[i] - 1), label="in")

    def span(self, data):
        """(lo, hi) with hi exclusive or None; small ranges near
        interesting places, so that they fill up and wrap."""
        if data.draw(st.integers(0, 4), label="whole") == 0:
            return 0, data.draw(st.sampled_from([None, self.size]))
        at = self.ordinal(data)
        width = st.sampled_from([1, 2, 3, 63, 64, 65, 4096, 4097]) | \
            st.integers(1, 10_000)
        lo = max(0, at - data.draw(width, label="below") + 1)
        hi = min(self.size, at + data.draw(width, label="above"))
        return lo, hi

    # -- rules
    @rule(data=st.data(), serial=st.booleans())
    def allocate(self, data, serial):
        self.allocate_with(serial, *self.span(data))

    def allocate_with(self, serial, lo, hi):
        self.last = (serial, lo, hi)
        want = self.model.allocate(serial, lo, self.size if hi is None else hi)
        for bm in self.bms:
            if want is None:
                with pytest.raises(PoolExhausted, match=rf"\[{lo}, "):
                    bm.allocate(serial, lo, hi)
            else:
                assert bm.allocate(serial=serial, lo=lo, hi=hi) == want

    @rule(times=st.integers(1, 70))
    def allocate_again(self, times):
        """The last allocate()'s arguments again, as a pool asks: the
        native bitmap's kept request (a one-argument call), up to and
        through exhaustion of small ranges."""
        if self.last is not None:
            for _ in range(times):
                self.allocate_with(*self.last)

    @rule(data=st.data(), serial=st.booleans(),
          count=st.integers(0, 70) | st.integers(0, 5000))
    def allocate_many(self, data, serial, count):
        lo, hi = self.span(data)
        trial = self.model.copy()
        want = [trial.allocate(serial, lo, self.size if hi is None else hi)
                for _ in range(count)]
        for bm in self.bms:
            if None in want:
                with pytest.raises(PoolExhausted):
                    bm.allocate_many(count, serial=serial, lo=lo, hi=hi)
            else:
                got = bm.allocate_many(count, serial, lo, hi)
                assert isinstance(got, array) and got.typecode == "Q"
                assert got.tolist() == want
        if None not in want:
            self.model = trial

    @rule(data=st.data())
    def allocate_specific(self, data):
        n = self.ordinal(data)
        for bm in self.bms:
            if n in self.model:
                with pytest.raises(AlreadyAllocated, match=str(n)):
                    bm.allocate_specific(n)
            else:
                bm.allocate_specific(n)
        if n not in self.model:
            self.model.add(n)

    @rule(data=st.data())
    def release(self, data):
        n = self.ordinal(data)
        for bm in self.bms:
            if n in self.model:
                bm.release(n)
            else:
                with pytest.raises(ValueError, match=f"{n} is not allocated"):
                    bm.release(n)
        if n in self.model:
            self.model.discard(n)

    @rule(data=st.data())
    def is_set(self, data):
        n = self.ordinal(data)
        for bm in self.bms:
            assert bm.is_set(n) is (n in self.model)

    @rule(n=st.sampled_from([-1, -2**70, 0, 1, 2**64 - 1, 2**64, 2**80]))
    def bad_ordinal(self, n):
        if 0 <= n < self.size:
            return
        for bm in self.bms:
            for op in (bm.allocate_specific, bm.release, bm.is_set):
                with pytest.raises(ValueError, match=f"ordinal {n} is not"):
                    op(n)

    @rule(lo=st.sampled_from([-1, 0, 1, 5, 2**64]),
          hi=st.sampled_from([-1, 0, 1, 5, 2**64, 2**64 + 1]),
          serial=st.booleans())
    def bad_range(self, lo, hi, serial):
        if 0 <= lo < hi <= self.size:
            return
        for bm in self.bms:
            with pytest.raises(ValueError, match="range"):
                bm.allocate(serial, lo, hi)
            with pytest.raises(ValueError, match="range"):
                bm.allocate_many(1, serial, lo, hi)

    @rule()
    def round_trip(self):
        """from_bytes(to_bytes()) continues exactly where it was, in both
        implementations, and the bytes say what the model says."""
        data = self.bms[0].to_bytes()
        last, cursor, used, leaves = decode(data)
        assert (last, cursor, used) == (self.size - 1, self.model.cursor,
                                        self.model.used)
        assert leaves == self.model.leaves()
        for i, bm in enumerate(self.bms):
            for cls in {type(bm), PyBitmap}:
                assert cls.from_bytes(data).to_bytes() == data
            self.bms[i] = type(bm).from_bytes(data)

    @invariant()
    def agrees(self):
        first = self.bms[0].to_bytes()
        for bm in self.bms:
            assert bm.size == self.size
            assert bm.used == self.model.used
            assert bm.free == self.size - self.model.used
            assert bm.cursor == self.model.cursor
            assert bm.to_bytes() == first


MACHINE_SETTINGS = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.data_too_large])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"size={s}")
@pytest.mark.parametrize("classes", [
    pytest.param((NativeBitmap, PyBitmap), id="native+py", marks=needs_native),
    pytest.param((PyBitmap,), id="py"),
])
def test_model(classes, size):
    run_state_machine_as_test(lambda: BitmapMachine(size, classes),
                              settings=MACHINE_SETTINGS)
