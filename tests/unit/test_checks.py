"""The checks of the API boundary (libnetwork.checks, and the IPAM's
usable-subnet and pool-address rules in libnetwork.ipam.inputs): one
example test per rule, properties over arbitrary input (every refusal is
an InvalidParameter, nothing else escapes), and the option constructors
and drivers that call them.  No root."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import libnetwork
from libnetwork import IpamConf, checks, netlabel
from libnetwork.backends import ops as O
from libnetwork.backends.validate import check_ifname
from libnetwork.drivers.bridge import BridgeDriver
from libnetwork.errors import (
    AddressOutOfRange, InvalidName, InvalidParameter, LibnetworkError)
from libnetwork.ipam import Allocator
from libnetwork.ipam.inputs import check_usable, pool_address
from libnetwork.network import Network, NetworkSpec
from libnetwork.sandbox import Sandbox, SandboxSpec

#: anything a caller might pass
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(), st.binary(), st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.text(max_size=2), st.integers()))


def refused(cls, fn, *args):
    """``fn(*args)`` raises exactly ``cls``; its message."""
    with pytest.raises(LibnetworkError) as ei:
        fn(*args)
    assert type(ei.value) is cls, f"{type(ei.value).__name__}: {ei.value}"
    return str(ei.value)


# ------------------------------------------------------- names and ids

@pytest.mark.parametrize("good", ["a", "net1", "A.b-c_d", "9", "x" * 255])
def test_names_of_the_pattern_are_accepted(good):
    assert checks.name("network", good) == good


@pytest.mark.parametrize("bad", [
    "", "-x", ".x", "_x", "a b", "a/b", "a\n", "a\0b", "n\u00e9t", "x" * 256,
    "\uff41", None, 5, b"ab", ["a"]])
def test_names_outside_the_pattern_are_invalid_names(bad):
    assert repr(bad)[:20] in refused(InvalidName, checks.name, "network",
                                     bad)


@given(st.one_of(st.text(), JUNK))
def test_a_name_is_accepted_exactly_when_it_matches_in_full(value):
    ok = (isinstance(value, str) and len(value) <= 255
          and re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", value) is not None)
    try:
        assert checks.name("endpoint", value) == value and ok
    except InvalidName:
        assert not ok


def test_ids_are_names_or_empty_when_allowed():
    assert checks.object_id("network", "", empty=True) == ""
    assert checks.object_id("sandbox", "ab" * 32) == "ab" * 32
    for bad in ("", "a\n", None, 5):
        refused(InvalidParameter, checks.object_id, "network", bad)


@given(st.text(max_size=300))
def test_container_ids_are_printable_without_spaces(value):
    ok = 0 < len(value) <= 255 and value.isprintable() and " " not in value
    try:
        assert checks.container_id(value) == value and ok
    except InvalidName:
        assert not ok


def test_container_ids_examples():
    assert checks.container_id("c1") == "c1"
    assert checks.container_id("/web.1") == "/web.1"
    for bad in ("", "c 1", "c\n", "c\0", "c\t", 5, None, "c" * 256):
        refused(InvalidName, checks.container_id, bad)


# ------------------------------------------------------------- shapes

@pytest.mark.parametrize("bad", ["abc", b"abc", bytearray(b"ab"), {"a": 1},
                                 5, None, 1.5])
def test_a_list_is_not_a_string_mapping_or_scalar(bad):
    assert "expected a list" in refused(InvalidParameter, checks.sequence,
                                        bad, "ids")


@pytest.mark.parametrize("good", [["a", "b"], ("a", "b"), iter(["a", "b"]),
                                  (x for x in "ab")])
def test_a_list_is_any_other_iterable(good):
    assert checks.sequence(good, "ids") == ["a", "b"]


def test_container_ids_refuse_a_string_and_check_each():
    assert checks.container_ids(("a", "b")) == ["a", "b"]
    refused(InvalidParameter, checks.container_ids, "abc")
    refused(InvalidName, checks.container_ids, ["a", "b\n"])


def test_mappings():
    assert checks.mapping(None, "labels") == {}
    assert checks.mapping({"a": 1}, "opts") == {"a": 1}
    assert checks.mapping({"a": "1"}, "labels", str_values=True) == {"a": "1"}
    for bad in ("a=b", ["a"], 5):
        refused(InvalidParameter, checks.mapping, bad, "labels")
    refused(InvalidParameter, checks.mapping, {1: "a"}, "labels")
    refused(InvalidParameter, checks.mapping, {"a\0": "b"}, "labels")
    refused(InvalidParameter, checks.mapping, {"a": 1}, "labels", True)
    refused(InvalidParameter, checks.mapping, {"a": "\0"}, "labels", True)


def test_tokens_paths_and_text():
    assert checks.token("web", "hostname") == "web"
    assert checks.token("", "hostname", empty=True) == ""
    for bad in ("", "a b", "a\tb", "a\n", "a\0", "a\u00a0b", 5, None):
        refused(InvalidParameter, checks.token, bad, "hostname")
    assert checks.path("/tmp/x", "hosts path") == "/tmp/x"
    for bad in ("", "/tmp/\0", None, b"/tmp"):
        refused(InvalidParameter, checks.path, bad, "hosts path")
    refused(InvalidParameter, checks.text, "a\0", "driver")
    refused(InvalidParameter, checks.text, None, "driver")


def test_addresses():
    assert checks.address("10.0.0.1", "dns") == "10.0.0.1"
    assert checks.address(ipaddress.ip_address("fd00::1"), "dns") == "fd00::1"
    assert checks.address("10.0.0.1/24", "ipv4", prefix=True) == \
        "10.0.0.1/24"
    for bad in ("10.0.0.1/24", "nope", "10.0.0.1\0", "10.0.0.1\n", None, 5):
        refused(InvalidParameter, checks.address, bad, "dns")
    refused(InvalidParameter, checks.address, "10.0.0.1/33", "ip", True)


# ---------------------------------------------------------------- MACs

def test_mac_examples():
    assert checks.mac("02:42:AC:11:00:02") == "02:42:ac:11:00:02"
    assert "multicast" in refused(InvalidParameter, checks.mac,
                                  "01:00:5e:00:00:01")
    assert "multicast" in refused(InvalidParameter, checks.mac,
                                  "ff:ff:ff:ff:ff:ff")
    assert "all zero" in refused(InvalidParameter, checks.mac,
                                 "00:00:00:00:00:00")
    for bad in ("02:42:ac:11:00:02\n", "02-42-ac-11-00-02", "2:42:ac:11:0:2",
                "02:42:ac:11:00", 0x0242AC110002, None):
        refused(InvalidParameter, checks.mac, bad)


@given(st.binary(min_size=6, max_size=6), st.booleans())
def test_a_mac_is_accepted_unless_multicast_or_zero(raw, upper):
    text = ":".join(f"{b:02x}" for b in raw)
    text = text.upper() if upper else text
    ok = not raw[0] & 1 and raw != bytes(6)
    try:
        assert checks.mac(text) == text.lower() and ok
    except InvalidParameter:
        assert not ok


# ------------------------------------------------- flags and integers

def test_flags_are_bools_or_parsed_text():
    for v, want in ((True, True), (False, False), (1, True), (0, False),
                    ("true", True), ("False", False), ("1", True),
                    ("f", False)):
        assert checks.flag(v, "internal") is want
    for bad in ("yes", "no", "", 2, None, 1.0):
        refused(InvalidParameter, checks.flag, bad, "internal")


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.text(),
                 st.integers().map(str), JUNK))
def test_an_mtu_is_an_int_or_its_text_in_range(value):
    n = None
    if type(value) is int:
        n = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,12}", value):
        n = int(value)
    unset = value is None or (type(value) in (int, str)
                              and value in ("", 0, "0"))
    try:
        got = checks.mtu(value, "mtu")
    except InvalidParameter:
        assert not unset and (n is None or not 68 <= n <= 65535)
    else:
        assert got == (None if unset else n)
        assert unset or 68 <= n <= 65535


def test_mtu_examples():
    assert checks.mtu(1500, "mtu") == checks.mtu("1500", "mtu") == 1500
    assert checks.mtu(68, "mtu") == 68 and checks.mtu("65535", "mtu") == 65535
    for unset in (None, "", 0, "0"):
        assert checks.mtu(unset, "mtu") is None
    for bad in (67, "67", 65536, "65536", "-1", 1500.0, 1500.5, True, "abc",
                "1500\n", " 1500", "1_500", "9" * 5000, [1500]):
        refused(InvalidParameter, checks.mtu, bad, "mtu")


def test_integers_never_truncate():
    assert checks.integer("+3", "q", 0, 5) == 3
    assert "expected an integer" in refused(
        InvalidParameter, checks.integer, 1.5, "q", 0, 5)
    assert "out of range 0 to 5" in refused(
        InvalidParameter, checks.integer, 6, "q", 0, 5)


# ------------------------------------------------------ interface names

@pytest.mark.parametrize("good", ["br0", "br-0123456789a", "e" * 15,
                                  "\u00e9" * 7, "up0.10"])
def test_interface_names_accepted(good):
    assert checks.ifname(good, "name") == good


@pytest.mark.parametrize("bad,why", [
    ("br%d", "expanded"), ("br%s", "expanded"), ("%", "expanded"),
    (".", "not a valid"), ("..", "not a valid"), ("a/b", "not a valid"),
    ("a:b", "not a valid"), ("a b", "not a valid"), ("a\tb", "not a valid"),
    ("a\nb", "not a valid"), ("a\0b", "not a valid"),
    ("a\x7fb", "not a valid"), ("", "1 to 15 bytes, not 0"),
    ("e" * 16, "not 16"), ("\u00e9" * 8, "not 16"), (5, "is a string")])
def test_interface_names_refused(bad, why):
    assert why in refused(InvalidParameter, checks.ifname, bad, "name")


@given(st.text(max_size=20))
def test_interface_names_the_kernel_takes_as_they_are(value):
    raw = value.encode("utf-8", "surrogatepass")
    ok = (0 < len(raw) < 16 and value not in (".", "..")
          and not re.search(r"[/:%\s]", value, re.ASCII)
          and value.isprintable())
    try:
        assert checks.ifname(value, "name") == value and ok
    except InvalidParameter:
        assert not ok


def test_the_backends_refuse_percent_too():
    with pytest.raises(InvalidParameter, match="not a valid interface"):
        check_ifname(O.LinkDel("br%d"), "name", "br%d")


# ------------------------------------------------------ usable subnets

def _oracle_unusable(net) -> bool:
    """Independently of the ranges table: an aligned reserved block B and
    ``net`` overlap exactly when one holds the other's first address."""
    first = net.network_address
    if first.is_unspecified:
        return True
    if net.version == 4:
        blocks = ["127.0.0.0", "169.254.0.0", "224.0.0.0"]
        return any(ipaddress.ip_address(b) in net for b in blocks) or \
            first.is_loopback or first.is_link_local or first.is_multicast
    blocks = ["::1", "fe80::", "ff00::"]
    return any(ipaddress.ip_address(b) in net for b in blocks) or \
        first.is_loopback or first.is_link_local or first.is_multicast


