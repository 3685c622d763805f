"""PyBitmap: the pure-Python twin of the C core's sparse bitmap.

Same behaviour and same serialized bytes as :class:`~.bitmap.NativeBitmap`
(format v1, documented at the top of ``csrc/bitmap_codec.c``), for machines
without the compiled extension.  The layout differs from the C tree so
that the interpreter does as few steps as possible:

* ``_leaves`` maps a leaf index k to one Python int of 4096 bits, the
  ordinals ``[k * 4096, k * 4096 + 4095]``; empty leaves are absent.
* ``_full[0]`` maps a group g to a 4096-bit int whose bit i is set when
  leaf ``g * 4096 + i`` has all 4096 bits set; ``_full[l + 1]`` summarises
  ``_full[l]`` the same way, up to a level with a single group.  A /64 has
  2^52 leaves and five levels, so finding the first non-full leaf after
  any point climbs and descends at most five levels of shifts and masks
  on big ints, however long the run of full leaves it skips.

Ordinals past ``last`` are never set, so the leaf holding ``last`` (and
its ancestors) may never look full; a search simply finds a "free"
ordinal beyond ``last`` there and reports nothing free, since every
search is clipped at ``hi <= last``.
"""

from __future__ import annotations

import struct
from array import array
from itertools import compress, islice
from typing import Optional

from ..errors import AlreadyAllocated, InvalidParameter, PoolExhausted

__all__ = ["PyBitmap"]

_LEAF_BITS = 12
_LEAF_MASK = (1 << _LEAF_BITS) - 1
_ALL = (1 << (1 << _LEAF_BITS)) - 1     # a full leaf, or a full group
_MAX_SIZE = 1 << 64

_HEADER = struct.Struct("<4sB3sQQQQ")
_MAGIC = b"NLCB"
_VERSION = 1
_RECORD = struct.Struct("<QQ")
_WORDS = struct.Struct("<64Q")


def _lowest_zero(x: int) -> int:
    """Index of the lowest clear bit of x >= 0."""
    return (~x & (x + 1)).bit_length() - 1


#: _BIT_FLAGS[b]: the 8 bits of byte value b, lowest first, as 8 bytes
_BIT_FLAGS = [bytes(b >> i & 1 for i in range(8)) for b in range(256)]


def _take(room: int, base: int, need: int, out: array) -> int:
    """Appends to out the ordinals base + i of the lowest bits i set in
    room, at most need of them, in increasing order; returns those bits.

    A few runs of free bits are taken run by run; a fragmented leaf is
    expanded to one flag byte per bit and filtered at C speed."""
    runs = (room & ~(room << 1)).bit_count()
    if runs <= 16:
        took = 0
        while room and need:
            s = (room & -room).bit_length() - 1
            run = min(_lowest_zero(room >> s), need)
            out.extend(range(base + s, base + s + run))
            bits = ((1 << run) - 1) << s
            took |= bits
            room ^= bits
            need -= run
        return took
    flags = b"".join(map(_BIT_FLAGS.__getitem__, room.to_bytes(512, "little")))
    start = len(out)
    out.extend(islice(compress(range(base, base + 4096), flags), need))
    if len(out) - start < room.bit_count():
        room &= (2 << (out[-1] - base)) - 1
    return room


# The errors of both implementations, worded alike.

def check_size(size: int) -> None:
    """Raises InvalidParameter unless 1 <= size <= 2**64."""
    if not 1 <= size <= _MAX_SIZE:
        raise InvalidParameter(
            f"bitmap size {size} is not within [1, 2**64]")


def range_error(size: int, lo: int, hi: Optional[int]) -> InvalidParameter:
    return InvalidParameter(
        f"range [{lo}, {size if hi is None else hi}) is empty or not within "
        f"[0, {size})")


def ordinal_error(size: int, n: int) -> InvalidParameter:
    return InvalidParameter(f"ordinal {n} is not within [0, {size})")


