"""IP address management: the default IPAM driver over a sparse bitmap.

``Bitmap`` is the C core's :class:`NativeBitmap` when the extension is
built, else the pure-Python :class:`PyBitmap`; both behave the same and
serialize to the same bytes.

Modules: ``allocator`` (the driver's API: spaces, pools, addresses),
``subnets`` (the subnets in use, kept in step with the store), ``subnet``
(one subnet and the addresses taken from it), ``records`` (their store
records), ``inputs`` (argument checking), ``pools`` (default pools and
address ranges), ``bitmap`` and ``_pybitmap`` (the two bitmaps).
"""

from .allocator import Allocator
from .bitmap import Bitmap, NativeBitmap, PyBitmap

__all__ = ["Allocator", "Bitmap", "NativeBitmap", "PyBitmap"]