@given(st.ip_addresses(v=4), st.integers(0, 32))
def test_usable_v4_subnets_match_the_oracle(addr, plen):
    net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    try:
        assert check_usable(net, "pool") is net
        assert not _oracle_unusable(net)
    except InvalidParameter:
        assert _oracle_unusable(net)


@given(st.ip_addresses(v=6), st.integers(0, 128))
def test_usable_v6_subnets_match_the_oracle(addr, plen):
    net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    try:
        check_usable(net, "pool")
        assert not _oracle_unusable(net)
    except InvalidParameter:
        assert _oracle_unusable(net)


@pytest.mark.parametrize("pool,why", [
    ("127.0.0.0/8", "loopback"), ("127.1.0.0/16", "loopback"),
    ("96.0.0.0/3", "loopback"), ("169.254.0.0/16", "link-local"),
    ("169.254.3.0/24", "link-local"), ("224.0.0.0/4", "multicast"),
    ("239.255.0.0/16", "multicast"), ("0.0.0.0/8", "unspecified"),
    ("0.0.0.0/0", "unspecified"), ("::1/128", "loopback"),
    ("fe80::/64", "link-local"), ("ff02::/64", "multicast"),
    ("::/64", "unspecified")])
def test_unusable_pools_are_refused_by_the_allocator(pool, why):
    a = Allocator()
    assert why in refused(InvalidParameter, a.request_pool, "LocalDefault",
                          pool, None, None, ":" in pool)
    assert a.pool_ids() == []


