"""The sparse bitmap allocator: ``Bitmap`` is the C core's when it is built.

:class:`NativeBitmap` wraps ``nlc_bitmap_*`` (``csrc/bitmap.c``) through
cffi; :class:`~._pybitmap.PyBitmap` is its pure-Python twin, with the same
behaviour and the same serialized bytes.  ``Bitmap`` is NativeBitmap when
the extension could be imported (``libnetwork._binding.AVAILABLE``), else
PyBitmap.

    >>> bm = Bitmap(256)                        # the ordinals [0, 256)
    >>> bm.allocate_specific(0)                 # network address
    >>> bm.allocate(serial=True, lo=1, hi=255)
    1
    >>> Bitmap.from_bytes(bm.to_bytes()) == bm
    True

The per-call wrappers are kept to one foreign call on the success path:
the cffi functions are bound to module globals, a C failure is looked up
only when the UINT64_MAX sentinel or a non-zero rc comes back, and a
negative or too large Python int surfaces as cffi's OverflowError, caught
at no cost until it happens.  ``allocate`` keeps its last arguments as a
C request (``struct nlc_bitmap_req``): asked again with the same ones, as
a pool is, it makes a one-argument call, which cffi passes without
building an argument tuple (bench/README.md has the numbers).
"""

from __future__ import annotations

import errno
from array import array
from typing import Optional

# the bitmap module keeps the GIL around its calls (csrc/gen_ffi.py)
from .._binding import AVAILABLE, IMPORT_ERROR
from .._binding import bitmap_ffi as ffi, bitmap_lib as lib
from ..errors import AlreadyAllocated, InvalidParameter
from ._pybitmap import (PyBitmap, check_many, check_size, exhausted_error,
                        ordinal_error, range_error)

__all__ = ["Bitmap", "NativeBitmap", "PyBitmap"]

_SENTINEL = (1 << 64) - 1
_NO_REQ = (object(), None, None, None)      # matches no call

if AVAILABLE:
    _new = lib.nlc_bitmap_new
    _free = lib.nlc_bitmap_free
    _used = lib.nlc_bitmap_used
    _cursor = lib.nlc_bitmap_cursor
    _alloc = lib.nlc_bitmap_alloc
    _alloc_req = lib.nlc_bitmap_alloc_req
    _error = lib.nlc_bitmap_error
    _alloc_many = lib.nlc_bitmap_alloc_many
    _set = lib.nlc_bitmap_set
    _release = lib.nlc_bitmap_release
    _test = lib.nlc_bitmap_test
    _size_bytes = lib.nlc_bitmap_size_bytes
    _to_bytes = lib.nlc_bitmap_to_bytes
    _from_bytes = lib.nlc_bitmap_from_bytes
    _from_buffer = ffi.from_buffer


