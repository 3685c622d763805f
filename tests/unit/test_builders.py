"""Kernel-free round trips of the native request builders (csrc/rtnl_*.c)
and of the batch's echo flag (csrc/batch.c).

Each builder writes into a cffi buffer; the bytes are split into messages,
checked structurally by a strict TLV walker written here (lengths, zero
padding, nesting, no duplicate attributes), and decoded with pyroute2's
message classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``) as an independent
oracle.  pyroute2 decodes the veth peer too (``IFLA_INFO_DATA`` of kind
"veth" -> ``VETH_INFO_PEER`` -> ``ifinfveth``: ifinfomsg + attributes), so
no hand parser is needed for it; the TLV walker checks its framing.

Nothing here opens a socket: no root, no kernel.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import string
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)

pytest.importorskip("pyroute2")
pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

ffi, lib = _binding.ffi, _binding.lib

# <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/veth.h>
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x4, 0x8
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
REQ = NLM_F_REQUEST | NLM_F_ACK
REQ_NEW = REQ | NLM_F_CREATE | NLM_F_EXCL
NLA_F_NESTED = 0x8000
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR = 20, 21
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER = 18, 2, 1
IFF_UP = 0x1
IFA_F_NODAD = 0x02
RTNH_F_ONLINK = 0x04
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RTN_UNICAST = 1
RT_TABLE_MAIN = 254
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFINFOMSG, IFADDRMSG, RTMSG = 16, 8, 12
U32 = 2**32 - 1

MAC1 = bytes.fromhex("0242ac110002")
MAC2 = bytes.fromhex("02005e0053ff")

SETTINGS = settings(deadline=None, max_examples=200)


# ------------------------------------------------------------- plumbing

class Batch:
    """A batch over a cffi buffer with ``slack`` guard bytes past cap."""

    GUARD = 0xA5

    def __init__(self, cap: int = 4096, slack: int = 0, null: bool = False):
        self.raw = ffi.new("uint8_t[]", max(cap + slack, 1))
        mem = ffi.buffer(self.raw)
        mem[:] = bytes([self.GUARD]) * len(mem)
        self.b = ffi.new("struct nlc_batch *")
        lib.nlc_batch_init(self.b, ffi.NULL if null else self.raw, cap)
        self.cap = cap

    @property
    def len(self) -> int:
        return self.b.len

    @property
    def count(self) -> int:
        return self.b.count

    def bytes(self) -> bytes:
        return ffi.buffer(self.raw, self.b.len)[:]

    def after_cap(self) -> bytes:
        return ffi.buffer(self.raw)[self.cap:]

    def messages(self) -> list[bytes]:
        return split(self.bytes(), self.b.count)


def split(data: bytes, count: int) -> list[bytes]:
    """The messages of a batch: 4-byte aligned, consecutive, whole."""
    out, off = [], 0
    assert len(data) % 4 == 0
    while off < len(data):
        assert off % 4 == 0
        assert len(data) - off >= 16
        length, _, _, seq, pid = struct.unpack_from("=IHHII", data, off)
        assert 16 <= length <= len(data) - off
        assert seq == 0 and pid == 0          # written by nlc_sock_exec
        out.append(data[off:off + length])
        off += (length + 3) & ~3
    assert off == len(data)
    assert len(out) == count
    return out


def tlvs(buf: bytes, path: tuple = ()) -> None:
    """Strictly checks an attribute stream and everything nested in it."""
    off, seen = 0, set()
    while off < len(buf):
        assert len(buf) - off >= 4, f"truncated attribute header at {path}"
        nla_len, nla_type = struct.unpack_from("=HH", buf, off)
        step = (nla_len + 3) & ~3
        assert 4 <= nla_len, f"nla_len < 4 at {path}"
        assert step <= len(buf) - off, f"nla_len too long at {path}"
        assert buf[off + nla_len:off + step] == bytes(step - nla_len)
        kind = nla_type & ~0xC000
        assert kind not in seen, f"duplicate attribute {kind} at {path}"
        seen.add(kind)
        payload = buf[off + 4:off + nla_len]
        if nla_type & NLA_F_NESTED:
            peer = (IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER)
            if path + (kind,) == peer:
                assert len(payload) >= IFINFOMSG
                payload = payload[IFINFOMSG:]          # the peer's ifinfomsg
            tlvs(payload, path + (kind,))
        off += step


def decode(cls, data: bytes, famlen: int):
    """Checks the framing, then decodes with pyroute2."""
    tlvs(data[16 + famlen:])
    msg = cls(data)
    msg.decode()
    assert msg["header"]["length"] == len(data)
    return msg


def attrs(nla) -> dict:
    names = [a[0] for a in nla["attrs"]]
    assert len(names) == len(set(names))
    return {a[0]: a[1] for a in nla["attrs"]}


def macstr(mac: bytes) -> str:
    return ":".join(f"{x:02x}" for x in mac)


def ips(d: dict) -> dict:
    """Address attributes as ipaddress objects (pyroute2 gives strings)."""
    return {k: ipaddress.ip_address(v) if isinstance(v, str) else v
            for k, v in d.items()}


def nul(x):
    return ffi.NULL if x is None else x


def only(batch: Batch) -> bytes:
    msgs = batch.messages()
    assert len(msgs) == 1
    return msgs[0]


# ---------------------------------------------------------- strategies

NAME_CHARS = string.ascii_letters + string.digits + "-_."
names = st.text(NAME_CHARS, min_size=1, max_size=15).map(str.encode)
mtus = st.one_of(st.just(0), st.integers(1, U32))
macs = st.one_of(st.none(), st.binary(min_size=6, max_size=6))
ups = st.sampled_from([-1, 0, 1])
groups = st.one_of(st.integers(-(2**63), -1), st.integers(0, U32))
tristate = st.integers(-1, 2**31 - 1)             # -1 unset, 0, ifindex/fd
ifindexes = st.integers(1, 2**31 - 1)


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


def test_result_record():
    """nlc_result carries the reply's ifindex and IFLA_LINK."""
    r = ffi.new("struct nlc_result *")
    assert (r.err, r.value, r.link, ffi.string(r.msg)) == (0, 0, 0, b"")
    assert ffi.sizeof("struct nlc_result") == 12 + lib.NLC_ERRMSG_MAX


