"""Outbound NAT, hairpin, inter-container communication, isolation between
bridge networks, internal networks and forwarding: real packets between
sandboxes, the host and a client host (firewall_util.py).

Every "cannot reach" check has a call that must get through in the same
test.
"""

from __future__ import annotations

import pytest

from libnetwork import errors, netlabel

from firewall_util import *  # noqa: F401,F403
from firewall_util import (CLIENT4, HOST4, UPLINK, Listener, PortBinding,
                           answers, bridge, default_routes, ip, outbound,
                           read_sysctl, silent)


def _ip(ep) -> str:
    return str(ep.info().iface().address().ip)


def _key(c, cid) -> str:
    return c.sandbox_by_container(cid).key()


def test_outbound_is_masqueraded(ctl, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    ctl.attach(nw, ["a"])
    assert outbound(_key(ctl, "a"), client, "tcp", CLIENT4) == HOST4
    assert outbound(_key(ctl, "a"), client, "udp", CLIENT4) == HOST4


def test_outbound_without_masquerade(ctl, client):
    off = bridge(ctl, "off", "10.121.0.0/24",
                 generic={netlabel.BRIDGE_ENABLE_IP_MASQUERADE: False})
    on = bridge(ctl, "on", "10.120.0.0/24")
    (a,) = ctl.attach(off, ["a"])
    ctl.attach(on, ["b"])
    # the client host routes the container subnet back through the host
    ip(client, "route", "add", "10.121.0.0/24", "via", HOST4)
    assert outbound(_key(ctl, "a"), client, "tcp", CLIENT4) == _ip(a)
    assert outbound(_key(ctl, "a"), client, "udp", CLIENT4) == _ip(a)
    assert outbound(_key(ctl, "b"), client, "tcp", CLIENT4) == HOST4


def test_outbound_from_host_ipv4(ctl, netns, client):
    ip(netns, "addr", "add", "10.99.0.5/24", "dev", UPLINK)
    fixed = bridge(ctl, "fixed", "10.121.0.0/24",
                   generic={netlabel.HOST_IPV4: "10.99.0.5"})
    plain = bridge(ctl, "plain", "10.120.0.0/24")
    ctl.attach(fixed, ["a"])
    ctl.attach(plain, ["b"])
    assert outbound(_key(ctl, "a"), client, "tcp", CLIENT4) == "10.99.0.5"
    assert outbound(_key(ctl, "a"), client, "udp", CLIENT4) == "10.99.0.5"
    assert outbound(_key(ctl, "b"), client, "tcp", CLIENT4) == HOST4


GW = "10.120.0.1"


def test_hairpin(ctl, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("udp", 80, host_port=8080)])
    ctl.attach(nw, ["b"], port_mapping=[
        PortBinding("tcp", 80, host_port=8081),
        PortBinding("udp", 80, host_port=8081)])
    ka, kb = _key(ctl, "a"), _key(ctl, "b")
    with Listener(ka, "tcp", 80, "a") as ta, Listener(ka, "udp", 80,
                                                      "a") as ua, \
            Listener(kb, "tcp", 80, "b") as tb, Listener(kb, "udp", 80,
                                                         "b") as ub:
        # masqueraded to the bridge's address, so replies come back
        # through the host
        for proto, la, lb in (("tcp", ta, tb), ("udp", ua, ub)):
            assert answers(ka, proto, HOST4, 8080, la) == GW  # its own port
            assert answers(ka, proto, HOST4, 8081, lb) == GW  # the other's
            assert answers(kb, proto, HOST4, 8080, la) == GW
            assert answers(client, proto, HOST4, 8081, lb) == CLIENT4


