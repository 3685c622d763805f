"""The "default" IPAM driver: address spaces, pools and addresses.

This is libnetwork's ``ipam.Allocator`` (ipamapi's RequestPool,
ReleasePool, RequestAddress, ReleaseAddress) over the sparse bitmap of
:mod:`libnetwork.ipam` (the C core's, or its pure-Python twin).

Model
-----
* Two address spaces, ``LocalDefault`` and ``GlobalDefault``.
* A *subnet* is a network in use in one space, with one bitmap of its
  addresses (:mod:`libnetwork.ipam.subnet`).
* A *pool* is what a caller holds: ``<space>/<subnet>`` or, with a
  sub-pool, ``<space>/<subnet>/<sub_pool>``.  Pools on the same subnet
  share its bitmap; the subnet lives as long as one of its pools does
  (libnetwork's RefCount).
* Every change is in the store before a method returns, and every method
  first catches up with the store (:mod:`libnetwork.ipam.subnets`; the
  record format is :mod:`libnetwork.ipam.records`).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from .. import netlabel
from ..errors import InvalidParameter, PoolExhausted, PoolOverlap
from .inputs import (
    IPAddress,
    IPInterface,
    IPNetwork,
    check_options,
    host_ranges,
    parse_address,
    pool_request,
)
from .pools import GLOBAL_DEFAULT_POOLS, LOCAL_DEFAULT_POOLS, DefaultPools
from .records import META_KIND, STORE_KIND
from .subnets import Subnets

__all__ = ["Allocator", "LOCAL_ADDRESS_SPACE", "GLOBAL_ADDRESS_SPACE",
           "STORE_KIND", "META_KIND"]

LOCAL_ADDRESS_SPACE = "LocalDefault"
GLOBAL_ADDRESS_SPACE = "GlobalDefault"


class Allocator:
    """libnetwork's default IPAM driver.

    ``store``: a :class:`~libnetwork.store.Store` (or None: memory only);
    its records are loaded now (see :meth:`restore`).
    ``host_networks``: a callable returning the host's routed networks
    (ipaddress networks, interfaces or addresses, or CIDR strings; a
    plain iterable is accepted too); automatic pools never overlap one.
    The default route (a /0) is not a conflict, as in libnetwork's
    CheckRouteOverlaps.  It is called lazily: only when
    :meth:`request_pool` chooses an automatic pool, once per such
    request, and never with the allocator's lock held.
    ``default_pools``: ``[{"base": CIDR, "size": prefixlen}, ...]`` to
    replace the local address space's default pools (Docker's
    ``default-address-pools``).
    ``bitmap_cls``: the bitmap class (default :class:`libnetwork.ipam.Bitmap`).

    Every method is thread-safe.  Errors: InvalidParameter (bad input;
    nothing changes), NotFound (unknown pool id), PoolOverlap,
    PoolExhausted, AlreadyAllocated, AddressOutOfRange.

    Lock order: the store's transaction first, then the allocator's lock
    (held while it reads and writes the store).  Every method enters a
    store transaction before it takes its lock (nested in the caller's,
    if any), so callers inside and outside transactions never deadlock.
    """

    def __init__(self, store: Any = None,
                 host_networks: Union[Callable[[], Iterable], Iterable,
                                      None] = None,
                 default_pools: Optional[Iterable[Mapping]] = None,
                 bitmap_cls: Optional[type] = None):
        if bitmap_cls is None:
            from . import Bitmap as bitmap_cls  # noqa: N813
        self._host_networks = host_networks
        local = DefaultPools(LOCAL_DEFAULT_POOLS if default_pools is None
                             else default_pools)
        self._defaults = {
            LOCAL_ADDRESS_SPACE: local,
            GLOBAL_ADDRESS_SPACE: DefaultPools(GLOBAL_DEFAULT_POOLS),
        }
        self._lock = threading.RLock()
        self._store = store
        self._subnets = Subnets(store, bitmap_cls, tuple(self._defaults))
        if store is not None:
            self.restore()

    @contextlib.contextmanager
    def _locked(self):
        """The store's transaction, then the allocator's lock."""
        if self._store is None:
            with self._lock:
                yield
        else:
            with self._store.transaction(), self._lock:
                yield

    # ------------------------------------------------------------ spaces

    @staticmethod
    def get_default_address_spaces() -> tuple[str, str]:
        """``("LocalDefault", "GlobalDefault")`` (GetDefaultAddressSpaces)."""
        return LOCAL_ADDRESS_SPACE, GLOBAL_ADDRESS_SPACE

    def _check_space(self, space: object) -> str:
        if not isinstance(space, str) or space not in self._defaults:
            raise InvalidParameter(
                f"unknown address space {space!r}: the default IPAM driver "
                f"has {LOCAL_ADDRESS_SPACE!r} and {GLOBAL_ADDRESS_SPACE!r}")
        return space

    # ------------------------------------------------------------- pools

    def request_pool(self, address_space: str,
                     pool: Union[str, IPNetwork, None] = None,
                     sub_pool: Union[str, IPNetwork, None] = None,
                     options: Optional[Mapping] = None,
                     v6: bool = False) -> tuple[str, IPNetwork, dict]:
        """Reserves a pool in ``address_space`` (RequestPool).

        Without ``pool``, the first default pool of the space (IPv4 only)
        that overlaps neither a pool in use in the space nor a host
        network.  With ``pool``, exactly that network: it must not overlap
        a pool in use, except that further pools with distinct sub-pools
        may share one network (they share its addresses).  ``sub_pool``
        restricts automatic addresses to a part of ``pool``.

        An empty string means "not given", as in libnetwork.

        Returns ``(pool_id, network, meta)``; ``meta`` is always ``{}``.
        Raises InvalidParameter, PoolOverlap, PoolExhausted.
        """
        space = self._check_space(address_space)
        check_options(options)
        net, sub = pool_request(pool, sub_pool, v6)
        if net is None:
            return self._request_default_pool(space)

        key = f"{space}/{net}"
        pool_id = key if sub is None else f"{key}/{sub}"
        with self._locked():
            self._subnets.sync_pools()
            subnet = self._subnets.get(key)
            if subnet is not None:
                if pool_id in subnet.pools:
                    raise PoolOverlap(
                        f"pool {pool_id} is already in use")
                if sub is None:
                    raise PoolOverlap(
                        f"pool {net} is already in use in address space "
                        f"{space} (by {', '.join(sorted(subnet.pools))})")
                self._subnets.write(subnet, {**subnet.pools, pool_id: sub})
                return pool_id, net, {}
            other = self._subnets.overlapping(space, net)
            if other is not None:
                raise PoolOverlap(
                    f"pool {net} overlaps {other.network}, in use in address "
                    f"space {space} (by {', '.join(sorted(other.pools))})")
            self._subnets.create(space, net, pool_id, sub)
            return pool_id, net, {}

    def _request_default_pool(self, space: str) -> tuple[str, IPNetwork, dict]:
        # The one call of host_networks, before the lock is taken.
        source = self._host_networks
        hosts = host_ranges(source() if callable(source) else source, 4)
        with self._locked():
            self._subnets.sync_pools()
            defaults = self._defaults[space]
            net = defaults.first_free(self._subnets.used(space, 4), hosts)
            if net is None:
                raise PoolExhausted(
                    f"no available IPv4 pool in address space {space}: each "
                    f"of its {len(defaults)} default pools overlaps a pool in "
                    f"use or a host network")
            pool_id = f"{space}/{net}"
            self._subnets.create(space, net, pool_id, None)
            return pool_id, net, {}

    def release_pool(self, pool_id: str) -> None:
        """Releases a pool (ReleasePool).  The subnet and its addresses go
        when its last pool does.  Raises InvalidParameter, NotFound."""
        with self._locked():
            # In step with the store's set of subnets before changing it
            # (the new meta token then stands for what memory holds).
            self._subnets.sync_pools()
            subnet, _ = self._subnets.lookup(pool_id)
            pools = dict(subnet.pools)
            del pools[pool_id]
            if pools:
                self._subnets.write(subnet, pools)
            else:
                self._subnets.delete(subnet)

    # --------------------------------------------------------- addresses

    def request_address(self, pool_id: str,
                        address: Union[str, IPAddress, None] = None,
                        options: Optional[Mapping] = None) -> IPInterface:
        """An address of the pool, with the pool's prefix length
        (RequestAddress).

        Without ``address``: the first free address (in the sub-pool, if
        the pool has one), or the next free one after the last handed out
        when ``options[netlabel.IPAM_SERIAL] == "true"``.  With
        ``address``: exactly it, anywhere in the pool's network.  A
        gateway request (``options[netlabel.REQUEST_ADDRESS_TYPE] ==
        netlabel.GATEWAY``) is served the same way.  An empty string
        ``address`` means "not given", as in libnetwork.

        Raises InvalidParameter, NotFound, AddressOutOfRange (not in the
        pool), AlreadyAllocated (taken or reserved), PoolExhausted.
        """
        opts = check_options(options)
        serial = opts.get(netlabel.IPAM_SERIAL) in ("true", True)
        if isinstance(address, str) and address == "":
            address = None
        ip = None if address is None else parse_address(address)
        with self._locked():
            subnet, _ = self._subnets.lookup(pool_id)
            ordinal = subnet.take(pool_id, ip, serial)
            try:
                self._subnets.write(subnet)
            except BaseException:
                subnet.bitmap.release(ordinal)
                raise
            return subnet.interface(ordinal)

    def request_addresses(self, pool_id: str, count: int,
                          options: Optional[Mapping] = None) -> list:
        """``count`` addresses of the pool, as :meth:`request_address`
        without ``address`` gives them one by one, with one store write.
        All or nothing: PoolExhausted when fewer are free."""
        if not isinstance(count, int) or isinstance(count, bool) or \
                count < 0:
            raise InvalidParameter(f"address count must be an int >= 0, "
                                   f"got {count!r}")
        opts = check_options(options)
        serial = opts.get(netlabel.IPAM_SERIAL) in ("true", True)
        with self._locked():
            subnet, _ = self._subnets.lookup(pool_id)
            taken = []
            try:
                for _ in range(count):
                    taken.append(subnet.take(pool_id, None, serial))
                if taken:
                    self._subnets.write(subnet)
            except BaseException:
                for ordinal in taken:
                    subnet.bitmap.release(ordinal)
                raise
            return [subnet.interface(o) for o in taken]

    @contextlib.contextmanager
    def batch(self):
        """Many address requests and releases as one: each subnet is read
        from the store once and written once, when the block ends (also
        when it raises: the caller's transaction decides).  Holds the
        store's transaction and the allocator's lock throughout."""
        with self._locked():
            self._subnets.begin_batch()
            try:
                yield self
            finally:
                self._subnets.end_batch()

    def release_address(self, pool_id: str,
                        address: Union[str, IPAddress]) -> None:
        """Frees an address of the pool (ReleaseAddress).

        Raises InvalidParameter (not an address; reserved; not allocated),
        NotFound (pool), AddressOutOfRange (not in the pool's network).
        """
        if address is None:
            raise InvalidParameter("invalid address: None")
        ip = parse_address(address)
        with self._locked():
            subnet, _ = self._subnets.lookup(pool_id)
            ordinal = subnet.give_back(pool_id, ip)
            try:
                self._subnets.write(subnet)
            except BaseException:
                subnet.bitmap.allocate_specific(ordinal)
                raise

    # -------------------------------------------------------- inspection

    def dump(self) -> dict:
        """The state, for debugging and tests (libnetwork's DumpDatabase):
        ``{subnet_key: {"space", "subnet", "pools", "size", "free",
        "bitmap" (hex of the serialized bitmap)}}``."""
        with self._locked():
            return {s.key: s.describe() for s in self._subnets.all()}

    def pool_ids(self) -> list[str]:
        """Every pool id held, sorted."""
        with self._locked():
            return sorted(pid for s in self._subnets.all() for pid in s.pools)

    def restore(self) -> None:
        """Forgets the in-memory state and reloads every pool and bitmap
        from the store (done by the constructor).  Raises LibnetworkError
        for a record it cannot read, rather than forget what it held."""
        with self._locked():
            self._subnets.reload()