# ------------------------------------------------------------ addresses

def check_addr(data, *, add, index, ip, plen, flags):
    msg = decode(ifaddrmsg, data, IFADDRMSG)
    assert msg["header"]["type"] == (RTM_NEWADDR if add else RTM_DELADDR)
    assert msg["header"]["flags"] == (REQ_NEW if add else REQ)
    fam = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    assert msg["family"] == fam
    assert msg["prefixlen"] == plen
    assert msg["flags"] == flags & 0xFF
    assert msg["scope"] == 0
    assert msg["index"] == index
    got = ips(attrs(msg))
    if ip.version == 4:
        exp = {"IFA_LOCAL": ip, "IFA_ADDRESS": ip}
        if add and plen < 31:
            net = ipaddress.IPv4Network((ip, plen), strict=False)
            exp["IFA_BROADCAST"] = net.broadcast_address
    else:
        exp = {"IFA_ADDRESS": ip}
        # IFA_LOCAL is optional for IPv6 (the kernel takes either)
        assert got.pop("IFA_LOCAL", ip) == ip
    if flags:
        exp["IFA_FLAGS"] = flags
    assert got == exp


@SETTINGS
@given(ip=st.ip_addresses(v=4), plen=st.integers(0, 32), index=ifindexes,
       flags=st.sampled_from([0, lib.NLC_ADDR_NODAD]))
