"""Declarative kernel operations: the vocabulary of the Backend contract.

Each operation is a small immutable value naming the namespace it acts in
(``ns``: the path of a bound network namespace, or ``None`` for the
backend's root namespace).  Links are referred to by ifindex (``int``) or
by name (``str``); names are resolved inside ``ns``.  Drivers build lists of
these ("plans"); a backend executes a list and returns one
:class:`Result` per operation, in order.

Operations are plain data: building one costs a few hundred nanoseconds and
validates nothing.  Validation happens once per batch, in
:func:`prepare`, before anything is sent, so a malformed batch raises
:class:`~libnetwork.errors.InvalidParameter` and changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ..errors import InvalidParameter, netlink_error

LinkRef = Union[int, str]
NS = Optional[str]

IFNAMSIZ = 16
MAX_QUEUES = 4096      # the kernel's limit for numtxqueues / numrxqueues
IFF_UP = 0x1

__all__ = [
    "NetnsCreate", "NetnsDelete", "LinkAddBridge", "LinkAddVeth", "LinkSet",
    "LinkDel", "LinkDelGroup", "LinkGet", "AddrAdd", "AddrDel", "RouteAdd",
    "RouteDel", "Result", "Link", "Address", "Route", "Op", "prepare",
]


# --------------------------------------------------------------- namespaces

@dataclass(frozen=True, slots=True)
class NetnsCreate:
    """``ip netns add``: a new network namespace bound at ``path``."""
    path: str


@dataclass(frozen=True, slots=True)
class NetnsDelete:
    """``ip netns del``: detach and unlink the namespace bound at ``path``."""
    path: str


# -------------------------------------------------------------------- links

@dataclass(frozen=True, slots=True)
class LinkAddBridge:
    """``ip link add NAME [mtu M] [address MAC] [group G] [up] type bridge``"""
    name: str
    mtu: Optional[int] = None
    mac: Optional[str] = None
    up: bool = False
    group: Optional[int] = None
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkAddVeth:
    """``ip link add NAME [master M] ... type veth peer name PEER netns NS``

    The peer is created directly inside ``peer_ns`` (``None``: beside the
    host end) with its final name, MAC and MTU; the host end is attached to
    ``master`` and, with ``up``, up, all in one request.  The peer is left
    down: the kernel cannot open a veth end before both are linked
    (ENOTCONN), so bring it up with a :class:`LinkSet` in ``peer_ns``.

    ``queues`` (``numtxqueues``/``numrxqueues`` of both ends): ``None`` is
    the kernel's default, one queue per possible CPU of which veth uses
    one and switches the rest off, waiting for an RCU grace period per end
    to do so.  ``queues=1`` gives the same single active queue without the
    wait (about a third of the wall time of wiring an endpoint, measured on
    2 CPUs); only ``ethtool -L`` can no longer add queues later.
    """
    name: str
    peer_name: str
    peer_ns: NS = None
    master: Optional[LinkRef] = None
    mtu: Optional[int] = None
    mac: Optional[str] = None
    up: bool = False
    group: Optional[int] = None
    peer_mtu: Optional[int] = None
    peer_mac: Optional[str] = None
    queues: Optional[int] = None
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkSet:
    """``ip link set LINK [up|down] [master M|nomaster] [mtu M] [name N]
    [netns NS] [group G] [address MAC] [addrgenmode {eui64|none}]``

    ``ipv6_ll=False`` (addrgenmode none) brings the link up without an IPv6
    link-local address: no address, DAD or MLD work in the kernel, most of
    the cost of bringing a veth up.  Drivers use it on IPv4-only networks.
    """
    link: LinkRef
    up: Optional[bool] = None
    master: Optional[LinkRef] = None
    nomaster: bool = False
    mtu: Optional[int] = None
    name: Optional[str] = None
    netns: NS = None
    group: Optional[int] = None
    mac: Optional[str] = None
    ipv6_ll: Optional[bool] = None
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkDel:
    """``ip link del LINK``"""
    link: LinkRef
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkDelGroup:
    """``ip link del group G``: every link of the group in one kernel call
    (a veth's peer goes with it, wherever it lives)."""
    group: int
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkGet:
    """``ip link show LINK``: the result's ``value`` is the ifindex."""
    link: LinkRef
    ns: NS = None


# -------------------------------------------------------- addresses, routes

@dataclass(frozen=True, slots=True)
class AddrAdd:
    """``ip addr add ADDRESS/PLEN dev LINK [nodad]``"""
    link: LinkRef
    address: Union[str, ipaddress.IPv4Interface, ipaddress.IPv6Interface]
    nodad: bool = False
    ns: NS = None


@dataclass(frozen=True, slots=True)
class AddrDel:
    """``ip addr del ADDRESS/PLEN dev LINK``"""
    link: LinkRef
    address: Union[str, ipaddress.IPv4Interface, ipaddress.IPv6Interface]
    ns: NS = None


@dataclass(frozen=True, slots=True)
class RouteAdd:
    """``ip route add {DST|default} [via GATEWAY] [dev OIF] [onlink]
    [metric M] [table T]``; ``dst=None`` is the default route."""
    dst: Optional[str] = None
    gateway: Optional[str] = None
    oif: Optional[LinkRef] = None
    onlink: bool = False
    metric: Optional[int] = None
    table: Optional[int] = None
    family: Optional[int] = None
    ns: NS = None


@dataclass(frozen=True, slots=True)
class RouteDel:
    """``ip route del {DST|default} [via GATEWAY] [dev OIF] [metric M]
    [table T]``"""
    dst: Optional[str] = None
    gateway: Optional[str] = None
    oif: Optional[LinkRef] = None
    metric: Optional[int] = None
    table: Optional[int] = None
    family: Optional[int] = None
    ns: NS = None


Op = Union[NetnsCreate, NetnsDelete, LinkAddBridge, LinkAddVeth, LinkSet,
           LinkDel, LinkDelGroup, LinkGet, AddrAdd, AddrDel, RouteAdd,
           RouteDel]


# ------------------------------------------------------------------ results

class Result:
    """The outcome of one operation: ``errno`` 0 (ok) or the kernel's error
    number, ``message`` the kernel's extended-ack text, ``value`` what the
    operation returns (an ifindex for :class:`LinkGet`)."""

    __slots__ = ("op", "errno", "message", "value")

    def __init__(self, op: Op, errno: int = 0, message: str = "",
                 value: object = None):
        self.op = op
        self.errno = errno
        self.message = message
        self.value = value

    @property
    def ok(self) -> bool:
        return self.errno == 0

    def exception(self):
        """The typed :class:`~libnetwork.errors.NetlinkError`, or None."""
        if self.errno == 0:
            return None
        return netlink_error(self.errno, self.message, self.op)

    def __eq__(self, other):
        if not isinstance(other, Result):
            return NotImplemented
        return (self.op, self.errno, self.value) == (other.op, other.errno,
                                                     other.value)

    def __repr__(self):
        if self.errno == 0:
            return f"Result({self.op!r}, ok, value={self.value!r})"
        return f"Result({self.op!r}, errno={self.errno}, {self.message!r})"


class Link(NamedTuple):
    """One link as a dump reports it."""
    index: int
    name: str
    kind: str          # IFLA_INFO_KIND ("bridge", "veth", "" for lo)
    mac: str           # "aa:bb:cc:dd:ee:ff" ("" when the link has none)
    mtu: int
    flags: int         # IFF_*
    master: int        # 0: none
    group: int
    link: int          # IFLA_LINK: a veth's peer ifindex (0: none)
    link_netnsid: int  # -1: the peer is in this namespace

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)


