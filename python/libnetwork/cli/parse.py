"""Parsers of option values: ``-p`` port specs and ``-o KEY=VALUE``.

They raise :class:`argparse.ArgumentTypeError`, so a bad value is a usage
error (exit 2) with argparse's message.
"""

from __future__ import annotations

import argparse
import ipaddress

_PROTOS = ("tcp", "udp", "sctp")


def _port(text: str, what: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(
            f"invalid port spec {spec!r}: {what} {text!r} is not a port "
            "(1-65535)")
    return int(text)


def port_spec(spec: str) -> dict:
    """``[IP:]HOST:CONTAINER[/proto]`` or ``CONTAINER[/proto]`` as the
    fields of a PortBinding: ``proto``, ``port``, ``host_ip``,
    ``host_port`` (0: any free one), ``host_port_end`` (a range ``a-b``).
    An IPv6 host address goes in brackets: ``[::1]:8080:80``."""
    rest, proto = spec, "tcp"
    if "/" in rest:
        rest, proto = rest.rsplit("/", 1)
        if proto not in _PROTOS:
            raise argparse.ArgumentTypeError(
                f"invalid port spec {spec!r}: protocol {proto!r} is not "
                f"one of {', '.join(_PROTOS)}")
    host_ip = ""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0 or rest[end + 1:end + 2] != ":":
            raise argparse.ArgumentTypeError(
                f"invalid port spec {spec!r}: [IPv6]:HOST:CONTAINER expected")
        host_ip, rest = rest[1:end], rest[end + 2:]
        if rest.count(":") != 1:
            raise argparse.ArgumentTypeError(
                f"invalid port spec {spec!r}: [IPv6]:HOST:CONTAINER expected")
    parts = rest.split(":")
    if len(parts) == 3:
        host_ip, host, container = parts
    elif len(parts) == 2:
        host, container = parts
    elif len(parts) == 1:
        host, container = "", parts[0]
    else:
        raise argparse.ArgumentTypeError(
            f"invalid port spec {spec!r}: [IP:]HOST:CONTAINER[/proto] "
            "expected")
    if host_ip:
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid port spec {spec!r}: {host_ip!r} is not an IP "
                "address") from None
    port = _port(container, "container port", spec)
    host_port = host_end = 0
    if host:
        first, dash, last = host.partition("-")
        host_port = _port(first, "host port", spec)
        if dash:
            host_end = _port(last, "host port", spec)
            if host_end < host_port:
                raise argparse.ArgumentTypeError(
                    f"invalid port spec {spec!r}: the range {host} ends "
                    "before it starts")
            if host_end == host_port:
                host_end = 0
    return dict(proto=proto, port=port, host_ip=host_ip,
                host_port=host_port, host_port_end=host_end)


def key_value(text: str) -> tuple:
    """``KEY=VALUE`` (VALUE may be empty, KEY may not)."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(
            f"invalid option {text!r}: KEY=VALUE expected")
    return key.strip(), value


def cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid subnet {text!r}: {exc}") \
            from None


def address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid address {text!r}: not an IP address") from None


def bindings(specs) -> list:
    """``-p`` values as PortBindings (the library imported only now)."""
    from ..types import PortBinding
    return [PortBinding(**d) for d in specs or ()]
