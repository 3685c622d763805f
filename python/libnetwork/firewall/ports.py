"""Host-port allocation: which host ports an endpoint's bindings get.

Part of the controller's state, like IPAM: the applied bindings live in
the endpoint records, so every change sees what every endpoint (of this
process or another on the same store, after a restart too) holds, and two
endpoints never get the same host port on overlapping addresses.

Overlap: the same protocol and port on the same address, or on two
addresses of one family of which one is the wildcard (``0.0.0.0`` is every
IPv4 address, ``::`` every IPv6 address).  The same port on two different
addresses is fine.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools


from ..errors import InvalidParameter, PortAlreadyAllocated
from ..types import PortBinding, port_binding

__all__ = ["PortIndex", "allocate", "DEFAULT_RANGE", "local_port_range"]

DEFAULT_RANGE = (32768, 60999)        # the kernel's default
_ANY = {4: "0.0.0.0", 6: "::"}


def local_port_range(read=None) -> tuple:
    """``net.ipv4.ip_local_port_range`` of the controller's namespace
    (``read``: a function returning the file's text), else the kernel's
    default."""
    try:
        text = read() if read else open(
            "/proc/sys/net/ipv4/ip_local_port_range").read()
        lo, hi = (int(x) for x in text.split())
        if 1 <= lo <= hi <= 65535:
            return lo, hi
    except (OSError, ValueError):
        pass
    return DEFAULT_RANGE


@functools.lru_cache(maxsize=1024)
def _addr(text: str) -> tuple:
    """(IP version, is the wildcard, is IPv4 loopback) of an address."""
    a = ipaddress.ip_address(text)
    return a.version, a.is_unspecified, a.version == 4 and a.is_loopback


class PortIndex:
    """Who holds which host port: ``(proto, port) -> {host ip: endpoint}``,
    built from the endpoints' applied bindings."""

    def __init__(self, endpoints=()):
        self._by: dict = {}
        for ep in endpoints:
            for b in ep.ports:
                self.hold(b, ep)

    def hold(self, b: PortBinding, ep) -> None:
        self._by.setdefault((b.proto, b.host_port), {})[b.host_ip] = ep

    def owner(self, proto: str, port: int, host_ip: str):
        """The endpoint holding ``port`` on an address overlapping
        ``host_ip``, or None."""
        held = self._by.get((proto, port))
        if not held:
            return None
        if host_ip in held:
            return held[host_ip]
        version, wild, _ = _addr(host_ip)
        for other, ep in held.items():
            v, w, _ = _addr(other)
            if v == version and (w or wild):
                return ep
        return None


def _host_ips(b: PortBinding, default_ip: str, has4: bool,
              has6: bool) -> list:
    """The host addresses a binding publishes on: its own, else the
    network's default (and, when that is every IPv4 address and the
    endpoint has IPv6, every IPv6 address too)."""
    if b.host_ip:
        version = _addr(b.host_ip)[0]
        if (version == 4 and not has4) or (version == 6 and not has6):
            raise InvalidParameter(
                f"port binding {b}: the endpoint has no IPv{version} "
                "address to forward to")
        return [b.host_ip]
    out = []
    if has4:
        out.append(default_ip)
    if has6 and _addr(default_ip)[1]:
        out.append(_ANY[6])
    if not out:
        raise InvalidParameter(f"port binding {b}: the endpoint has no "
                               "address to forward to")
    return out


def allocate(index: PortIndex, ep, bindings, default_ip: str,
             localnet: bool, port_range: tuple, cursor: dict) -> list:
    """The applied bindings of ``ep`` (host address and port filled in),
    held in ``index``.  Raises PortAlreadyAllocated when a requested port
    is taken on an overlapping address, or a range (the automatic one
    too) has no free port.  ``cursor`` keeps
    where the last automatic pick ended (per protocol), so that ports are
    not reused at once after their release."""
    has4, has6 = ep.addr is not None, ep.addr6 is not None
    applied: list = []
    for raw in bindings:
        b = port_binding(raw)
        ips = _host_ips(b, default_ip, has4, has6)
        for ip in ips:
            if _addr(ip)[2] and not localnet:
                raise InvalidParameter(
                    f"port binding {b}: publishing on {ip} needs the "
                    "network's route_localnet option")
        if b.host_port:
            first, last = b.host_port, b.host_port_end or b.host_port
            candidates = range(first, last + 1)
        else:
            first, last = port_range
            start = cursor.get(b.proto, first)
            if not first <= start <= last:
                start = first
            candidates = itertools.chain(range(start, last + 1),
                                         range(first, start))
        chosen = None
        taken = None
        for port in candidates:
            for ip in ips:
                taken = index.owner(b.proto, port, ip)
                if taken is not None:
                    break
            if taken is None:
                chosen = port
                break
        if chosen is None:
            if first != last:
                raise PortAlreadyAllocated(
                    f"port binding {b}: every host port of {first}-{last} "
                    f"is already allocated on {', '.join(ips)}")
            raise PortAlreadyAllocated(
                f"host port {first}/{b.proto} is already allocated on "
                f"{', '.join(ips)} (held by endpoint {taken.name()!r} of "
                f"network {taken.network()!r})")
        if not b.host_port:
            cursor[b.proto] = chosen + 1
        for ip in ips:
            # checked fields: no second validation
            nb = PortBinding._make((b.proto, b.port, chosen, ip, 0))
            index.hold(nb, ep)
            applied.append(nb)
    return applied


def release(index: PortIndex, ep) -> None:
    """Forget what ``ep`` holds (its bindings stay in ``ep.ports``)."""
    for b in ep.ports:
        held = index._by.get((b.proto, b.host_port))
        if held and held.get(b.host_ip) is ep:
            del held[b.host_ip]


def read_range(ns) -> tuple:
    """The port range of namespace ``ns`` (None: this process's)."""
    if ns is None:
        return local_port_range()
    from ..backends.sysctl import read
    return local_port_range(lambda: read(ns, "net/ipv4/ip_local_port_range"))