def test_addr4_round_trip(ip, plen, index, flags):
    b = Batch()
    assert lib.nlc_addr_add(b.b, index, socket.AF_INET, ip.packed, plen,
                            flags) == 0
    assert lib.nlc_addr_del(b.b, index, socket.AF_INET, ip.packed, plen) == 1
    add, dele = b.messages()
    check_addr(add, add=True, index=index, ip=ip, plen=plen, flags=flags)
    check_addr(dele, add=False, index=index, ip=ip, plen=plen, flags=0)


@SETTINGS
@given(ip=st.ip_addresses(v=6), plen=st.integers(0, 128), index=ifindexes,
       flags=st.sampled_from([0, lib.NLC_ADDR_NODAD]))
def test_addr6_round_trip(ip, plen, index, flags):
    b = Batch()
    assert lib.nlc_addr_add(b.b, index, socket.AF_INET6, ip.packed, plen,
                            flags) == 0
    assert lib.nlc_addr_del(b.b, index, socket.AF_INET6, ip.packed, plen) == 1
    add, dele = b.messages()
    check_addr(add, add=True, index=index, ip=ip, plen=plen, flags=flags)
    check_addr(dele, add=False, index=index, ip=ip, plen=plen, flags=0)


@pytest.mark.parametrize("cidr, brd", [
    ("10.1.2.3/24", "10.1.2.255"),
    ("10.1.2.3/23", "10.1.3.255"),
    ("10.1.2.3/8", "10.255.255.255"),
    ("10.1.2.3/30", "10.1.2.3"),
    ("192.168.7.9/0", "255.255.255.255"),
    ("10.1.2.2/31", None),
    ("10.1.2.3/32", None),
])
def test_addr4_broadcast(cidr, brd):
    iface = ipaddress.IPv4Interface(cidr)
    b = Batch()
    assert lib.nlc_addr_add(b.b, 3, socket.AF_INET, iface.ip.packed,
                            iface.network.prefixlen, 0) == 0
    got = attrs(decode(ifaddrmsg, only(b), IFADDRMSG))
    assert got.get("IFA_BROADCAST") == brd
    assert "IFA_FLAGS" not in got


def test_addr_nodad():
    b = Batch()
    ip6 = ipaddress.IPv6Address("fd00::1")
    assert lib.nlc_addr_add(b.b, 4, socket.AF_INET6, ip6.packed, 64,
                            lib.NLC_ADDR_NODAD) == 0
    assert lib.NLC_ADDR_NODAD == IFA_F_NODAD
    msg = decode(ifaddrmsg, only(b), IFADDRMSG)
    assert msg["flags"] == IFA_F_NODAD
    assert msg.get_attr("IFA_FLAGS") == IFA_F_NODAD
    assert msg.get_attr("IFA_BROADCAST") is None


# --------------------------------------------------------------- routes

def check_route(data, *, add, ip_version, dst, dst_len, gw, oif, flags,
                priority, table):
    msg = decode(rtmsg, data, RTMSG)
    assert msg["header"]["type"] == (RTM_NEWROUTE if add else RTM_DELROUTE)
    assert msg["header"]["flags"] == (REQ_NEW if add else REQ)
    fam = socket.AF_INET if ip_version == 4 else socket.AF_INET6
    table = table or RT_TABLE_MAIN
    assert msg["family"] == fam
    assert msg["dst_len"] == dst_len
    assert msg["src_len"] == 0 and msg["tos"] == 0
    assert msg["table"] == (table if table < 256 else 0)
    if add:
        assert msg["proto"] == RTPROT_BOOT
        assert msg["scope"] == (RT_SCOPE_UNIVERSE if gw else RT_SCOPE_LINK)
        assert msg["type"] == RTN_UNICAST
        assert msg["flags"] == flags
    else:                                        # wildcards
        assert msg["proto"] == 0
        assert msg["scope"] == RT_SCOPE_NOWHERE
        assert msg["type"] == 0
        assert msg["flags"] == 0
    exp = {"RTA_TABLE": table}
    if dst is not None:
        exp["RTA_DST"] = dst
    if gw is not None:
        exp["RTA_GATEWAY"] = gw
    if oif > 0:
        exp["RTA_OIF"] = oif
    if priority:
        exp["RTA_PRIORITY"] = priority
    assert ips(attrs(msg)) == exp


