"""The subnets in use in every address space, kept in step with the store.

Memory holds each subnet (:class:`~libnetwork.ipam.subnet.Subnet`) by its
key ``<space>/<subnet>``, and per space and IP version the address ranges
in use, so that overlap checks and the choice of an automatic pool cost
O(log runs).  Every change is written through to the store (see
:mod:`libnetwork.ipam.records`) before it returns.

Before acting, the allocator brings memory up to date: an address
operation reads its subnet's record and reloads it if the token differs
(:meth:`Subnets.lookup`), a pool operation reads the meta record and
reloads every changed record if the meta token differs
(:meth:`Subnets.sync_pools`).  So when a caller's transaction rolls back,
the next operation sees the store's state again (addresses and pools the
store holds are held again, those it lost are gone), at the cost of one
small read per operation; and a second allocator on the same store stays
consistent with the first (without compare-and-swap: one writer at a
time).

The caller groups changes with ``store.transaction()`` and holds the
allocator's lock; this module does neither.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import InvalidParameter, NotFound
from . import records
from .inputs import IPNetwork
from .pools import Ranges, network_range
from .subnet import Subnet

__all__ = ["Subnets"]


class Subnets:
    """The subnets of the address spaces ``spaces``, over ``store`` (or
    None: memory only), their bitmaps made by ``bitmap_cls``."""

    def __init__(self, store: Any, bitmap_cls: type, spaces: tuple):
        self._store = store
        self._bitmap_cls = bitmap_cls
        self._spaces = spaces
        self._by_key: dict[str, Subnet] = {}
        # (space, ip version) -> address ranges of the subnets in use
        self._used: dict[tuple[str, int], Ranges] = {}
        # the meta token of the store state memory matches
        self._meta_token: Optional[str] = None
        # in a batch: (keys read from the store, subnets to write at its end)
        self._batch: Optional[tuple] = None

    def all(self) -> list[Subnet]:
        """Every subnet, by key, after catching up with the store."""
        self._sync_all()
        return [s for _, s in sorted(self._by_key.items())]

    def get(self, key: str) -> Optional[Subnet]:
        """The subnet ``key``, after catching up with its record (once per
        batch: inside one, the caller's transaction holds the store)."""
        batch = self._batch
        if batch is not None:
            if key in batch[0]:
                return self._by_key.get(key)
            batch[0].add(key)
        self._sync_one(key)
        return self._by_key.get(key)

    def begin_batch(self) -> None:
        """Until :meth:`end_batch`: each subnet is read from the store
        once, and address changes are written once, at the end.  Only
        inside one store transaction that the caller holds throughout (no
        other writer can change the records meanwhile)."""
        if self._batch is None:
            self._batch = (set(), {})

    def end_batch(self) -> None:
        """Write the subnets whose addresses changed in the batch."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        for subnet in batch[1].values():
            if self._by_key.get(subnet.key) is subnet:
                self.write(subnet)

    def used(self, space: str, version: int) -> Ranges:
        """The address ranges in use in ``space`` for IPv``version``."""
        r = self._used.get((space, version))
        if r is None:
            r = self._used[(space, version)] = Ranges()
        return r

    def overlapping(self, space: str, net: IPNetwork) -> Optional[Subnet]:
        """A subnet of ``space`` that overlaps ``net``, or None."""
        if self.used(space, net.version).overlap_end(
                *network_range(net)) is None:
            return None
        for s in self._by_key.values():
            if (s.space == space and s.network.version == net.version
                    and s.network.overlaps(net)):
                return s
        return None  # pragma: no cover - the ranges mirror the subnets

    def lookup(self, pool_id: object) -> tuple[Subnet, Optional[IPNetwork]]:
        """The subnet of pool ``pool_id`` and the pool's sub-pool (None for
        the whole subnet).  Raises InvalidParameter, NotFound."""
        if not isinstance(pool_id, str):
            raise InvalidParameter(f"pool id must be a string, got {pool_id!r}")
        parts = pool_id.split("/")
        if len(parts) not in (3, 5) or not all(parts):
            raise InvalidParameter(
                f"invalid pool id {pool_id!r}: expected <space>/<subnet> or "
                f"<space>/<subnet>/<sub-pool>")
        subnet = self.get("/".join(parts[:3]))
        if subnet is None or pool_id not in subnet.pools:
            raise NotFound(f"no address pool {pool_id!r}")
        return subnet, subnet.pools[pool_id]

    # ----------------------------------------------------------- changes

    def create(self, space: str, net: IPNetwork, pool_id: str,
               sub: Optional[IPNetwork]) -> None:
        """Adds the subnet ``net`` of ``space`` holding one pool."""
        subnet = Subnet.new(space, net, pool_id, sub, self._bitmap_cls)
        token = self._bump_meta()
        self.write(subnet)
        self._meta_token = token
        self._insert(subnet)

    def write(self, subnet: Subnet, pools: Optional[dict] = None) -> None:
        """Writes ``subnet`` through to the store, holding ``pools`` (by
        default its own) that it then holds in memory too.  If the write
        fails, the subnet is marked for reloading from the store by the
        next operation (the caller undoes any other change it made)."""
        if pools is None:
            if self._batch is not None:     # written at the batch's end
                self._batch[1][subnet.key] = subnet
                return
            pools = subnet.pools
        elif self._batch is not None:
            self._batch[1].pop(subnet.key, None)
        if self._store is not None:
            try:
                token = records.write(self._store, subnet, pools)
            except BaseException:
                subnet.token = None
                raise
            subnet.token = token
        subnet.pools = pools

    def delete(self, subnet: Subnet) -> None:
        """Removes ``subnet`` (its last pool was released)."""
        token = self._bump_meta()
        if self._store is not None:
            records.delete(self._store, subnet.key)
        self._meta_token = token
        self._drop(subnet.key)

    # ------------------------------------------------------ store sync

    def reload(self) -> None:
        """Forgets memory and reloads every subnet from the store."""
        self._by_key.clear()
        self._used.clear()
        self._meta_token = None
        if self._store is not None:
            token = records.read_meta(self._store)
            self._sync_all()
            self._meta_token = token

    def sync_pools(self) -> None:
        """Makes the set of subnets match the store's, when its meta token
        says that it may differ."""
        if self._store is None:
            return
        token = records.read_meta(self._store)
        if token is None or token != self._meta_token:
            self._sync_all()
            self._meta_token = token

    def _bump_meta(self) -> Optional[str]:
        """Writes a new meta token (before the subnet record change it
        announces: if that change then fails, the tokens differ and the
        next pool operation resynchronises).  Returns it."""
        if self._store is None:
            return None
        return records.bump_meta(self._store)

    def _sync_all(self) -> None:
        """Makes memory match the store (changed records are reloaded)."""
        if self._store is None:
            return
        found = records.read_all(self._store)
        for key in [k for k in self._by_key if k not in found]:
            self._drop(key)
        for key, value in found.items():
            if not records.is_current(self._by_key.get(key), value):
                self._load(key, value)

    def _sync_one(self, key: str) -> None:
        if self._store is None:
            return
        value = records.read(self._store, key)
        if value is None:
            if key in self._by_key:
                self._drop(key)
        elif not records.is_current(self._by_key.get(key), value):
            self._load(key, value)

    def _load(self, key: str, value: object) -> None:
        subnet = records.decode(self._store, key, value, self._bitmap_cls,
                                self._spaces)
        if key in self._by_key:
            self._drop(key)
        self._insert(subnet)

    def _insert(self, subnet: Subnet) -> None:
        self._by_key[subnet.key] = subnet
        self.used(subnet.space, subnet.network.version).add(
            *network_range(subnet.network))

    def _drop(self, key: str) -> None:
        subnet = self._by_key.pop(key)
        self.used(subnet.space, subnet.network.version).remove(
            *network_range(subnet.network))
