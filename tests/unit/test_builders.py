"""Kernel-free round trips of the native request builders: links (bridge, veth,
set, del, get, group), links stacked on a parent (macvlan, ipvlan, vlan) and
the echo flag.

Each builder writes into a cffi buffer; the bytes are checked by the TLV
walker and decoded with pyroute2's message classes (builders_util.py).
Nothing here opens a socket: no root, no kernel.
"""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from builders_util import *  # noqa: F401,F403  (skips without the core)
from hypothesis import given
from hypothesis import strategies as st


# ---------------------------------------------------------------- links

def check_ifi(msg, *, index=0, up=-1):
    assert msg["family"] == 0
    assert msg["ifi_type"] == 0
    assert msg["index"] == index
    assert msg["change"] == (IFF_UP if up >= 0 else 0)
    assert msg["flags"] == (IFF_UP if up > 0 else 0)


def link_common(mtu, mac, group) -> dict:
    exp = {}
    if mtu:
        exp["IFLA_MTU"] = mtu
    if mac is not None:
        exp["IFLA_ADDRESS"] = macstr(mac)
    if group >= 0:
        exp["IFLA_GROUP"] = group
    return exp


def check_bridge(data, name, mtu, mac, up, group):
    msg = decode(ifinfmsg, data, IFINFOMSG)
    assert msg["header"]["type"] == RTM_NEWLINK
    assert msg["header"]["flags"] == REQ_NEW
    check_ifi(msg, up=1 if up > 0 else -1)       # created up, or left down
    got = attrs(msg)
    info = got.pop("IFLA_LINKINFO")
    exp = {"IFLA_IFNAME": name.decode(), **link_common(mtu, mac, group)}
    assert got == exp
    assert attrs(info) == {"IFLA_INFO_KIND": "bridge"}


@SETTINGS
@given(name=names, mtu=mtus, mac=macs, up=ups, group=groups)
def test_bridge_round_trip(name, mtu, mac, up, group):
    b = Batch()
    assert lib.nlc_link_add_bridge(b.b, name, mtu, nul(mac), up, group) == 0
    check_bridge(only(b), name, mtu, mac, up, group)


def test_bridge_unset_is_not_zero():
    b = Batch()
    assert lib.nlc_link_add_bridge(b.b, b"br0", 0, ffi.NULL, 0, -1) == 0
    assert lib.nlc_link_add_bridge(b.b, b"br1", 0, ffi.NULL, -1, 0) == 1
    m0, m1 = (decode(ifinfmsg, m, IFINFOMSG) for m in b.messages())
    assert set(attrs(m0)) == {"IFLA_IFNAME", "IFLA_LINKINFO"}
    assert m0["change"] == 0 and m0["flags"] == 0
    assert attrs(m1)["IFLA_GROUP"] == 0            # group 0 is a value


def check_veth(data, name, master, mtu, mac, up, group, peer, peer_nsfd,
               peer_mtu, peer_mac, queues=0):
    msg = decode(ifinfmsg, data, IFINFOMSG)
    assert msg["header"]["type"] == RTM_NEWLINK
    assert msg["header"]["flags"] == REQ_NEW
    check_ifi(msg, up=1 if up > 0 else -1)
    got = attrs(msg)
    info = got.pop("IFLA_LINKINFO")
    exp = {"IFLA_IFNAME": name.decode(), **link_common(mtu, mac, group)}
    if master > 0:
        exp["IFLA_MASTER"] = master
    queue_attrs = ({"IFLA_NUM_TX_QUEUES": queues,
                    "IFLA_NUM_RX_QUEUES": queues} if queues else {})
    exp.update(queue_attrs)
    assert got == exp
    info = attrs(info)
    assert set(info) == {"IFLA_INFO_KIND", "IFLA_INFO_DATA"}
    assert info["IFLA_INFO_KIND"] == "veth"
    data_ = attrs(info["IFLA_INFO_DATA"])
    assert set(data_) == {"VETH_INFO_PEER"}
    p = data_["VETH_INFO_PEER"]
    # the peer's ifinfomsg is all zero: it cannot be set up in this request
    check_ifi(p)
    pexp = {"IFLA_IFNAME": peer.decode(),
            **link_common(peer_mtu, peer_mac, -1)}
    if peer_nsfd >= 0:
        pexp["IFLA_NET_NS_FD"] = peer_nsfd
    pexp.update(queue_attrs)             # each end is a device of its own
    assert attrs(p) == pexp


