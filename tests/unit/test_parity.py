"""Kernel-free parity of the two backends' encoders (issue 7, item 6).

Every operation type is encoded by both backends (``encode(op, names,
echo)``: one message, sequence 0, port 0), both byte strings are decoded
with pyroute2's message classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``),
and the decodings are compared field by field: the netlink header (length,
type, flags, sequence, port), every field of the family header, and every
attribute with its NLA flags (``NLA_F_NESTED``), nested ones included
(``IFLA_LINKINFO`` / ``IFLA_INFO_DATA`` / ``VETH_INFO_PEER``,
``IFLA_AF_SPEC``).  ``IFLA_NET_NS_FD`` carries a descriptor that each
backend opened (and closed) for itself, so only its presence is compared.
Attributes are compared as a mapping (no duplicates allowed): the kernel
parses them into a table, so their order carries no meaning.

The pyroute2 side also has checks of its own (the differences the
comparison found, as resolved) that need no native core.

Nothing here opens a namespace or changes the kernel: no root needed.
"""

from __future__ import annotations

import socket
import struct

import pytest

pytest.importorskip("pyroute2")

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

from libnetwork.backends import ops as O  # noqa: E402
from libnetwork.errors import InvalidParameter  # noqa: E402
from libnetwork.backends.pyroute2 import Pyroute2Backend  # noqa: E402

NS = "/proc/self/ns/net"        # a namespace path any process can open
NLM_F_ECHO = 0x8
NLA_F_NESTED = 0x8000
RTM_NEWLINK, RTM_SETLINK = 16, 19
RT_TABLE_UNSPEC, RT_TABLE_MAIN = 0, 254
_CLASSES = {16: ifinfmsg, 17: ifinfmsg, 18: ifinfmsg, 19: ifinfmsg,
            20: ifaddrmsg, 21: ifaddrmsg, 24: rtmsg, 25: rtmsg}

# -------------------------------------------------------------- the cases

VETH = O.LinkAddVeth("veth0", "eth0", peer_ns=NS)
GET = O.LinkGet("br0")
NAMES = {"br0": 7, "veth0": 11, "eth0": 3, "uplink": 2,
         O.IndexOf(VETH): 21, O.IndexOf(VETH, peer=True): 22,
         O.IndexOf(GET): 7}
PEER = O.IndexOf(VETH, peer=True)
MAC1, MAC2 = "02:42:ac:11:00:02", "02:00:5e:00:53:ff"

