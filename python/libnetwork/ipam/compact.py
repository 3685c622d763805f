"""Addresses held by thousands of endpoints, at a small cost each.

An ``ipaddress.IPv4Interface`` built the usual way parses its text and
makes a network object of its own (with its own netmask): some 400 bytes
and tens of microseconds an address.  :func:`interface` makes the same
object from integers and shares one network object among the addresses of
a subnet; :func:`parse_interface` reads ``"a.b.c.d/len"`` (or an IPv6 text)
without the general parser.  The results are ordinary ``IPv4Interface``/
``IPv6Interface`` objects: equal, hashable and printable as any other.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

__all__ = ["interface", "parse_interface"]

_V4 = ipaddress.IPv4Interface
_V6 = ipaddress.IPv6Interface


@lru_cache(maxsize=1024)
def _network(version: int, net_int: int, prefixlen: int):
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return cls((net_int, prefixlen))


def interface(version: int, ip_int: int, prefixlen: int):
    """The interface ``ip_int/prefixlen`` of IP version ``version``."""
    bits = 32 if version == 4 else 128
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefixlen)) - 1)
    net = _network(version, ip_int & mask, prefixlen)
    if version == 4:
        obj = _V4.__new__(_V4)
    else:
        obj = _V6.__new__(_V6)
        obj._scope_id = None
    obj._ip = ip_int
    obj.network = net
    obj.netmask = net.netmask
    obj._prefixlen = prefixlen
    return obj


def parse_interface(text: str):
    """``ipaddress.ip_interface(text)`` for ``"address/prefixlen"`` texts
    as the store holds them; anything else goes to the general parser."""
    addr, sep, plen = text.partition("/")
    try:
        if sep and plen.isdigit():
            p = int(plen)
            if ":" in addr:
                if p <= 128 and "%" not in addr:
                    return interface(6, int.from_bytes(
                        socket.inet_pton(socket.AF_INET6, addr), "big"), p)
            elif p <= 32 and addr.count(".") == 3 and \
                    addr.replace(".", "").isdigit():
                return interface(4, int.from_bytes(
                    socket.inet_pton(socket.AF_INET, addr), "big"), p)
    except OSError:
        pass
    return ipaddress.ip_interface(text)