@st.composite
def routes(draw, version):
    bits = 32 if version == 4 else 128
    addr = st.ip_addresses(v=version)
    dst = draw(st.one_of(st.none(), addr))
    dst_len = 0 if dst is None else draw(st.integers(0, bits))
    gw = draw(st.one_of(st.none(), addr))
    oif = draw(st.integers(1 if gw is None else 0, 2**31 - 1))
    return dict(
        version=version, dst=dst, dst_len=dst_len, gw=gw, oif=oif,
        flags=draw(st.sampled_from([0, lib.NLC_ROUTE_ONLINK])),
        priority=draw(st.one_of(st.just(0), st.integers(1, U32))),
        table=draw(st.one_of(st.just(0), st.integers(1, 255),
                             st.integers(256, U32))))


@SETTINGS
@given(r=st.one_of(routes(4), routes(6)))
def test_route_round_trip(r):
    fam = socket.AF_INET if r["version"] == 4 else socket.AF_INET6
    dst = ffi.NULL if r["dst"] is None else r["dst"].packed
    gw = ffi.NULL if r["gw"] is None else r["gw"].packed
    b = Batch()
    assert lib.nlc_route_add(b.b, fam, dst, r["dst_len"], gw, r["oif"],
                             r["flags"], r["priority"], r["table"]) == 0
    assert lib.nlc_route_del(b.b, fam, dst, r["dst_len"], gw, r["oif"],
                             r["priority"], r["table"]) == 1
    add, dele = b.messages()
    common = dict(ip_version=r["version"], dst=r["dst"], dst_len=r["dst_len"],
                  gw=r["gw"], oif=r["oif"], priority=r["priority"],
                  table=r["table"])
    check_route(add, add=True, flags=r["flags"], **common)
    check_route(dele, add=False, flags=0, **common)


def test_route_del_wildcards():
    """A delete with only a destination: no gateway, oif, priority."""
    b = Batch()
    dst = ipaddress.IPv4Address("10.88.0.0")
    assert lib.nlc_route_del(b.b, socket.AF_INET, dst.packed, 16, ffi.NULL,
                             0, 0, 0) == 0
    check_route(only(b), add=False, ip_version=4, dst=dst, dst_len=16,
                gw=None, oif=0, flags=0, priority=0, table=0)
    assert lib.NLC_ROUTE_ONLINK == RTNH_F_ONLINK


# ------------------------------------------------------------- refusals

V4 = bytes([10, 0, 0, 1])
V6 = ipaddress.IPv6Address("fd00::1").packed
AF4, AF6 = socket.AF_INET, socket.AF_INET6
LONG = b"0123456789abcdef"                      # 16 bytes: no room for NUL
N = ffi.NULL

