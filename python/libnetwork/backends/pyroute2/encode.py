"""Requests of the pyroute2 backend: one encoder per operation type.

Each encoder builds the one message of its operation with pyroute2's
rtnetlink classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``) from the
operation and the fields :func:`~..validate.prepare` parsed, so it is a
second encoder, independent of the C core's (csrc/rtnl_*.c).

Every request carries ``NLM_F_REQUEST | NLM_F_ACK`` (creations also
``NLM_F_CREATE | NLM_F_EXCL``), and ``NLM_F_ECHO`` when asked.  A link is
named to the kernel (index 0 + ``IFLA_IFNAME``) when ``base.by_name`` says
so; every other reference is an ifindex, ``names[ref]`` for a name or an
:class:`~..ops.IndexOf`.

pyroute2's encoder costs 50-500 us a message, so :func:`request` encodes
identical requests once (name lookups; operations that differ only by
namespace: ``lo`` up, a default route via the same gateway and ifindex).
"""

from __future__ import annotations

import socket
from dataclasses import replace

from pyroute2.netlink import (
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL,
    NLM_F_REQUEST)
from pyroute2.netlink.rtnl import (
    RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_GETLINK, RTM_NEWADDR,
    RTM_NEWLINK, RTM_NEWROUTE)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .. import ops as O
from ..base import _REF_FIELDS, by_name

__all__ = ["encode", "request", "lookup", "dump_request", "ENCODERS"]

IFF_UP = 0x1
IFA_F_NODAD = 0x02
RTEXT_FILTER_SKIP_STATS = 1 << 3
RTNH_F_ONLINK = 0x4
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
RTN_UNICAST = 1
RT_TABLE_COMPAT = 252
RT_TABLE_MAIN = 254
ADDRGEN_EUI64, ADDRGEN_NONE = 0, 1     # IN6_ADDR_GEN_MODE_*

_REQ = NLM_F_REQUEST | NLM_F_ACK
_CREATE = _REQ | NLM_F_CREATE | NLM_F_EXCL
_MEMO_MAX = 4096


# ---------------------------------------------------------------- helpers

def _msg(cls, mtype, flags, fields, attrs):
    m = cls()
    m["header"]["type"] = mtype
    m["header"]["flags"] = flags
    for k, v in fields.items():
        m[k] = v
    m["attrs"] = attrs
    return m


def _ifi(index=0, up=None):
    """ifinfomsg fields: ``up`` None leaves the flags alone (change 0)."""
    if up is None:
        return {"family": 0, "index": index, "flags": 0, "change": 0}
    return {"family": 0, "index": index, "flags": IFF_UP if up else 0,
            "change": IFF_UP}


def _idx(ref, names):
    return ref if type(ref) is int else names[ref]


def _common(attrs, mtu, mac, group):
    """IFLA_MTU, IFLA_ADDRESS, IFLA_GROUP, in the C core's order."""
    if mtu is not None:
        attrs.append(("IFLA_MTU", mtu))
    if mac is not None:
        attrs.append(("IFLA_ADDRESS", mac.hex(":")))
    if group is not None:
        attrs.append(("IFLA_GROUP", group))
    return attrs


def _queues(attrs, queues):
    if queues is not None:
        attrs += [("IFLA_NUM_TX_QUEUES", queues),
                  ("IFLA_NUM_RX_QUEUES", queues)]
    return attrs


def _linkinfo(kind, data=None):
    info = [("IFLA_INFO_KIND", kind)]
    if data is not None:
        info.append(("IFLA_INFO_DATA", {"attrs": data}))
    return ("IFLA_LINKINFO", {"attrs": info})


def _ip(family, packed):
    return socket.inet_ntop(family, packed)


# --------------------------------------------------------------- encoders
# each: (op, prepared fields, names, nsfd(path) -> fd) -> message

