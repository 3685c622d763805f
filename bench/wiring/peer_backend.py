"""Peers ``native``, ``pyroute2`` (and their ``-1by1`` variants):
libnetwork's backends executing the workload's plan.

Batched: one ``execute()`` of the whole plan (the backend cuts it into its
runs).  ``serial``: one ``execute()`` per operation, which shows what
batching buys.  Opening the backend (its root netlink socket) is untimed;
each peer instance opens its own.
"""

from __future__ import annotations

from typing import Callable, Optional

from .peer import Peer, Unavailable
from .workload import (GROUP, remove_leftovers, sandbox_paths, setup_plan,
                       teardown_plan)


def open_backend(name: str):
    """The backend called ``name``, or Unavailable (no silent fallback:
    ``select("native")`` would quietly give pyroute2)."""
    if name == "native":
        try:
            from libnetwork import _binding
        except ImportError as exc:
            raise Unavailable(f"native core not importable: {exc}") from None
        if not _binding.AVAILABLE:
            raise Unavailable("native core unavailable: "
                              f"{_binding.IMPORT_ERROR}")
        from libnetwork.backends.native import NativeBackend
        return NativeBackend()
    if name == "pyroute2":
        try:
            from libnetwork.backends.pyroute2 import Pyroute2Backend
            return Pyroute2Backend()
        except Exception as exc:   # missing, half-written, pyroute2 absent
            raise Unavailable(f"pyroute2 backend not usable: "
                              f"{type(exc).__name__}: {exc}") from None
    raise ValueError(f"unknown backend {name!r}")


def sendmsg_counter(backend) -> Optional[Callable[[], int]]:
    """A function returning the backend's cumulative ``sendmsg`` count
    (``backend.stats()["sendmsg"]``), or None for a backend without
    ``stats()``.  Called once, when the backend is opened."""
    try:
        backend.stats()
    except AttributeError:
        return None
    return lambda: backend.stats()["sendmsg"]


def failures(results, what: str) -> None:
    """Raise if any operation's result carries an errno."""
    bad = [r for r in results if r.errno]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} of {len(results)} operations "
                           f"failed, first: {bad[0]!r}")


class BackendPeer(Peer):
    """Backend ``native`` or ``pyroute2``; ``serial``: one ``execute()``
    per operation instead of one for the whole plan."""

    def __init__(self, backend: str, workdir: str, group: int = GROUP,
                 serial: bool = False):
        self.label = backend + ("-1by1" if serial else "")
        self.workdir, self.group, self.serial = workdir, group, serial
        self.backend = open_backend(backend)
        self._count = sendmsg_counter(self.backend)
        self._results: list = []
        self._n = 0

    def _run(self, plan):
        be = self.backend
        if self.serial:
            out = []
            for op in plan:
                out += be.execute((op,))
            return out
        return be.execute(plan)

    def prepare(self, n):
        return sandbox_paths(n, self.workdir)

    def wire(self, paths):
        self._n = len(paths)
        self._results = self._run(setup_plan(len(paths), self.workdir,
                                             self.group,
                                             indexes=not self.serial))

    def unwire(self, paths):
        self._n = len(paths)
        self._results = self._run(teardown_plan(len(paths), self.workdir,
                                                self.group))

    def check(self, phase):
        r, self._results = self._results, []
        failures(r, f"{self.label} {phase} {self._n}")

    def sendmsg(self):
        return None if self._count is None else self._count()

    def close(self):
        self.backend.close()

    def cleanup(self, paths):
        remove_leftovers(self.group, paths)