class Address(NamedTuple):
    index: int
    address: Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
    scope: int
    flags: int
    label: str

    @property
    def family(self) -> int:
        return socket.AF_INET if self.address.version == 4 else socket.AF_INET6


class Route(NamedTuple):
    dst: Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # 0.0.0.0/0: default
    gateway: Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]
    oif: int
    table: int
    protocol: int
    scope: int
    type: int
    priority: int
    flags: int


# ---------------------------------------------------------------- prepare

def _bad(op, field, value, why):
    return InvalidParameter(f"{type(op).__name__}.{field}={value!r}: {why}")


_BAD_IFNAME_CHAR = re.compile("[/: \t\n\r\f\v\0]")
_valid_ifnames: dict = {}      # name -> its bytes: names repeat ("eth0")


def check_ifname(op, field, name):
    """Interface names are 1..15 bytes, not '.'/'..', no '/', ':' or space
    (the kernel's dev_valid_name)."""
    raw = _valid_ifnames.get(name) if type(name) is str else None
    if raw is not None:
        return raw
    if not isinstance(name, str):
        raise _bad(op, field, name, "an interface name must be a str")
    raw = name.encode()
    if not 0 < len(raw) < IFNAMSIZ:
        raise _bad(op, field, name,
                   f"an interface name is 1 to {IFNAMSIZ - 1} bytes, "
                   f"this one is {len(raw)}")
    if name in (".", "..") or _BAD_IFNAME_CHAR.search(name):
        raise _bad(op, field, name, "not a valid interface name")
    if len(_valid_ifnames) >= 4096:
        _valid_ifnames.clear()
    _valid_ifnames[name] = raw
    return raw


