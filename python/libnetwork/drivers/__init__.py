"""Network drivers: what the kernel must look like for a network.

A driver never talks to the kernel itself.  Each method returns a *plan*: a
list of ``(op, undo)`` steps (``undo`` is the operation that reverses
``op``, or None), which the controller executes in one backend batch -- and
merges across many endpoints for the batch API -- and reverses from the
per-operation results when a step fails.  This keeps one endpoint's setup at
a handful of batched requests and makes "a failed batch leaves the kernel as
it was" a property of the controller, not of every driver.

Drivers (as libnetwork's driverapi): ``create_network``, ``delete_network``,
``create_endpoint``, ``delete_endpoint``, ``join``, ``leave``; ``type``,
``scope``.  Built in: bridge, host, null.  Later: macvlan, overlay, remote.
"""

from __future__ import annotations

from typing import Protocol

from ..backends import ops as O

Step = tuple  # (op, undo-op or None)
Plan = list


class Driver(Protocol):
    type: str
    scope: str          # "local" or "global"
    singleton: bool     # only one network of this type (host, null)

    def create_network(self, nw) -> Plan: ...
    def delete_network(self, nw) -> Plan: ...
    def create_endpoint(self, nw, ep) -> None: ...
    def delete_endpoint(self, nw, ep) -> None: ...
    def join(self, nw, ep, sb, ifname: str) -> Plan: ...
    def leave(self, nw, ep, sb) -> Plan: ...


def builtin_drivers(controller) -> dict:
    from .bridge import BridgeDriver
    from .host import HostDriver
    from .null import NullDriver
    return {d.type: d for d in (BridgeDriver(controller), HostDriver(),
                                NullDriver())}


__all__ = ["Driver", "Plan", "Step", "builtin_drivers", "O"]
