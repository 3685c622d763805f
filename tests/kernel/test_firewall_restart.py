"""The firewall across restarts and the table's lifetime: a new controller
on the same store finds its published ports, restores what was removed
behind its back, and never touches a table that is not its own.

A restart is ``stop()`` (kernel state stays) and ``make_ctl()`` again on
the same store, as in test_cnm_restart.py.
"""

from __future__ import annotations

import pytest

from libnetwork import errors

from firewall_util import *  # noqa: F401,F403
from firewall_util import (CLIENT4, HOST4, Listener, PortBinding, answers,
                           bridge, delete_elements, elements_for_port, nft,
                           nft_json, our_table, published, silent, table_dump,
                           table_of)


def _publish(c):
    """One network, container "a" publishing tcp 80 on 8080 and udp 53 on
    a port the controller picks."""
    nw = bridge(c, "n", "10.120.0.0/24")
    (ep,) = c.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080), PortBinding("udp", 53)])
    return ep, published(ep, "udp", 53)


def test_restart_keeps_published_ports(make_ctl, netns, client):
    c = make_ctl()
    ep, uport = _publish(c)
    key = c.sandbox_by_container("a").key()
    table = our_table(netns)
    dump = table_dump(netns, table)
    with Listener(key, "tcp", 80, "a") as t, Listener(key, "udp", 53,
                                                      "a") as u, \
            Listener(netns, "tcp", 8080, "host") as host:
        answers(client, "tcp", HOST4, 8080, t)
        c.stop()
        answers(client, "tcp", HOST4, 8080, t)     # while none runs

        c2 = make_ctl()
        assert our_table(netns) == table
        assert table_dump(netns, table) == dump
        assert answers(client, "tcp", HOST4, 8080, t) == CLIENT4
        assert answers(client, "udp", HOST4, uport, u) == CLIENT4
        ep2 = c2.network_by_name("n").endpoint_by_name("a")
        assert published(ep2, "tcp", 80) == 8080
        assert published(ep2, "udp", 53) == uport
        # the new controller knows the ports are taken
        with pytest.raises(errors.PortAlreadyAllocated):
            c2.network_by_name("n").create_endpoint("b", port_mapping=[
                PortBinding("udp", 53, host_port=uport)])
        # and deleting the endpoint closes them
        ep2.leave(c2.sandbox_by_container("a"))
        ep2.delete()
        assert elements_for_port(netns, table, 8080) == set()
        assert elements_for_port(netns, table, uport, "udp") == set()
        answers(client, "tcp", HOST4, 8080, host)
        silent(client, "udp", HOST4, uport, u)


def test_restart_restores_deleted_elements(make_ctl, netns, client):
    c = make_ctl()
    ep, uport = _publish(c)
    key = c.sandbox_by_container("a").key()
    table = our_table(netns)
    dump = table_dump(netns, table)
    elems = elements_for_port(netns, table, 8080)
    assert elems
    with Listener(key, "tcp", 80, "a") as t, Listener(key, "udp", 53,
                                                      "a") as u:
        answers(client, "tcp", HOST4, 8080, t)
        c.stop()
        delete_elements(netns, table, elems)       # behind its back
        assert elements_for_port(netns, table, 8080) == set()
        silent(client, "tcp", HOST4, 8080, t)
        answers(client, "udp", HOST4, uport, u)    # the other one stays
        # and one nobody published
        nft(netns, "add", "element", "inet", table, "any4",
            "{ tcp . 7777 : 10.120.0.2 . 80 }")
        answers(client, "tcp", HOST4, 7777, t)

        make_ctl()
        assert elements_for_port(netns, table, 8080) == elems
        assert elements_for_port(netns, table, 7777) == set()
        assert table_dump(netns, table) == dump
        answers(client, "tcp", HOST4, 8080, t)
        answers(client, "udp", HOST4, uport, u)
        silent(client, "tcp", HOST4, 7777, t)