def exhausted_error(size: int, count: Optional[int], lo: int,
                    hi: Optional[int]) -> PoolExhausted:
    what = ("no free ordinal" if count is None
            else f"fewer than {count} free ordinals")
    return PoolExhausted(f"{what} in [{lo}, {size if hi is None else hi}) "
                         f"of a bitmap of size {size}")


def check_many(count: int, lo: int, hi: Optional[int], last: int,
               free: int) -> int:
    """The arguments of ``allocate_many`` on a bitmap whose last ordinal
    is ``last`` and that has ``free`` free ordinals: returns the last
    ordinal of ``[lo, hi)``, or raises InvalidParameter (a negative count,
    a bad range) or PoolExhausted (``count`` cannot fit)."""
    if count < 0:
        raise InvalidParameter(f"negative count {count}")
    top = last if hi is None else hi - 1
    if not 0 <= lo <= top <= last:
        raise range_error(last + 1, lo, hi)
    if count > top - lo + 1 or count > free:
        raise exhausted_error(last + 1, count, lo, hi)
    return top


class PyBitmap:
    """A sparse bitmap over the ordinals ``[0, size)``, ``size <= 2**64``.

    Ranges are Python-style: ``lo`` included, ``hi`` excluded (default
    ``size``).  ``serial=True`` is next-fit: the search starts at the
    cursor, the ordinal after the last one handed out by
    :meth:`allocate` or :meth:`allocate_many`, and wraps around to ``lo``.
    """

    __slots__ = ("_last", "_used", "_cursor", "_leaves", "_full")

    def __init__(self, size: int):
        check_size(size)
        self._last = size - 1
        self._used = 0
        self._cursor = 0
        self._leaves: dict[int, int] = {}
        levels, items = 1, self._last >> _LEAF_BITS
        while items >> _LEAF_BITS:
            levels += 1
            items >>= _LEAF_BITS
        self._full: list[dict[int, int]] = [{} for _ in range(levels)]

    # -------------------------------------------------------- properties

    @property
    def size(self) -> int:
        """The number of ordinals, ``last + 1``."""
        return self._last + 1

    @property
    def used(self) -> int:
        """The number of allocated ordinals."""
        return self._used

    @property
    def free(self) -> int:
        """The number of free ordinals."""
        return self._last + 1 - self._used

    @property
    def cursor(self) -> int:
        """Where the next serial (next-fit) search starts."""
        return self._cursor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, used={self._used})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyBitmap):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    # ---------------------------------------------------------- summaries

    def _mark_full(self, k: int) -> None:
        for level in self._full:
            g = k >> _LEAF_BITS
            m = level.get(g, 0) | 1 << (k & _LEAF_MASK)
            level[g] = m
            if m != _ALL:
                return
            k = g

    def _unmark_full(self, k: int) -> None:
        for level in self._full:
            g = k >> _LEAF_BITS
            m = level[g]
            rest = m & ~(1 << (k & _LEAF_MASK))
            if rest:
                level[g] = rest
            else:
                del level[g]
            if m != _ALL:
                return
            k = g

    def _first_free(self, x: int) -> int:
        """The first free ordinal >= x; one past ``last`` is "free" too,
        so the result exceeds ``last`` when nothing is free."""
        off = x & _LEAF_MASK
        z = _lowest_zero(self._leaves.get(x >> _LEAF_BITS, 0) >> off)
        if off + z <= _LEAF_MASK:
            return x + z
        # the first non-full leaf after x's: climb until a level has a
        # non-full item at or after i, then descend through first items
        full = self._full
        i, level = (x >> _LEAF_BITS) + 1, 0
        while level < len(full):
            off = i & _LEAF_MASK
            z = _lowest_zero(full[level].get(i >> _LEAF_BITS, 0) >> off)
            if off + z <= _LEAF_MASK:
                i += z
                break
            i = (i >> _LEAF_BITS) + 1
            level += 1
        while level:
            level -= 1
            i = (i << _LEAF_BITS) + _lowest_zero(full[level].get(i, 0))
        return (i << _LEAF_BITS) + _lowest_zero(self._leaves.get(i, 0))

    # --------------------------------------------------------- operations

    def allocate(self, serial: bool = False, lo: int = 0,
                 hi: Optional[int] = None) -> int:
        """Allocates and returns the first free ordinal of ``[lo, hi)``,
        or with ``serial`` the first at or after the cursor, wrapping to
        ``lo``.  Raises PoolExhausted when none is free."""
        last = self._last
        top = last if hi is None else hi - 1
        if not 0 <= lo <= top <= last:
            raise range_error(last + 1, lo, hi)
        c = self._cursor
        if serial and lo < c <= top:
            n = self._first_free(c)
            if n > top:                 # wrap: [c, top] has nothing free,
                n = self._first_free(lo)    # so n > top unless n < c
        else:
            n = self._first_free(lo)
        if n > top:
            raise exhausted_error(last + 1, None, lo, hi)
        k = n >> _LEAF_BITS
        leaf = self._leaves.get(k, 0) | 1 << (n & _LEAF_MASK)
        self._leaves[k] = leaf
        if leaf == _ALL:
            self._mark_full(k)
        self._used += 1
        self._cursor = 0 if n == last else n + 1
        return n

    def allocate_many(self, count: int, serial: bool = False, lo: int = 0,
                      hi: Optional[int] = None) -> array:
        """Allocates ``count`` ordinals exactly as ``count`` calls of
        :meth:`allocate` would, returned in that order, or none at all
        (PoolExhausted, nothing changed)."""
        last = self._last
        top = check_many(count, lo, hi, last, last + 1 - self._used)
        out = array("Q")
        if count == 0:
            return out
        c = self._cursor
        if serial and lo < c <= top:
            segments = ((c, top), (lo, c - 1))
        else:
            segments = ((lo, top),)
        leaves = self._leaves
        taken = []              # (leaf index, bits taken), applied at the end
        need = count
        for x, end in segments:
            while need:
                x = self._first_free(x)
                if x > end:
                    break
                k = x >> _LEAF_BITS
                stop = min(end, x | _LEAF_MASK)
                room = ~leaves.get(k, 0) & (
                    (2 << (stop & _LEAF_MASK)) - (1 << (x & _LEAF_MASK)))
                took = _take(room, k << _LEAF_BITS, need, out)
                taken.append((k, took))
                need -= took.bit_count()
                if stop == end:
                    break
                x = stop + 1
        if need:
            raise exhausted_error(last + 1, count, lo, hi)
        for k, took in taken:
            leaf = leaves.get(k, 0) | took
            leaves[k] = leaf
            if leaf == _ALL:
                self._mark_full(k)
        self._used += count
        self._cursor = 0 if out[-1] == last else out[-1] + 1
        return out

    def allocate_specific(self, n: int) -> None:
        """Allocates ordinal ``n``; AlreadyAllocated if it is in use.
        The cursor does not move."""
        if not 0 <= n <= self._last:
            raise ordinal_error(self._last + 1, n)
        k = n >> _LEAF_BITS
        bit = 1 << (n & _LEAF_MASK)
        leaf = self._leaves.get(k, 0)
        if leaf & bit:
            raise AlreadyAllocated(f"ordinal {n} is already allocated")
        leaf |= bit
        self._leaves[k] = leaf
        if leaf == _ALL:
            self._mark_full(k)
        self._used += 1

    def release(self, n: int) -> None:
        """Frees ordinal ``n``; InvalidParameter (a ValueError) if it is
        free.  The cursor does not move."""
        if not 0 <= n <= self._last:
            raise ordinal_error(self._last + 1, n)
        k = n >> _LEAF_BITS
        bit = 1 << (n & _LEAF_MASK)
        leaf = self._leaves.get(k, 0)
        if not leaf & bit:
            raise InvalidParameter(f"ordinal {n} is not allocated")
        if leaf == _ALL:
            self._unmark_full(k)
        leaf ^= bit
        if leaf:
            self._leaves[k] = leaf
        else:
            del self._leaves[k]
        self._used -= 1

    def is_set(self, n: int) -> bool:
        """Whether ordinal ``n`` is allocated."""
        if not 0 <= n <= self._last:
            raise ordinal_error(self._last + 1, n)
        return bool(self._leaves.get(n >> _LEAF_BITS, 0)
                    >> (n & _LEAF_MASK) & 1)

    # ------------------------------------------------------ serialization

    def _capacity(self, k: int) -> int:
        """The bits of leaf k that are ordinals <= last."""
        if k == self._last >> _LEAF_BITS:
            return (2 << (self._last & _LEAF_MASK)) - 1
        return _ALL

    def to_bytes(self) -> bytes:
        """The state in serialization format v1 (see ``csrc/bitmap_codec.c``)."""
        leaves = self._leaves
        parts = [_HEADER.pack(_MAGIC, _VERSION, b"\0\0\0", self._last,
                              self._cursor, self._used, len(leaves))]
        for k in sorted(leaves):
            leaf = leaves[k]
            if leaf == self._capacity(k):
                parts.append(_RECORD.pack(k, 0))
                continue
            words = _WORDS.unpack(leaf.to_bytes(512, "little"))
            mask = 0
            for j, w in enumerate(words):
                if w:
                    mask |= 1 << j
            parts.append(_RECORD.pack(k, mask))
            parts.append(struct.pack(f"<{mask.bit_count()}Q",
                                     *(w for w in words if w)))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> "PyBitmap":
        """Rebuilds a bitmap from :meth:`to_bytes` output (of either
        implementation).  InvalidParameter (a ValueError) unless ``data``
        is exactly one canonical v1 serialization."""
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise _bad("truncated header")
        magic, version, reserved, last, cursor, used, nleaves = \
            _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION or reserved != b"\0\0\0":
            raise _bad("bad magic, version or reserved bytes")
        if cursor > last:
            raise _bad(f"cursor {cursor} beyond last ordinal {last}")
        self = cls(last + 1)
        leaves = self._leaves
        last_leaf = last >> _LEAF_BITS
        off, prev, total = _HEADER.size, -1, 0
        for _ in range(nleaves):
            if len(data) - off < _RECORD.size:
                raise _bad("truncated leaf record")
            k, mask = _RECORD.unpack_from(data, off)
            off += _RECORD.size
            if not prev < k <= last_leaf:
                raise _bad(f"leaf {k} out of order or beyond the last leaf "
                           f"{last_leaf}")
            cap = self._capacity(k)
            if mask:
                n = mask.bit_count()
                if len(data) - off < 8 * n:
                    raise _bad("truncated leaf words")
                words = struct.unpack_from(f"<{n}Q", data, off)
                if 0 in words:
                    raise _bad(f"a zero word listed in leaf {k}")
                raw = bytearray(512)
                for w in range(n):
                    low = mask & -mask
                    j = 8 * (low.bit_length() - 1)
                    raw[j:j + 8] = data[off + 8 * w:off + 8 * w + 8]
                    mask ^= low
                off += 8 * n
                leaf = int.from_bytes(raw, "little")
                if leaf & ~cap:
                    raise _bad(f"bits set beyond the last ordinal {last}")
                if leaf == cap:
                    raise _bad(f"full leaf {k} not written as mask 0")
            else:
                leaf = cap
            leaves[k] = leaf
            if leaf == _ALL:
                self._mark_full(k)
            total += leaf.bit_count()
            prev = k
        if off != len(data):
            raise _bad("trailing bytes")
        if total != used:
            raise _bad(f"used is {used} but {total} ordinals are set")
        self._used = used
        self._cursor = cursor
        return self


def _bad(why: str) -> InvalidParameter:
    return InvalidParameter(f"not a serialized bitmap (v1): {why}")
