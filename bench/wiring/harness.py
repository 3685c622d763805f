"""Drives one peer through wire and unwire: the untimed preparation and
checks of the workload around the timed calls, each timed call measured.

Each phase is begin (untimed) / timed / end (untimed result checks), so
that pytest-benchmark can time the kernel work alone; ``wire(n)`` and
``unwire()`` do all three.  The backend's ``sendmsg`` count is read
outside the timing, before and after.
"""

from __future__ import annotations

from .measure import Meter, Timing
from .peer import Peer
from .workload import GROUP, MAX_N, check_unwired, check_wired, ensure_bridge


class Wiring:
    """One peer, wired at most once at a time.  ``check``: verify the
    kernel state after every wiring (the teardown is always verified)."""

    def __init__(self, peer: Peer, group: int = GROUP, check: bool = True):
        self.peer = peer
        self.label = peer.label
        self.group = group
        self.check = check
        self.n = 0
        self.paths: list[str] = []
        self._open = True

    @property
    def wired(self) -> bool:
        return bool(self.n)

    def _timed(self, phase: str, do, collect: bool) -> Timing:
        sent = self.peer.sendmsg()
        with Meter(self.label, phase, self.n, collect) as m:
            do(self.paths)
        if sent is not None:
            m.timing.extra["sendmsg"] = self.peer.sendmsg() - sent
        return m.timing

    def begin_wire(self, n: int) -> None:
        if self.n:
            raise RuntimeError(f"{self.label}: already wired, unwire first")
        if not 0 < n <= MAX_N:
            raise ValueError(f"n must be 1..{MAX_N}")
        ensure_bridge()
        self.paths = self.peer.prepare(n)
        self.n = n

    def timed_wire(self, collect: bool = True) -> Timing:
        return self._timed("wire", self.peer.wire, collect)

    def end_wire(self) -> None:
        self.peer.check("wire")
        if self.check:
            check_wired(self.label, self.n, self.paths, self.group)

    def begin_unwire(self) -> None:
        if not self.n:
            raise RuntimeError(f"{self.label}: nothing wired")

    def timed_unwire(self, collect: bool = True) -> Timing:
        return self._timed("unwire", self.peer.unwire, collect)

    def end_unwire(self) -> None:
        self.peer.check("unwire")
        self.n = 0
        check_unwired(self.label, self.paths)
        self.paths = []

    def wire(self, n: int) -> Timing:
        """Wire ``n`` endpoints; the timing covers the kernel work only
        (not the bridge check before, nor the result checks after)."""
        self.begin_wire(n)
        t = self.timed_wire()
        self.end_wire()
        return t

    def unwire(self) -> Timing:
        """Remove every endpoint wired; checks it is all gone."""
        self.begin_unwire()
        t = self.timed_unwire()
        self.end_unwire()
        return t

    def close(self) -> None:
        """Close the peer, then remove whatever a failed run left."""
        if not self._open:
            return
        self._open = False
        try:
            self.peer.close()
        finally:
            if self.n or self.paths:
                try:
                    self.peer.cleanup(self.paths)
                finally:
                    self.n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