def test_icc_off(ctl, client):
    off = bridge(ctl, "off", "10.121.0.0/24",
                 generic={netlabel.BRIDGE_ENABLE_ICC: False})
    on = bridge(ctl, "on", "10.120.0.0/24")
    a, b = ctl.attach(off, ["a", "b"], port_mapping=[
        PortBinding("tcp", 80), PortBinding("udp", 80)])
    c, d = ctl.attach(on, ["c", "d"])
    ka, kb, kc, kd = (_key(ctl, x) for x in "abcd")
    lis = {(x, p): Listener(k, p, 80, x)
           for x, k in zip("abcd", (ka, kb, kc, kd))
           for p in ("tcp", "udp")}
    try:
        for p in ("tcp", "udp"):
            # control: on the ICC-on bridge the two talk directly
            answers(kc, p, _ip(d), 80, lis[("d", p)])
            answers(kd, p, _ip(c), 80, lis[("c", p)])
            # on the ICC-off bridge they do not, either way
            silent(ka, p, _ip(b), 80, lis[("b", p)])
            silent(kb, p, _ip(a), 80, lis[("a", p)])
            # their published ports still answer the client host
            for x, ep in (("a", a), ("b", b)):
                port = [m.host_port for m in ep.driver_info()[
                    netlabel.PORT_MAP] if m.proto == p][0]
                assert answers(client, p, HOST4, port,
                               lis[(x, p)]) == CLIENT4
            # and they reach out
            assert outbound(ka, client, p, CLIENT4) == HOST4
            # and each other's published ports through the host
            port = [m.host_port for m in b.driver_info()[
                netlabel.PORT_MAP] if m.proto == p][0]
            answers(ka, p, HOST4, port, lis[("b", p)])
    finally:
        for li in lis.values():
            li.close()


def test_networks_are_isolated(ctl, client):
    n1 = bridge(ctl, "n1", "10.120.0.0/24")
    n2 = bridge(ctl, "n2", "10.121.0.0/24")
    (a,) = ctl.attach(n1, ["a"])
    (b,) = ctl.attach(n2, ["b"])
    ka, kb = _key(ctl, "a"), _key(ctl, "b")
    for p in ("tcp", "udp"):
        with Listener(ka, p, 80, "a") as la, Listener(kb, p, 80, "b") as lb:
            silent(ka, p, _ip(b), 80, lb)
            silent(kb, p, _ip(a), 80, la)
        # control: each reaches the client host
        assert outbound(ka, client, p, CLIENT4) == HOST4
        assert outbound(kb, client, p, CLIENT4) == HOST4


def test_internal_network(ctl, client):
    inner = bridge(ctl, "inner", "10.122.0.0/24", internal=True)
    plain = bridge(ctl, "plain", "10.120.0.0/24")
    a, b = ctl.attach(inner, ["a", "b"])
    ctl.attach(plain, ["c"])
    ka, kb, kc = (_key(ctl, x) for x in "abc")
    assert default_routes(ka) == [] and default_routes(kb) == []
    assert default_routes(kc) != []
    for p in ("tcp", "udp"):
        with Listener(kb, p, 80, "b") as lb:
            answers(ka, p, _ip(b), 80, lb)        # they talk to each other
        with Listener(client, p, 80, "client") as lc:
            answers(kc, p, CLIENT4, 80, lc)       # control: a normal one
            silent(ka, p, CLIENT4, 80, lc)        # no way out
        # not even with a route of its own via the gateway
    ip(ka, "route", "add", "default", "via", "10.122.0.1")
    with Listener(client, "tcp", 80, "client") as lc:
        silent(ka, "tcp", CLIENT4, 80, lc)
        answers(kc, "tcp", CLIENT4, 80, lc)
    # nothing is published on an internal network
    with pytest.raises(errors.InvalidParameter):
        inner.create_endpoint("p", port_mapping=[
            PortBinding("tcp", 80, host_port=8080)])
    with pytest.raises(errors.InvalidParameter):
        ctl.attach(inner, ["q"], port_mapping=[PortBinding("tcp", 80)])
    assert sorted(e.name() for e in inner.endpoints()) == ["a", "b"]
    assert sorted(s.container_id() for s in ctl.sandboxes()) == \
        ["a", "b", "c"]
    # the port is free: a normal network publishes it
    plain.create_endpoint("p", port_mapping=[
        PortBinding("tcp", 80, host_port=8080)])


def test_ip_forward_enabled(make_ctl, netns):
    assert read_sysctl(netns, "net/ipv4/ip_forward") == "0"
    assert read_sysctl(netns, "net/ipv6/conf/all/forwarding") == "0"
    ctl = make_ctl()
    bridge(ctl, "n", "10.120.0.0/24")
    assert read_sysctl(netns, "net/ipv4/ip_forward") == "1"
    bridge(ctl, "n6", "10.121.0.0/24", subnet6="fd21::/64")
    assert read_sysctl(netns, "net/ipv6/conf/all/forwarding") == "1"
