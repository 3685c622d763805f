"""The "default" IPAM driver: address spaces, pools and addresses.

This is libnetwork's ``ipam.Allocator`` (ipamapi's RequestPool,
ReleasePool, RequestAddress, ReleaseAddress) over the sparse bitmap of
:mod:`libnetwork.ipam` (the C core's, or its pure-Python twin).

Model
-----
* Two address spaces, ``LocalDefault`` and ``GlobalDefault``.
* A *subnet* is a network in use in one space; it owns one bitmap whose
  ordinal ``i`` is the address ``network_address + i``.  The network
  address (ordinal 0) and, for IPv4 shorter than /31, the broadcast
  address are reserved when the subnet is created; IPv6 reserves ordinal
  0 (the subnet-router anycast address) when shorter than /127.
* A *pool* is what a caller holds: ``<space>/<subnet>`` or, with a
  sub-pool, ``<space>/<subnet>/<sub_pool>``.  Pools on the same subnet
  share its bitmap; the subnet lives as long as one of its pools does
  (libnetwork's RefCount).  A sub-pool only narrows where *automatic*
  addresses come from; explicit addresses may be anywhere in the subnet
  (the gateway, auxiliary addresses), as in libnetwork.

Persistence
-----------
One store record per subnet: kind ``"ipam_pool"``, key ``<space>/<subnet>``,
value ``{"version", "space", "subnet", "pools": {pool_id: sub_pool|None},
"token"}`` and the serialized bitmap as the blob.  Every change writes the
record through before returning (a release of the last pool deletes it).
One more record, kind ``"ipam_meta"`` key ``"default"``, holds a token
that changes whenever a subnet record is created or deleted.

The caller groups changes with ``store.transaction()``; this module never
opens one.  Each write stores a fresh random ``token``; before acting, the
allocator compares the store's tokens with its own: an address operation
reads its subnet's record and reloads it if it differs, a pool operation
reads the meta record and reloads every changed record if it differs.  So
when a caller's transaction rolls back, the next operation sees the
store's state again (addresses and pools the store holds are held again,
those it lost are gone), at the cost of one small read per operation;
and a second allocator on the same store stays consistent with the first
(without compare-and-swap: one writer at a time).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from .. import netlabel
from ..errors import (
    AddressOutOfRange,
    AlreadyAllocated,
    InvalidParameter,
    LibnetworkError,
    NotFound,
    PoolExhausted,
    PoolOverlap,
)
from .pools import (
    GLOBAL_DEFAULT_POOLS,
    LOCAL_DEFAULT_POOLS,
    DefaultPools,
    Ranges,
    network_range,
)

__all__ = ["Allocator", "LOCAL_ADDRESS_SPACE", "GLOBAL_ADDRESS_SPACE",
           "STORE_KIND", "META_KIND"]

LOCAL_ADDRESS_SPACE = "LocalDefault"
GLOBAL_ADDRESS_SPACE = "GlobalDefault"
#: The store kind of the per-subnet records.
STORE_KIND = "ipam_pool"
#: The store kind and key of the record whose token changes with the set
#: of subnet records.
META_KIND = "ipam_meta"
META_KEY = "default"
_RECORD_VERSION = 1
#: IPv6 pools may not be larger than this many addresses (the bitmap's
#: ordinals are 64-bit).
_MIN_V6_PREFIX = 64

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
_NETWORK_TYPES = (ipaddress.IPv4Network, ipaddress.IPv6Network)
_ADDRESS_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_INTERFACE_TYPES = (ipaddress.IPv4Interface, ipaddress.IPv6Interface)


def _new_token() -> str:
    return os.urandom(12).hex()


def _reserved(net: IPNetwork) -> tuple[int, ...]:
    """The ordinals never handed out in ``net``."""
    if net.version == 4:
        if net.prefixlen < 31:
            return (0, net.num_addresses - 1)
        return ()
    if net.prefixlen < 127:
        return (0,)
    return ()


@dataclass
class _Subnet:
    """A network in use in one address space, with its bitmap."""

    space: str
    network: IPNetwork
    bitmap: Any
    # pool id -> its sub-pool (None for the pool that is the whole subnet)
    pools: dict = field(default_factory=dict)
    token: Optional[str] = None

    @property
    def key(self) -> str:
        return f"{self.space}/{self.network}"

    def record(self, token: str) -> dict:
        return {
            "version": _RECORD_VERSION,
            "space": self.space,
            "subnet": str(self.network),
            "pools": {pid: (None if sub is None else str(sub))
                      for pid, sub in self.pools.items()},
            "token": token,
        }


def _parse_network(value: object, what: str) -> IPNetwork:
    if isinstance(value, _NETWORK_TYPES):
        return value
    if not isinstance(value, str):
        raise InvalidParameter(
            f"{what} must be a CIDR string such as '172.20.0.0/16', got "
            f"{value!r}")
    if "/" not in value:
        raise InvalidParameter(
            f"{what} {value!r} has no prefix length (expected CIDR notation "
            f"such as '172.20.0.0/16')")
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {what} {value!r}: {exc}") from None


def _parse_address(value: object) -> IPAddress:
    if isinstance(value, _ADDRESS_TYPES):
        return value
    if isinstance(value, _INTERFACE_TYPES):
        return value.ip
    if isinstance(value, str):
        try:
            if "/" in value:
                return ipaddress.ip_interface(value.strip()).ip
            return ipaddress.ip_address(value.strip())
        except ValueError as exc:
            raise InvalidParameter(
                f"invalid address {value!r}: {exc}") from None
    raise InvalidParameter(
        f"address must be an IP address string or ipaddress object, got "
        f"{value!r}")


def _check_options(options: object) -> Mapping:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidParameter(
            f"options must be a mapping of strings, got {options!r}")
    return options


def _host_network(value: object) -> IPNetwork:
    if isinstance(value, _NETWORK_TYPES):
        return value
    if isinstance(value, _INTERFACE_TYPES):
        return value.network
    if isinstance(value, _ADDRESS_TYPES):
        return ipaddress.ip_network(value)
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(value.strip(), strict=False)
        except ValueError as exc:
            raise InvalidParameter(
                f"invalid host network {value!r}: {exc}") from None
    raise InvalidParameter(
        f"host networks must be ipaddress networks, got {value!r}")


def _corrupt(key: str, why: str) -> LibnetworkError:
    return LibnetworkError(
        f"IPAM store record {STORE_KIND}/{key} is unusable: {why}; refusing "
        f"to guess which addresses it held")


class Allocator:
    """libnetwork's default IPAM driver.

    ``store``: a :class:`~libnetwork.store.Store` (or None: memory only);
    its records are loaded now (see :meth:`restore`).
    ``host_networks``: a callable returning the networks routed or
    addressed in the host namespace (ipaddress networks; a plain iterable
    is accepted too); automatic pools never overlap one.  The default
    route (a /0) is not a conflict, as in libnetwork's CheckRouteOverlaps.
    ``default_pools``: ``[{"base": CIDR, "size": prefixlen}, ...]`` to
    replace the local address space's default pools (Docker's
    ``default-address-pools``).
    ``bitmap_cls``: the bitmap class (default :class:`libnetwork.ipam.Bitmap`).

    Every method is thread-safe.  Errors: InvalidParameter (bad input;
    nothing changes), NotFound (unknown pool id), PoolOverlap,
    PoolExhausted, AlreadyAllocated, AddressOutOfRange.

    Lock order: a caller's ``store.transaction()`` first, then the
    allocator's lock (held while it reads and writes the store).  Threads
    that call the allocator inside a transaction must not race threads
    that call it outside one on a store whose transactions hold a lock
    (MemoryStore, SQLiteStore); the controller, which wraps every call,
    never does.
    """

    def __init__(self, store: Any = None,
                 host_networks: Union[Callable[[], Iterable], Iterable,
                                      None] = None,
                 default_pools: Optional[Iterable[Mapping]] = None,
                 bitmap_cls: Optional[type] = None):
        if bitmap_cls is None:
            from . import Bitmap as bitmap_cls  # noqa: N813
        self._bitmap_cls = bitmap_cls
        self._store = store
        self._host_networks = host_networks
        local = DefaultPools(LOCAL_DEFAULT_POOLS if default_pools is None
                             else default_pools)
        self._defaults = {
            LOCAL_ADDRESS_SPACE: local,
            GLOBAL_ADDRESS_SPACE: DefaultPools(GLOBAL_DEFAULT_POOLS),
        }
        self._lock = threading.RLock()
        self._subnets: dict[str, _Subnet] = {}
        # (space, ip version) -> address ranges of the subnets in use
        self._used: dict[tuple[str, int], Ranges] = {}
        # the meta token of the store state memory matches
        self._meta_token: Optional[str] = None
        if store is not None:
            self.restore()

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
        pool = None if isinstance(pool, str) and pool == "" else pool
        sub_pool = (None if isinstance(sub_pool, str) and sub_pool == ""
                    else sub_pool)
        space = self._check_space(address_space)
        _check_options(options)
        if not isinstance(v6, bool):
            raise InvalidParameter(f"v6 must be a bool, got {v6!r}")
        if pool is None:
            if sub_pool is not None:
                raise InvalidParameter(
                    f"sub-pool {sub_pool!r} given without a pool")
            if v6:
                raise InvalidParameter(
                    "IPv6 needs an explicit pool: there are no default IPv6 "
                    "pools")
            return self._request_default_pool(space)

        net = _parse_network(pool, "pool")
        if (net.version == 6) != v6:
            raise InvalidParameter(
                f"pool {net} is IPv{net.version} but v6={v6} was requested")
        if net.version == 6 and net.prefixlen < _MIN_V6_PREFIX:
            raise InvalidParameter(
                f"IPv6 pool {net} is too large: the largest pool the "
                f"allocator handles is a /{_MIN_V6_PREFIX} (2**64 addresses)")
        sub = None
        if sub_pool is not None:
            sub = _parse_network(sub_pool, "sub-pool")
            if sub.version != net.version or not sub.subnet_of(net):
                raise InvalidParameter(
                    f"sub-pool {sub} is not inside pool {net}")

        key = f"{space}/{net}"
        pool_id = key if sub is None else f"{key}/{sub}"
        with self._lock:
            self._sync_pools()
            self._sync_one(key)
            subnet = self._subnets.get(key)
            if subnet is not None:
                if pool_id in subnet.pools:
                    raise PoolOverlap(
                        f"pool {pool_id} is already in use")
                if sub is None:
                    raise PoolOverlap(
                        f"pool {net} is already in use in address space "
                        f"{space} (by {', '.join(sorted(subnet.pools))})")
                pools = dict(subnet.pools)
                pools[pool_id] = sub
                self._write(subnet, pools)
                subnet.pools = pools
                return pool_id, net, {}
            other = self._overlapping(space, net)
            if other is not None:
                raise PoolOverlap(
                    f"pool {net} overlaps {other.network}, in use in address "
                    f"space {space} (by {', '.join(sorted(other.pools))})")
            self._create(space, net, pool_id, sub)
            return pool_id, net, {}

    def _request_default_pool(self, space: str) -> tuple[str, IPNetwork, dict]:
        hosts = self._host_ranges(4)
        with self._lock:
            self._sync_pools()
            defaults = self._defaults[space]
            net = defaults.first_free(self._ranges(space, 4), hosts)
            if net is None:
                raise PoolExhausted(
                    f"no available IPv4 pool in address space {space}: each "
                    f"of its {len(defaults)} default pools overlaps a pool in "
                    f"use or a host network")
            pool_id = f"{space}/{net}"
            self._create(space, net, pool_id, None)
            return pool_id, net, {}

    def release_pool(self, pool_id: str) -> None:
        """Releases a pool (ReleasePool).  The subnet and its addresses go
        when its last pool does.  Raises InvalidParameter, NotFound."""
        with self._lock:
            # In step with the store's set of subnets before changing it
            # (the new meta token then stands for what memory holds).
            self._sync_pools()
            subnet, _ = self._lookup(pool_id)
            pools = dict(subnet.pools)
            del pools[pool_id]
            if not pools:
                token = self._bump_meta()
                if self._store is not None:
                    self._store.delete(STORE_KIND, subnet.key)
                self._meta_token = token
                self._drop(subnet.key)
                return
            self._write(subnet, pools)
            subnet.pools = pools

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
        opts = _check_options(options)
        serial = opts.get(netlabel.IPAM_SERIAL) in ("true", True)
        if isinstance(address, str) and address == "":
            address = None
        ip = None if address is None else _parse_address(address)
        with self._lock:
            subnet, sub = self._lookup(pool_id)
            net, bitmap = subnet.network, subnet.bitmap
            if ip is not None:
                ordinal = self._ordinal(subnet, pool_id, ip)
                if ordinal in _reserved(net):
                    raise AlreadyAllocated(
                        f"address {ip} is reserved in pool {pool_id} (the "
                        f"{'network' if ordinal == 0 else 'broadcast'} "
                        f"address)")
                if bitmap.is_set(ordinal):
                    raise AlreadyAllocated(
                        f"address {ip} is already allocated in pool "
                        f"{pool_id}")
                bitmap.allocate_specific(ordinal)
            else:
                if sub is None:
                    lo, hi = 0, None
                else:
                    lo = int(sub.network_address) - int(net.network_address)
                    hi = lo + sub.num_addresses
                try:
                    ordinal = bitmap.allocate(serial=serial, lo=lo, hi=hi)
                except PoolExhausted:
                    where = "" if sub is None else f" (sub-pool {sub})"
                    raise PoolExhausted(
                        f"no available addresses in pool {pool_id}"
                        f"{where}") from None
            try:
                self._write(subnet, subnet.pools)
            except BaseException:
                bitmap.release(ordinal)
                raise
            iface = (ipaddress.IPv4Interface if net.version == 4
                     else ipaddress.IPv6Interface)
            return iface((int(net.network_address) + ordinal, net.prefixlen))

    def release_address(self, pool_id: str,
                        address: Union[str, IPAddress]) -> None:
        """Frees an address of the pool (ReleaseAddress).

        Raises InvalidParameter (not an address; reserved; not allocated),
        NotFound (pool), AddressOutOfRange (not in the pool's network).
        """
        if address is None:
            raise InvalidParameter("invalid address: None")
        ip = _parse_address(address)
        with self._lock:
            subnet, _ = self._lookup(pool_id)
            ordinal = self._ordinal(subnet, pool_id, ip)
            if ordinal in _reserved(subnet.network):
                raise InvalidParameter(
                    f"address {ip} is reserved in pool {pool_id} and cannot "
                    f"be released")
            bitmap = subnet.bitmap
            if not bitmap.is_set(ordinal):
                raise InvalidParameter(
                    f"address {ip} is not allocated in pool {pool_id}")
            bitmap.release(ordinal)
            try:
                self._write(subnet, subnet.pools)
            except BaseException:
                bitmap.allocate_specific(ordinal)
                raise

    # -------------------------------------------------------- inspection

    def dump(self) -> dict:
        """The state, for debugging and tests (libnetwork's DumpDatabase):
        ``{subnet_key: {"space", "subnet", "pools", "size", "free",
        "bitmap" (hex of the serialized bitmap)}}``."""
        with self._lock:
            self._sync_all()
            out = {}
            for key, s in sorted(self._subnets.items()):
                out[key] = {
                    "space": s.space,
                    "subnet": str(s.network),
                    "pools": {pid: None if sub is None else str(sub)
                              for pid, sub in sorted(s.pools.items())},
                    "size": s.bitmap.size,
                    "free": s.bitmap.free,
                    "bitmap": s.bitmap.to_bytes().hex(),
                }
            return out

    def pool_ids(self) -> list[str]:
        """Every pool id held, sorted."""
        with self._lock:
            self._sync_all()
            return sorted(pid for s in self._subnets.values()
                          for pid in s.pools)

    # ------------------------------------------------------- persistence

    def restore(self) -> None:
        """Forgets the in-memory state and reloads every pool and bitmap
        from the store (done by the constructor).  Raises LibnetworkError
        for a record it cannot read, rather than forget what it held."""
        with self._lock:
            self._subnets.clear()
            self._used.clear()
            self._meta_token = None
            if self._store is not None:
                token = self._meta()
                self._sync_all()
                self._meta_token = token

    def _meta(self) -> Optional[str]:
        value = self._store.get(META_KIND, META_KEY)
        return value.get("token") if isinstance(value, dict) else None

    def _bump_meta(self) -> Optional[str]:
        """Writes a new meta token (before the subnet record change it
        announces: if that change then fails, the tokens differ and the
        next pool operation resynchronises).  Returns it."""
        if self._store is None:
            return None
        token = _new_token()
        self._store.put(META_KIND, META_KEY, {"token": token})
        return token

    def _sync_pools(self) -> None:
        """Makes the set of subnets match the store's, when its meta token
        says that it may differ."""
        if self._store is None:
            return
        token = self._meta()
        if token is None or token != self._meta_token:
            self._sync_all()
            self._meta_token = token

    def _sync_all(self) -> None:
        """Makes memory match the store (changed records are reloaded)."""
        if self._store is None:
            return
        records = dict(self._store.list(STORE_KIND))
        for key in [k for k in self._subnets if k not in records]:
            self._drop(key)
        for key, value in records.items():
            mine = self._subnets.get(key)
            if mine is None or mine.token is None or (
                    not isinstance(value, dict)
                    or value.get("token") != mine.token):
                self._load(key, value)

    def _sync_one(self, key: str) -> None:
        if self._store is None:
            return
        value = self._store.get(STORE_KIND, key)
        mine = self._subnets.get(key)
        if value is None:
            if mine is not None:
                self._drop(key)
        elif (mine is None or not isinstance(value, dict)
              or value.get("token") != mine.token):
            self._load(key, value)

    def _load(self, key: str, value: object) -> None:
        if not isinstance(value, dict):
            raise _corrupt(key, f"value is not an object: {value!r}")
        if value.get("version") != _RECORD_VERSION:
            raise _corrupt(key, f"unknown version {value.get('version')!r}")
        space = value.get("space")
        if space not in self._defaults:
            raise _corrupt(key, f"unknown address space {space!r}")
        try:
            net = ipaddress.ip_network(value.get("subnet"), strict=True)
        except (TypeError, ValueError) as exc:
            raise _corrupt(key, f"bad subnet: {exc}") from None
        if key != f"{space}/{net}":
            raise _corrupt(key, f"key does not match {space}/{net}")
        raw = value.get("pools")
        if not isinstance(raw, dict) or not raw:
            raise _corrupt(key, "no pools")
        pools = {}
        for pid, sub in raw.items():
            if sub is None:
                if pid != key:
                    raise _corrupt(key, f"pool id {pid!r} without sub-pool")
                pools[pid] = None
                continue
            try:
                subnet_ = ipaddress.ip_network(sub, strict=True)
            except (TypeError, ValueError) as exc:
                raise _corrupt(key, f"bad sub-pool {sub!r}: {exc}") from None
            if (subnet_.version != net.version
                    or not subnet_.subnet_of(net)
                    or pid != f"{key}/{subnet_}"):
                raise _corrupt(key, f"bad sub-pool {pid!r}")
            pools[pid] = subnet_
        blob = self._store.get_blob(STORE_KIND, key)
        if blob is None:
            raise _corrupt(key, "the bitmap is missing")
        try:
            bitmap = self._bitmap_cls.from_bytes(bytes(blob))
        except (ValueError, TypeError) as exc:
            raise _corrupt(key, f"bad bitmap: {exc}") from None
        if bitmap.size != net.num_addresses:
            raise _corrupt(key, f"bitmap of {bitmap.size} ordinals for "
                                f"{net.num_addresses} addresses")
        for ordinal in _reserved(net):
            if not bitmap.is_set(ordinal):
                raise _corrupt(key, f"reserved ordinal {ordinal} is free")
        if key in self._subnets:
            self._drop(key)
        self._insert(_Subnet(space, net, bitmap, pools, value.get("token")))

    def _write(self, subnet: _Subnet, pools: dict) -> None:
        """Writes ``subnet`` with ``pools`` through to the store.  If that
        fails, the subnet is marked for reloading from the store by the
        next operation (the caller also undoes its change in memory)."""
        if self._store is None:
            return
        token = _new_token()
        staged = _Subnet(subnet.space, subnet.network, subnet.bitmap, pools)
        try:
            self._store.put(STORE_KIND, subnet.key, staged.record(token),
                            blob=subnet.bitmap.to_bytes())
        except BaseException:
            subnet.token = None
            raise
        subnet.token = token

    # ----------------------------------------------------------- helpers

    def _create(self, space: str, net: IPNetwork, pool_id: str,
                sub: Optional[IPNetwork]) -> None:
        bitmap = self._bitmap_cls(net.num_addresses)
        for ordinal in _reserved(net):
            bitmap.allocate_specific(ordinal)
        subnet = _Subnet(space, net, bitmap, {pool_id: sub})
        token = self._bump_meta()
        self._write(subnet, subnet.pools)
        self._meta_token = token
        self._insert(subnet)

    def _insert(self, subnet: _Subnet) -> None:
        self._subnets[subnet.key] = subnet
        self._ranges(subnet.space, subnet.network.version).add(
            *network_range(subnet.network))

    def _drop(self, key: str) -> None:
        subnet = self._subnets.pop(key)
        self._ranges(subnet.space, subnet.network.version).remove(
            *network_range(subnet.network))

    def _ranges(self, space: str, version: int) -> Ranges:
        r = self._used.get((space, version))
        if r is None:
            r = self._used[(space, version)] = Ranges()
        return r

    def _overlapping(self, space: str, net: IPNetwork) -> Optional[_Subnet]:
        if self._ranges(space, net.version).overlap_end(
                *network_range(net)) is None:
            return None
        for s in self._subnets.values():
            if (s.space == space and s.network.version == net.version
                    and s.network.overlaps(net)):
                return s
        return None  # pragma: no cover - the ranges mirror the subnets

    def _host_ranges(self, version: int) -> Ranges:
        source = self._host_networks
        if source is None:
            return Ranges()
        nets = source() if callable(source) else source
        if nets is None:
            return Ranges()
        ranges = Ranges()
        for value in nets:
            net = _host_network(value)
            if net.version == version and net.prefixlen > 0:
                ranges.add(*network_range(net))
        return ranges

    def _lookup(self, pool_id: object) -> tuple[_Subnet, Optional[IPNetwork]]:
        if not isinstance(pool_id, str):
            raise InvalidParameter(f"pool id must be a string, got {pool_id!r}")
        parts = pool_id.split("/")
        if len(parts) not in (3, 5) or not all(parts):
            raise InvalidParameter(
                f"invalid pool id {pool_id!r}: expected <space>/<subnet> or "
                f"<space>/<subnet>/<sub-pool>")
        key = "/".join(parts[:3])
        self._sync_one(key)
        subnet = self._subnets.get(key)
        if subnet is None or pool_id not in subnet.pools:
            raise NotFound(f"no address pool {pool_id!r}")
        return subnet, subnet.pools[pool_id]

    @staticmethod
    def _ordinal(subnet: _Subnet, pool_id: str, ip: IPAddress) -> int:
        net = subnet.network
        if ip.version != net.version or ip not in net:
            raise AddressOutOfRange(
                f"address {ip} is outside pool {pool_id} ({net})")
        return int(ip) - int(net.network_address)
