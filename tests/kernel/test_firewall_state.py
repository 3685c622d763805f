"""What the firewall keeps in the kernel: conflicts change nothing, the
rules stay the same whatever is published (only elements grow), an
endpoint's mapping lives exactly as long as the endpoint.

The table is read with ``nft -j`` inside the controller's namespace
(firewall_util.py).
"""

from __future__ import annotations

import pytest

from libnetwork import errors, netlabel

from firewall_util import *  # noqa: F401,F403
from firewall_util import (HOST4, UPLINK, Listener, PortBinding, answers,
                           assert_unchanged, bridge, elements_for_port, ip,
                           our_table, port_elements, rule_count, silent,
                           snapshot, table_dump)


def _conflict(fn, port, owner):
    with pytest.raises(errors.PortAlreadyAllocated) as exc:
        fn()
    assert isinstance(exc.value, errors.Conflict)
    msg = str(exc.value)
    assert str(port) in msg, msg
    assert owner.name() in msg or owner.id() in msg, msg


def test_conflict_changes_nothing(ctl, netns, backend, client):
    ip(netns, "addr", "add", "10.98.0.1/24", "dev", UPLINK)
    n1 = bridge(ctl, "n1", "10.120.0.0/24")
    n2 = bridge(ctl, "n2", "10.121.0.0/24")
    (owner,) = ctl.attach(n1, ["owner-web"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080)])
    spec1 = n1.create_endpoint("spec-one", port_mapping=[
        PortBinding("tcp", 80, host_port=9090, host_ip=HOST4)])
    table = our_table(netns)
    rules, before = table_dump(netns), snapshot(ctl, backend)

    bad = [PortBinding("tcp", 80, host_port=8080)]
    _conflict(lambda: n1.create_endpoint("x", port_mapping=bad), 8080,
              owner)
    _conflict(lambda: n2.create_endpoint("x", port_mapping=bad), 8080,
              owner)                               # ports are host-wide
    _conflict(lambda: ctl.attach(n2, ["x", "y"], port_mapping=bad), 8080,
              owner)
    _conflict(lambda: n1.create_endpoint("x", port_mapping=[
        PortBinding("tcp", 81, host_port=8080, host_ip=HOST4)]), 8080,
        owner)                                     # inside 0.0.0.0
    _conflict(lambda: n1.create_endpoint("x", port_mapping=[
        PortBinding("udp", 53, host_port=7000),
        PortBinding("tcp", 81, host_port=9090)]), 9090, spec1)
    _conflict(lambda: n1.create_endpoint("x", port_mapping=[
        PortBinding("tcp", 81, host_port=9090, host_ip=HOST4)]), 9090,
        spec1)
    # two containers of one batch asking for the same port
    with pytest.raises(errors.PortAlreadyAllocated):
        ctl.attach(n2, ["x", "y"], port_mapping=[
            PortBinding("tcp", 80, host_port=7070)])

    assert table_dump(netns) == rules
    assert_unchanged(before, ctl, backend)
    with Listener(ctl.sandbox_by_container("owner-web").key(), "tcp", 80,
                  "owner") as li:
        answers(client, "tcp", HOST4, 8080, li)

    # the same port on another specific address, or another protocol
    n1.create_endpoint("spec-two", port_mapping=[
        PortBinding("tcp", 80, host_port=9090, host_ip="10.98.0.1")])
    n2.create_endpoint("udp", port_mapping=[
        PortBinding("udp", 80, host_port=8080)])
    assert {e[1] for e in elements_for_port(netns, table, 9090)} == {
        (HOST4, "tcp", "9090"), ("10.98.0.1", "tcp", "9090")}
    assert elements_for_port(netns, table, 8080, "udp")
    # and 7070 and udp 7000 were never taken
    ctl.attach(n2, ["x"], port_mapping=[
        PortBinding("tcp", 80, host_port=7070)])
    n2.create_endpoint("u7000", port_mapping=[
        PortBinding("udp", 53, host_port=7000)])
    assert rule_count(netns, table) == sum(
        1 for o in rules if "rule" in o and o["rule"]["table"] == table)


def test_rule_count_is_constant(ctl, netns, client):
    nw = bridge(ctl, "n", "10.120.0.0/16")
    ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=20000)])
    table = our_table(netns)
    mine = lambda: {e for e in port_elements(netns, table)   # noqa: E731
                    if 20000 <= int(e[1][-1]) < 21000}
    rules = rule_count(netns, table)
    assert rules > 0 and len(mine()) == 1

    nw.create_endpoint("e0", port_mapping=[
        PortBinding("tcp", 1000 + i, host_port=20001 + i)
        for i in range(99)])
    assert rule_count(netns, table) == rules
    assert len(mine()) == 100

    for n in range(1, 10):
        nw.create_endpoint(f"e{n}", port_mapping=[
            PortBinding("tcp", 1000 + i, host_port=20000 + 100 * n + i)
            for i in range(100)])
    assert rule_count(netns, table) == rules
    got = mine()
    assert len(got) == 1000
    assert {int(e[1][-1]) for e in got} == set(range(20000, 21000))
    with Listener(ctl.sandbox_by_container("a").key(), "tcp", 80,
                  "a") as li:
        answers(client, "tcp", HOST4, 20000, li)


