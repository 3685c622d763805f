"""Replies of the kernel, decoded by pyroute2's rtnetlink classes into the
contract's records: dumped links (:class:`~..ops.Link`, and their
``IFLA_STATS64`` counters), addresses (:class:`~..ops.Address`), routes
(:class:`~..ops.Route`), and the ``(ifindex, IFLA_LINK)`` of one
``RTM_NEWLINK`` (a ``RTM_GETLINK`` answer or an echoed creation).

Each function takes one message: ``(buffer, offset)`` as
:func:`.transport.dump` finds it, or the bytes :func:`.transport.transact`
hands back.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .. import ops as O
from ..validate import ALIAS_MAX

__all__ = ["link", "link_stats", "address", "route", "created"]

STATS_KEYS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
              "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")
_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_IFLA_LINK = 5
_NLA = struct.Struct("=HH")
_I32 = struct.Struct("=i")
_U32 = struct.Struct("=I")
_IFINFO_END = 16 + 16          # nlmsghdr + ifinfomsg


def created(data: bytes):
    """``(ifi_index, IFLA_LINK or 0)`` of one ``RTM_NEWLINK`` message.

    The only decode on the batch path, so it walks the top-level
    attributes itself instead of decoding all of a link's (a
    ``LinkGet`` or an echo reply is a kilobyte or two of them).
    """
    index = _I32.unpack_from(data, 20)[0]
    off, end = _IFINFO_END, min(len(data), _U32.unpack_from(data, 0)[0])
    while off + 4 <= end:
        nla_len, nla_type = _NLA.unpack_from(data, off)
        if nla_len < 4:
            break
        if nla_type & 0x3FFF == _IFLA_LINK and nla_len >= 8:
            return index, _U32.unpack_from(data, off + 4)[0]
        off += (nla_len + 3) & ~3
    return index, 0


def link(buf, off) -> O.Link:
    """One dumped ``RTM_NEWLINK``: ``ip link show``."""
    m = ifinfmsg(buf, offset=off)
    m.decode()
    kind = ""
    info = m.get_attr("IFLA_LINKINFO")
    if info is not None:
        kind = info.get_attr("IFLA_INFO_KIND") or ""
    mac = m.get_attr("IFLA_ADDRESS")
    nsid = m.get_attr("IFLA_LINK_NETNSID")
    return O.Link(
        index=m["index"],
        name=m.get_attr("IFLA_IFNAME") or "",
        kind=kind,
        mac=(mac or "").lower(),
        mtu=m.get_attr("IFLA_MTU") or 0,
        flags=m["flags"],
        master=m.get_attr("IFLA_MASTER") or 0,
        group=m.get_attr("IFLA_GROUP") or 0,
        link=m.get_attr("IFLA_LINK") or 0,
        link_netnsid=-1 if nsid is None else nsid,
        alias=_alias(m.get_attr("IFLA_IFALIAS")),
    )


def _alias(alias) -> str:
    """The alias as the native core reports it: "" when longer than it
    keeps (:data:`~..validate.ALIAS_MAX`)."""
    if not alias or len(alias.encode()) >= ALIAS_MAX:
        return ""
    return alias


def link_stats(buf, off) -> tuple:
    """``(name, counters)`` of one dumped ``RTM_NEWLINK``: ``ip -s link``,
    the counters in :data:`STATS_KEYS` order from ``IFLA_STATS64`` (zeros
    when the kernel sends none)."""
    m = ifinfmsg(buf, offset=off)
    m.decode()
    st = m.get_attr("IFLA_STATS64")
    name = m.get_attr("IFLA_IFNAME") or ""
    if st is None:
        return name, (0,) * 8
    return name, tuple(st[k] for k in STATS_KEYS)


def _of_family(cls, buf, off, family):
    """The message decoded, or None outside ``family`` (or neither IPv4
    nor IPv6)."""
    m = cls(buf, offset=off)
    m.decode()
    fam = m["family"]
    if fam not in _FAMILIES or (family and fam != family):
        return None
    return m


def address(buf, off, family=0):
    """One dumped ``RTM_NEWADDR`` (None outside ``family``, or neither
    IPv4 nor IPv6): ``ip addr show``."""
    m = _of_family(ifaddrmsg, buf, off, family)
    if m is None:
        return None
    local = m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")
    flags = m.get_attr("IFA_FLAGS")
    return O.Address(
        index=m["index"],
        address=ipaddress.ip_interface(f"{local}/{m['prefixlen']}"),
        scope=m["scope"],
        flags=m["flags"] if flags is None else flags,
        label=m.get_attr("IFA_LABEL") or "",
    )


def route(buf, off, family=0):
    """One dumped ``RTM_NEWROUTE`` (None outside ``family``, or neither
    IPv4 nor IPv6): ``ip route show table all``."""
    m = _of_family(rtmsg, buf, off, family)
    if m is None:
        return None
    fam = m["family"]
    dst = m.get_attr("RTA_DST") or (
        "0.0.0.0" if fam == socket.AF_INET else "::")
    gw = m.get_attr("RTA_GATEWAY")
    table = m.get_attr("RTA_TABLE")
    return O.Route(
        dst=ipaddress.ip_network(f"{dst}/{m['dst_len']}"),
        gateway=None if gw is None else ipaddress.ip_address(gw),
        oif=m.get_attr("RTA_OIF") or 0,
        table=m["table"] if table is None else table,
        protocol=m["proto"],
        scope=m["scope"],
        type=m["type"],
        priority=m.get_attr("RTA_PRIORITY") or 0,
        flags=m["flags"],
    )
