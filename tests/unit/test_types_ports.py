"""PortBinding / TransportPort validation, and host-port allocation
(property-tested: no two endpoints ever hold one port on overlapping
addresses; explicit conflicts are refused and name the owner)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libnetwork.errors import InvalidParameter, PortAlreadyAllocated
from libnetwork.firewall import ports
from libnetwork.types import PortBinding, TransportPort, port_binding


class Ep:
    def __init__(self, name, v4="10.0.0.2", v6=None):
        self._name = name
        self.addr = ipaddress.ip_interface(v4 + "/24") if v4 else None
        self.addr6 = ipaddress.ip_interface(v6 + "/64") if v6 else None
        self.ports = []

    def name(self):
        return self._name

    def network(self):
        return "n"


def alloc(index, ep, bindings, default="0.0.0.0", localnet=False,
          rng=(40000, 40009), cursor=None):
    ep.ports = ports.allocate(index, ep, bindings, default, localnet, rng,
                              {} if cursor is None else cursor)
    return ep.ports


# ------------------------------------------------------------------ types

def test_port_binding_fields_and_defaults():
    b = PortBinding("TCP", 80, 8080)
    assert b == ("tcp", 80, 8080, "", 0)
    assert b.to_dict() == {"proto": "tcp", "port": 80, "host_ip": "",
                           "host_port": 8080, "host_port_end": 0}
    assert str(b) == ":8080->80/tcp"
    assert str(PortBinding("udp", 53, 5300, "::1", 5310)) == \
        "[::1]:5300-5310->53/udp"
    with pytest.raises(AttributeError):
        b.port = 81                      # immutable


@pytest.mark.parametrize("args", [
    ("icmp", 1), ("tcp", 0), ("tcp", 65536), ("tcp", 80, -1),
    ("tcp", 80, 90, "", 85), ("tcp", 80, 0, "", 85), ("tcp", "80"),
    ("tcp", True), ("tcp", 80, 0, "not-an-ip"), ("tcp", 80, 0, 7),
])
def test_port_binding_refuses(args):
    with pytest.raises(InvalidParameter):
        PortBinding(*args)


def test_transport_port_and_conversions():
    assert TransportPort("UDP", 53) == ("udp", 53)
    with pytest.raises(InvalidParameter):
        TransportPort("udp", 0)
    assert port_binding({"proto": "udp", "port": 53, "host_port": 53}) == \
        PortBinding("udp", 53, 53)
    assert port_binding(("tcp", 22, 2222)) == PortBinding("tcp", 22, 2222)
    with pytest.raises(InvalidParameter):
        port_binding({"proto": "tcp", "port": 1, "bogus": 2})
    with pytest.raises(InvalidParameter):
        port_binding("80:80")


# ------------------------------------------------------------- allocation

def test_explicit_port_conflicts_on_overlapping_addresses():
    idx = ports.PortIndex()
    a, b, c = Ep("a"), Ep("b"), Ep("c")
    assert alloc(idx, a, [PortBinding("tcp", 80, 8080, "10.9.0.1")]) == [
        PortBinding("tcp", 80, 8080, "10.9.0.1")]
    # another address: fine; the wildcard overlaps both
    alloc(idx, b, [PortBinding("tcp", 80, 8080, "10.9.0.2")])
    with pytest.raises(PortAlreadyAllocated, match="8080/tcp.*'a'"):
        alloc(idx, c, [PortBinding("tcp", 80, 8080)])
    # another protocol: fine
    assert alloc(idx, c, [PortBinding("udp", 80, 8080)])[0].host_port == 8080


def test_wildcard_blocks_specific_and_ipv6_is_apart():
    idx = ports.PortIndex()
    a = Ep("a", v6="fd00::2")
    got = alloc(idx, a, [PortBinding("tcp", 80, 8080)])
    # the default binds every IPv4 and, with an IPv6 address, every IPv6
    assert [g.host_ip for g in got] == ["0.0.0.0", "::"]
    with pytest.raises(PortAlreadyAllocated):
        alloc(idx, Ep("b"), [PortBinding("tcp", 80, 8080, "10.1.1.1")])
    with pytest.raises(PortAlreadyAllocated):
        alloc(idx, Ep("c", v6="fd00::3"),
              [PortBinding("tcp", 80, 8080, "fd00::1")])


def test_range_takes_the_first_free_port_and_zero_picks_in_range():
    idx = ports.PortIndex()
    alloc(idx, Ep("a"), [PortBinding("tcp", 80, 9000)])
    got = alloc(idx, Ep("b"), [PortBinding("tcp", 80, 9000, "", 9005)])
    assert got[0].host_port == 9001 and got[0].host_port_end == 0
    cursor = {}
    picks = [alloc(idx, Ep(f"z{i}"), [PortBinding("tcp", 80)],
                   cursor=cursor)[0].host_port for i in range(10)]
    assert sorted(picks) == list(range(40000, 40010))
    with pytest.raises(PortAlreadyAllocated, match="every host port of 40000-40009"):
        alloc(idx, Ep("full"), [PortBinding("tcp", 80)], cursor=cursor)


def test_loopback_needs_route_localnet_and_family_needs_an_address():
    idx = ports.PortIndex()
    with pytest.raises(InvalidParameter, match="route_localnet"):
        alloc(idx, Ep("a"), [PortBinding("tcp", 80, 8080, "127.0.0.1")])
    assert alloc(idx, Ep("a"), [PortBinding("tcp", 80, 8080, "127.0.0.1")],
                 localnet=True)
    with pytest.raises(InvalidParameter, match="IPv6"):
        alloc(idx, Ep("b"), [PortBinding("tcp", 80, 1, "fd00::1")])


def test_release_frees_the_port():
    idx = ports.PortIndex()
    a = Ep("a")
    alloc(idx, a, [PortBinding("tcp", 80, 8080)])
    ports.release(idx, a)
    assert alloc(idx, Ep("b"), [PortBinding("tcp", 80, 8080)])


def test_local_port_range_parsing():
    assert ports.local_port_range(lambda: "1024\t2048\n") == (1024, 2048)
    assert ports.local_port_range(lambda: "garbage") == ports.DEFAULT_RANGE
    assert ports.local_port_range(lambda: "9 3") == ports.DEFAULT_RANGE


_ADDRS = st.sampled_from(["", "0.0.0.0", "10.0.0.1", "10.0.0.2", "::",
                          "fd00::1"])
_REQ = st.tuples(st.sampled_from(["tcp", "udp"]), _ADDRS,
                 st.sampled_from([0, 40000, 40001, 40002]),
                 st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(_REQ, max_size=25))
def test_no_two_endpoints_hold_a_port_on_overlapping_addresses(reqs):
    idx = ports.PortIndex()
    cursor: dict = {}
    held = []                      # (proto, ip, port, endpoint name)
    for i, (proto, ip, port, ranged) in enumerate(reqs):
        ep = Ep(f"e{i}", v6="fd00::9")
        b = PortBinding(proto, 80, port, ip,
                        port + 3 if ranged and port else 0)
        try:
            got = alloc(idx, ep, [b], rng=(40000, 40004), cursor=cursor)
        except PortAlreadyAllocated:
            continue
        for g in got:
            assert g.host_port and not g.host_port_end
            if port and not ranged:
                assert g.host_port == port
            held.append((g.proto, ipaddress.ip_address(g.host_ip),
                         g.host_port, ep.name()))
    for i, (p1, a1, n1, e1) in enumerate(held):
        for p2, a2, n2, e2 in held[i + 1:]:
            if e1 == e2 or p1 != p2 or n1 != n2 or a1.version != a2.version:
                continue
            assert a1 != a2 and not a1.is_unspecified \
                and not a2.is_unspecified, (held, reqs)
    # a fresh index built from the endpoints' bindings agrees
    assert sum(len(v) for v in idx._by.values()) == len(held)
