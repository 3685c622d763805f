"""The IPAM driver's arguments: checked and parsed, or InvalidParameter.

Every function here is pure: it turns what a caller passed (CIDR strings,
``ipaddress`` objects, option mappings, the host's networks) into
``ipaddress`` values, or raises InvalidParameter saying what was wrong.
Pools are usable subnets: none overlaps the loopback, link-local or
multicast ranges or holds the unspecified address (libnetwork refuses
them too); an address given with a prefix length must have its pool's.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Mapping, Optional, Union

from ..errors import AddressOutOfRange, InvalidParameter
from .pools import IPNetwork, Ranges, network_range

__all__ = ["IPNetwork", "IPAddress", "IPInterface", "MIN_V6_PREFIX",
           "parse_network", "parse_address", "check_usable", "pool_address",
           "check_options", "pool_request", "host_ranges"]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
_NETWORK_TYPES = (ipaddress.IPv4Network, ipaddress.IPv6Network)
_ADDRESS_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_INTERFACE_TYPES = (ipaddress.IPv4Interface, ipaddress.IPv6Interface)

#: IPv6 pools may not be larger than this many addresses (the bitmap's
#: ordinals are 64-bit).
MIN_V6_PREFIX = 64

#: Ranges no pool may overlap, and what they are.
UNUSABLE = tuple((ipaddress.ip_network(net), why) for net, why in (
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"), ("::1/128", "loopback"),
    ("fe80::/10", "link-local"), ("ff00::/8", "multicast")))


def parse_network(value: object, what: str) -> IPNetwork:
    """A network in strict CIDR notation (no host bits set)."""
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


def parse_address(value: object) -> IPAddress:
    """An address, from an address, an interface or their text (a prefix
    length, if any, is ignored)."""
    if isinstance(value, _INTERFACE_TYPES):    # before: they are addresses
        return value.ip
    if isinstance(value, _ADDRESS_TYPES):
        return value
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


def check_usable(net: IPNetwork, what: str) -> IPNetwork:
    """``net`` if addresses can be handed out of it: it holds no
    unspecified address (``0.0.0.0``, ``::``) and overlaps no loopback,
    link-local or multicast range."""
    if net.network_address.is_unspecified:
        raise InvalidParameter(
            f"{what} {net} holds the unspecified address "
            f"{net.network_address}")
    for bad, why in UNUSABLE:
        if bad.version == net.version and net.overlaps(bad):
            raise InvalidParameter(
                f"{what} {net} overlaps the {why} range {bad}")
    return net


def pool_address(value: object, net: IPNetwork, what: str) -> IPAddress:
    """An address asked for in pool ``net`` (a gateway, an auxiliary or an
    endpoint's address): inside it (AddressOutOfRange), and a prefix
    length, if given, the pool's (``10.0.0.1/16`` is no gateway of
    ``10.0.0.0/24``)."""
    ip = parse_address(value)
    plen = None
    if isinstance(value, _INTERFACE_TYPES):
        plen = value.network.prefixlen
    elif isinstance(value, str) and "/" in value:
        plen = ipaddress.ip_interface(value.strip()).network.prefixlen
    if plen is not None and plen != net.prefixlen:
        raise InvalidParameter(
            f"{what} {value!r}: prefix length /{plen} disagrees with the "
            f"pool {net}")
    if ip.version != net.version or ip not in net:
        raise AddressOutOfRange(f"{what} {value!r} is outside the pool {net}")
    return ip


def check_options(options: object) -> Mapping:
    """The options mapping (None: empty)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidParameter(
            f"options must be a mapping of strings, got {options!r}")
    return options


def pool_request(pool: object, sub_pool: object, v6: object
                 ) -> tuple[Optional[IPNetwork], Optional[IPNetwork]]:
    """``(network, sub_pool)`` of a RequestPool; ``(None, None)`` asks for
    an automatic pool.  An empty string means "not given", as in
    libnetwork."""
    pool = None if isinstance(pool, str) and pool == "" else pool
    sub_pool = (None if isinstance(sub_pool, str) and sub_pool == ""
                else sub_pool)
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
        return None, None
    net = parse_network(pool, "pool")
    if (net.version == 6) != v6:
        raise InvalidParameter(
            f"pool {net} is IPv{net.version} but v6={v6} was requested")
    if net.version == 6 and net.prefixlen < MIN_V6_PREFIX:
        raise InvalidParameter(
            f"IPv6 pool {net} is too large: the largest pool the "
            f"allocator handles is a /{MIN_V6_PREFIX} (2**64 addresses)")
    check_usable(net, "pool")
    sub = None
    if sub_pool is not None:
        sub = parse_network(sub_pool, "sub-pool")
        if sub.version != net.version or not sub.subnet_of(net):
            raise InvalidParameter(
                f"sub-pool {sub} is not inside pool {net}")
    return net, sub


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


def host_ranges(nets: Optional[Iterable], version: int) -> Ranges:
    """The address ranges of the host's IPv``version`` networks (networks,
    interfaces, addresses or their text), without the default route (a
    /0 is no conflict, as in libnetwork's CheckRouteOverlaps)."""
    ranges = Ranges()
    if nets is None:
        return ranges
    for value in nets:
        net = _host_network(value)
        if net.version == version and net.prefixlen > 0:
            ranges.add(*network_range(net))
    return ranges
