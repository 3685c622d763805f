"""A container's network namespace, made and removed as a runtime does
(podman, containerd: a thread of the runtime's own process unshares its
network namespace and bind-mounts it on a file; removal is umount +
unlink), so that the exec peers pay for a namespace what libnetwork's
attach pays (it creates the namespace too), not an extra process."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 2


def _fail(what: str):
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def create(path: str) -> None:
    """A new network namespace bound at ``path`` (which must not exist)."""
    box: list = []

    def work():
        try:
            with open(path, "x"):
                pass
            if _libc.unshare(CLONE_NEWNET) != 0:
                _fail("unshare")
            tid = threading.get_native_id()
            if _libc.mount(f"/proc/self/task/{tid}/ns/net".encode(),
                           os.fsencode(path), None, MS_BIND, None) != 0:
                _fail(f"bind {path}")
        except BaseException as exc:          # reported on the caller
            box.append(exc)
    t = threading.Thread(target=work, name="bench-netns")
    t.start()
    t.join()
    if box:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise box[0]


def delete(path: str) -> None:
    """Unbind and unlink ``path`` (best effort on a half-made one)."""
    _libc.umount2(os.fsencode(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
