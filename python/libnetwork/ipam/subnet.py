"""One subnet in use: its bitmap, the pools that share it, its addresses.

A *subnet* is a network in use in one address space; it owns one bitmap
whose ordinal ``i`` is the address ``network_address + i``.  The network
address (ordinal 0) and, for IPv4 shorter than /31, the broadcast address
are reserved when the subnet is created; IPv6 reserves ordinal 0 (the
subnet-router anycast address) when shorter than /127.

The pools on a subnet (the whole network, or sub-pools of it) share its
bitmap.  A sub-pool only narrows where *automatic* addresses come from;
explicit addresses may be anywhere in the subnet (the gateway, auxiliary
addresses), as in libnetwork.

Nothing here touches the store or takes a lock: the allocator does both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import (
    AddressOutOfRange,
    AlreadyAllocated,
    InvalidParameter,
    PoolExhausted,
)
from .compact import interface
from .inputs import IPAddress, IPInterface, IPNetwork

__all__ = ["Subnet", "reserved"]


def reserved(net: IPNetwork) -> tuple[int, ...]:
    """The ordinals never handed out in ``net``."""
    if net.version == 4:
        if net.prefixlen < 31:
            return (0, net.num_addresses - 1)
        return ()
    if net.prefixlen < 127:
        return (0,)
    return ()


def pool_texts(pools: dict) -> dict:
    """``pools`` (pool id -> sub-pool or None) with the sub-pools as text."""
    return {pid: (None if sub is None else str(sub))
            for pid, sub in pools.items()}


@dataclass
class Subnet:
    """A network in use in one address space, with its bitmap."""

    space: str
    network: IPNetwork
    bitmap: Any
    # pool id -> its sub-pool (None for the pool that is the whole subnet)
    pools: dict = field(default_factory=dict)
    # the token of the store record memory matches (None: reload it)
    token: Optional[str] = None

    @classmethod
    def new(cls, space: str, net: IPNetwork, pool_id: str,
            sub: Optional[IPNetwork], bitmap_cls: type) -> "Subnet":
        """A fresh subnet holding one pool, its reserved ordinals taken."""
        bitmap = bitmap_cls(net.num_addresses)
        for ordinal in reserved(net):
            bitmap.allocate_specific(ordinal)
        return cls(space, net, bitmap, {pool_id: sub})

    @property
    def key(self) -> str:
        return f"{self.space}/{self.network}"

    def describe(self) -> dict:
        """The subnet for :meth:`Allocator.dump`."""
        return {
            "space": self.space,
            "subnet": str(self.network),
            "pools": pool_texts(dict(sorted(self.pools.items()))),
            "size": self.bitmap.size,
            "free": self.bitmap.free,
            "bitmap": self.bitmap.to_bytes().hex(),
        }

    # --------------------------------------------------------- addresses

    def ordinal(self, pool_id: str, ip: IPAddress) -> int:
        """The ordinal of ``ip``; AddressOutOfRange outside the network."""
        net = self.network
        if ip.version != net.version or ip not in net:
            raise AddressOutOfRange(
                f"address {ip} is outside pool {pool_id} ({net})")
        return int(ip) - int(net.network_address)

    def interface(self, ordinal: int) -> IPInterface:
        """The address of ``ordinal`` with the subnet's prefix length."""
        net = self.network
        return interface(net.version, int(net.network_address) + ordinal,
                         net.prefixlen)

    def take(self, pool_id: str, ip: Optional[IPAddress],
             serial: bool) -> int:
        """Marks an address of pool ``pool_id`` allocated; returns its
        ordinal.  With ``ip``, exactly it (AddressOutOfRange,
        AlreadyAllocated); else the first free one of the pool's sub-pool
        (or the whole subnet), or with ``serial`` the next free one after
        the last handed out (PoolExhausted)."""
        bitmap = self.bitmap
        if ip is not None:
            ordinal = self.ordinal(pool_id, ip)
            if ordinal in reserved(self.network):
                raise AlreadyAllocated(
                    f"address {ip} is reserved in pool {pool_id} (the "
                    f"{'network' if ordinal == 0 else 'broadcast'} "
                    f"address)")
            if bitmap.is_set(ordinal):
                raise AlreadyAllocated(
                    f"address {ip} is already allocated in pool "
                    f"{pool_id}")
            bitmap.allocate_specific(ordinal)
            return ordinal
        sub = self.pools[pool_id]
        if sub is None:
            lo, hi = 0, None
        else:
            lo = int(sub.network_address) - int(self.network.network_address)
            hi = lo + sub.num_addresses
        try:
            return bitmap.allocate(serial=serial, lo=lo, hi=hi)
        except PoolExhausted:
            where = "" if sub is None else f" (sub-pool {sub})"
            raise PoolExhausted(
                f"no available addresses in pool {pool_id}{where}") from None

    def give_back(self, pool_id: str, ip: IPAddress) -> int:
        """Frees allocated address ``ip``; returns its ordinal.  Raises
        AddressOutOfRange, InvalidParameter (reserved, not allocated)."""
        ordinal = self.ordinal(pool_id, ip)
        if ordinal in reserved(self.network):
            raise InvalidParameter(
                f"address {ip} is reserved in pool {pool_id} and cannot "
                f"be released")
        if not self.bitmap.is_set(ordinal):
            raise InvalidParameter(
                f"address {ip} is not allocated in pool {pool_id}")
        self.bitmap.release(ordinal)
        return ordinal
