"""Declarative kernel operations: the vocabulary of the Backend contract.

Each operation is a small immutable value naming the namespace it acts in
(``ns``: the path of a bound network namespace, or ``None`` for the
backend's root namespace).  Links are referred to by ifindex (``int``), by
name (``str``, resolved inside ``ns``) or as :class:`IndexOf` an earlier
operation of the batch that created the link.  Drivers build lists of
these ("plans"); a backend executes a list and returns one
:class:`Result` per operation, in order.

Operations are plain data: building one costs a few hundred nanoseconds and
validates nothing.  Validation happens once per batch, in
:func:`libnetwork.backends.validate.prepare`, before anything is sent, so a malformed batch raises
:class:`~libnetwork.errors.InvalidParameter` and changes nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ..errors import netlink_error
from .nft_ops import (NFT_OPS, NftChainAdd, NftElem, NftElemAdd, NftElemDel,
                      NftRuleAdd, NftSetAdd, NftTableAdd, NftTableDel)

LinkRef = Union[int, str, "IndexOf"]
NS = Optional[str]

IFNAMSIZ = 16
MAX_QUEUES = 4096      # the kernel's limit for numtxqueues / numrxqueues
IFF_UP = 0x1

__all__ = [
    "NetnsCreate", "NetnsDelete", "LinkAddBridge", "LinkAddVeth",
    "LinkAddMacvlan", "LinkAddIpvlan", "LinkAddVlan", "LinkSet",
    "BridgePortSet", "LinkDel",
    "LinkDelGroup", "LinkGet", "AddrAdd", "AddrDel", "RouteAdd", "RouteDel",
    "IndexOf", "Created", "Result", "Link", "Address", "Route", "Op",
    "MACVLAN_MODES", "IPVLAN_MODES", "Sysctl", "NFT_OPS", "NftTableAdd",
    "NftTableDel", "NftChainAdd", "NftSetAdd", "NftRuleAdd", "NftElemAdd",
    "NftElemDel", "NftElem",
]

# IFLA_MACVLAN_MODE values (linux/if_link.h)
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
# IFLA_IPVLAN_MODE values
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}


# --------------------------------------------------------------- references

@dataclass(frozen=True, slots=True)
class IndexOf:
    """The ifindex of the link that ``op``, an earlier operation of the same
    batch, created or looked up; with ``peer``, the index of that veth's
    peer (in the peer's namespace).

    This is how interface indexes travel with a plan: the backend asks the
    kernel to echo the creation (``NLM_F_ECHO``) and reads the new index
    (and ``IFLA_LINK``, the peer's) from the echo, so no name lookup is
    needed later.  ``op`` must create its link in the namespace it is sent
    in (the kernel echoes only there), or be a :class:`LinkGet`.
    """
    op: object
    peer: bool = False


class Created(NamedTuple):
    """The value of an echoed link creation: the new link's ifindex, and
    ``peer``, its ``IFLA_LINK`` (a veth peer's ifindex; 0 when none)."""
    index: int
    peer: int



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
    wait (what that saves is measured in bench/README.md); only
    ``ethtool -L`` can no longer add queues later.
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
class LinkAddMacvlan:
    """``ip link add NAME link PARENT [netns NS] [address MAC] [mtu M]
    [group G] [up] type macvlan mode MODE``

    ``parent`` is resolved in ``ns`` (where the request is sent); with
    ``netns`` the device is born in that namespace (``IFLA_NET_NS_FD``)
    under its final name, never visible beside its parent.  ``mode``: one
    of :data:`MACVLAN_MODES`.
    """
    name: str
    parent: LinkRef
    mode: str = "bridge"
    netns: NS = None
    mac: Optional[str] = None
    mtu: Optional[int] = None
    group: Optional[int] = None
    up: bool = False
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkAddIpvlan:
    """``ip link add NAME link PARENT [netns NS] [mtu M] [group G] [up]
    type ipvlan mode {l2|l3|l3s}`` (an ipvlan shares its parent's MAC)."""
    name: str
    parent: LinkRef
    mode: str = "l2"
    netns: NS = None
    mtu: Optional[int] = None
    group: Optional[int] = None
    up: bool = False
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkAddVlan:
    """``ip link add NAME link PARENT [mtu M] [group G] [up] type vlan id
    VID`` (802.1Q)."""
    name: str
    parent: LinkRef
    vid: int
    mtu: Optional[int] = None
    group: Optional[int] = None
    up: bool = False
    ns: NS = None


@dataclass(frozen=True, slots=True)
class LinkSet:
    """``ip link set LINK [up|down] [master M|nomaster] [mtu M] [name N]
    [netns NS] [group G] [address MAC] [addrgenmode {eui64|none}]
    [alias ALIAS]``

    ``alias`` (``IFLA_IFALIAS``, 1 to 127 bytes) is how the controller
    marks the links it makes as its own: the kernel keeps it with the link
    (a creation request cannot set it).

    ``ipv6_ll=False`` (addrgenmode none), set before the link comes up (in
    an earlier ``LinkSet``: the kernel applies the mode after the flags of
    one request, so ``up`` with ``ipv6_ll`` is refused), brings it up
    without an IPv6 link-local address: no address, DAD or MLD work in the
    kernel, most of the cost of bringing a veth up.  Drivers use it on
    IPv4-only networks.
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
    alias: Optional[str] = None
    ns: NS = None


@dataclass(frozen=True, slots=True)
class BridgePortSet:
    """``ip link set LINK type bridge_slave hairpin {on|off}``: options of
    a bridge port (``IFLA_INFO_SLAVE_DATA``).  ``hairpin``
    (``IFLA_BRPORT_MODE``) lets a frame leave through the port it came in
    by: a container reaching its own published port needs it, as the
    kernel bridges a connection DNATed back to the same bridge.  ``state``
    (``IFLA_BRPORT_STATE``, ``BR_STATE_*``: 0 disabled .. 4 blocking): a
    disabled port forwards nothing, at once.  None: left as it is."""
    link: LinkRef
    hairpin: Optional[bool] = True
    ns: NS = None
    state: Optional[int] = None


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


# ------------------------------------------------------------------ sysctl

@dataclass(frozen=True, slots=True)
class Sysctl:
    """``sysctl -w KEY=VALUE`` in ``ns``: ``key`` is the path under
    ``/proc/sys`` (``net/ipv4/ip_forward``); the ``net`` tree is the
    namespace's own.  The result's ``value`` is the previous value (what
    the file held before).  A file that already holds ``value`` is not
    written; with ``missing_ok`` a key the kernel does not have (a module
    not loaded) is no error."""
    key: str
    value: str
    missing_ok: bool = False
    ns: NS = None


Op = Union[NetnsCreate, NetnsDelete, LinkAddBridge, LinkAddVeth,
           LinkAddMacvlan, LinkAddIpvlan, LinkAddVlan, LinkSet,
           BridgePortSet, LinkDel, LinkDelGroup, LinkGet, AddrAdd, AddrDel,
           RouteAdd, RouteDel, Sysctl, NftTableAdd, NftTableDel, NftChainAdd, NftSetAdd,
           NftRuleAdd, NftElemAdd, NftElemDel]

# operations whose link an IndexOf may name: they create it (echoed) or
# look it up
PRODUCERS = (LinkAddBridge, LinkAddVeth, LinkAddMacvlan, LinkAddIpvlan,
             LinkAddVlan, LinkGet)


# ------------------------------------------------------------------ results

class Result:
    """The outcome of one operation: ``errno`` 0 (ok) or the kernel's error
    number, ``message`` the kernel's extended-ack text, ``value`` what the
    operation returns (an ifindex for :class:`LinkGet`; a :class:`Created`
    for a link creation that a later :class:`IndexOf` names)."""

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
    alias: str = ""    # IFLA_IFALIAS ("" when none)

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
