"""The peers by name: which exist, which the report runs by default, and
the harness around the one called ``impl``."""

from __future__ import annotations

import os

from .harness import Wiring
from .peer import Peer, Unavailable
from .peer_backend import BackendPeer
from .peer_ip_batch import IpBatchPeer
from .peer_iproute import IPRoutePeer
from .workload import GROUP, require_isolated

IMPLS = ("native", "pyroute2", "ip-batch", "native-1by1", "pyroute2-1by1",
         "pyroute2-iproute")
DEFAULT_IMPLS = ("native", "pyroute2", "ip-batch", "native-1by1",
                 "pyroute2-iproute")


def _builder(impl: str):
    """A function ``(workdir, group) -> Peer`` for ``impl``."""
    if impl in ("native", "pyroute2"):
        return lambda d, g: BackendPeer(impl, d, g)
    if impl in ("native-1by1", "pyroute2-1by1"):
        return lambda d, g: BackendPeer(impl.split("-")[0], d, g,
                                        serial=True)
    if impl == "ip-batch":
        return lambda d, g: IpBatchPeer(d, g)
    if impl == "pyroute2-iproute":
        return IPRoutePeer
    if impl.startswith("ip-batch-j") and impl[10:].isdigit():
        return lambda d, g: IpBatchPeer(d, g, jobs=int(impl[10:]))
    raise ValueError(f"unknown implementation {impl!r}: one of "
                     f"{', '.join(IMPLS)} or ip-batch-jJ")


def peer(impl: str, workdir: str, group: int = GROUP) -> Peer:
    """The peer called ``impl`` (see :data:`IMPLS`; also ``ip-batch-jJ``),
    its work directory created.  Raises :class:`Unavailable` when it
    cannot run here."""
    build = _builder(impl)
    why = require_isolated()
    if why:
        raise Unavailable(why)
    os.makedirs(workdir, exist_ok=True)
    return build(workdir, group)


def make(impl: str, workdir: str, group: int = GROUP,
         check: bool = True) -> Wiring:
    """The harness around the peer called ``impl``."""
    return Wiring(peer(impl, workdir, group), group, check)
