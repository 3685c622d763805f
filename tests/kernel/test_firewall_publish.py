"""Published ports: real connections from a client host (and from the host
itself) to a host address and port reach the server in the container.

Topology and helpers: firewall_util.py.  Every "does not answer" check has
a call that must answer in the same test.
"""

from __future__ import annotations

import pytest

from libnetwork import errors, netlabel

from firewall_util import *  # noqa: F401,F403
from firewall_util import (CLIENT4, CLIENT6, HOST4, HOST6, UPLINK, Listener,
                           PortBinding, TransportPort, answers, bridge,
                           host_ports, ip, nsexec, our_table,
                           elements_for_port, published, sctp_available,
                           silent)


def _applied(ep):
    return sorted((b.proto, b.port, b.host_ip, b.host_port)
                  for b in host_ports(ep))


def test_published_tcp_and_udp_answer(ctl, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    (ep,) = ctl.attach(nw, ["web"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("udp", 53, host_port=8053)])
    assert _applied(ep) == [("tcp", 80, "0.0.0.0", 8080),
                            ("udp", 53, "0.0.0.0", 8053)]
    key = ctl.sandbox_by_container("web").key()
    with Listener(key, "tcp", 80, "web") as t, \
            Listener(key, "udp", 53, "web") as u, \
            Listener(key, "tcp", 81, "web81") as t81, \
            Listener(key, "udp", 54, "web54") as u54:
        # published: the container sees the client's own address
        assert answers(client, "tcp", HOST4, 8080, t) == CLIENT4
        assert answers(client, "udp", HOST4, 8053, u) == CLIENT4
        # unpublished container ports, on their own number or another
        silent(client, "tcp", HOST4, 81, t, t81)
        silent(client, "udp", HOST4, 54, u, u54)
        silent(client, "tcp", HOST4, 8081, t, t81)
        silent(client, "udp", HOST4, 8054, u, u54)
        # a published port is per protocol
        silent(client, "udp", HOST4, 8080, u, u54)
        silent(client, "tcp", HOST4, 8053, t, t81)
        # and still answers after all that
        assert answers(client, "tcp", HOST4, 8080, t) == CLIENT4


def test_port_range_takes_first_free(ctl, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    (a,) = ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=9000)])
    (b,) = ctl.attach(nw, ["b"], port_mapping=[
        PortBinding("tcp", 80, host_port=9000, host_port_end=9010)])
    c = nw.create_endpoint("c", port_mapping=[
        PortBinding("tcp", 80, host_port=9000, host_port_end=9010)])
    assert published(a, "tcp", 80) == 9000
    assert published(b, "tcp", 80) == 9001
    assert published(c, "tcp", 80) == 9002
    c.delete()
    with Listener(ctl.sandbox_by_container("a").key(), "tcp", 80, "a") as la, \
            Listener(ctl.sandbox_by_container("b").key(), "tcp", 80,
                     "b") as lb:
        answers(client, "tcp", HOST4, 9000, la)
        answers(client, "tcp", HOST4, 9001, lb)
        silent(client, "tcp", HOST4, 9002, la, lb)
    # a range whose every port is taken
    with pytest.raises(errors.PortAlreadyAllocated):
        nw.create_endpoint("d", port_mapping=[
            PortBinding("tcp", 80, host_port=9000, host_port_end=9001)])


def test_host_port_zero_picks_from_local_port_range(make_ctl, netns, client):
    r = nsexec(netns, "sh", "-c", "echo '40000 40002' > "
               "/proc/sys/net/ipv4/ip_local_port_range")
    assert r.returncode == 0, r.stderr
    ctl = make_ctl()
    nw = bridge(ctl, "n", "10.120.0.0/24")
    (ep,) = ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80), PortBinding("udp", 80)])
    tport, uport = published(ep, "tcp", 80), published(ep, "udp", 80)
    assert 40000 <= tport <= 40002 and 40000 <= uport <= 40002
    # the range runs out: all or nothing
    with pytest.raises(errors.PortAlreadyAllocated):
        ctl.attach(nw, ["b", "c", "d"], port_mapping=[PortBinding("tcp", 80)])
    assert [s.container_id() for s in ctl.sandboxes()] == ["a"]
    # two bindings of one endpoint cannot share a host port either
    with pytest.raises(errors.PortAlreadyAllocated):
        nw.create_endpoint("e", port_mapping=[
            PortBinding("tcp", 80, host_port=8080),
            PortBinding("tcp", 81, host_port=8080)])
    ctl.attach(nw, ["b", "c"], port_mapping=[PortBinding("tcp", 80)])
    key = ctl.sandbox_by_container("a").key()
    with Listener(key, "tcp", 80, "a") as t, Listener(key, "udp", 80,
                                                        "a") as u:
        assert answers(client, "tcp", HOST4, tport, t) == CLIENT4
        assert answers(client, "udp", HOST4, uport, u) == CLIENT4


