"""NativeBackend.encode: one operation's netlink message, without sending
it, decoded by pyroute2's message classes (an independent oracle).

Needs the built core and a netlink socket in the current namespace (no
root, no namespace is changed): the backend opens one, and encode() sends
nothing on it.  Namespaces named by operations are the process's own
(/proc/self/ns/net), which anyone may open.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)
pytest.importorskip("pyroute2")

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

from libnetwork.backends import ops as O  # noqa: E402
from libnetwork.backends.native import NativeBackend  # noqa: E402
from libnetwork.errors import InvalidParameter  # noqa: E402

NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x4, 0x8
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
REQ = NLM_F_REQUEST | NLM_F_ACK
NEW = REQ | NLM_F_CREATE | NLM_F_EXCL
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 20, 21, 24, 25
IFF_UP = 0x1
SELF_NS = "/proc/self/ns/net"


@pytest.fixture(scope="module")
def be():
    b = NativeBackend()
    yield b
    b.close()


def header(data: bytes):
    length, mtype, flags, seq, pid = struct.unpack_from("=IHHII", data)
    assert length == len(data)            # exactly one message
    assert (seq, pid) == (0, 0)
    return mtype, flags


def decode(cls, data):
    msg = cls(data)
    msg.decode()
    return msg


def attrs(nla) -> dict:
    return {a[0]: a[1] for a in nla["attrs"]}


def own_fds() -> set:
    return set(os.listdir("/proc/self/fd"))


def test_bridge(be):
    data = be.encode(O.LinkAddBridge("br0", mtu=1400, mac="02:00:00:00:00:01",
                                     up=True, group=7))
    assert header(data) == (RTM_NEWLINK, NEW)
    msg = decode(ifinfmsg, data)
    assert msg["flags"] == IFF_UP and msg["change"] == IFF_UP
    got = attrs(msg)
    assert attrs(got.pop("IFLA_LINKINFO")) == {"IFLA_INFO_KIND": "bridge"}
    assert got == {"IFLA_IFNAME": "br0", "IFLA_MTU": 1400,
                   "IFLA_ADDRESS": "02:00:00:00:00:01", "IFLA_GROUP": 7}


def test_veth_with_its_peer_elsewhere(be):
    """The peer's namespace is opened for the call and closed after."""
    before = own_fds()
    data = be.encode(O.LinkAddVeth("vh0", "eth0", peer_ns=SELF_NS,
                                   master="br0", queues=1),
                     names={"br0": 12})
    assert own_fds() == before
    assert header(data) == (RTM_NEWLINK, NEW)
    msg = decode(ifinfmsg, data)
    assert msg.get_attr("IFLA_MASTER") == 12
    peer = msg.get_attr("IFLA_LINKINFO").get_attr(
        "IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "eth0"
    assert peer.get_attr("IFLA_NET_NS_FD") >= 0
    # beside the host end: no namespace at all
    data = be.encode(O.LinkAddVeth("vh1", "vp1"))
    peer = decode(ifinfmsg, data).get_attr("IFLA_LINKINFO").get_attr(
        "IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_NET_NS_FD") is None


def test_echo(be):
    veth = O.LinkAddVeth("vh0", "eth0")
    assert header(be.encode(veth, echo=True)) == (RTM_NEWLINK,
                                                  NEW | NLM_F_ECHO)
    assert header(be.encode(veth)) == (RTM_NEWLINK, NEW)
    assert header(be.encode(O.LinkGet("lo"), echo=True)) == (
        RTM_GETLINK, REQ | NLM_F_ECHO)


@pytest.mark.parametrize("op, kind, data", [
    (O.LinkAddMacvlan("mv0", "up0", mode="vepa", netns=SELF_NS,
                      mac="02:00:00:00:00:02", mtu=1400, up=True),
     "macvlan", {"IFLA_MACVLAN_MODE": "vepa"}),
    (O.LinkAddIpvlan("ipv0", "up0", mode="l3s", group=4), "ipvlan",
     {"IFLA_IPVLAN_MODE": 2}),
    (O.LinkAddVlan("up0.9", "up0", vid=9, mtu=1496), "vlan",
     {"IFLA_VLAN_ID": 9}),
])
def test_links_on_a_parent(be, op, kind, data):
    before = own_fds()
    raw = be.encode(op, names={"up0": 5})
    assert own_fds() == before
    assert header(raw) == (RTM_NEWLINK, NEW)
    msg = decode(ifinfmsg, raw)
    assert msg["flags"] == (IFF_UP if op.up else 0)
    got = attrs(msg)
    info = attrs(got.pop("IFLA_LINKINFO"))
    assert info["IFLA_INFO_KIND"] == kind
    assert attrs(info["IFLA_INFO_DATA"]) == data
    assert got["IFLA_IFNAME"] == op.name and got["IFLA_LINK"] == 5
    assert ("IFLA_NET_NS_FD" in got) == (getattr(op, "netns", None)
                                         is not None)
    assert got.get("IFLA_MTU") == op.mtu
    assert got.get("IFLA_GROUP") == op.group


def test_link_set_del_get(be):
    mtype, flags = header(be.encode(O.LinkSet("eth0", up=True)))
    assert (mtype, flags) == (RTM_SETLINK, REQ)
    msg = decode(ifinfmsg, be.encode(O.LinkSet("eth0", up=True)))
    assert msg["index"] == 0 and msg.get_attr("IFLA_IFNAME") == "eth0"
    # a rename needs the index
    msg = decode(ifinfmsg, be.encode(O.LinkSet("eth0", name="eth1"),
                                     names={"eth0": 3}))
    assert msg["index"] == 3 and msg.get_attr("IFLA_IFNAME") == "eth1"
    msg = decode(ifinfmsg, be.encode(O.LinkSet(4, netns=SELF_NS,
                                               ipv6_ll=False)))
    assert msg["index"] == 4 and msg.get_attr("IFLA_NET_NS_FD") >= 0
    data = be.encode(O.LinkDel("eth0"))
    assert header(data) == (RTM_DELLINK, REQ)
    assert decode(ifinfmsg, data).get_attr("IFLA_IFNAME") == "eth0"
    assert decode(ifinfmsg, be.encode(O.LinkDel(9)))["index"] == 9
    msg = decode(ifinfmsg, be.encode(O.LinkDelGroup(77)))
    assert msg.get_attr("IFLA_GROUP") == 77
    data = be.encode(O.LinkGet("lo"))
    assert header(data) == (RTM_GETLINK, REQ)


def test_index_of_references(be):
    """IndexOf objects are looked up in names, as _exec gets them."""
    veth = O.LinkAddVeth("vh0", "eth0", peer_ns=SELF_NS)
    peer = O.IndexOf(veth, peer=True)
    data = be.encode(O.AddrAdd(peer, "10.0.0.2/24", ns=SELF_NS),
                     names={peer: 31})
    assert header(data) == (RTM_NEWADDR, NEW)
    msg = decode(ifaddrmsg, data)
    assert msg["index"] == 31 and msg["prefixlen"] == 24
    assert msg.get_attr("IFA_LOCAL") == "10.0.0.2"
    data = be.encode(O.RouteAdd("0.0.0.0/0", gateway="10.0.0.1", oif=peer),
                     names={peer: 31})
    assert header(data) == (RTM_NEWROUTE, NEW)
    assert decode(rtmsg, data).get_attr("RTA_OIF") == 31
    data = be.encode(O.AddrDel(31, "10.0.0.2/24"))
    assert header(data) == (RTM_DELADDR, REQ)
    data = be.encode(O.RouteDel("10.9.0.0/16", oif=31))
    assert header(data) == (RTM_DELROUTE, REQ)


def test_refusals(be):
    with pytest.raises(InvalidParameter, match="no ifindex"):
        be.encode(O.AddrAdd("eth0", "10.0.0.2/24"))
    veth = O.LinkAddVeth("vh0", "eth0")
    with pytest.raises(InvalidParameter, match="no ifindex"):
        be.encode(O.AddrAdd(O.IndexOf(veth), "10.0.0.2/24"), names={})
    with pytest.raises(InvalidParameter, match="not sent as a netlink"):
        be.encode(O.NetnsCreate("/run/x"))
    with pytest.raises(InvalidParameter):
        be.encode(O.LinkAddBridge("a" * 16))          # validated first
    with pytest.raises(InvalidParameter):
        be.encode("not an op")
    with pytest.raises(OSError) as exc:
        be.encode(O.LinkAddVeth("vh0", "eth0", peer_ns="/nonexistent/ns"))
    assert exc.value.errno == errno.ENOENT


def test_sends_nothing(be):
    before = be.stats()["sendmsg"]
    for _ in range(3):
        be.encode(O.LinkDel("eth0"))
    assert be.stats()["sendmsg"] == before


def test_matches_the_builder(be):
    """encode() is the builder's bytes (as _exec appends them)."""
    from libnetwork._binding import ffi, lib
    buf = ffi.new("uint8_t[]", 512)
    b = ffi.new("struct nlc_batch *")
    lib.nlc_batch_init(b, buf, 512)
    assert lib.nlc_route_add(b, socket.AF_INET6, ffi.NULL, 0,
                             socket.inet_pton(socket.AF_INET6, "fe80::1"), 3,
                             lib.NLC_ROUTE_ONLINK, 5, 0) == 0
    assert be.encode(O.RouteAdd(gateway="fe80::1", oif=3, onlink=True,
                                metric=5)) == ffi.buffer(buf, b.len)[:]