BR, VETH, SET = "nlc_link_add_bridge", "nlc_link_add_veth", "nlc_link_set"
MV, IPV = "nlc_link_add_macvlan", "nlc_link_add_ipvlan"
VLAN = "nlc_link_add_vlan"
ADDR, ADDR_DEL = "nlc_addr_add", "nlc_addr_del"
ROUTE, ROUTE_DEL = "nlc_route_add", "nlc_route_del"
INVALID = [  # (id, builder, arguments after the batch)
    ("bridge-null-name", BR, (N, 0, N, 0, -1)),
    ("bridge-empty-name", BR, (b"", 0, N, 0, -1)),
    ("bridge-16-byte-name", BR, (LONG, 0, N, 0, -1)),
    ("bridge-group-2**32", BR, (b"b", 0, N, 0, 2**32)),
    ("veth-null-name", VETH, (N, 0, 0, N, 0, -1, b"p", -1, 0, N, 0)),
    ("veth-16-byte-name", VETH, (LONG, 0, 0, N, 0, -1, b"p", -1, 0, N, 0)),
    ("veth-null-peer", VETH, (b"v", 0, 0, N, 0, -1, N, -1, 0, N, 0)),
    ("veth-empty-peer", VETH, (b"v", 0, 0, N, 0, -1, b"", -1, 0, N, 0)),
    ("veth-16-byte-peer", VETH, (b"v", 0, 0, N, 0, -1, LONG, -1, 0, N, 0)),
    ("veth-group-2**32", VETH, (b"v", 0, 0, N, 0, 2**32, b"p", -1, 0, N, 0)),
    ("veth-queues-4097", VETH, (b"v", 0, 0, N, 0, -1, b"p", -1, 0, N, 4097)),
    ("set-no-index-no-name", SET, (0, N, 1, -1, 0, N, -1, -1, N, -1)),
    ("set-empty-name", SET, (0, b"", 1, -1, 0, N, -1, -1, N, -1)),
    ("set-16-byte-name", SET, (-5, LONG, 1, -1, 0, N, -1, -1, N, -1)),
    ("set-rename-by-name", SET, (0, b"a", -1, -1, 0, b"b", -1, -1, N, -1)),
    ("set-16-byte-new-name", SET, (3, N, -1, -1, 0, LONG, -1, -1, N, -1)),
    ("set-empty-new-name", SET, (3, N, -1, -1, 0, b"", -1, -1, N, -1)),
    ("set-group-2**32", SET, (3, N, -1, -1, 0, N, -1, 2**32, N, -1)),
    ("set-addrgen-256", SET, (3, N, -1, -1, 0, N, -1, -1, N, 256)),
    ("macvlan-null-name", MV, (N, 2, 4, -1, N, 0, -1, 0)),
    ("macvlan-16-byte-name", MV, (LONG, 2, 4, -1, N, 0, -1, 0)),
    ("macvlan-parent-0", MV, (b"m", 0, 4, -1, N, 0, -1, 0)),
    ("macvlan-parent-neg", MV, (b"m", -2, 4, -1, N, 0, -1, 0)),
    ("macvlan-mode-0", MV, (b"m", 2, 0, -1, N, 0, -1, 0)),
    ("macvlan-group-2**32", MV, (b"m", 2, 4, -1, N, 0, 2**32, 0)),
    ("ipvlan-empty-name", IPV, (b"", 2, 0, -1, 0, -1, 0)),
    ("ipvlan-parent-0", IPV, (b"i", 0, 0, -1, 0, -1, 0)),
    ("ipvlan-mode-3", IPV, (b"i", 2, 3, -1, 0, -1, 0)),
    ("vlan-null-name", VLAN, (N, 2, 5, 0, -1, 0)),
    ("vlan-parent-0", VLAN, (b"v", 0, 5, 0, -1, 0)),
    ("vlan-vid-4095", VLAN, (b"v", 2, 4095, 0, -1, 0)),
    ("vlan-group-2**32", VLAN, (b"v", 2, 5, 0, 2**32, 0)),
    ("del-no-index-no-name", "nlc_link_del", (0, N)),
    ("del-16-byte-name", "nlc_link_del", (-1, LONG)),
    ("del-group-0", "nlc_link_del_group", (0,)),
    ("get-no-index-no-name", "nlc_link_get", (0, N)),
    ("get-empty-name", "nlc_link_get", (0, b"")),
    ("addr-unspec", ADDR, (1, socket.AF_UNSPEC, V4, 8, 0)),
    ("addr-packet", ADDR, (1, socket.AF_PACKET, V4, 8, 0)),
    ("addr-v4-plen-33", ADDR, (1, AF4, V4, 33, 0)),
    ("addr-v6-plen-129", ADDR, (1, AF6, V6, 129, 0)),
    ("addr-v4-plen-255", ADDR, (1, AF4, V4, 255, 0)),
    ("addr-null", ADDR, (1, AF4, N, 8, 0)),
    ("addr-index-0", ADDR, (0, AF4, V4, 8, 0)),
    ("addr-index-neg", ADDR, (-1, AF4, V4, 8, 0)),
    ("addr-del-bad-family", ADDR_DEL, (1, 99, V4, 8)),
    ("addr-del-v4-plen-33", ADDR_DEL, (1, AF4, V4, 33)),
    ("addr-del-v6-plen-129", ADDR_DEL, (1, AF6, V6, 129)),
    ("route-no-gw-no-oif", ROUTE, (AF4, V4, 8, N, 0, 0, 0, 0)),
    ("route-bad-family", ROUTE, (0, V4, 8, V4, 1, 0, 0, 0)),
    ("route-v4-len-33", ROUTE, (AF4, V4, 33, V4, 1, 0, 0, 0)),
    ("route-v6-len-129", ROUTE, (AF6, V6, 129, V6, 1, 0, 0, 0)),
    ("route-default-with-len", ROUTE, (AF4, N, 8, V4, 1, 0, 0, 0)),
    ("route-oif-neg", ROUTE, (AF4, V4, 8, V4, -1, 0, 0, 0)),
    ("route-del-bad-family", ROUTE_DEL, (99, V4, 8, N, 0, 0, 0)),
    ("route-del-v6-len-129", ROUTE_DEL, (AF6, V6, 129, N, 0, 0, 0)),
    ("route-del-oif-neg", ROUTE_DEL, (AF4, V4, 8, N, -1, 0, 0)),
]