class NativeBitmap:
    """A sparse bitmap over the ordinals ``[0, size)``, ``size <= 2**64``,
    in the C core.  The API and the errors are those of
    :class:`~._pybitmap.PyBitmap`."""

    __slots__ = ("_bm", "_last", "_req")

    def __init__(self, size: int):
        if not AVAILABLE:
            raise ImportError("libnetwork's C core is not built: "
                              f"{IMPORT_ERROR}")
        check_size(size)
        out = ffi.new("struct nlc_bitmap **")
        if _new(out, size - 1):
            raise MemoryError("nlc_bitmap_new")
        self._bm = ffi.gc(out[0], _free)
        self._last = size - 1
        self._req = _NO_REQ

    # -------------------------------------------------------- properties

    @property
    def size(self) -> int:
        """The number of ordinals, ``last + 1``."""
        return self._last + 1

    @property
    def used(self) -> int:
        """The number of allocated ordinals."""
        return _used(self._bm)

    @property
    def free(self) -> int:
        """The number of free ordinals."""
        return self._last + 1 - _used(self._bm)

    @property
    def cursor(self) -> int:
        """Where the next serial (next-fit) search starts."""
        return _cursor(self._bm)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, used={self.used})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (NativeBitmap, PyBitmap)):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def _alloc_error(self, rc: int, count: Optional[int], lo: int,
                     hi: Optional[int]) -> Exception:
        """The exception for a failed nlc_bitmap_alloc(_many)."""
        if rc == -errno.ENOSPC:
            return exhausted_error(self._last + 1, count, lo, hi)
        if rc == -errno.ENOMEM:
            return MemoryError("nlc_bitmap_alloc")
        return range_error(self._last + 1, lo, hi)

    # --------------------------------------------------------- operations

    def allocate(self, serial: bool = False, lo: int = 0,
                 hi: Optional[int] = None) -> int:
        """Allocates and returns the first free ordinal of ``[lo, hi)``,
        or with ``serial`` the first at or after the cursor, wrapping to
        ``lo``.  Raises PoolExhausted when none is free."""
        r = self._req              # one read: a consistent (key, request)
        if r[0] is serial and r[1] == lo and r[2] == hi:
            n = _alloc_req(r[3])
        else:
            n = self._allocate_new(serial, lo, hi)
        if n == _SENTINEL and _error(self._bm):
            raise self._alloc_error(_error(self._bm), None, lo, hi)
        return n

    def _allocate_new(self, serial, lo, hi) -> int:
        """allocate() with other arguments than the last time: the
        four-argument call, then, unless the range was refused, these
        arguments kept as the request for the next time."""
        bm = self._bm
        top = self._last if hi is None else hi - 1
        try:
            n = _alloc(bm, serial, lo, top)
        except OverflowError:
            raise range_error(self._last + 1, lo, hi) from None
        if n != _SENTINEL or _error(bm) != -errno.EINVAL:
            req = ffi.new("struct nlc_bitmap_req *")
            req.bm, req.serial, req.lo, req.hi = bm, serial, lo, top
            self._req = (serial, lo, hi, req)
        return n

    def allocate_many(self, count: int, serial: bool = False, lo: int = 0,
                      hi: Optional[int] = None) -> array:
        """Allocates ``count`` ordinals exactly as ``count`` calls of
        :meth:`allocate` would, returned in that order, or none at all
        (PoolExhausted, nothing changed)."""
        # checked here too, before the buffer for count ordinals is made
        top = check_many(count, lo, hi, self._last, self.free)
        out = array("Q", bytes(8 * count))
        rc = _alloc_many(self._bm, count, serial, lo, top,
                         _from_buffer("uint64_t[]", out))
        if rc:
            raise self._alloc_error(rc, count, lo, hi)
        return out

    def allocate_specific(self, n: int) -> None:
        """Allocates ordinal ``n``; AlreadyAllocated if it is in use.
        The cursor does not move."""
        try:
            rc = _set(self._bm, n)
        except OverflowError:
            raise ordinal_error(self._last + 1, n) from None
        if rc:
            if rc == -errno.EEXIST:
                raise AlreadyAllocated(f"ordinal {n} is already allocated")
            if rc == -errno.ENOMEM:
                raise MemoryError("nlc_bitmap_set")
            raise ordinal_error(self._last + 1, n)

    def release(self, n: int) -> None:
        """Frees ordinal ``n``; InvalidParameter (a ValueError) if it is
        free.  The cursor does not move."""
        try:
            rc = _release(self._bm, n)
        except OverflowError:
            raise ordinal_error(self._last + 1, n) from None
        if rc:
            if rc == -errno.ENOENT:
                raise InvalidParameter(f"ordinal {n} is not allocated")
            raise ordinal_error(self._last + 1, n)

    def is_set(self, n: int) -> bool:
        """Whether ordinal ``n`` is allocated."""
        try:
            rc = _test(self._bm, n)
        except OverflowError:
            raise ordinal_error(self._last + 1, n) from None
        if rc < 0:
            raise ordinal_error(self._last + 1, n)
        return rc == 1

    # ------------------------------------------------------ serialization

    def to_bytes(self) -> bytes:
        """The state in serialization format v1 (see ``bitmap_codec.c``)."""
        bm = self._bm
        buf = bytearray(_size_bytes(bm))
        _to_bytes(bm, _from_buffer("uint8_t[]", buf), len(buf))
        return bytes(buf)

    @classmethod
    def from_bytes(cls, data: bytes) -> "NativeBitmap":
        """Rebuilds a bitmap from :meth:`to_bytes` output (of either
        implementation).  InvalidParameter (a ValueError) unless ``data``
        is exactly one canonical v1 serialization."""
        if not AVAILABLE:
            raise ImportError("libnetwork's C core is not built: "
                              f"{IMPORT_ERROR}")
        buf = _from_buffer("uint8_t[]", data)
        out = ffi.new("struct nlc_bitmap **")
        rc = _from_bytes(out, buf, len(buf))
        if rc == -errno.ENOMEM:
            raise MemoryError("nlc_bitmap_from_bytes")
        if rc:
            raise InvalidParameter(
                "not a serialized bitmap (v1): bad header, truncated or "
                "trailing data, or non-canonical or inconsistent leaves")
        self = cls.__new__(cls)
        self._bm = ffi.gc(out[0], _free)
        self._last = lib.nlc_bitmap_last(out[0])
        self._req = _NO_REQ
        return self


Bitmap = NativeBitmap if AVAILABLE else PyBitmap
