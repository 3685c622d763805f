"""The one interface every wiring peer implements, declared here only.

A peer is a tool driven the way its users run it, building the workload of
:mod:`.workload`.  The harness (:class:`.harness.Wiring`) calls, for one
wiring: ``prepare(n)``, then ``wire(paths)`` (timed), then ``check("wire")``;
for its teardown ``unwire(paths)`` (timed), then ``check("unwire")``;
around both, ``sendmsg()`` (untimed); at the end ``close()``, then
``cleanup(paths)`` if a run was left behind.  Everything but ``wire`` and
``unwire`` is untimed.
"""

from __future__ import annotations

import abc
from typing import Optional


class Unavailable(RuntimeError):
    """This peer cannot run here (reason in the message): skip it."""


class Peer(abc.ABC):
    """One tool wiring the workload.  ``label``: its name in the report."""

    label: str

    @abc.abstractmethod
    def prepare(self, n: int) -> list[str]:
        """The sandbox paths of endpoints ``0..n-1``, once nothing is in
        their way."""

    @abc.abstractmethod
    def wire(self, paths: list[str]) -> None:
        """Wire one endpoint per sandbox path (timed: building the
        requests is part of what the caller pays)."""

    @abc.abstractmethod
    def unwire(self, paths: list[str]) -> None:
        """Remove every endpoint, then every sandbox (timed)."""

    @abc.abstractmethod
    def check(self, phase: str) -> None:
        """Raise if the tool reported a failure in ``phase`` ("wire" or
        "unwire"); the kernel state is the workload's to check."""

    @abc.abstractmethod
    def sendmsg(self) -> Optional[int]:
        """Cumulative ``sendmsg`` calls of the peer's backend, or None
        when it counts none."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of every socket and file descriptor (some are held in
        the sandboxes)."""

    @abc.abstractmethod
    def cleanup(self, paths: list[str]) -> None:
        """Best effort, after ``close``: remove whatever a failed run
        left."""