def test_batch_attach_gives_each_its_own_port(ctl, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    eps = ctl.attach(nw, ["c1", "c2", "c3"],
                     port_mapping=[PortBinding("tcp", 80)])
    ranged = ctl.attach(nw, ["r1", "r2"], port_mapping=[
        PortBinding("tcp", 80, host_port=9100, host_port_end=9105)])
    ports = [published(e, "tcp", 80) for e in eps]
    assert len(set(ports)) == 3 and all(p != 0 for p in ports)
    assert [published(e, "tcp", 80) for e in ranged] == [9100, 9101]
    for cid, port in [*zip(["c1", "c2", "c3"], ports),
                      ("r1", 9100), ("r2", 9101)]:
        with Listener(ctl.sandbox_by_container(cid).key(), "tcp", 80,
                      cid) as li:
            answers(client, "tcp", HOST4, port, li)


def test_published_from_the_host_itself(ctl, netns, client):
    plain = bridge(ctl, "plain", "10.120.0.0/24")
    local = bridge(ctl, "local", "10.121.0.0/24",
                   generic={netlabel.BRIDGE_ROUTE_LOCALNET: True})
    ctl.attach(plain, ["p"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("udp", 80, host_port=8080)])
    ctl.attach(local, ["l"], port_mapping=[
        PortBinding("tcp", 80, host_port=8081),
        PortBinding("udp", 80, host_port=8081)])
    pk = ctl.sandbox_by_container("p").key()
    lk = ctl.sandbox_by_container("l").key()
    with Listener(pk, "tcp", 80, "p") as pt, Listener(pk, "udp", 80,
                                                      "p") as pu, \
            Listener(lk, "tcp", 80, "l") as lt, Listener(lk, "udp", 80,
                                                         "l") as lu:
        # the host's own address, from the host
        answers(netns, "tcp", HOST4, 8080, pt)
        answers(netns, "udp", HOST4, 8080, pu)
        answers(netns, "tcp", HOST4, 8081, lt)
        answers(netns, "udp", HOST4, 8081, lu)
        # loopback only for the route_localnet network; those connections
        # arrive from the bridge's address
        assert answers(netns, "tcp", "127.0.0.1", 8081, lt) == "10.121.0.1"
        assert answers(netns, "udp", "127.0.0.1", 8081, lu) == "10.121.0.1"
        silent(netns, "tcp", "127.0.0.1", 8080, pt, lt)
        silent(netns, "udp", "127.0.0.1", 8080, pu, lu)
        # the client host reaches both
        answers(client, "tcp", HOST4, 8080, pt)
        answers(client, "tcp", HOST4, 8081, lt)


def test_host_binding_address(ctl, netns, client):
    ip(netns, "addr", "add", "10.98.0.1/24", "dev", UPLINK)
    ip(client, "addr", "add", "10.98.0.2/24", "dev", "eth0")
    bound = bridge(ctl, "bound", "10.120.0.0/24",
                   generic={netlabel.BRIDGE_HOST_BINDING_IPV4: HOST4})
    plain = bridge(ctl, "plain", "10.121.0.0/24")
    (a,) = ctl.attach(bound, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080)])
    (b,) = ctl.attach(plain, ["b"], port_mapping=[
        PortBinding("tcp", 80, host_port=8081, host_ip=HOST4)])
    (c,) = ctl.attach(plain, ["c"], port_mapping=[
        PortBinding("tcp", 80, host_port=8082)])
    assert _applied(a) == [("tcp", 80, HOST4, 8080)]
    assert _applied(b) == [("tcp", 80, HOST4, 8081)]
    assert _applied(c) == [("tcp", 80, "0.0.0.0", 8082)]
    lis = [Listener(ctl.sandbox_by_container(x).key(), "tcp", 80, x)
           for x in "abc"]
    try:
        la, lb, lc = lis
        for src in (client, netns):
            answers(src, "tcp", HOST4, 8080, la)
            answers(src, "tcp", HOST4, 8081, lb)
            answers(src, "tcp", HOST4, 8082, lc)
            answers(src, "tcp", "10.98.0.1", 8082, lc)
            silent(src, "tcp", "10.98.0.1", 8080, *lis)
            silent(src, "tcp", "10.98.0.1", 8081, *lis)
    finally:
        for li in lis:
            li.close()