CASES = [
    # bridges
    O.LinkAddBridge("br0"),
    O.LinkAddBridge("br1", mtu=9000, mac=MAC1, up=True, group=0),
    O.LinkAddBridge("br2", group=77, ns=NS),
    # veths
    O.LinkAddVeth("v0", "v0p"),
    O.LinkAddVeth("v1", "eth0", peer_ns=NS, master="br0", mtu=1400,
                  mac=MAC1, up=True, group=9, peer_mtu=1300, peer_mac=MAC2,
                  queues=1),
    O.LinkAddVeth("v2", "eth0", peer_ns=NS, ns=NS),   # peer beside it
    O.LinkAddVeth("v3", "eth1", master=O.IndexOf(GET), queues=4),
    O.LinkAddVeth("v4", "eth2", master=12),
    # macvlan, ipvlan, vlan
    O.LinkAddMacvlan("mv0", "uplink"),
    O.LinkAddMacvlan("mv1", 2, mode="private", netns=NS, mac=MAC1,
                     mtu=1500, group=3, up=True),
    O.LinkAddMacvlan("mv2", O.IndexOf(GET), mode="passthru"),
    O.LinkAddIpvlan("ipv0", "uplink"),
    O.LinkAddIpvlan("ipv1", 2, mode="l3s", netns=NS, mtu=1400, group=4,
                    up=True),
    O.LinkAddVlan("uplink.10", "uplink", 10),
    O.LinkAddVlan("vl0", 2, 4094, mtu=1496, group=5, up=True),
    # link set: by name, by index, by reference, every field
    O.LinkSet("veth0", up=True),
    O.LinkSet("veth0", up=False),
    O.LinkSet("veth0", ipv6_ll=False, alias="libnetwork 0123456789abcdef"),
    O.LinkSet(11, up=True, alias="a"),
    O.LinkSet(11, up=True),
    O.BridgePortSet("veth0"),
    O.BridgePortSet(12, hairpin=False),
    O.BridgePortSet("veth0", hairpin=None, state=0),  # by index, AF_BRIDGE
    O.BridgePortSet(12, hairpin=True, state=3),
    O.LinkSet(PEER, up=True, ns=NS),
    O.LinkSet("veth0", name="h0"),                    # rename: by index
    O.LinkSet(11, name="h0", mtu=1400),
    O.LinkSet("veth0", netns=NS),
    O.LinkSet(11, netns=NS, name="eth0"),
    O.LinkSet("veth0", master="br0"),
    O.LinkSet("veth0", master=O.IndexOf(GET), up=True),
    O.LinkSet(11, nomaster=True),
    O.LinkSet("veth0", ipv6_ll=False),
    O.LinkSet(PEER, ipv6_ll=True, ns=NS),
    O.LinkSet("veth0", mtu=9000, group=6, mac=MAC2),
    O.LinkSet("veth0"),                               # nothing to change
    # link del, group, get
    O.LinkDel("veth0"),
    O.LinkDel(11),
    O.LinkDel(O.IndexOf(VETH)),
    O.LinkDelGroup(42),
    O.LinkGet("br0"),
    O.LinkGet(7),
    # addresses
    O.AddrAdd("veth0", "10.0.0.2/24"),
    O.AddrAdd(PEER, "10.9.0.2/24", nodad=True, ns=NS),
    O.AddrAdd(11, "10.0.0.1/31"),
    O.AddrAdd(11, "10.0.0.1/32"),
    O.AddrAdd(11, "10.1.2.3/8"),
    O.AddrAdd("veth0", "fd00::2/64"),
    O.AddrAdd("veth0", "fd00::3/64", nodad=True),
    O.AddrDel("veth0", "10.0.0.2/24"),
    O.AddrDel(11, "fd00::2/64"),
    # routes
    O.RouteAdd(gateway="10.0.0.1"),
    O.RouteAdd(dst="default", gateway="10.9.0.1", oif=PEER, ns=NS),
    O.RouteAdd(dst="10.1.0.0/16", oif="veth0"),
    O.RouteAdd(dst="10.2.0.0/16", gateway="10.0.0.1", oif=11, onlink=True,
               metric=100, table=100),
    O.RouteAdd(dst="10.3.0.0/16", gateway="10.0.0.1", table=255),
    O.RouteAdd(dst="10.3.0.0/16", gateway="10.0.0.1", table=256),
    O.RouteAdd(dst="10.4.0.0/16", oif=11, table=1000, metric=0),
    O.RouteAdd(dst="10.5.0.1", oif=11),
    O.RouteAdd(family=socket.AF_INET6, oif="veth0"),
    O.RouteAdd(dst="fd01::/64", gateway="fd00::1", metric=1024,
               table=2**32 - 1),
    O.RouteAdd(gateway="fe80::1", oif=11, table=0),
    O.RouteDel(gateway="10.0.0.1"),
    O.RouteDel(dst="10.1.0.0/16", oif="veth0", metric=5, table=300),
    O.RouteDel(dst="fd01::/64", table=254),
    O.RouteDel(family=socket.AF_INET),
]

# rtnetlink operations (nftables ones: test_nft_parity.py; sysctls are
# file writes)
OP_TYPES = {t for t in O.Op.__args__
            if t not in (O.NetnsCreate, O.NetnsDelete, O.Sysctl)
            and t not in O.NFT_OPS}


PAIRS = [(op, echo) for op in CASES for echo in (False, True)]


def _id(case):
    """``07-LinkAddVeth`` / ``07-LinkAddVeth-echo``: the case's place in
    CASES (its repr is too long for a test id)."""
    op, echo = case
    k = next(i for i, c in enumerate(CASES) if c is op)
    return f"{k:02d}-{type(op).__name__}{'-echo' if echo else ''}"


# --------------------------------------------------------------- decoding

def canon(data: bytes) -> dict:
    """One message as comparable data: header, fields, attributes."""
    length, mtype = struct.unpack_from("=IH", data)
    assert length == len(data), "one message, exactly"
    m = _CLASSES[mtype](data)
    m.decode()
    out = {"header": {k: m["header"][k] for k in
                      ("length", "type", "flags", "sequence_number", "pid")}}
    out.update(_body(m))
    return out


def _body(m) -> dict:
    out = {name: m[name] for name, _ in m.fields}
    attrs: dict = {}
    for slot in m["attrs"]:
        name = slot.name
        assert name != "UNKNOWN", "an attribute pyroute2 cannot name"
        assert name not in attrs, f"duplicate {name}"
        nla = slot.nla
        if getattr(nla, "nla_map", None):                 # a nest
            value = _body(nla)
        elif name == "IFLA_NET_NS_FD":
            value = "<a descriptor>"
        else:
            value = slot.value
        attrs[name] = (slot.get_flags(), value)
    out["attrs"] = attrs
    return out


@pytest.fixture(scope="module")
def pyroute2_backend():
    be = Pyroute2Backend()
    yield be
    be.close()


def encode(be, op, echo):
    return canon(be.encode(op, names=NAMES, echo=echo))


# ------------------------------------------------------ native vs pyroute2

@pytest.fixture(scope="module")
def native_backend():
    from libnetwork import _binding
    if not _binding.AVAILABLE:
        pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}")
    from libnetwork.backends.native import NativeBackend
    be = NativeBackend()
    yield be
    be.close()