def check_ref(op, field, ref):
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise _bad(op, field, ref, "a link is an ifindex (int) or a name")
    if isinstance(ref, int):
        if not 0 < ref < 2**31:
            raise _bad(op, field, ref, "an ifindex is a positive int32")
    else:
        check_ifname(op, field, ref)


def check_mac(op, field, mac):
    if mac is None:
        return None
    try:
        raw = bytes.fromhex(mac.replace(":", "")) if isinstance(mac, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 6 or (isinstance(mac, str) and len(mac) != 17):
        raise _bad(op, field, mac, "a MAC is six bytes as aa:bb:cc:dd:ee:ff")
    if raw[0] & 1:
        raise _bad(op, field, mac, "a multicast MAC cannot name an interface")
    return raw


def check_u32(op, field, value, lo=0, hi=2**32 - 1):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(op, field, value, f"expected an integer in [{lo}, {hi}]")
    return value


def check_path(op, field, path):
    if not isinstance(path, str) or not path or "\0" in path:
        raise _bad(op, field, path, "a namespace is named by a file path")
    return path


def parse_ip(op, field, text):
    """(family, packed) of an address, for the backends."""
    s = str(text)
    try:
        if ":" in s:
            return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, s)
        return socket.AF_INET, socket.inet_pton(socket.AF_INET, s)
    except (OSError, ValueError):
        raise _bad(op, field, text, "not an IP address") from None


def parse_cidr(op, field, text, default_plen=None):
    """(family, packed, prefixlen) of 'ADDR/PLEN'."""
    s = str(text)
    addr, sep, plen = s.partition("/")
    family, packed = parse_ip(op, field, addr)
    bits = 32 if family == socket.AF_INET else 128
    if not sep:
        if default_plen is None:
            raise _bad(op, field, text, "expected ADDRESS/PREFIXLEN")
        return family, packed, bits
    if not plen.isdigit() or not 0 <= int(plen) <= bits:
        raise _bad(op, field, text, f"prefix length must be 0..{bits}")
    return family, packed, int(plen)


def _check_ns(op):
    if op.ns is not None:
        check_path(op, "ns", op.ns)


def _prep_bridge(op):
    _check_ns(op)
    return (check_ifname(op, "name", op.name),
            check_u32(op, "mtu", op.mtu, 68, 65535),
            check_mac(op, "mac", op.mac),
            check_u32(op, "group", op.group))


