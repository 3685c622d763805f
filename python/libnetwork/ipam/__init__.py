"""IP address management: the default IPAM driver over a sparse bitmap.

``Bitmap`` is the C core's :class:`NativeBitmap` when the extension is
built, else the pure-Python :class:`PyBitmap`; both behave the same and
serialize to the same bytes.
"""

from .allocator import Allocator
from .bitmap import Bitmap, NativeBitmap, PyBitmap

__all__ = ["Allocator", "Bitmap", "NativeBitmap", "PyBitmap"]