def link_add_bridge(op, prep, names, nsfd):
    """``ip link add NAME type bridge``"""
    name, mtu, mac, group = prep
    attrs = _common([("IFLA_IFNAME", op.name)], mtu, mac, group)
    attrs.append(_linkinfo("bridge"))
    return _msg(ifinfmsg, RTM_NEWLINK, _CREATE,
                _ifi(0, True if op.up else None), attrs)


def link_add_veth(op, prep, names, nsfd):
    """``ip link add NAME type veth peer name PEER [netns NS]``: the peer
    is born in ``peer_ns`` and left down (a veth end cannot open before
    both are linked)."""
    _, _, mtu, mac, group, peer_mtu, peer_mac, queues = prep
    peer = [("IFLA_IFNAME", op.peer_name)]
    _queues(_common(peer, peer_mtu, peer_mac, None), queues)
    if op.peer_ns is not None:
        peer.append(("IFLA_NET_NS_FD", nsfd(op.peer_ns)))
    pmsg = dict(_ifi())
    pmsg["attrs"] = peer
    attrs = _common([("IFLA_IFNAME", op.name)], mtu, mac, group)
    if op.master is not None:
        attrs.append(("IFLA_MASTER", _idx(op.master, names)))
    _queues(attrs, queues)
    attrs.append(_linkinfo("veth", [("VETH_INFO_PEER", pmsg)]))
    return _msg(ifinfmsg, RTM_NEWLINK, _CREATE,
                _ifi(0, True if op.up else None), attrs)


def _lower(op, mtu, mac, group, names, nsfd, kind, data):
    """A device over ``op.parent``, born in ``op.netns`` when set."""
    attrs = _common([("IFLA_IFNAME", op.name)], mtu, mac, group)
    attrs.append(("IFLA_LINK", _idx(op.parent, names)))
    netns = getattr(op, "netns", None)
    if netns is not None:
        attrs.append(("IFLA_NET_NS_FD", nsfd(netns)))
    attrs.append(_linkinfo(kind, data))
    return _msg(ifinfmsg, RTM_NEWLINK, _CREATE,
                _ifi(0, True if op.up else None), attrs)


def link_add_macvlan(op, prep, names, nsfd):
    """``ip link add NAME link PARENT [netns NS] type macvlan mode MODE``"""
    _, mtu, group, mac, mode = prep
    return _lower(op, mtu, mac, group, names, nsfd, "macvlan",
                  [("IFLA_MACVLAN_MODE", mode)])


def link_add_ipvlan(op, prep, names, nsfd):
    """``ip link add NAME link PARENT [netns NS] type ipvlan mode MODE``"""
    _, mtu, group, mode = prep
    return _lower(op, mtu, None, group, names, nsfd, "ipvlan",
                  [("IFLA_IPVLAN_MODE", mode)])


def link_add_vlan(op, prep, names, nsfd):
    """``ip link add NAME link PARENT type vlan id VID``"""
    _, mtu, group, vid = prep
    return _lower(op, mtu, None, group, names, nsfd, "vlan",
                  [("IFLA_VLAN_ID", vid)])


def link_set(op, prep, names, nsfd):
    """``ip link set LINK ...``: by name (index 0 + ``IFLA_IFNAME``) unless
    it is a rename."""
    new_name, mtu, group, mac = prep
    attrs = []
    if op.netns is not None:
        attrs.append(("IFLA_NET_NS_FD", nsfd(op.netns)))
    if new_name:
        attrs.append(("IFLA_IFNAME", op.name))
        index = _idx(op.link, names)
    elif by_name(op):
        attrs.append(("IFLA_IFNAME", op.link))
        index = 0
    else:
        index = _idx(op.link, names)
    _common(attrs, mtu, mac, group)
    if op.nomaster:
        attrs.append(("IFLA_MASTER", 0))
    elif op.master is not None:
        attrs.append(("IFLA_MASTER", _idx(op.master, names)))
    if op.ipv6_ll is not None:
        mode = ADDRGEN_EUI64 if op.ipv6_ll else ADDRGEN_NONE
        attrs.append(("IFLA_AF_SPEC", {"attrs": [("AF_INET6", {
            "attrs": [("IFLA_INET6_ADDR_GEN_MODE", mode)]})]}))
    return _msg(ifinfmsg, RTM_NEWLINK, _REQ, _ifi(index, op.up), attrs)


