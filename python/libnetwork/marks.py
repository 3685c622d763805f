"""The marks that prove a kernel object is this package's: link groups.

Every link a network creates carries the network's link group; teardown
moves links to a short-lived group of its own to delete them in one kernel
call.  Reconcile treats a link in either range without a record explaining
it as an orphan of ours.
"""

from __future__ import annotations

from .errors import Conflict
from .plan import GROUP_TEMP

__all__ = ["GROUP_BASE", "GROUP_TEMP", "GROUP_MASK", "is_ours",
           "network_group"]

GROUP_BASE = 0x4C4E0000      # "LN": link groups of networks
GROUP_MASK = 0xFFFE0000      # both "LN" and "LO" (GROUP_TEMP)


def is_ours(group: int) -> bool:
    return group & GROUP_MASK == GROUP_BASE & GROUP_MASK


def network_group(networks) -> int:
    """A link group no network in ``networks`` uses."""
    used = {nw.driver_state.get("group") for nw in networks}
    for k in range(1, 0x10000):
        if GROUP_BASE | k not in used:
            return GROUP_BASE | k
    raise Conflict("no free link group for another network")