@pytest.mark.parametrize("pool", ["10.0.0.0/8", "10.0.0.22/32",
                                  "10.0.0.20/31", "1.0.0.0/24",
                                  "64.0.0.0/3", "fd00::/64", "2001:db8::/64"])
def test_usable_pools_including_31_and_32_stay_accepted(pool):
    a = Allocator()
    pid, net, _ = a.request_pool("LocalDefault", pool, None, None,
                                 ":" in pool)
    assert str(net) == pool


def test_default_pools_must_be_usable_too():
    with pytest.raises(InvalidParameter, match="loopback"):
        Allocator(default_pools=[{"base": "127.0.0.0/8", "size": 24}])


# ------------------------------------------------ addresses of a pool

def test_pool_addresses():
    net = ipaddress.ip_network("10.0.0.0/24")
    assert str(pool_address("10.0.0.1", net, "gateway")) == "10.0.0.1"
    assert str(pool_address("10.0.0.1/24", net, "gateway")) == "10.0.0.1"
    assert str(pool_address(ipaddress.ip_interface("10.0.0.1/24"), net,
                            "gateway")) == "10.0.0.1"
    assert "/16 disagrees with the pool 10.0.0.0/24" in refused(
        InvalidParameter, pool_address, "10.0.0.1/16", net, "gateway")
    refused(InvalidParameter, pool_address,
            ipaddress.ip_interface("10.0.0.1/25"), net, "gateway")
    assert "outside the pool" in refused(
        AddressOutOfRange, pool_address, "10.0.1.1", net, "gateway")
    refused(AddressOutOfRange, pool_address, "fd00::1", net, "gateway")
    refused(InvalidParameter, pool_address, "gw", net, "gateway")


