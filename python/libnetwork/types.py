"""Value types shared by the API (libnetwork's ``types`` package):
:class:`TransportPort` and :class:`PortBinding`.

Both are immutable and validated when made: a protocol name (``tcp``,
``udp``, ``sctp``), ports 1-65535 (a host port may be 0: "pick one"), and
``host_port <= host_port_end`` for a range.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import NamedTuple

from .errors import InvalidParameter

__all__ = ["PROTOCOLS", "TransportPort", "PortBinding", "port_binding"]

#: protocol name -> IP protocol number
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}


def _proto(value) -> str:
    if isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    raise InvalidParameter(f"protocol {value!r}: one of "
                           f"{', '.join(PROTOCOLS)}")


def _port(value, what: str, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not (0 if zero else 1) <= value <= 65535:
        raise InvalidParameter(f"{what} {value!r}: an integer from "
                               f"{0 if zero else 1} to 65535")
    return value


class TransportPort(NamedTuple):
    """A container port: ``TransportPort("tcp", 80)``."""
    proto: str
    port: int

    @classmethod
    def make(cls, proto, port) -> "TransportPort":
        return cls(_proto(proto), _port(port, "port"))

    def __str__(self):
        return f"{self.port}/{self.proto}"


class PortBinding(NamedTuple):
    """A published port: ``host_ip:host_port[-host_port_end] ->
    container:port/proto``.

    ``host_port`` 0 lets the controller pick a free port (from the
    namespace's ``ip_local_port_range``); with ``host_port_end`` the first
    free port of ``host_port..host_port_end``.  ``host_ip`` "" is the
    network's default (``host_binding_ipv4``, else every address).  The
    bindings an endpoint reports (``driver_info()[PORT_MAP]``) carry the
    port and address actually used.
    """
    proto: str
    port: int
    host_port: int = 0
    host_ip: str = ""
    host_port_end: int = 0

    def to_dict(self) -> dict:
        return dict(proto=self.proto, port=self.port, host_ip=self.host_ip,
                    host_port=self.host_port,
                    host_port_end=self.host_port_end)

    def container(self) -> TransportPort:
        return TransportPort(self.proto, self.port)

    def __str__(self):
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        ports = str(self.host_port) + (f"-{self.host_port_end}"
                                       if self.host_port_end else "")
        return f"{host}:{ports}->{self.port}/{self.proto}"


@functools.lru_cache(maxsize=1024)
def _host_ip(text: str) -> str:
    """The canonical text of a host address (host addresses repeat)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidParameter(f"host_ip {text!r}: not an IP "
                               "address") from None


def _new_binding(cls, proto, port, host_port=0, host_ip="",
                 host_port_end=0):
    proto = _proto(proto)
    port = _port(port, "port")
    host_port = _port(host_port, "host_port", zero=True)
    host_port_end = _port(host_port_end, "host_port_end", zero=True)
    if host_port_end and host_port_end < host_port:
        raise InvalidParameter(f"host port range {host_port}-"
                               f"{host_port_end}: the end is before the "
                               "start")
    if host_port_end and not host_port:
        raise InvalidParameter(f"host_port_end {host_port_end} without "
                               "host_port")
    if host_port_end == host_port:
        host_port_end = 0
    if host_ip is None:
        host_ip = ""
    if not isinstance(host_ip, str):
        raise InvalidParameter(f"host_ip {host_ip!r}: an address string")
    if host_ip:
        host_ip = _host_ip(host_ip)
    return tuple.__new__(cls, (proto, port, host_port, host_ip,
                               host_port_end))


def _new_port(cls, proto, port):
    return tuple.__new__(cls, (_proto(proto), _port(port, "port")))


PortBinding.__new__ = _new_binding
TransportPort.__new__ = _new_port


def port_binding(value) -> PortBinding:
    """A PortBinding from a PortBinding, a mapping with its field names
    (libnetwork's JSON: ``proto``, ``port``, ``host_ip``, ``host_port``,
    ``host_port_end``) or a tuple of its fields."""
    if isinstance(value, PortBinding):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(PortBinding._fields)
        if unknown:
            raise InvalidParameter(f"port binding {value!r}: unknown "
                                   f"field(s) {sorted(unknown)}")
        try:
            return PortBinding(**value)
        except TypeError as exc:
            raise InvalidParameter(f"port binding {value!r}: {exc}") \
                from None
    if isinstance(value, (tuple, list)) and 2 <= len(value) <= 5:
        return PortBinding(*value)
    raise InvalidParameter(f"port binding {value!r}: a PortBinding, a "
                           "mapping or a tuple")
