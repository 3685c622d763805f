"""The native backend's dump records (``struct nlc_link``, ``nlc_addr``,
``nlc_route`` filled by the C core) as the contract's
:class:`~libnetwork.backends.ops.Link`, ``Address`` and ``Route``."""

from __future__ import annotations

import ipaddress
import socket

from ..._binding import ffi
from .. import ops as O

_SIZES = {socket.AF_INET: 4, socket.AF_INET6: 16}


def _mac_str(raw) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def links(out, n) -> list:
    res = []
    for i in range(n):
        r = out[i]
        res.append(O.Link(
            r.index, ffi.string(r.name).decode(),
            ffi.string(r.kind).decode(),
            _mac_str(ffi.unpack(r.mac, r.mac_len)) if r.mac_len else "",
            r.mtu, r.flags, r.master, r.group, r.link, r.link_netnsid,
            ffi.string(r.alias).decode(errors="replace")))
    return res


def link_stats(out, n) -> dict:
    return {ffi.string(r.name).decode(): (
        r.rx_bytes, r.rx_packets, r.rx_errors, r.rx_dropped, r.tx_bytes,
        r.tx_packets, r.tx_errors, r.tx_dropped)
        for r in (out[i] for i in range(n))}


def _ip(raw, family):
    """The address in ``raw`` (16 bytes) of ``family``, or None for a
    family the contract does not report."""
    size = _SIZES.get(family)
    if size is None:
        return None
    return ipaddress.ip_address(bytes(ffi.unpack(raw, size)))


def addresses(out, n) -> list:
    res = []
    for i in range(n):
        r = out[i]
        ip = _ip(r.local, r.family)
        if ip is None:
            continue
        res.append(O.Address(
            r.index, ipaddress.ip_interface(f"{ip}/{r.prefixlen}"),
            r.scope, r.flags, ffi.string(r.label).decode()))
    return res


def routes(out, n) -> list:
    res = []
    for i in range(n):
        r = out[i]
        dst = _ip(r.dst, r.family)
        if dst is None:
            continue
        gw = _ip(r.gateway, r.family) if r.has_gateway else None
        res.append(O.Route(
            ipaddress.ip_network(f"{dst}/{r.dst_len}"), gw, r.oif,
            r.table, r.protocol, r.scope, r.type, r.priority, r.flags))
    return res
