"""The firewall's set elements: what a network and a published port add,
in the kernel's byte layout; the ruleset itself never depends on them."""

from __future__ import annotations

import ipaddress

from libnetwork.backends import nft_ops as N
from libnetwork.backends.validate import prepare
from libnetwork.firewall import elements as E
from libnetwork.firewall import ruleset
from libnetwork.types import PortBinding

BR = b"br-a" + bytes(12)


def test_table_ops_validate_and_hold_every_set_and_rule():
    ops = ruleset.table_ops("libnetwork_0123", "libnetwork 0123")
    for op in ops:
        prepare(op)
    assert sum(isinstance(o, N.NftRuleAdd) for o in ops) == \
        ruleset.RULE_COUNT == 19
    assert [o.name for o in ops if isinstance(o, N.NftSetAdd)] == \
        list(ruleset.SETS)
    assert ruleset.table_name("0123456789abcdef0123") == \
        "libnetwork_0123456789abcdef"


def test_network_elements_default_options():
    st = {"bridge": "br-a", "icc": True, "masquerade": True}
    got = E.network_elems(st, [ipaddress.ip_network("10.1.0.0/24")], False)
    assert got["bridges"] == [N.NftElem(BR)]
    assert got["pairs"] == [N.NftElem(BR + BR, verdict=N.Verdict(N.ACCEPT))]
    assert got["own4"] == [N.NftElem(bytes([10, 1, 0, 0]) + BR,
                                     key_end=bytes([10, 1, 0, 255]) + BR)]
    # a range in a one-field interval set: start, and end+1 as its end
    assert got["masq4"] == [N.NftElem(bytes([10, 1, 0, 0])),
                            N.NftElem(bytes([10, 1, 1, 0]),
                                      interval_end=True)]
    assert "internal" not in got and "snat4" not in got


def test_network_elements_options():
    nets = [ipaddress.ip_network("10.1.0.0/24"),
            ipaddress.ip_network("fd00::/64")]
    st = {"bridge": "br-a", "icc": False, "masquerade": True,
          "host_ipv4": "192.0.2.7"}
    got = E.network_elems(st, nets, False)
    assert got["pairs"][0].verdict == N.Verdict(N.DROP)
    assert got["snat4"][0].data == bytes([192, 0, 2, 7])
    assert "masq4" not in got
    assert "masq6" not in got and "snat6" not in got   # IPv6: only if asked
    assert len(got["own6"]) == 1
    st6 = dict(st, ip6_masquerade=True)
    assert len(E.network_elems(st6, nets, False)["masq6"]) == 2
    internal = E.network_elems(st, nets, True)
    assert internal["internal"] == [N.NftElem(BR)]
    assert not {"masq4", "snat4", "masq6"} & set(internal)
    off = E.network_elems(dict(st, masquerade=False), nets, False)
    assert not {"masq4", "snat4"} & set(off)


def test_binding_elements():
    a4, a6 = ipaddress.ip_address("10.1.0.2"), ipaddress.ip_address("fd::2")
    got = E.binding_elems([
        PortBinding("tcp", 80, 8080, "0.0.0.0"),
        PortBinding("udp", 53, 5353, "192.0.2.1"),
        PortBinding("sctp", 9, 9999, "::"),
    ], a4, a6, localnet=True)
    tcp = bytes([6, 0, 0, 0]) + (8080).to_bytes(2, "big") + b"\0\0"
    data = bytes([10, 1, 0, 2]) + (80).to_bytes(2, "big") + b"\0\0"
    assert got["any4"] == [N.NftElem(tcp, data=data)]
    assert got["lo4"] == got["any4"]
    udp = bytes([192, 0, 2, 1, 17, 0, 0, 0]) + \
        (5353).to_bytes(2, "big") + b"\0\0"
    assert got["ports4"][0].key == udp
    assert got["any6"][0].data == a6.packed + (9).to_bytes(2, "big") + \
        b"\0\0"
    assert "lo4" not in E.binding_elems(
        [PortBinding("tcp", 80, 8080, "0.0.0.0")], a4, None, False)


def test_add_and_delete_ops_one_per_set():
    elems = E.merge({"any4": [N.NftElem(b"\0" * 8, data=b"\0" * 8)]},
                    {"any4": [N.NftElem(b"\1" * 8, data=b"\0" * 8)],
                     "bridges": [N.NftElem(BR)]})
    adds = E.add_ops("t", elems)
    assert [(o.set, len(o.elements)) for o in adds] == [("bridges", 1),
                                                         ("any4", 2)]
    dels = E.del_ops("t", elems, missing_ok=True)
    assert all(isinstance(o, N.NftElemDel) and o.missing_ok for o in dels)
    for op in adds + dels:
        prepare(op)
