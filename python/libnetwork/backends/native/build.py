"""The native backend's builders: one function per operation, each
appending the operation's one message to a batch through one ``nlc_*``
call of the C core and returning the core's rc (Python builds no bytes).

Every builder is ``fn(b, op, prep, names, nsfd)``: ``prep`` is the
operation's :func:`~libnetwork.backends.validate.prepare` tuple, ``names``
maps link references (names, :class:`~libnetwork.backends.ops.IndexOf`) to
ifindexes, ``nsfd(path)`` gives a namespace's descriptor.  :func:`encode`
builds one operation's message alone, without sending it.
"""

from __future__ import annotations

import os
from typing import Optional

from ..._binding import check, ffi, lib
from ...errors import InvalidParameter
from .. import ops as O
from ..validate import prepare
from . import nft

_NULL = ffi.NULL


def _tri(v):
    return -1 if v is None else int(bool(v))


def idx(ref, names):
    return ref if type(ref) is int else names[ref]


def bridge(b, op, prep, names, nsfd):
    name, mtu, mac, group = prep
    return lib.nlc_link_add_bridge(
        b, name, mtu or 0, mac or _NULL, int(op.up),
        -1 if group is None else group)


def veth(b, op, prep, names, nsfd):
    name, peer, mtu, mac, group, pmtu, pmac, queues = prep
    master = -1 if op.master is None else idx(op.master, names)
    pns = op.peer_ns
    pfd = -1 if pns is None or pns == op.ns else nsfd(pns)
    return lib.nlc_link_add_veth(
        b, name, master, mtu or 0, mac or _NULL, int(op.up),
        -1 if group is None else group, peer, pfd,
        pmtu or 0, pmac or _NULL, queues or 0)


def _lower_nsfd(op, nsfd):
    netns = op.netns
    return -1 if netns is None or netns == op.ns else nsfd(netns)


def macvlan(b, op, prep, names, nsfd):
    name, mtu, group, mac, mode = prep
    return lib.nlc_link_add_macvlan(
        b, name, idx(op.parent, names), mode,
        _lower_nsfd(op, nsfd), mac or _NULL, mtu or 0,
        -1 if group is None else group, int(op.up))


def ipvlan(b, op, prep, names, nsfd):
    name, mtu, group, mode = prep
    return lib.nlc_link_add_ipvlan(
        b, name, idx(op.parent, names), mode,
        _lower_nsfd(op, nsfd), mtu or 0,
        -1 if group is None else group, int(op.up))


def vlan(b, op, prep, names, nsfd):
    name, mtu, group, vid = prep
    return lib.nlc_link_add_vlan(
        b, name, idx(op.parent, names), vid, mtu or 0,
        -1 if group is None else group, int(op.up))


def set_link(b, op, prep, names, nsfd):
    new_name, mtu, group, mac = prep
    if op.nomaster:
        master = 0
    elif op.master is not None:
        master = idx(op.master, names)
    else:
        master = -1
    fd = -1 if op.netns is None else nsfd(op.netns)
    addrgen = -1 if op.ipv6_ll is None else (
        lib.NLC_ADDRGEN_EUI64 if op.ipv6_ll else lib.NLC_ADDRGEN_NONE)
    if type(op.link) is str and not new_name:     # base.by_name
        index, name = 0, op.link.encode()
    else:
        index, name = idx(op.link, names), _NULL
    rc = lib.nlc_link_set(
        b, index, name, _tri(op.up), master,
        mtu or 0, new_name or _NULL, fd,
        -1 if group is None else group, mac or _NULL, addrgen)
    if rc >= 0 and op.alias is not None:
        err = lib.nlc_batch_alias(b, op.alias.encode())
        if err < 0:       # no room: take the message back, as a builder
            b.len, b.count = b.last, b.count - 1
            return err
    return rc


def brport(b, op, prep, names, nsfd):
    hairpin = -1 if op.hairpin is None else int(op.hairpin)
    state = -1 if op.state is None else op.state
    if type(op.link) is str and op.state is None:  # base.by_name
        return lib.nlc_link_set_brport(b, 0, op.link.encode(), hairpin,
                                       state)
    return lib.nlc_link_set_brport(b, idx(op.link, names), _NULL, hairpin,
                                   state)


def delete(b, op, prep, names, nsfd):
    if type(op.link) is str:                       # base.by_name
        return lib.nlc_link_del(b, 0, op.link.encode())
    return lib.nlc_link_del(b, idx(op.link, names), _NULL)


def del_group(b, op, prep, names, nsfd):
    return lib.nlc_link_del_group(b, op.group)