def test_ipam_conf():
    conf = IpamConf("10.0.0.0/24", "10.0.0.128/25", "10.0.0.1/24",
                    {"r": "10.0.0.2"})
    assert checks.ipam_conf(conf, False, "ipv4[0]") is conf
    assert checks.ipam_conf({"preferred_pool": "10.0.0.0/24"}, False,
                            "ipv4[0]") == IpamConf("10.0.0.0/24")
    assert checks.ipam_conf(IpamConf(gateway="10.0.0.1/24"), False, "x")
    for bad, cls in (
            (IpamConf("127.0.0.0/8"), InvalidParameter),
            (IpamConf("fd00::/64"), InvalidParameter),
            (IpamConf(None, "10.0.0.0/25"), InvalidParameter),
            (IpamConf("10.0.0.0/24", "10.1.0.0/25"), InvalidParameter),
            (IpamConf("10.0.0.0/24", gateway="10.0.0.1/16"),
             InvalidParameter),
            (IpamConf("10.0.0.0/24", gateway="10.9.0.1"), AddressOutOfRange),
            (IpamConf("10.0.0.0/24", aux_addresses={"r": "10.9.0.1"}),
             AddressOutOfRange),
            (IpamConf("10.0.0.0/24", aux_addresses=["10.0.0.2"]),
             InvalidParameter),
            (IpamConf(gateway="gw"), InvalidParameter),
            ({"pool": "10.0.0.0/24"}, InvalidParameter),
            ("10.0.0.0/24", InvalidParameter)):
        refused(cls, checks.ipam_conf, bad, False, "ipv4[0]")
    refused(InvalidParameter, checks.ipam_conf, IpamConf(), True, "ipv6[0]")


# ------------------------------------------------- objects and options

class _Ctl:
    netns_dir = "/run/test/netns"       # where a sandbox's own key lives
    identity = "0" * 32
    files_dir = "/run/test/sandboxes"


def test_owned_objects():
    c, other = _Ctl(), _Ctl()
    nw = Network(c, "i" * 64, "n", "bridge", NetworkSpec())
    sb = Sandbox(c, "s" * 64, "c1", "/run/x", SandboxSpec())
    assert checks.owned(c, nw, Network, "network") is nw
    assert checks.owned(c, sb, Sandbox, "sandbox") is sb
    assert "expected a network (libnetwork.Network), got NoneType" in \
        refused(InvalidParameter, checks.owned, c, None, Network, "network")
    assert "got Network" in refused(InvalidParameter, checks.owned, c, nw,
                                    Sandbox, "sandbox")
    assert "belongs to another controller" in refused(
        InvalidParameter, checks.owned, other, sb, Sandbox, "sandbox")


