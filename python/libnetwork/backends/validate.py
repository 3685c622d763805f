"""Validation of operations: :func:`prepare` checks one operation's fields
once per batch, before anything is sent, and returns them parsed into the
backend-neutral form both backends encode from (names as bytes, addresses
packed, modes as numbers).  A malformed operation raises
:class:`~libnetwork.errors.InvalidParameter` naming the operation and field.
"""

from __future__ import annotations

import re
import socket

from ..errors import InvalidParameter

ALIAS_MAX = 128    # NLC_ALIAS_MAX: the longest alias kept, with its NUL
from .ops import (
    IFNAMSIZ, IPVLAN_MODES, MACVLAN_MODES, MAX_QUEUES, PRODUCERS, AddrAdd,
    BridgePortSet,
    AddrDel, IndexOf, LinkAddBridge, LinkAddIpvlan, LinkAddMacvlan,
    LinkAddVeth, LinkAddVlan, LinkDel, LinkDelGroup, LinkGet, LinkSet,
    NetnsCreate, NetnsDelete, RouteAdd, RouteDel, Sysctl)
from .nft_validate import PREPARE as _nft_prepare
from .nft_validate import _sysctl as _prep_sysctl


def _bad(op, field, value, why):
    return InvalidParameter(f"{type(op).__name__}.{field}={value!r}: {why}")


_BAD_IFNAME_CHAR = re.compile("[/:% \t\n\r\f\v\0]")
_valid_ifnames: dict = {}      # name -> its bytes: names repeat ("eth0")


def check_ifname(op, field, name):
    """Interface names are 1..15 bytes, not '.'/'..', no '/', ':' or space
    (the kernel's dev_valid_name), and no '%' (which the kernel expands:
    ``br%d`` would create ``br0``)."""
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
    if type(ref) is IndexOf:
        if not isinstance(ref.op, PRODUCERS):
            raise _bad(op, field, ref, "IndexOf names an operation that "
                       "creates or looks up a link")
        if ref.peer and type(ref.op) is not LinkAddVeth:
            raise _bad(op, field, ref, "only a veth has a peer")
        if getattr(ref.op, "netns", None) is not None and not ref.peer:
            raise _bad(op, field, ref, "a link created in another namespace "
                       "is not echoed: look it up with LinkGet")
        return
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise _bad(op, field, ref, "a link is an ifindex (int), a name or "
                   "an IndexOf")
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


def _prep_lower(op):
    """Common to macvlan, ipvlan and vlan: name, parent, netns, mtu, group."""
    _check_ns(op)
    check_ref(op, "parent", op.parent)
    netns = getattr(op, "netns", None)
    if netns is not None:
        check_path(op, "netns", netns)
    return (check_ifname(op, "name", op.name),
            check_u32(op, "mtu", op.mtu, 68, 65535),
            check_u32(op, "group", op.group))


def _mode(op, modes):
    m = modes.get(op.mode) if isinstance(op.mode, str) else None
    if m is None:
        raise _bad(op, "mode", op.mode, f"one of {', '.join(modes)}")
    return m


def _prep_macvlan(op):
    return _prep_lower(op) + (check_mac(op, "mac", op.mac),
                              _mode(op, MACVLAN_MODES))


def _prep_ipvlan(op):
    return _prep_lower(op) + (_mode(op, IPVLAN_MODES),)


def _prep_vlan(op):
    return _prep_lower(op) + (check_u32(op, "vid", op.vid, 1, 4094),)


def _prep_set(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    if op.master is not None:
        if op.nomaster:
            raise _bad(op, "nomaster", True, "conflicts with master")
        check_ref(op, "master", op.master)
    if op.netns is not None:
        check_path(op, "netns", op.netns)
    if op.up and op.ipv6_ll is not None:
        # one request could not keep the order: the kernel applies
        # IFLA_AF_SPEC after the flags, so a link with carrier at once
        # would get its link-local address by the old mode
        raise _bad(op, "ipv6_ll", op.ipv6_ll, "set it in a LinkSet before "
                   "the one that brings the link up (the kernel applies the "
                   "mode after the flags of one request)")
    if op.alias is not None and (
            not isinstance(op.alias, str) or "\0" in op.alias
            or not 0 < len(op.alias.encode()) < ALIAS_MAX):
        raise _bad(op, "alias", op.alias, f"an alias is 1 to {ALIAS_MAX - 1} "
                   "bytes without NUL")
    return (None if op.name is None else check_ifname(op, "name", op.name),
            check_u32(op, "mtu", op.mtu, 68, 65535),
            check_u32(op, "group", op.group),
            check_mac(op, "mac", op.mac))


def _prep_link(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    if type(op) is LinkGet and type(op.link) is IndexOf:
        raise _bad(op, "link", op.link, "the index of an IndexOf is known "
                   "already: LinkGet names a link or an ifindex")
    return None


def _prep_brport(op):
    _check_ns(op)
    check_ref(op, "link", op.link)
    if op.hairpin is not None and type(op.hairpin) is not bool:
        raise _bad(op, "hairpin", op.hairpin, "True, False or None")
    if op.state is not None and (type(op.state) is not int
                                 or not 0 <= op.state <= 4):
        raise _bad(op, "state", op.state, "0 (disabled) to 4 (blocking)")
    if op.hairpin is None and op.state is None:
        raise _bad(op, "hairpin", op.hairpin, "a hairpin or a state")
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
    LinkAddMacvlan: _prep_macvlan,
    LinkAddIpvlan: _prep_ipvlan,
    LinkAddVlan: _prep_vlan,
    LinkSet: _prep_set,
    BridgePortSet: _prep_brport,
    LinkDel: _prep_link,
    LinkGet: _prep_link,
    LinkDelGroup: _prep_group,
    AddrAdd: _prep_addr,
    AddrDel: _prep_addr,
    RouteAdd: _prep_route,
    RouteDel: _prep_route,
}
_PREPARE.update(_nft_prepare)
_PREPARE[Sysctl] = _prep_sysctl


def prepare(op):
    """Validate ``op`` and return its parsed fields (backend-neutral).

    Raises InvalidParameter naming the operation and field.
    """
    try:
        fn = _PREPARE[type(op)]
    except KeyError:
        raise InvalidParameter(f"not a backend operation: {op!r}") from None
    return fn(op)
