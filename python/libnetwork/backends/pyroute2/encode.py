"""Requests of the pyroute2 backend: one encoder per operation type.

Each encoder builds the one message of its operation with pyroute2's
rtnetlink classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``) from the
operation and the fields :func:`~..validate.prepare` parsed, so it is a
second encoder, independent of the C core's (csrc/rtnl_*.c).  The two
send the same messages -- type, flags, header fields and attributes, every
nest flagged ``NLA_F_NESTED`` (only ``IFLA_NET_NS_FD`` descriptors differ)
-- and tests/unit/test_parity.py holds them to that.  The attributes come
in the C core's order too, so the bytes are the same:

    ========================  =============  ==============================
    operation                 type           attributes (nested in {})
    ========================  =============  ==============================
    LinkAddBridge             NEWLINK c|x    IFNAME MTU ADDRESS GROUP
                                             LINKINFO{KIND}
    LinkAddVeth               NEWLINK c|x    IFNAME MTU ADDRESS GROUP MASTER
                                             TXQ RXQ LINKINFO{KIND DATA{
                                             PEER{ifinfomsg IFNAME NET_NS_FD
                                             MTU ADDRESS TXQ RXQ}}}
    LinkAdd{Macvlan,Ipvlan,   NEWLINK c|x    IFNAME MTU ADDRESS GROUP LINK
            Vlan}                            NET_NS_FD LINKINFO{KIND DATA{
                                             MODE | ID}}
    LinkSet                   SETLINK        IFNAME MASTER NET_NS_FD MTU
                                             ADDRESS GROUP AF_SPEC{INET6{
                                             ADDR_GEN_MODE}}
    LinkDel, LinkDelGroup     DELLINK        IFNAME | GROUP
    LinkGet                   GETLINK        IFNAME EXT_MASK
    AddrAdd, AddrDel          NEW/DELADDR    LOCAL (v4) ADDRESS BROADCAST
                                             (v4 add, plen < 31) FLAGS
    RouteAdd, RouteDel        NEW/DELROUTE   TABLE DST GATEWAY OIF PRIORITY
    ========================  =============  ==============================

Every request carries ``NLM_F_REQUEST | NLM_F_ACK`` (``c|x``: also
``NLM_F_CREATE | NLM_F_EXCL``), and ``NLM_F_ECHO`` when asked.  A link is
named to the kernel (index 0 + ``IFLA_IFNAME``) when ``base.by_name``
says so; every other reference is an ifindex, ``names[ref]`` for a name
or an :class:`~..ops.IndexOf`.  A route's table goes in ``RTA_TABLE``
(0 and None mean main), and in ``rtm_table`` only below 256 (iproute2's
rule; ``RT_TABLE_UNSPEC`` otherwise).

pyroute2's encoder costs 50-500 us a message, so :func:`request` encodes
identical requests once (name lookups; operations that differ only by
namespace: ``lo`` up, a default route via the same gateway and ifindex).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import replace

from pyroute2.netlink import (
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL,
    NLM_F_REQUEST)
from pyroute2.netlink.rtnl import (
    RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_GETLINK, RTM_NEWADDR,
    RTM_NEWLINK, RTM_NEWROUTE, RTM_SETLINK)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .. import ops as O
from ..base import REF_FIELDS, by_name

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
RT_TABLE_UNSPEC = 0
RT_TABLE_MAIN = 254
ADDRGEN_EUI64, ADDRGEN_NONE = 0, 1     # IN6_ADDR_GEN_MODE_*

NLA_F_NESTED = 1 << 15
IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER = 18, 2, 1
IFLA_INFO_SLAVE_DATA = 5
IFLA_PROTINFO = 12
IFLA_AF_SPEC, AF_INET6 = 26, socket.AF_INET6
IFINFOMSG = 16

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
    is born in ``peer_ns`` (no descriptor when that is ``ns`` itself) and
    left down (a veth end cannot open before both are linked)."""
    _, _, mtu, mac, group, peer_mtu, peer_mac, queues = prep
    peer = [("IFLA_IFNAME", op.peer_name)]
    if op.peer_ns is not None and op.peer_ns != op.ns:
        peer.append(("IFLA_NET_NS_FD", nsfd(op.peer_ns)))
    _queues(_common(peer, peer_mtu, peer_mac, None), queues)
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
    """``ip link set LINK ...``: the kernel's set request; by name (index
    0 + ``IFLA_IFNAME``) unless it is a rename."""
    new_name, mtu, group, mac = prep
    if by_name(op):
        index, attrs = 0, [("IFLA_IFNAME", op.link)]
    else:
        index = _idx(op.link, names)
        attrs = [("IFLA_IFNAME", op.name)] if new_name else []
    if op.nomaster:
        attrs.append(("IFLA_MASTER", 0))
    elif op.master is not None:
        attrs.append(("IFLA_MASTER", _idx(op.master, names)))
    if op.netns is not None:
        attrs.append(("IFLA_NET_NS_FD", nsfd(op.netns)))
    _common(attrs, mtu, mac, group)
    if op.ipv6_ll is not None:
        mode = ADDRGEN_EUI64 if op.ipv6_ll else ADDRGEN_NONE
        attrs.append(("IFLA_AF_SPEC", {"attrs": [("AF_INET6", {
            "attrs": [("IFLA_INET6_ADDR_GEN_MODE", mode)]})]}))
    if op.alias is not None:
        attrs.append(("IFLA_IFALIAS", op.alias))
    return _msg(ifinfmsg, RTM_SETLINK, _REQ, _ifi(index, op.up), attrs)