def link_del(op, prep, names, nsfd):
    """``ip link del LINK``"""
    if by_name(op):
        return _msg(ifinfmsg, RTM_DELLINK, _REQ, _ifi(0),
                    [("IFLA_IFNAME", op.link)])
    return _msg(ifinfmsg, RTM_DELLINK, _REQ, _ifi(_idx(op.link, names)), [])


def link_del_group(op, prep, names, nsfd):
    """``ip link del group G``"""
    return _msg(ifinfmsg, RTM_DELLINK, _REQ, _ifi(0),
                [("IFLA_GROUP", op.group)])


def link_get(op, prep, names, nsfd):
    """``ip link show LINK``, statistics skipped; a name goes to the
    kernel (base resolves none for LinkGet)."""
    if type(op.link) is str:
        index, attrs = 0, [("IFLA_IFNAME", op.link)]
    else:
        index, attrs = _idx(op.link, names), []
    attrs.append(("IFLA_EXT_MASK", RTEXT_FILTER_SKIP_STATS))
    return _msg(ifinfmsg, RTM_GETLINK, _REQ, _ifi(index), attrs)


def _addr(op, prep, names, add):
    family, packed, plen = prep
    addr = _ip(family, packed)
    attrs = [("IFA_LOCAL", addr), ("IFA_ADDRESS", addr)]
    flags = 0
    if add:
        if family == socket.AF_INET and plen < 31:
            # `ip addr add ... brd +`: the host bits all set
            brd = int.from_bytes(packed, "big") | ((1 << (32 - plen)) - 1)
            attrs.append(("IFA_BROADCAST",
                          _ip(family, brd.to_bytes(4, "big"))))
        if op.nodad:
            flags = IFA_F_NODAD
            attrs.append(("IFA_FLAGS", IFA_F_NODAD))
    return _msg(ifaddrmsg, RTM_NEWADDR if add else RTM_DELADDR,
                _CREATE if add else _REQ,
                {"family": family, "prefixlen": plen, "flags": flags,
                 "scope": 0, "index": _idx(op.link, names)}, attrs)


def addr_add(op, prep, names, nsfd):
    """``ip addr add ADDRESS/PLEN dev LINK [nodad]`` (IPv4: ``brd +``)"""
    return _addr(op, prep, names, True)


def addr_del(op, prep, names, nsfd):
    """``ip addr del ADDRESS/PLEN dev LINK``"""
    return _addr(op, prep, names, False)


def _route(op, prep, names, add):
    family, dst, dst_len, gw, metric, table = prep
    table = table or RT_TABLE_MAIN          # None or 0 (RT_TABLE_UNSPEC)
    attrs = []
    if dst is not None:
        attrs.append(("RTA_DST", _ip(family, dst)))
    if gw is not None:
        attrs.append(("RTA_GATEWAY", _ip(family, gw)))
    if op.oif is not None:
        attrs.append(("RTA_OIF", _idx(op.oif, names)))
    if metric is not None:
        attrs.append(("RTA_PRIORITY", metric))
    attrs.append(("RTA_TABLE", table))
    fields = {"family": family, "dst_len": dst_len, "src_len": 0, "tos": 0,
              "table": table if table < 256 else RT_TABLE_COMPAT}
    if add:
        fields.update(proto=RTPROT_BOOT,
                      scope=RT_SCOPE_UNIVERSE if gw is not None
                      else RT_SCOPE_LINK,
                      type=RTN_UNICAST,
                      flags=RTNH_F_ONLINK if op.onlink else 0)
        return _msg(rtmsg, RTM_NEWROUTE, _CREATE, fields, attrs)
    fields.update(proto=0, scope=RT_SCOPE_NOWHERE, type=0, flags=0)
    return _msg(rtmsg, RTM_DELROUTE, _REQ, fields, attrs)


