"""Real packets: sandboxes on one bridge network talk UDP and TCP to each
other and to their gateway, and the statistics count what crossed.

Sockets are opened inside a namespace on a throw-away thread that
``setns``es and dies (kernel_util.ns_socket); a socket keeps its namespace
for life, so the test thread never moves.  Every wait has a timeout.
"""

from __future__ import annotations

import ipaddress
import shutil

import pytest

from libnetwork import IpamConf

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_links, nsexec, tcp_exchange, udp_exchange


@pytest.fixture
def pair(ctl):
    nw = ctl.new_network("bridge", "n", enable_ipv6=True,
                         ipv4=[IpamConf("10.110.0.0/24")],
                         ipv6=[IpamConf("fd10::/64")])
    a, b = ctl.attach(nw, ["a", "b"])
    return nw, a, b, ctl.sandbox_by_container("a"), \
        ctl.sandbox_by_container("b")


def test_udp_between_sandboxes(pair):
    nw, a, b, sa, sb = pair
    ip_b = b.info().iface().address().ip
    data, peer, reply = udp_exchange(sa.key(), sb.key(), ip_b, b"datagram")
    assert data == b"datagram" and reply == b"margatad"
    assert peer == str(a.info().iface().address().ip)


def test_tcp_between_sandboxes(pair):
    nw, a, b, sa, sb = pair
    ip_a = a.info().iface().address().ip
    got, peer = tcp_exchange(sb.key(), sa.key(), ip_a, b"stream me" * 100)
    assert got == b"STREAM ME" * 100
    assert peer == str(b.info().iface().address().ip)


def test_ipv6_between_sandboxes(pair):
    nw, a, b, sa, sb = pair
    ip6_b = b.info().iface().address_ipv6().ip
    data, peer, _ = udp_exchange(sa.key(), sb.key(), ip6_b, b"six")
    assert data == b"six"
    assert peer == str(a.info().iface().address_ipv6().ip)


def test_sandbox_reaches_gateway(pair, netns):
    nw, a, b, sa, sb = pair
    gw = a.info().gateway()
    assert gw == ipaddress.ip_address("10.110.0.1")
    data, peer, reply = udp_exchange(sa.key(), netns, gw, b"to-gw")
    assert data == b"to-gw" and reply == b"wg-ot"
    assert peer == str(a.info().iface().address().ip)
    got, _ = tcp_exchange(sb.key(), netns, gw, b"tcp-to-gw")
    assert got == b"TCP-TO-GW"


@pytest.mark.skipif(shutil.which("ping") is None, reason="no ping binary")
def test_ping_gateway(pair):
    nw, a, b, sa, sb = pair
    r = nsexec(sa.key(), "ping", "-c1", "-W2", "10.110.0.1")
    assert r.returncode == 0, r.stdout + r.stderr


def test_sandboxes_on_different_networks_are_apart(ctl):
    """Two bridges: a sandbox on one cannot reach a sandbox on the other
    directly (no route: the send fails or nothing arrives)."""
    n1 = ctl.new_network("bridge", "n1", internal=True,
                         ipv4=[IpamConf("10.111.0.0/24")])
    n2 = ctl.new_network("bridge", "n2", internal=True,
                         ipv4=[IpamConf("10.112.0.0/24")])
    (a,) = ctl.attach(n1, ["a"])
    (b,) = ctl.attach(n2, ["b"])
    with pytest.raises(OSError):
        udp_exchange(ctl.sandbox_by_container("a").key(),
                     ctl.sandbox_by_container("b").key(),
                     b.info().iface().address().ip, timeout=0.5)


def test_statistics_count_traffic(pair):
    nw, a, b, sa, sb = pair
    before = sa.statistics()
    assert set(before) == {"eth0"}
    # the controller's numbers are the kernel's (read with the oracle)
    ora = Oracle(sa.key()).stats()["eth0"]
    assert before["eth0"].tx_packets <= ora[5]
    payload = b"x" * 1000
    ip_b = b.info().iface().address().ip
    for _ in range(5):
        udp_exchange(sa.key(), sb.key(), ip_b, payload)
    after = sa.statistics()["eth0"]
    tx_packets = after.tx_packets - before["eth0"].tx_packets
    tx_bytes = after.tx_bytes - before["eth0"].tx_bytes
    rx_packets = after.rx_packets - before["eth0"].rx_packets
    assert tx_packets >= 5
    assert tx_bytes >= 5 * (1000 + 28 + 14)
    assert rx_packets >= 5
    assert after.rx_errors == after.tx_errors == 0
    # the peer counts the same datagrams the other way
    peer = sb.statistics()["eth0"]
    assert peer.rx_bytes >= 5 * (1000 + 28 + 14)
    # the counters are those the kernel reports inside the namespace
    now = Oracle(sa.key()).stats()["eth0"]
    assert now[0] >= after.rx_bytes and now[4] >= after.tx_bytes


def test_statistics_of_two_interfaces(ctl):
    n1 = ctl.new_network("bridge", "n1", ipv4=[IpamConf("10.113.0.0/24")])
    n2 = ctl.new_network("bridge", "n2", ipv4=[IpamConf("10.114.0.0/24")])
    sb = ctl.new_sandbox("c")
    n1.create_endpoint("a").join(sb)
    n2.create_endpoint("b").join(sb)
    stats = sb.statistics()
    assert set(stats) == {"eth0", "eth1"}
    assert set(ns_links(sb.key())) == {"lo", "eth0", "eth1"}


def test_traffic_after_leave_stops(pair):
    nw, a, b, sa, sb = pair
    ip_b = b.info().iface().address().ip
    udp_exchange(sa.key(), sb.key(), ip_b)
    b.leave(sb)
    # the receiver listens on every address: nothing arrives any more
    with pytest.raises(OSError):
        udp_exchange(sa.key(), sb.key(), ip_b, timeout=0.5, bind="0.0.0.0")
    b.join(sb)
    data, _, _ = udp_exchange(sa.key(), sb.key(), ip_b, b"back")
    assert data == b"back"
