"""Directories the package creates: every level it creates gets its mode
explicitly, whatever the process's umask (the exec root and what the
kernel's namespaces are bound in 0755, intents 0700, the data directory
0700)."""

from __future__ import annotations

import os

__all__ = ["makedirs"]


def makedirs(path: str, mode: int) -> None:
    """``mkdir -p`` with ``mode`` on every directory it creates (existing
    ones are left as they are)."""
    missing = []
    p = os.path.abspath(path)
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue                 # made meanwhile by another process
        os.chmod(d, mode)