def test_restart_restores_deleted_table(make_ctl, netns, client):
    c = make_ctl()
    ep, uport = _publish(c)
    key = c.sandbox_by_container("a").key()
    table = our_table(netns)
    dump = table_dump(netns, table)
    with Listener(key, "tcp", 80, "a") as t, Listener(key, "udp", 53,
                                                      "a") as u:
        answers(client, "tcp", HOST4, 8080, t)
        c.stop()
        nft(netns, "delete", "table", "inet", table)
        silent(client, "tcp", HOST4, 8080, t)
        silent(client, "udp", HOST4, uport, u)

        c2 = make_ctl()
        assert our_table(netns) == table == table_of(c2)
        assert table_dump(netns, table) == dump
        answers(client, "tcp", HOST4, 8080, t)
        answers(client, "udp", HOST4, uport, u)
        # outbound masquerade is back too
        with Listener(client, "tcp", 0, "client") as lc:
            assert answers(key, "tcp", CLIENT4, lc.port, lc) == HOST4


def test_restart_rebuilds_changed_rules(make_ctl, netns, client):
    c = make_ctl()
    _publish(c)
    key = c.sandbox_by_container("a").key()
    table = our_table(netns)
    dump = table_dump(netns, table)
    with Listener(key, "tcp", 80, "a") as t:
        answers(client, "tcp", HOST4, 8080, t)
        c.stop()
        nft(netns, "flush", "chain", "inet", table, "publish")
        nft(netns, "add", "rule", "inet", table, "forward", "counter")
        assert table_dump(netns, table) != dump
        silent(client, "tcp", HOST4, 8080, t)
        make_ctl()
        assert table_dump(netns, table) == dump
        answers(client, "tcp", HOST4, 8080, t)


_OTHER = """
table inet other {
  set s { type ipv4_addr; elements = { 10.120.0.7, 10.99.0.2 } }
  chain watch {
    type filter hook forward priority -5; policy accept;
    ip daddr @s counter accept
  }
}
"""


def _tables(ns) -> list:
    return sorted((o["table"]["family"], o["table"]["name"])
                  for o in nft_json(ns, "list", "tables"))


def test_table_lifetime_and_foreign_tables(make_ctl, netns, client):
    foreign = "libnetwork_" + "f" * 16             # another store's
    nft(netns, "-f", "-", stdin=_OTHER)
    nft(netns, "add", "table", "inet", foreign)
    nft(netns, "add", "chain", "inet", foreign, "c")
    nft(netns, "add", "table", "ip", "nat")
    others = {t: table_dump(netns, t) for t in ("other", foreign, "nat")}

    c = make_ctl()
    mine = table_of(c)
    assert mine != foreign
    n1 = bridge(c, "n1", "10.120.0.0/24")
    n2 = bridge(c, "n2", "10.121.0.0/24")
    c.attach(n1, ["a"], port_mapping=[PortBinding("tcp", 80,
                                                  host_port=8080)])
    c.attach(n2, ["b"], port_mapping=[PortBinding("tcp", 80,
                                                  host_port=8081)])
    assert ("inet", mine) in _tables(netns)
    with Listener(c.sandbox_by_container("a").key(), "tcp", 80,
                  "a") as la:
        answers(client, "tcp", HOST4, 8080, la)

    c.stop()
    c = make_ctl()                                 # restart: still alone
    c.detach(["b"])
    c.network_by_name("n2").delete()
    assert ("inet", mine) in _tables(netns)        # one network remains
    c.detach(["a"])
    c.network_by_name("n1").delete()
    assert ("inet", mine) not in _tables(netns)    # the last one went
    assert _tables(netns) == sorted(
        [("inet", "other"), ("inet", foreign), ("ip", "nat")])
    for t, d in others.items():
        assert table_dump(netns, t) == d, t

    # a new network brings the table back; a restart leaves it and the
    # foreign ones alone
    bridge(c, "n3", "10.122.0.0/24")
    assert ("inet", mine) in _tables(netns)
    c.stop()
    make_ctl()
    assert ("inet", mine) in _tables(netns)
    for t, d in others.items():
        assert table_dump(netns, t) == d, t
