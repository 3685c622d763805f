"""How the sandbox files are read and written: bytes as text, in place,
one read-modify-write at a time per path.

Text is UTF-8 with ``surrogateescape``, so any byte round-trips through
``str``.  Writes truncate and rewrite the file *in place*, as libnetwork
does: a container runtime bind-mounts these files one by one, and a rename
would leave the container on the old inode, blind to every later update.
So a write is not atomic, and there is no fsync: the files live on the run
directory's tmpfs and are rebuilt from the store.  A reader-writer cycle
on one path holds that path's lock (etchosts' pathLock).
"""

from __future__ import annotations

import os
import threading
import zlib

from ..dirs import makedirs

__all__ = ["FILE_MODE", "DIR_MODE", "read", "read_or_empty", "encode",
           "write_file", "make_parent", "path_lock", "forget_path"]

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"      # any byte round-trips through str
FILE_MODE = 0o644
DIR_MODE = 0o755


def read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode(_ENCODING, _ERRORS)


def read_or_empty(path: str) -> str:
    """The text of ``path``; a missing file counts as empty."""
    try:
        return read(path)
    except FileNotFoundError:
        return ""


def encode(text: str) -> bytes:
    return text.encode(_ENCODING, _ERRORS)


def write_file(path: str, data: bytes, mode: int = FILE_MODE) -> None:
    """Writes ``data`` to ``path`` in place (truncate, write)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                 mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def make_parent(path: str) -> None:
    """Creates the directory of ``path`` if needed."""
    directory = os.path.dirname(os.path.abspath(path))
    makedirs(directory, DIR_MODE)


# A fixed set of locks, a path's chosen by a hash of its absolute form: no
# state per path (thousands of sandboxes keep no lock objects alive), and
# two paths that share a lock only wait for each other.
_STRIPES = 64
_locks = tuple(threading.RLock() for _ in range(_STRIPES))


def path_lock(path: str) -> threading.RLock:
    """The lock of ``path``'s read-modify-write cycles (the same for every
    spelling of the path)."""
    key = os.fsencode(os.path.abspath(path))
    return _locks[zlib.crc32(key) % _STRIPES]


def forget_path(path: str) -> None:
    """``etchosts.Drop``: nothing to drop, locks are not kept per path."""