@SETTINGS
@given(name=names, master=tristate, mtu=mtus, mac=macs, up=ups,
       group=groups, peer=names, peer_nsfd=tristate, peer_mtu=mtus,
       peer_mac=macs, queues=st.sampled_from([0, 1, 2, 4096]))
def test_veth_round_trip(name, master, mtu, mac, up, group, peer, peer_nsfd,
                         peer_mtu, peer_mac, queues):
    b = Batch()
    rc = lib.nlc_link_add_veth(b.b, name, master, mtu, nul(mac), up, group,
                               peer, peer_nsfd, peer_mtu, nul(peer_mac),
                               queues)
    assert rc == 0
    check_veth(only(b), name, master, mtu, mac, up, group, peer, peer_nsfd,
               peer_mtu, peer_mac, queues)


def test_veth_full_and_minimal():
    b = Batch()
    assert lib.nlc_link_add_veth(b.b, b"veth-host", 3, 1400, MAC1, 1, 5,
                                 b"eth0", 9, 1300, MAC2, 1) == 0
    assert lib.nlc_link_add_veth(b.b, b"v0", 0, 0, ffi.NULL, 0, -1,
                                 b"v1", -1, 0, ffi.NULL, 0) == 1
    full, minimal = b.messages()
    check_veth(full, b"veth-host", 3, 1400, MAC1, 1, 5, b"eth0", 9, 1300, MAC2,
               1)
    check_veth(minimal, b"v0", 0, 0, None, 0, -1, b"v1", -1, 0, None)
    msg = decode(ifinfmsg, minimal, IFINFOMSG)
    assert set(attrs(msg)) == {"IFLA_IFNAME", "IFLA_LINKINFO"}
    peer = msg.get_attr("IFLA_LINKINFO").get_attr(
        "IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert set(attrs(peer)) == {"IFLA_IFNAME"}
    # fd 0 is a valid namespace fd: sent, not taken for "unset"
    b2 = Batch()
    assert lib.nlc_link_add_veth(b2.b, b"v2", -1, 0, ffi.NULL, 0, -1,
                                 b"v3", 0, 0, ffi.NULL, 0) == 0
    check_veth(only(b2), b"v2", -1, 0, None, 0, -1, b"v3", 0, 0, None)


@SETTINGS
@given(by_index=st.booleans(), index=ifindexes, name=names,
       extra_name=st.one_of(st.none(), names), up=ups, master=tristate,
       mtu=mtus, nsfd=tristate, group=groups, mac=macs)
def test_link_set_round_trip(by_index, index, name, extra_name, up, master,
                             mtu, nsfd, group, mac):
    b = Batch()
    if by_index:
        # a name beside an index is ignored; extra_name is a rename
        rc = lib.nlc_link_set(b.b, index, name, up, master, mtu,
                              nul(extra_name), nsfd, group, nul(mac), -1)
        exp = ({} if extra_name is None
               else {"IFLA_IFNAME": extra_name.decode()})
    else:
        index = 0
        rc = lib.nlc_link_set(b.b, 0, name, up, master, mtu, ffi.NULL, nsfd,
                              group, nul(mac), -1)
        exp = {"IFLA_IFNAME": name.decode()}
    assert rc == 0
    msg = decode(ifinfmsg, only(b), IFINFOMSG)
    assert msg["header"]["type"] == RTM_SETLINK
    assert msg["header"]["flags"] == REQ
    check_ifi(msg, index=index, up=up)
    exp.update(link_common(mtu, mac, group))
    if master >= 0:
        exp["IFLA_MASTER"] = master                  # 0: nomaster
    if nsfd >= 0:
        exp["IFLA_NET_NS_FD"] = nsfd
    assert attrs(msg) == exp


def test_link_set_nothing_is_bare_header():
    b = Batch()
    assert lib.nlc_link_set(b.b, 12, ffi.NULL, -1, -1, 0, ffi.NULL, -1, -1,
                            ffi.NULL, -1) == 0
    data = only(b)
    assert len(data) == 16 + IFINFOMSG
    msg = decode(ifinfmsg, data, IFINFOMSG)
    check_ifi(msg, index=12)
    assert attrs(msg) == {}


@pytest.mark.parametrize("mode", [0, 1])   # NLC_ADDRGEN_EUI64, _NONE
def test_link_set_addrgen_mode(mode):
    """addrgenmode rides in IFLA_AF_SPEC / AF_INET6, beside the up flag."""
    b = Batch()
    assert lib.nlc_link_set(b.b, 5, ffi.NULL, 1, -1, 0, ffi.NULL, -1, -1,
                            ffi.NULL, mode) == 0
    msg = decode(ifinfmsg, only(b), IFINFOMSG)
    check_ifi(msg, index=5, up=1)
    spec = attrs(msg)["IFLA_AF_SPEC"]
    inet6 = attrs(spec)["AF_INET6"]
    assert attrs(inet6) == {"IFLA_INET6_ADDR_GEN_MODE": mode}
    assert lib.nlc_link_set(b.b, 5, ffi.NULL, 1, -1, 0, ffi.NULL, -1, -1,
                            ffi.NULL, 256) == -errno.EINVAL


@SETTINGS
@given(index=st.one_of(st.integers(-(2**31), 0), ifindexes), name=names)
def test_link_del_and_get_round_trip(index, name):
    b = Batch()
    assert lib.nlc_link_del(b.b, index, name) == 0
    assert lib.nlc_link_get(b.b, index, name) == 1
    d, g = (decode(ifinfmsg, m, IFINFOMSG) for m in b.messages())
    exp = {} if index > 0 else {"IFLA_IFNAME": name.decode()}
    assert d["header"]["type"] == RTM_DELLINK
    assert d["header"]["flags"] == REQ
    check_ifi(d, index=max(index, 0))
    assert attrs(d) == exp
    assert g["header"]["type"] == RTM_GETLINK
    assert g["header"]["flags"] == REQ
    check_ifi(g, index=max(index, 0))
    assert attrs(g) == {**exp, "IFLA_EXT_MASK": RTEXT_FILTER_SKIP_STATS}


@SETTINGS
@given(group=st.integers(1, U32))
def test_link_del_group_round_trip(group):
    b = Batch()
    assert lib.nlc_link_del_group(b.b, group) == 0
    msg = decode(ifinfmsg, only(b), IFINFOMSG)
    assert msg["header"]["type"] == RTM_DELLINK
    assert msg["header"]["flags"] == REQ
    check_ifi(msg)
    assert attrs(msg) == {"IFLA_GROUP": group}


# ---------------------------------------------- links stacked on a parent

MACVLAN_NAMES = {1: "private", 2: "vepa", 4: "bridge", 8: "passthru",
                 16: "source"}        # pyroute2's decoding of the modes


def check_lower(data, name, parent, nsfd, mac, mtu, group, up, kind,
                info_data):
    msg = decode(ifinfmsg, data, IFINFOMSG)
    assert msg["header"]["type"] == RTM_NEWLINK
    assert msg["header"]["flags"] == REQ_NEW
    check_ifi(msg, up=1 if up > 0 else -1)
    got = attrs(msg)
    info = attrs(got.pop("IFLA_LINKINFO"))
    exp = {"IFLA_IFNAME": name.decode(), "IFLA_LINK": parent,
           **link_common(mtu, mac, group)}
    if nsfd >= 0:
        exp["IFLA_NET_NS_FD"] = nsfd
    assert got == exp
    assert set(info) == {"IFLA_INFO_KIND", "IFLA_INFO_DATA"}
    assert info["IFLA_INFO_KIND"] == kind
    assert attrs(info["IFLA_INFO_DATA"]) == info_data


@SETTINGS
@given(name=names, parent=ifindexes, mode=st.sampled_from(sorted(
    MACVLAN_NAMES)), nsfd=tristate, mac=macs, mtu=mtus, group=groups,
    up=ups)
def test_macvlan_round_trip(name, parent, mode, nsfd, mac, mtu, group, up):
    b = Batch()
    assert lib.nlc_link_add_macvlan(b.b, name, parent, mode, nsfd, nul(mac),
                                    mtu, group, up) == 0
    check_lower(only(b), name, parent, nsfd, mac, mtu, group, up, "macvlan",
                {"IFLA_MACVLAN_MODE": MACVLAN_NAMES[mode]})


@SETTINGS
@given(name=names, parent=ifindexes, mode=st.sampled_from([0, 1, 2]),
       nsfd=tristate, mtu=mtus, group=groups, up=ups)
def test_ipvlan_round_trip(name, parent, mode, nsfd, mtu, group, up):
    b = Batch()
    assert lib.nlc_link_add_ipvlan(b.b, name, parent, mode, nsfd, mtu, group,
                                   up) == 0
    data = only(b)
    check_lower(data, name, parent, nsfd, None, mtu, group, up, "ipvlan",
                {"IFLA_IPVLAN_MODE": mode})
    # the kernel's IFLA_IPVLAN_MODE is a u16: 4 + 2 bytes, padded
    assert struct.pack("=HHH", 6, 1, mode) + b"\0\0" in data


@SETTINGS
@given(name=names, parent=ifindexes, vid=st.integers(0, 4094), mtu=mtus,
       group=groups, up=ups)
def test_vlan_round_trip(name, parent, vid, mtu, group, up):
    b = Batch()
    assert lib.nlc_link_add_vlan(b.b, name, parent, vid, mtu, group, up) == 0
    data = only(b)
    check_lower(data, name, parent, -1, None, mtu, group, up, "vlan",
                {"IFLA_VLAN_ID": vid})
    assert struct.pack("=HHH", 6, 1, vid) + b"\0\0" in data   # a u16


@pytest.mark.parametrize("mode", [0, 3, 5, 6, 7, 9, 17, 32, 2**32 - 1])
def test_macvlan_unknown_mode(mode):
    b = Batch()
    assert lib.nlc_link_add_macvlan(b.b, b"mv0", 2, mode, -1, ffi.NULL, 0,
                                    -1, 0) == -errno.EINVAL
    assert b.count == 0


# ------------------------------------------------------------- echo flag

def test_echo_marks_the_last_message_only():
    b = Batch()
    assert lib.nlc_batch_echo(b.b) == -errno.EINVAL          # empty
    assert lib.nlc_link_add_bridge(b.b, b"br0", 0, ffi.NULL, 1, -1) == 0
    assert lib.nlc_link_add_veth(b.b, b"v0", -1, 0, ffi.NULL, 1, -1, b"v1",
                                 -1, 0, ffi.NULL, 1) == 1
    before = b.bytes()
    assert lib.nlc_batch_echo(b.b) == 0
    br, veth = (decode(ifinfmsg, m, IFINFOMSG) for m in b.messages())
    assert br["header"]["flags"] == REQ_NEW
    assert veth["header"]["flags"] == REQ_NEW | NLM_F_ECHO
    # nothing else changed: the flag is the one difference
    after = b.bytes()
    diff = [i for i in range(len(after)) if after[i] != before[i]]
    assert len(after) == len(before) and len(diff) == 1


def test_alias_appended_to_the_last_link_message():
    """nlc_batch_alias: IFLA_IFALIAS on the last RTM_SETLINK, framed and
    padded by the TLV walker's rules; refused on other messages, for a bad
    alias, and without room (the batch unchanged)."""
    b = Batch()
    assert lib.nlc_batch_alias(b.b, b"x") == -errno.EINVAL   # empty
    assert lib.nlc_link_set(b.b, 0, b"br0", 1, -1, 0, ffi.NULL, -1, -1,
                            ffi.NULL, -1) == 0
    assert lib.nlc_batch_alias(b.b, b"libnetwork 0123abcd") == 0
    (msg,) = b.messages()
    tlvs(msg[16 + IFINFOMSG:])
    m = decode(ifinfmsg, msg, IFINFOMSG)
    assert m["header"]["type"] == RTM_SETLINK
    assert m.get_attr("IFLA_IFALIAS") == "libnetwork 0123abcd"
    assert m.get_attr("IFLA_IFNAME") == "br0"
    for bad in (b"", b"a" * 128):
        assert lib.nlc_batch_alias(b.b, bad) == -errno.EINVAL
    assert lib.nlc_addr_add(b.b, 3, socket.AF_INET, bytes(4), 24, 0) == 1
    assert lib.nlc_batch_alias(b.b, b"x") == -errno.EINVAL   # not a link
    small = Batch(cap=16 + IFINFOMSG + 8 + 4, slack=64)
    assert lib.nlc_link_set(small.b, 0, b"br0", 1, -1, 0, ffi.NULL, -1, -1,
                            ffi.NULL, -1) == 0
    before = small.bytes()
    assert lib.nlc_batch_alias(small.b, b"a long alias") == -errno.EMSGSIZE
    assert small.bytes() == before
    assert set(small.after_cap()) == {Batch.GUARD}


def test_result_record():
    """nlc_result carries the reply's ifindex and IFLA_LINK."""
    r = ffi.new("struct nlc_result *")
    assert (r.err, r.value, r.link, ffi.string(r.msg)) == (0, 0, 0, b"")
    assert ffi.sizeof("struct nlc_result") == 12 + lib.NLC_ERRMSG_MAX
