"""The exec peers by name, and one timed run of N containers: every
container set up, one after another (as podman and containerd call the
tools: one container at a time), then every one torn down.  The phases
are recorded as ``attach`` and ``detach`` so that they sit next to
libnetwork's ``attach()`` / ``detach()`` of the same N.  CPU time includes
the plugins' (``RUSAGE_CHILDREN``)."""

from __future__ import annotations

from wiring.measure import Meter, Timing

from .cni import VARIANTS as CNI_VARIANTS, CniPeer
from .netavark import VARIANTS as NAV_VARIANTS, NetavarkPeer

EXEC_PEERS = CNI_VARIANTS + NAV_VARIANTS


def make(label: str, workdir: str):
    """The peer called ``label`` (Unavailable when its tools are
    missing)."""
    if label in CNI_VARIANTS:
        return CniPeer(label, workdir)
    if label in NAV_VARIANTS:
        return NetavarkPeer(label, workdir)
    raise ValueError(f"unknown exec peer {label!r}")


def run(peer, n: int, between=None) -> tuple[Timing, Timing]:
    """(attach Timing, detach Timing) of ``n`` containers, checked
    untimed after each phase; ``between()`` runs untimed between the two
    (the settling of the kernel)."""
    e0 = peer.execs
    with Meter(peer.label, "attach", n) as a:
        for i in range(n):
            peer.add(i)
    a.timing.extra["execs"] = peer.execs - e0
    peer.check(n)
    if between:
        between()
    e0 = peer.execs
    with Meter(peer.label, "detach", n) as d:
        for i in range(n):
            peer.delete(i)
    d.timing.extra["execs"] = peer.execs - e0
    peer.check(0)
    return a.timing, d.timing