def _prep_veth(op):
    _check_ns(op)
    if op.peer_ns is not None:
        check_path(op, "peer_ns", op.peer_ns)
    if op.master is not None:
        check_ref(op, "master", op.master)
    return (check_ifname(op, "name", op.name),
            check_ifname(op, "peer_name", op.peer_name),
            check_u32(op, "mtu", op.mtu, 68, 65535),
            check_mac(op, "mac", op.mac),
            check_u32(op, "group", op.group),
            check_u32(op, "peer_mtu", op.peer_mtu, 68, 65535),
            check_mac(op, "peer_mac", op.peer_mac),
            check_u32(op, "queues", op.queues, 1, MAX_QUEUES))


def _prep_set(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    if op.master is not None:
        if op.nomaster:
            raise _bad(op, "nomaster", True, "conflicts with master")
        check_ref(op, "master", op.master)
    if op.netns is not None:
        check_path(op, "netns", op.netns)
    return (None if op.name is None else check_ifname(op, "name", op.name),
            check_u32(op, "mtu", op.mtu, 68, 65535),
            check_u32(op, "group", op.group),
            check_mac(op, "mac", op.mac))


def _prep_link(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    return None


def _prep_group(op):
    _check_ns(op)
    check_u32(op, "group", op.group, 1)   # group 0 is every link's default
    return None


def _prep_addr(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    return parse_cidr(op, "address", op.address)


def _prep_route(op):
    _check_ns(op)
    family = dst = gw = None
    dst_len = 0
    if op.dst is not None and str(op.dst) != "default":
        family, dst, dst_len = parse_cidr(op, "dst", op.dst, default_plen=True)
    if op.gateway is not None:
        gfam, gw = parse_ip(op, "gateway", op.gateway)
        if family is not None and gfam != family:
            raise _bad(op, "gateway", op.gateway, "family differs from dst")
        family = gfam
    if op.family is not None:
        if op.family not in (socket.AF_INET, socket.AF_INET6) or (
                family is not None and family != op.family):
            raise _bad(op, "family", op.family, "AF_INET or AF_INET6, as dst")
        family = op.family
    if family is None:
        raise _bad(op, "dst", op.dst,
                   "a default route needs a gateway or a family")
    if op.oif is not None:
        check_ref(op, "oif", op.oif)
    elif gw is None and isinstance(op, RouteAdd):
        raise _bad(op, "oif", None, "a route without gateway needs oif")
    if isinstance(op, RouteAdd) and op.onlink and op.oif is None:
        raise _bad(op, "onlink", True, "onlink needs oif")
    if dst is not None:
        # the kernel refuses host bits beyond the prefix; say so first
        n = int.from_bytes(dst, "big")
        bits = len(dst) * 8
        if dst_len < bits and n & ((1 << (bits - dst_len)) - 1):
            raise _bad(op, "dst", op.dst, "host bits set beyond the prefix")
    return (family, dst, dst_len, gw,
            check_u32(op, "metric", op.metric),
            check_u32(op, "table", op.table, 0))


def _prep_netns(op):
    check_path(op, "path", op.path)
    return None


_PREPARE = {
    NetnsCreate: _prep_netns,
    NetnsDelete: _prep_netns,
    LinkAddBridge: _prep_bridge,
    LinkAddVeth: _prep_veth,
    LinkSet: _prep_set,
    LinkDel: _prep_link,
    LinkGet: _prep_link,
    LinkDelGroup: _prep_group,
    AddrAdd: _prep_addr,
    AddrDel: _prep_addr,
    RouteAdd: _prep_route,
    RouteDel: _prep_route,
}


def prepare(op):
    """Validate ``op`` and return its parsed fields (backend-neutral).

    Raises InvalidParameter naming the operation and field.
    """
    try:
        fn = _PREPARE[type(op)]
    except KeyError:
        raise InvalidParameter(f"not a backend operation: {op!r}") from None
    return fn(op)