def test_ipv6_published_port(ctl, client):
    nw = bridge(ctl, "n6", "10.120.0.0/24", subnet6="fd20::/64")
    (ep,) = ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8086),
        PortBinding("udp", 80, host_port=8086),
        PortBinding("tcp", 81, host_port=8087, host_ip=HOST6)])
    assert {b.host_port for b in host_ports(ep) if b.port == 80} == {8086}
    assert ("tcp", 81, HOST6, 8087) in _applied(ep)
    key = ctl.sandbox_by_container("a").key()
    with Listener(key, "tcp", 80, "a", v6=True) as t, \
            Listener(key, "udp", 80, "a", v6=True) as u, \
            Listener(key, "tcp", 81, "a81", v6=True) as t81:
        assert answers(client, "tcp", HOST6, 8086, t) == CLIENT6
        assert answers(client, "udp", HOST6, 8086, u) == CLIENT6
        assert answers(client, "tcp", HOST4, 8086, t) == CLIENT4
        silent(client, "tcp", HOST6, 8088, t, t81)
        # a binding on one IPv6 address: there only
        assert answers(client, "tcp", HOST6, 8087, t81) == CLIENT6
        silent(client, "tcp", HOST4, 8087, t, t81)
    # the default binding took :: too: an IPv6 address overlaps it
    with pytest.raises(errors.PortAlreadyAllocated):
        nw.create_endpoint("b", port_mapping=[
            PortBinding("tcp", 80, host_port=8086, host_ip=HOST6)])


def test_sctp_published_port(ctl, client):
    if not sctp_available():
        pytest.skip("no SCTP in this kernel (socket(IPPROTO_SCTP) fails)")
    nw = bridge(ctl, "n", "10.120.0.0/24")
    (ep,) = ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("sctp", 80, host_port=8080)])
    assert _applied(ep) == [("sctp", 80, "0.0.0.0", 8080)]
    with Listener(ctl.sandbox_by_container("a").key(), "sctp", 80,
                  "a") as s:
        assert answers(client, "sctp", HOST4, 8080, s) == CLIENT4
        silent(client, "sctp", HOST4, 8081, s)


def test_binding_values(ctl, netns):
    b = PortBinding("tcp", 80, host_port=8080)
    assert (b.proto, b.port, b.host_port, b.host_ip, b.host_port_end) == \
        ("tcp", 80, 8080, "", 0)
    assert b == PortBinding("tcp", 80, host_port=8080)
    with pytest.raises(Exception):
        b.port = 81                                      # immutable
    t = TransportPort("udp", 53)
    assert (t.proto, t.port) == ("udp", 53)
    for bad in (lambda: PortBinding("icmp", 80),
                lambda: PortBinding("tcp", 0),
                lambda: PortBinding("tcp", 65536),
                lambda: PortBinding("tcp", 80, host_port=-1),
                lambda: PortBinding("tcp", 80, host_port=70000),
                lambda: PortBinding("tcp", 80, host_ip="not-an-ip"),
                lambda: PortBinding("tcp", 80, host_port=9000,
                                    host_port_end=8999),
                lambda: TransportPort("xyz", 80),
                lambda: TransportPort("tcp", 0)):
        with pytest.raises(errors.InvalidParameter):
            bad()
    # nothing was programmed for what was refused; a good one works
    nw = bridge(ctl, "n", "10.120.0.0/24")
    ep = nw.create_endpoint("e", port_mapping=[b])
    assert elements_for_port(netns, our_table(netns), 8080)
    assert _applied(ep) == [("tcp", 80, "0.0.0.0", 8080)]
    with pytest.raises(errors.InvalidParameter):
        nw.create_endpoint("f", port_mapping=["tcp/80"])
    assert [e.name() for e in nw.endpoints()] == ["e"]