def test_mapping_lives_as_long_as_the_endpoint(ctl, netns, client):
    nw = bridge(ctl, "n", "10.120.0.0/24")
    (a,) = ctl.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("udp", 80, host_port=8080)])
    (b,) = ctl.attach(nw, ["b"], port_mapping=[
        PortBinding("tcp", 80, host_port=8081)])
    table = our_table(netns)
    sa = ctl.sandbox_by_container("a")
    elems = elements_for_port(netns, table, 8080)
    assert elems and elements_for_port(netns, table, 8080, "udp")
    # the host's own servers on the same ports: they answer only when no
    # mapping takes the connections
    with Listener(sa.key(), "tcp", 80, "a") as la, \
            Listener(sa.key(), "udp", 80, "a") as ua, \
            Listener(netns, "tcp", 8080, "host") as host, \
            Listener(netns, "udp", 8080, "host") as uhost, \
            Listener(netns, "tcp", 8081, "host81") as host81:
        answers(client, "tcp", HOST4, 8080, la)
        answers(client, "udp", HOST4, 8080, ua)

        a.leave(sa)                   # the mapping stays with the endpoint
        assert elements_for_port(netns, table, 8080) == elems
        silent(client, "tcp", HOST4, 8080, la, host)
        a.join(sa)
        answers(client, "tcp", HOST4, 8080, la)

        a.leave(sa)
        a.delete()                    # now it goes
        assert elements_for_port(netns, table, 8080) == set()
        assert elements_for_port(netns, table, 8080, "udp") == set()
        answers(client, "tcp", HOST4, 8080, host)
        answers(client, "udp", HOST4, 8080, uhost)

        ctl.detach(["b"])             # detach deletes the endpoint too
        assert elements_for_port(netns, table, 8081) == set()
        answers(client, "tcp", HOST4, 8081, host81)

    # the ports are free again
    (c,) = ctl.attach(nw, ["c"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("tcp", 81, host_port=8081)])
    with Listener(ctl.sandbox_by_container("c").key(), "tcp", 80,
                  "c") as lc:
        answers(client, "tcp", HOST4, 8080, lc)
    # deleting the sandbox is leaving: the endpoint keeps its mapping
    elems = elements_for_port(netns, table, 8080)
    ctl.sandbox_by_container("c").delete()
    assert c.sandbox() is None
    assert elements_for_port(netns, table, 8080) == elems
    c.delete(force=True)
    assert elements_for_port(netns, table, 8080) == set()


def test_deleted_network_leaves_nothing(ctl, netns, client):
    n1 = bridge(ctl, "n1", "10.120.0.0/24")
    ctl.attach(n1, ["a"], port_mapping=[PortBinding("tcp", 80,
                                                    host_port=8080)])
    table = our_table(netns)
    dump = table_dump(netns, table)
    n2 = bridge(ctl, "n2", "10.121.0.0/24",
                generic={"com.docker.network.bridge.enable_icc": False,
                         "com.docker.network.host_ipv4": HOST4})
    n3 = bridge(ctl, "n3", "10.122.0.0/24", internal=True)
    ctl.attach(n2, ["b", "c"], port_mapping=[
        PortBinding("tcp", 80),
        PortBinding("udp", 53, host_port=5353, host_port_end=5360)])
    ctl.attach(n3, ["d"])
    assert table_dump(netns, table) != dump
    ctl.detach(["b", "c", "d"])
    n2.delete()
    n3.delete()
    assert table_dump(netns, table) == dump
    with Listener(ctl.sandbox_by_container("a").key(), "tcp", 80,
                  "a") as la:
        answers(client, "tcp", HOST4, 8080, la)


def test_two_controllers_on_one_store_share_the_ports(make_ctl, netns,
                                                       client):
    a = make_ctl()
    b = make_ctl()                        # the same store, both live
    nw = bridge(a, "n", "10.120.0.0/24")
    (ea,) = a.attach(nw, ["a"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080), PortBinding("tcp", 81)])
    nb = b.network_by_name("n")
    with pytest.raises(errors.PortAlreadyAllocated):
        nb.create_endpoint("x", port_mapping=[
            PortBinding("tcp", 80, host_port=8080)])
    picked = [m.host_port for m in ea.driver_info()[netlabel.PORT_MAP]
              if m.port == 81][0]
    (eb,) = b.attach(nb, ["b"], port_mapping=[
        PortBinding("tcp", 80, host_port=8080, host_port_end=8081),
        PortBinding("tcp", 81)])
    got = {m.port: m.host_port for m in eb.driver_info()[netlabel.PORT_MAP]}
    assert got[80] == 8081 and got[81] != picked
    with Listener(b.sandbox_by_container("b").key(), "tcp", 81, "b") as lb, \
            Listener(a.sandbox_by_container("a").key(), "tcp", 81,
                     "a") as la:
        answers(client, "tcp", HOST4, got[81], lb)
        answers(client, "tcp", HOST4, picked, la)
