"""Network namespaces for the pyroute2 backend, without moving any thread
that matters.

* :func:`socket_in` opens a netlink socket inside a bound
  namespace: the calling thread enters it for the ``socket()`` call only
  and returns (or :class:`NamespaceSwitchError` is raised);
* :func:`create` binds new namespaces: short-lived threads
  ``unshare(CLONE_NEWNET)`` and bind-mount ``/proc/thread-self/ns/net``
  onto each path, opening a socket while inside, then end;
* :func:`delete` detaches (``umount2(MNT_DETACH)``) and unlinks;
* :class:`Fds` holds the namespace descriptors a batch's requests carry.

A large batch of distinct paths is shared by one thread per CPU, as the C
core does (csrc/netns.c): the kernel builds and tears down namespaces in
parallel, and ctypes lets go of the GIL in ``unshare`` and ``mount``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno as E
import os
import resource
import socket
import threading
from typing import Optional

__all__ = ["NamespaceSwitchError", "Fds", "socket_in", "raw_socket",
           "create", "create_one", "delete", "ident", "raise_nofile"]

NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2

_THREAD_NS = "/proc/thread-self/ns/net"
_PER_HELPER = 32               # paths per helper thread, as csrc/netns.c
_MAX_HELPERS = 8

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                    use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_void_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)

_nofile_raised = False


class NamespaceSwitchError(RuntimeError):
    """The calling thread could not return to its own network namespace.

    Deliberately not an OSError: nothing may treat this as a per-operation
    failure and carry on in the wrong namespace.
    """


def raise_nofile():
    """Many namespaces mean many sockets: lift the soft fd limit once."""
    global _nofile_raised
    if _nofile_raised:
        return
    _nofile_raised = True
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass


def ident(path: str):
    """A namespace's identity: the (st_dev, st_ino) of its nsfs inode."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


class Fds:
    """``fds(path)``: a descriptor of the namespace bound at ``path``, each
    opened once and all closed together on leaving the ``with`` block (a
    request naming one by ``IFLA_NET_NS_FD`` is done with it by its
    ack)."""

    def __init__(self):
        self._fds: dict = {}

    def __call__(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise OSError(exc.errno,
                              f"namespace {path}: {exc.strerror}") from None
            self._fds[path] = fd
        return fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def _errno() -> int:
    return ctypes.get_errno() or E.EIO


def raw_socket(proto: int = NETLINK_ROUTE) -> socket.socket:
    """An unconfigured netlink socket (rtnetlink unless ``proto`` says
    otherwise) in the calling thread's namespace."""
    return socket.socket(socket.AF_NETLINK,
                         socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, proto)


def socket_in(path: Optional[str],
              proto: int = NETLINK_ROUTE) -> socket.socket:
    """An (unconfigured) netlink socket of ``proto`` living in the
    namespace bound at ``path`` (``None``: the calling thread's).  The
    thread enters the namespace only for the ``socket()`` call."""
    if path is None:
        return raw_socket(proto)
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        home = os.open(_THREAD_NS, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                err = _errno()
                raise OSError(err, f"setns {path}: {os.strerror(err)}")
            try:
                sock = raw_socket(proto)
            finally:
                if _libc.setns(home, CLONE_NEWNET) != 0:
                    err = _errno()
                    raise NamespaceSwitchError(
                        f"cannot return thread {threading.get_native_id()} "
                        f"to its network namespace after entering {path}: "
                        f"{os.strerror(err)}")
        finally:
            os.close(home)
    finally:
        os.close(target)
    return sock


def _helpers(paths) -> int:
    """Threads for creating or deleting ``paths``: one per CPU and per 32
    paths, and one only when a path repeats (the first must win, as in
    order)."""
    h = min(len(paths) // _PER_HELPER, os.cpu_count() or 1, _MAX_HELPERS)
    if h < 2 or len(set(paths)) != len(paths):
        return 1
    return h


def _share(paths, fn, name, threads, caller_works):
    """``[fn(path) for path in paths]`` on ``threads`` helper threads (and
    the calling thread too when ``caller_works``); a path whose thread died
    gets ``None``."""
    out: list = [None] * len(paths)
    todo = iter(range(len(paths)))      # next() is atomic under the GIL

    def work():
        for i in todo:
            out[i] = fn(paths[i])

    helpers = [threading.Thread(target=work, name=f"{name}-{k}")
               for k in range(threads)]
    for t in helpers:
        t.start()
    if caller_works:
        work()
    for t in helpers:
        t.join()
    return out


def create(paths) -> list:
    """``ip netns add`` for each path, on short-lived threads that each
    ``unshare`` into new namespaces (so the caller never moves):
    ``(errno, message, socket inside or None)`` per path."""
    out = _share(paths, create_one, "libnetwork-netns-create",
                 _helpers(paths), False)
    return [(E.EIO, "namespace thread died", None) if r is None else r
            for r in out]


def delete(paths) -> list:
    """``ip netns del`` for each path: ``(errno, message)`` per path.  Each
    detach waits for an RCU grace period; a large batch of distinct paths
    is shared by threads (the caller takes its share), so the waits
    overlap."""
    out = _share(paths, _delete_one, "libnetwork-netns-delete",
                 _helpers(paths) - 1, True)
    return [(E.EIO, "namespace thread died") if r is None else r
            for r in out]


def create_one(path: str):
    """Runs on a namespace thread, which it leaves in the new namespace:
    bind a new namespace at ``path``; ``(errno, message, socket in it or
    None)``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                     0o444)
    except OSError as exc:
        return (exc.errno, f"{path}: {exc.strerror}", None)
    os.close(fd)
    if _libc.unshare(CLONE_NEWNET) != 0:
        err = _errno()
        _unlink_quiet(path)
        return (err, f"unshare: {os.strerror(err)}", None)
    if _libc.mount(_THREAD_NS.encode(), os.fsencode(path), None, MS_BIND,
                   None) != 0:
        err = _errno()
        _unlink_quiet(path)
        return (err, f"bind {path}: {os.strerror(err)}", None)
    try:
        sock = raw_socket()
    except OSError:
        sock = None        # the namespace exists; a socket comes later
    return (0, "", sock)


def _delete_one(path: str):
    """Detach and unlink ``path``: ``(errno, message)``."""
    if _libc.umount2(os.fsencode(path), MNT_DETACH) != 0:
        err = _errno()
        # EINVAL: not a mount point (the binding is already gone); the
        # file is still ours to remove
        if err != E.EINVAL:
            return (err, f"umount {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except OSError as exc:
        return (exc.errno, f"unlink {path}: {exc.strerror}")
    return (0, "")


def _unlink_quiet(path):
    try:
        os.unlink(path)
    except OSError:
        pass