def bridge_port_set(op, prep, names, nsfd):
    """``ip link set LINK type bridge_slave hairpin on``: a change of an
    existing link (RTM_NEWLINK without NLM_F_CREATE) carrying the bridge
    port's options."""
    if by_name(op):
        index, attrs = 0, [("IFLA_IFNAME", op.link)]
    else:
        index, attrs = _idx(op.link, names), []
    if op.state is not None:
        # the state sticks only through the bridge's own setlink
        # (AF_BRIDGE, IFLA_PROTINFO), which finds the port by index
        port = [("IFLA_BRPORT_MODE", int(op.hairpin))] \
            if op.hairpin is not None else []
        port.append(("IFLA_BRPORT_STATE", op.state))
        ifi = _ifi(index)
        ifi["family"] = socket.AF_BRIDGE
        return _msg(ifinfmsg, RTM_SETLINK, _REQ, ifi,
                    [("IFLA_PROTINFO", {"attrs": port})])
    attrs.append(("IFLA_LINKINFO", {"attrs": [
        ("IFLA_INFO_SLAVE_KIND", "bridge"),
        ("IFLA_INFO_SLAVE_DATA", {"attrs": [
            ("IFLA_BRPORT_MODE", int(op.hairpin))]})]}))
    return _msg(ifinfmsg, RTM_NEWLINK, _REQ, _ifi(index), attrs)


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
    attrs = [("IFA_LOCAL", addr)] if family == socket.AF_INET else []
    attrs.append(("IFA_ADDRESS", addr))
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
    attrs = [("RTA_TABLE", table)]
    if dst is not None:
        attrs.append(("RTA_DST", _ip(family, dst)))
    if gw is not None:
        attrs.append(("RTA_GATEWAY", _ip(family, gw)))
    if op.oif is not None:
        attrs.append(("RTA_OIF", _idx(op.oif, names)))
    if metric:                              # 0 is the kernel's default
        attrs.append(("RTA_PRIORITY", metric))
    fields = {"family": family, "dst_len": dst_len, "src_len": 0, "tos": 0,
              "table": table if table < 256 else RT_TABLE_UNSPEC}
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
    O.BridgePortSet: bridge_port_set,
    O.LinkDel: link_del,
    O.LinkDelGroup: link_del_group,
    O.LinkGet: link_get,
    O.AddrAdd: addr_add,
    O.AddrDel: addr_del,
    O.RouteAdd: route_add,
    O.RouteDel: route_del,
}


# ------------------------------------------------------------------ nests
# Every nest carries NLA_F_NESTED, as the C core's (the kernel's strict
# validation wants it on nested attributes).  pyroute2 0.9.7 can flag only
# a top-level attribute (a third tuple item; nested values are rebuilt as
# [name, value]), so the flags are set on the encoded bytes: per operation
# type, a tree {attribute type: (fixed header bytes inside, tree inside)}.

_NLA = struct.Struct("=HH")
_INFO = {IFLA_LINKINFO: (0, {IFLA_INFO_DATA: (0, {})})}
NESTS = {
    O.LinkAddBridge: _INFO,
    O.LinkAddVeth: {IFLA_LINKINFO: (0, {IFLA_INFO_DATA: (0, {
        VETH_INFO_PEER: (IFINFOMSG, {})})})},
    O.LinkAddMacvlan: _INFO,
    O.LinkAddIpvlan: _INFO,
    O.LinkAddVlan: _INFO,
    O.LinkSet: {IFLA_AF_SPEC: (0, {AF_INET6: (0, {})})},
    # (a nest without NLA_F_NESTED would be read as the old one-byte state)
    O.BridgePortSet: {IFLA_LINKINFO: (0, {IFLA_INFO_SLAVE_DATA: (0, {})}),
                      IFLA_PROTINFO: (0, {})},
}


def _flag_nests(buf: bytearray, off: int, end: int, tree: dict) -> None:
    while off + 4 <= end:
        length, kind = _NLA.unpack_from(buf, off)
        if length < 4:
            return
        inner = tree.get(kind & ~NLA_F_NESTED)
        if inner is not None:
            _NLA.pack_into(buf, off, length, kind | NLA_F_NESTED)
            _flag_nests(buf, off + 4 + inner[0], off + length, inner[1])
        off += (length + 3) & ~3


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
    t = type(op)
    m = ENCODERS[t](op, prep, names, nsfd)
    if echo:
        m["header"]["flags"] |= NLM_F_ECHO
    data = _wire(m)
    tree = NESTS.get(t)
    if tree is None:
        return data
    buf = bytearray(data)
    _flag_nests(buf, 16 + IFINFOMSG, len(buf), tree)
    return bytes(buf)


_encoded: dict = {}
_lookups: dict = {}


def _memo_key(op, names, echo):
    """What the encoding of ``op`` depends on, or None when it carries a
    namespace descriptor and cannot be reused."""
    if getattr(op, "netns", None) is not None or \
            getattr(op, "peer_ns", None) is not None:
        return None
    refs = tuple(names.get(getattr(op, f))
                 for f in REF_FIELDS.get(type(op), ()))
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