def test_options_of_a_kind():
    net_opt = libnetwork.network_option_internal_network()
    ep_opt = libnetwork.create_option_mac_address("02:42:00:00:00:01")
    sb_opt = libnetwork.option_hostname("h")
    assert net_opt.option_kind == "network"
    assert checks.options((net_opt,), "network") == [net_opt]
    assert checks.options([lambda s: None], "endpoint")   # user-made
    assert "got an endpoint option" in refused(
        InvalidParameter, checks.options, [ep_opt], "network")
    assert "expected an endpoint option, got a sandbox option" in refused(
        InvalidParameter, checks.options, [sb_opt], "endpoint")
    assert "got str 'x'" in refused(InvalidParameter, checks.options, ["x"],
                                    "sandbox")


@pytest.mark.parametrize("check", [
    lambda v: checks.name("network", v),
    lambda v: checks.object_id("network", v, empty=True),
    checks.container_id, checks.container_ids,
    lambda v: checks.sequence(v, "x"), lambda v: checks.mapping(v, "x"),
    lambda v: checks.mapping(v, "x", str_values=True),
    lambda v: checks.text(v, "x"), lambda v: checks.token(v, "x"),
    lambda v: checks.path(v, "x"), lambda v: checks.address(v, "x", True),
    checks.mac, lambda v: checks.flag(v, "x"),
    lambda v: checks.integer(v, "x", 0, 10), lambda v: checks.mtu(v, "x"),
    lambda v: checks.ipam_conf(v, False, "x"),
    lambda v: checks.ifname(v, "x"),
    lambda v: checks.options([v], "network")])
@given(value=JUNK)
def test_nothing_but_invalid_parameter_escapes(check, value):
    try:
        check(value)
    except InvalidParameter:
        pass


# ---------------------------------- option constructors and drivers

def test_option_constructors_check_at_once():
    for make in (
            lambda: libnetwork.create_option_mac_address("00:00:00:00:00:00"),
            lambda: libnetwork.endpoint_option_generic(
                {netlabel.MAC_ADDRESS: "01:00:5e:00:00:01"}),
            lambda: libnetwork.create_option_ipam(ipv4="nope"),
            lambda: libnetwork.create_option_dns("192.0.2.1"),
            lambda: libnetwork.create_option_exposed_ports("80/tcp"),
            lambda: libnetwork.network_option_ipam(
                ipv4=[IpamConf("169.254.0.0/16")]),
            lambda: libnetwork.network_option_ipam(ipv4="10.0.0.0/24"),
            lambda: libnetwork.network_option_labels("a=b"),
            lambda: libnetwork.network_option_enable_ipv6("yes"),
            lambda: libnetwork.option_hostname("a b"),
            lambda: libnetwork.option_dns("nope"),
            lambda: libnetwork.option_hosts_path("/tmp/\0"),
            lambda: libnetwork.config.option_driver_config("bridge", "x")):
        with pytest.raises(InvalidParameter):
            make()


def test_generic_flags_are_parsed_not_cast():
    spec = NetworkSpec()
    libnetwork.network_option_generic({netlabel.ENABLE_IPV6: "false",
                                       netlabel.INTERNAL: "true"})(spec)
    assert spec.enable_ipv6 is False and spec.internal is True


def _bridge(generic):
    nw = Network(_Ctl(), "0123456789ab" * 5 + "cdef", "n", "bridge",
                 NetworkSpec(generic=generic))
    nw.driver_state["group"] = 1
    BridgeDriver().configure_network(nw, [], None)
    return nw.driver_state


def test_bridge_options():
    state = _bridge({netlabel.DRIVER_MTU: "1400", netlabel.BRIDGE_NAME: "brx",
                     "com.docker.network.bridge.veth_queues": "0"})
    assert (state["mtu"], state["bridge"], state["veth_queues"]) == (
        1400, "brx", 0)
    assert _bridge({})["mtu"] == 1500
    assert _bridge({netlabel.DRIVER_MTU: 0})["mtu"] == 1500
    assert _bridge({})["bridge"] == "br-0123456789ab"
    for bad in ({netlabel.DRIVER_MTU: 1400.0}, {netlabel.DRIVER_MTU: "x"},
                {netlabel.BRIDGE_NAME: "br%d"},
                {"com.docker.network.bridge.veth_queues": 1.5}):
        refused(InvalidParameter, _bridge, bad)