def get(b, op, prep, names, nsfd):
    if type(op.link) is str:
        return lib.nlc_link_get(b, 0, op.link.encode())
    return lib.nlc_link_get(b, idx(op.link, names), _NULL)


def addr_add(b, op, prep, names, nsfd):
    family, packed, plen = prep
    return lib.nlc_addr_add(b, idx(op.link, names), family, packed,
                            plen, lib.NLC_ADDR_NODAD if op.nodad else 0)


def addr_del(b, op, prep, names, nsfd):
    family, packed, plen = prep
    return lib.nlc_addr_del(b, idx(op.link, names), family, packed,
                            plen)


def route_add(b, op, prep, names, nsfd):
    family, dst, dst_len, gw, metric, table = prep
    oif = 0 if op.oif is None else idx(op.oif, names)
    return lib.nlc_route_add(
        b, family, dst or _NULL, dst_len, gw or _NULL, oif,
        lib.NLC_ROUTE_ONLINK if op.onlink else 0, metric or 0, table or 0)


def route_del(b, op, prep, names, nsfd):
    family, dst, dst_len, gw, metric, table = prep
    oif = 0 if op.oif is None else idx(op.oif, names)
    return lib.nlc_route_del(b, family, dst or _NULL, dst_len,
                             gw or _NULL, oif, metric or 0, table or 0)


BUILDERS = {
    O.LinkAddBridge: bridge,
    O.LinkAddVeth: veth,
    O.LinkAddMacvlan: macvlan,
    O.LinkAddIpvlan: ipvlan,
    O.LinkAddVlan: vlan,
    O.LinkSet: set_link,
    O.BridgePortSet: brport,
    O.LinkDel: delete,
    O.LinkDelGroup: del_group,
    O.LinkGet: get,
    O.AddrAdd: addr_add,
    O.AddrDel: addr_del,
    O.RouteAdd: route_add,
    O.RouteDel: route_del,
}


ENCODE_CAP = 4096          # one message of any operation fits


def encode(op: O.Op, names: Optional[dict] = None,
           echo: bool = False) -> bytes:
    """The netlink message the backend's ``execute`` sends for ``op``,
    without sending it: ``op`` is validated
    (:func:`~libnetwork.backends.validate.prepare`) and built by the
    same builder call into a scratch batch, so the header's sequence
    number and port are 0 (the socket writes them when it sends); with
    ``echo`` it asks for ``NLM_F_ECHO``, as for an operation a later
    :class:`~.ops.IndexOf` names.

    ``names`` maps the link references of ``op`` (names, and
    :class:`~.ops.IndexOf` objects) to ifindexes, as the backend's `_exec`
    receives them; int references and links named to the kernel
    (``LinkSet`` without a rename, ``LinkDel``) need none.  The
    namespaces the message names (a veth peer's, ``LinkSet.netns``, a
    macvlan's or ipvlan's ``netns``) are opened as for sending and
    closed before this returns: their ``IFLA_NET_NS_FD`` holds a
    descriptor number that was valid only during the call.

    An nftables operation gives its message without the batch's
    begin and end (a set's ``NFTA_SET_ID`` is 1); an element operation
    too large for one message gives its consecutive messages.

    Raises InvalidParameter for a malformed operation, one that is not
    a netlink message (``NetnsCreate``, ``NetnsDelete``), or a
    reference missing from ``names``; OSError when a namespace cannot
    be opened.  Used for kernel-free parity tests of the backends.
    """
    prep = prepare(op)
    if type(op) in O.NFT_OPS:
        return nft.encode(op, prep)
    fn = BUILDERS.get(type(op))
    if fn is None:
        raise InvalidParameter(f"{type(op).__name__} is not sent as a "
                               "netlink message")
    buf = ffi.new("uint8_t[]", ENCODE_CAP)
    b = ffi.new("struct nlc_batch *")
    lib.nlc_batch_init(b, buf, ENCODE_CAP)
    opened = []

    def nsfd(path):
        fd = lib.nlc_netns_open(path.encode())
        if fd < 0:
            raise OSError(-fd, f"{os.strerror(-fd)}: {path}")
        opened.append(fd)
        return fd

    try:
        rc = fn(b, op, prep, {} if names is None else names, nsfd)
    except KeyError as exc:
        raise InvalidParameter(
            f"{type(op).__name__}: no ifindex for {exc.args[0]!r} in "
            "names") from None
    finally:
        for fd in opened:
            os.close(fd)
    check(rc)
    if echo:
        check(lib.nlc_batch_echo(b))
    return ffi.buffer(buf, b.len)[:]