def route_add(op, prep, names, nsfd):
    """``ip route add {DST|default} [via GW] [dev OIF] [onlink] [metric M]
    [table T]``"""
    return _route(op, prep, names, True)


def route_del(op, prep, names, nsfd):
    """``ip route del ...``: unset fields match any route."""
    return _route(op, prep, names, False)


ENCODERS = {
    O.LinkAddBridge: link_add_bridge,
    O.LinkAddVeth: link_add_veth,
    O.LinkAddMacvlan: link_add_macvlan,
    O.LinkAddIpvlan: link_add_ipvlan,
    O.LinkAddVlan: link_add_vlan,
    O.LinkSet: link_set,
    O.LinkDel: link_del,
    O.LinkDelGroup: link_del_group,
    O.LinkGet: link_get,
    O.AddrAdd: addr_add,
    O.AddrDel: addr_del,
    O.RouteAdd: route_add,
    O.RouteDel: route_del,
}


# --------------------------------------------------------------- encoding

def _wire(m) -> bytes:
    """The wire bytes of pyroute2 message ``m``, with sequence number and
    port id 0 (the sender patches in its sequence)."""
    m["header"]["sequence_number"] = 0
    m["header"]["pid"] = 0
    m.encode()
    return bytes(m.data)


def encode(op, prep, names, nsfd, echo=False) -> bytes:
    """The one message of ``op`` (``prep``: its prepared fields; ``names``:
    its link references' ifindexes; ``nsfd(path)``: a descriptor of the
    namespace at ``path``), asking for ``NLM_F_ECHO`` with ``echo``."""
    m = ENCODERS[type(op)](op, prep, names, nsfd)
    if echo:
        m["header"]["flags"] |= NLM_F_ECHO
    return _wire(m)


_encoded: dict = {}
_lookups: dict = {}


def _memo_key(op, names, echo):
    """What the encoding of ``op`` depends on, or None when it carries a
    namespace descriptor and cannot be reused."""
    if getattr(op, "netns", None) is not None or \
            getattr(op, "peer_ns", None) is not None:
        return None
    refs = tuple(names.get(getattr(op, f))
                 for f in _REF_FIELDS.get(type(op), ()))
    if op.ns is not None:
        op = replace(op, ns=None)
    return (op, refs, echo)


def request(op, prep, names, nsfd, echo=False) -> bytes:
    """:func:`encode`, reusing the bytes of an identical earlier request."""
    try:
        key = _memo_key(op, names, echo)
        data = _encoded.get(key) if key is not None else None
    except TypeError:              # an unhashable field value
        key = data = None
    if data is None:
        data = encode(op, prep, names, nsfd, echo)
        if key is not None:
            if len(_encoded) >= _MEMO_MAX:
                _encoded.clear()
            _encoded[key] = data
    return data


def lookup(name: str) -> bytes:
    """``RTM_GETLINK IFLA_IFNAME=name`` (statistics skipped), encoded once:
    the message of ``LinkGet(name)``."""
    data = _lookups.get(name)
    if data is None:
        data = encode(O.LinkGet(name), None, {}, None)
        if len(_lookups) >= _MEMO_MAX:
            _lookups.clear()
        _lookups[name] = data
    return data


def dump_request(cls, mtype, family=0, attrs=()) -> bytes:
    """A dump request (``NLM_F_DUMP``, no ack) for every ``mtype`` object."""
    return _wire(_msg(cls, mtype, NLM_F_REQUEST | NLM_F_DUMP,
                      {"family": family}, list(attrs)))