@pytest.mark.parametrize("builder, args", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_arguments(builder, args):
    b = Batch(cap=1024)
    assert lib.nlc_link_del(b.b, 1, N) == 0       # something already there
    before = b.bytes()
    assert getattr(lib, builder)(b.b, *args) == -errno.EINVAL
    assert b.len == len(before) and b.count == 1
    assert b.bytes() == before


def test_longest_name_is_accepted():
    b = Batch()
    assert lib.nlc_link_add_bridge(b.b, LONG[:15], 0, N, 0, -1) == 0
    assert attrs(decode(ifinfmsg, only(b), IFINFOMSG))["IFLA_IFNAME"] == \
        LONG[:15].decode()


# ------------------------------------------------------ sizes and batches

BUILDERS = {
    "bridge": lambda b: lib.nlc_link_add_bridge(b, b"br-0123456789ab", 9000,
                                                MAC1, 1, 77),
    "veth": lambda b: lib.nlc_link_add_veth(
        b, b"veth0123456789a", 7, 1500, MAC1, 1, 3, b"eth0123456789ab", 5,
        1400, MAC2, 4096),
    "macvlan": lambda b: lib.nlc_link_add_macvlan(
        b, b"mv-0123456789a", 7, 4, 5, MAC1, 1400, 9, 1),
    "ipvlan": lambda b: lib.nlc_link_add_ipvlan(b, b"ipv-0123456789", 7, 2,
                                                5, 9000, 9, 1),
    "vlan": lambda b: lib.nlc_link_add_vlan(b, b"eth0.4094", 7, 4094, 1496,
                                            9, 1),
    "set": lambda b: lib.nlc_link_set(b, 0, b"eth0", 1, 4, 1400, N, 6, 2,
                                      MAC2, 1),
    "del": lambda b: lib.nlc_link_del(b, 0, b"gone0"),
    "del_group": lambda b: lib.nlc_link_del_group(b, 99),
    "get": lambda b: lib.nlc_link_get(b, 0, b"lo"),
    "addr_add4": lambda b: lib.nlc_addr_add(b, 2, AF4, V4, 24,
                                            lib.NLC_ADDR_NODAD),
    "addr_add6": lambda b: lib.nlc_addr_add(b, 2, AF6, V6, 64,
                                            lib.NLC_ADDR_NODAD),
    "addr_del": lambda b: lib.nlc_addr_del(b, 2, AF4, V4, 24),
    "route_add4": lambda b: lib.nlc_route_add(b, AF4, V4, 8, V4, 3,
                                              lib.NLC_ROUTE_ONLINK, 10, 1000),
    "route_add6": lambda b: lib.nlc_route_add(b, AF6, V6, 64, V6, 3, 0, 10,
                                              100),
    "route_del": lambda b: lib.nlc_route_del(b, AF6, V6, 64, V6, 3, 10, 100),
}
TYPES = {
    "bridge": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "veth": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "macvlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "ipvlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "vlan": (RTM_NEWLINK, ifinfmsg, IFINFOMSG),
    "set": (RTM_SETLINK, ifinfmsg, IFINFOMSG),
    "del": (RTM_DELLINK, ifinfmsg, IFINFOMSG),
    "del_group": (RTM_DELLINK, ifinfmsg, IFINFOMSG),
    "get": (RTM_GETLINK, ifinfmsg, IFINFOMSG),
    "addr_add4": (RTM_NEWADDR, ifaddrmsg, IFADDRMSG),
    "addr_add6": (RTM_NEWADDR, ifaddrmsg, IFADDRMSG),
    "addr_del": (RTM_DELADDR, ifaddrmsg, IFADDRMSG),
    "route_add4": (RTM_NEWROUTE, rtmsg, RTMSG),
    "route_add6": (RTM_NEWROUTE, rtmsg, RTMSG),
    "route_del": (RTM_DELROUTE, rtmsg, RTMSG),
}


def reference(name: str) -> bytes:
    b = Batch()
    assert BUILDERS[name](b.b) == 0
    return only(b)


@pytest.mark.parametrize("name", BUILDERS)
def test_every_short_buffer(name):
    """Every capacity below the needed one: -EMSGSIZE, nothing appended,
    nothing written at or past cap; the exact size gives the same bytes."""
    ref = reference(name)
    need = len(ref)
    for cap in range(need + 1):
        b = Batch(cap=cap, slack=64)
        rc = BUILDERS[name](b.b)
        if cap < need:
            assert rc == -errno.EMSGSIZE, cap
            assert (b.len, b.count) == (0, 0), cap
        else:
            assert rc == 0
            assert b.bytes() == ref
        assert b.after_cap() == bytes([Batch.GUARD]) * 64, cap


@pytest.mark.parametrize("name", ["veth", "route_add6"])
def test_every_short_buffer_after_a_message(name):
    """The same with a message already in the batch: it stays intact."""
    ref = reference(name)
    first = reference("del")
    for cap in range(len(first), len(first) + len(ref) + 1):
        b = Batch(cap=cap, slack=64)
        assert lib.nlc_link_del(b.b, 0, b"gone0") == 0
        rc = BUILDERS[name](b.b)
        if cap < len(first) + len(ref):
            assert rc == -errno.EMSGSIZE
            assert (b.len, b.count) == (len(first), 1)
            assert b.bytes() == first
        else:
            assert rc == 1
            assert b.bytes() == first + ref
        assert b.after_cap() == bytes([Batch.GUARD]) * 64


def test_no_storage():
    b = Batch(cap=4096, null=True)
    assert b.b.cap == 0
    for name, build in BUILDERS.items():
        assert build(b.b) == -errno.EMSGSIZE, name
    assert (b.len, b.count) == (0, 0)


def test_one_batch_then_reset():
    b = Batch(cap=8192)
    for i, build in enumerate(BUILDERS.values()):
        assert build(b.b) == i
    msgs = b.messages()
    assert len(msgs) == len(BUILDERS) == b.count
    off = 0
    for name, data in zip(BUILDERS, msgs):
        mtype, cls, famlen = TYPES[name]
        assert off % 4 == 0
        assert data == reference(name)          # position-independent
        msg = decode(cls, data, famlen)
        assert msg["header"]["type"] == mtype
        assert msg["header"]["flags"] & REQ == REQ
        off += (len(data) + 3) & ~3
    assert off == b.len

    lib.nlc_batch_reset(b.b)
    assert (b.len, b.count) == (0, 0)
    assert b.b.cap == 8192
    assert BUILDERS["veth"](b.b) == 0
    assert b.bytes() == reference("veth")
