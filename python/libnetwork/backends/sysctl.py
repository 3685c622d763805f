"""Sysctl writes in a namespace: what both backends share for
:class:`~.ops.Sysctl`.

``/proc/sys/net`` shows the network namespace of the thread that opens a
file under it, so a write in a namespace other than the caller's happens on
a short-lived thread that enters it (``setns``) and then ends: the caller's
own thread never changes namespace.
"""

from __future__ import annotations

import ctypes
import errno as E
import logging
import os
import threading

log = logging.getLogger("libnetwork")

CLONE_NEWNET = 0x40000000
PROC_SYS = "/proc/sys"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)


def _write_here(key: str, value: str, missing_ok: bool = False):
    """(errno, message, previous value) of one write in this thread's
    namespace."""
    path = f"{PROC_SYS}/{key}"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return 0, "", None
        return E.ENOENT, f"{path}: {os.strerror(E.ENOENT)}", None
    except OSError as exc:
        err = exc.errno or E.EIO
        return err, f"{path}: {os.strerror(err)}", None
    try:
        old = os.read(fd, 4096).decode(errors="replace").strip()
        if old != value:
            os.pwrite(fd, value.encode(), 0)    # a sysctl is written at 0
            log.info("sysctl %s: %s -> %s", key.replace("/", "."), old,
                     value)
        return 0, "", old
    except OSError as exc:
        err = exc.errno or E.EIO
        return err, f"{path}: {os.strerror(err)}", None
    finally:
        os.close(fd)


def write(ns, items: list) -> list:
    """Write ``(key, value, missing_ok)`` items in namespace ``ns`` (a
    bound path; ``None``: the caller's): ``(errno, message, previous
    value)`` each."""
    if ns is None:
        return [_write_here(*item) for item in items]
    out: list = []

    def work():
        try:
            fd = os.open(ns, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            err = exc.errno or E.EIO
            out.extend([(err, f"namespace {ns}: {os.strerror(err)}", None)]
                       * len(items))
            return
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno() or E.EIO
                out.extend([(err, f"setns {ns}: {os.strerror(err)}",
                             None)] * len(items))
                return
        finally:
            os.close(fd)
        out.extend(_write_here(*item) for item in items)

    t = threading.Thread(target=work, name="libnetwork-sysctl")
    t.start()
    t.join()
    return out


def read_proc(ns, name: str) -> str:
    """The text of ``/proc/thread-self/<name>`` (a per-namespace file such
    as ``net/dev``) as namespace ``ns`` shows it (None: the caller's)."""
    def here():
        with open(os.path.join("/proc/thread-self", name)) as f:
            return f.read()
    return _in_ns(ns, here)


def _in_ns(ns, fn):
    """``fn()`` in namespace ``ns`` (None: here), on a thread that enters
    it and ends; its result, or its OSError raised."""
    if ns is None:
        return fn()
    box: dict = {}

    def work():
        try:
            fd = os.open(ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno() or E.EIO
                    raise OSError(err, f"setns {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except OSError as exc:
            box["error"] = exc
    t = threading.Thread(target=work, name="libnetwork-proc")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def read(ns, key: str) -> str:
    """The value of ``key`` in namespace ``ns`` (None: the caller's);
    OSError when it cannot be read."""
    def here():
        with open(os.path.join(PROC_SYS, key)) as f:
            return f.read().strip()
    return _in_ns(ns, here)
