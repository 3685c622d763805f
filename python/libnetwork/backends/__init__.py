"""The Backend contract and its two implementations.

``native`` drives the C core through cffi (the default); ``pyroute2`` does
the same work in pure Python.  Both take the same batches of
:mod:`~libnetwork.backends.ops` operations and give the same results.

    >>> from libnetwork.backends import select, ops
    >>> be = select()                       # LIBNETWORK_BACKEND or native
    >>> be.run([ops.LinkAddBridge("br0", up=True)])
"""

from __future__ import annotations

import logging
import os
from typing import Optional

from .base import Backend
from .ops import *  # noqa: F401,F403  (the operation vocabulary)
from . import ops
from .validate import prepare

__all__ = ["Backend", "select", "available", "ops", "prepare"]

log = logging.getLogger("libnetwork")
_warned = False
NAMES = ("native", "pyroute2")


def available() -> list[str]:
    """The backends that can be used on this machine."""
    out = []
    try:
        from .. import _binding
        if _binding.AVAILABLE:
            out.append("native")
    except ImportError:
        pass
    out.append("pyroute2")
    return out


def select(name: Optional[str] = None, *, root: Optional[str] = None) -> Backend:
    """The backend called ``name`` (default: ``$LIBNETWORK_BACKEND`` or
    ``native``).  When the native extension cannot be imported, ``native``
    falls back to ``pyroute2`` with one logged warning."""
    global _warned
    name = name or os.environ.get("LIBNETWORK_BACKEND") or "native"
    if name not in NAMES:
        from ..errors import InvalidParameter
        raise InvalidParameter(
            f"unknown backend {name!r}: expected one of {', '.join(NAMES)}")
    if name == "native":
        from .. import _binding
        if _binding.AVAILABLE:
            from .native import NativeBackend
            return NativeBackend(root=root)
        if not _warned:
            _warned = True
            log.warning("libnetwork: native core unavailable (%s); using the "
                        "pyroute2 backend", _binding.IMPORT_ERROR)
    from .pyroute2 import Pyroute2Backend
    return Pyroute2Backend(root=root)