def test_cases_cover_every_operation_type():
    assert {type(op) for op in CASES} == OP_TYPES


@pytest.mark.parametrize("case", PAIRS, ids=_id)
def test_same_message(case, native_backend, pyroute2_backend):
    op, echo = case
    native = encode(native_backend, op, echo)
    pyroute2 = encode(pyroute2_backend, op, echo)
    assert pyroute2 == native


# ------------------------------------- the pyroute2 encoder on its own

@pytest.mark.parametrize("case", PAIRS, ids=_id)
def test_pyroute2_message(case, pyroute2_backend):
    """Each case is one well-formed message; echo adds only NLM_F_ECHO."""
    op, echo = case
    got = encode(pyroute2_backend, op, echo)
    assert got["header"]["sequence_number"] == 0
    assert got["header"]["pid"] == 0
    assert bool(got["header"]["flags"] & NLM_F_ECHO) == echo
    if echo:
        plain = encode(pyroute2_backend, op, False)
        plain["header"]["flags"] |= NLM_F_ECHO
        assert got == plain


def _nests(body, path=()):
    for name, (flags, value) in body["attrs"].items():
        if isinstance(value, dict) and "attrs" in value:
            yield path + (name,), flags
            yield from _nests(value, path + (name,))


def test_pyroute2_flags_every_nest(pyroute2_backend):
    """NLA_F_NESTED on every nest, as the C core."""
    seen = set()
    for op in CASES:
        for path, flags in _nests(encode(pyroute2_backend, op, False)):
            assert flags & NLA_F_NESTED, (op, path)
            seen.add(path[-1])
    assert {"IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER",
            "IFLA_AF_SPEC", "AF_INET6", "IFLA_PROTINFO"} <= seen


def test_a_port_state_goes_to_the_bridges_setlink(pyroute2_backend):
    """A bridge port's state sticks only through the bridge's own setlink
    (AF_BRIDGE, IFLA_PROTINFO), which finds the port by its index."""
    got = encode(pyroute2_backend, O.BridgePortSet(
        12, hairpin=None, state=0), False)
    assert got["header"]["type"] == RTM_SETLINK
    assert got["family"] == socket.AF_BRIDGE and got["index"] == 12
    assert "IFLA_LINKINFO" not in got["attrs"]


@pytest.mark.parametrize("bad", [
    dict(hairpin=None), dict(hairpin=None, state=None),
    dict(state=5), dict(state=-1), dict(state=True), dict(hairpin=1)])
def test_bad_bridge_port_options_are_refused(bad):
    from libnetwork.backends.validate import prepare
    with pytest.raises(InvalidParameter):
        prepare(O.BridgePortSet("veth0", **bad))


def test_pyroute2_link_set_is_a_set_request(pyroute2_backend):
    got = encode(pyroute2_backend, O.LinkSet("veth0", up=True), False)
    assert got["header"]["type"] == RTM_SETLINK
    assert got["index"] == 0
    assert got["attrs"]["IFLA_IFNAME"] == (0, "veth0")


@pytest.mark.parametrize("table, rtm_table, rta_table", [
    (None, RT_TABLE_MAIN, RT_TABLE_MAIN), (0, RT_TABLE_MAIN, RT_TABLE_MAIN),
    (100, 100, 100), (255, 255, 255), (256, RT_TABLE_UNSPEC, 256),
    (2**32 - 1, RT_TABLE_UNSPEC, 2**32 - 1)])
def test_pyroute2_route_table(pyroute2_backend, table, rtm_table, rta_table):
    """iproute2's rule: rtm_table below 256, else RT_TABLE_UNSPEC; and
    RTA_TABLE always, with the whole table."""
    for op in (O.RouteAdd(gateway="10.0.0.1", table=table),
               O.RouteDel(gateway="10.0.0.1", table=table)):
        got = encode(pyroute2_backend, op, False)
        assert got["table"] == rtm_table
        assert got["attrs"]["RTA_TABLE"] == (0, rta_table)


def test_pyroute2_references(pyroute2_backend):
    """Every non-int link reference is ``names[ref]``, IndexOf included."""
    peer = NAMES[PEER]
    assert encode(pyroute2_backend, O.LinkSet(PEER, up=True),
                  False)["index"] == peer
    assert encode(pyroute2_backend, O.LinkDel(O.IndexOf(VETH)),
                  False)["index"] == NAMES[O.IndexOf(VETH)]
    got = encode(pyroute2_backend, O.RouteAdd(gateway="10.9.0.1", oif=PEER),
                 False)
    assert got["attrs"]["RTA_OIF"] == (0, peer)
    got = encode(pyroute2_backend, O.LinkAddMacvlan("m", O.IndexOf(GET)),
                 False)
    assert got["attrs"]["IFLA_LINK"] == (0, NAMES[O.IndexOf(GET)])
