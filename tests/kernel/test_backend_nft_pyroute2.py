"""The pyroute2 backend's nftables transactions against the real kernel.

Each test gets a fresh network namespace as the backend's root and reads
what the kernel holds with ``nft`` (``nsenter --net=PATH nft ...``), a
decoder that shares no code with pyroute2 or libnetwork: the firewall's
whole table (sets, chains, rules, comment, and the rules as nft prints
them), elements added and deleted, a refused transaction that changes
nothing, a table deleted, and a 20,000-element transaction in one
``sendmsg``.
"""

from __future__ import annotations

import errno as E
import json
import subprocess

import pytest

from libnetwork.backends import nft_ops as N
from libnetwork.errors import NetlinkNotFound
from libnetwork.firewall import ruleset

from backend_util import failed, ok

T = "libnetwork_test"
V4_IF = ("ipv4_addr", "ifname")
V6_IF = ("ipv6_addr", "ifname")
PORTS_KEY = ("ipv4_addr", "inet_proto", "inet_service")
PORTS_DATA = ("ipv4_addr", "inet_service")
CANCELED = "not applied: the transaction was aborted"


def nft(path, *args, check=True):
    res = subprocess.run(["nsenter", f"--net={path}", "nft", *args],
                         capture_output=True, text=True, timeout=60)
    if check:
        assert res.returncode == 0, res.stderr
    return res


def listing(path, *what):
    """``nft -j list WHAT``: the objects, metainfo left out."""
    out = json.loads(nft(path, "-j", "list", *what).stdout)["nftables"]
    return [o for o in out if "metainfo" not in o]


def elements(path, kind, name):
    """The ``elements = { ... }`` of ``nft list {set|map} inet T NAME``,
    one string per element ([] when empty)."""
    text = nft(path, "list", kind, "inet", T, name).stdout
    if "elements = {" not in text:
        return []
    body = text.split("elements = {", 1)[1].split("}", 1)[0]
    return [" ".join(e.split()) for e in body.split(",")]


def chains_text(path):
    """``nft list table``: {chain: [its lines]} and the table's lines."""
    chains, top, cur = {}, [], None
    for line in nft(path, "list", "table", "inet", T).stdout.splitlines():
        line = line.strip()
        if line.startswith("chain "):
            cur = chains.setdefault(line.split()[1], [])
        elif line == "}":
            cur = None
        elif cur is not None and line:
            cur.append(line)
        elif line:
            top.append(line)
    return chains, top


@pytest.fixture
def be(make_backend, netns):
    return make_backend("pyroute2", netns)


@pytest.fixture
def table(be, netns):
    """The firewall's table, made in one transaction."""
    ok(be, ruleset.table_ops(T, "libnetwork test"))
    return netns


# ------------------------------------------------------------- the table

# what ruleset.py's docstring says, as nft prints it
RULES = {
    "forward": [
        "type filter hook forward priority filter; policy accept;",
        "ct state established,related accept",
        "oifname @bridges ct status dnat accept",
        "iifname . oifname vmap @pairs",
        "iifname @internal drop",
        "oifname @bridges drop"],
    "prerouting": [
        "type nat hook prerouting priority dstnat; policy accept;",
        "fib daddr type local jump publish"],
    "output": [
        "type nat hook output priority -100; policy accept;",
        "fib daddr type local jump publish"],
    "postrouting": [
        "type nat hook postrouting priority srcnat; policy accept;",
        "ct status dnat ip saddr . oifname @own4 masquerade",
        "ip saddr . oifname != @own4 snat ip to ip saddr map @snat4",
        "ip saddr . oifname != @own4 ip saddr @masq4 masquerade",
        "ct status dnat ip6 saddr . oifname @own6 masquerade",
        "ip6 saddr . oifname != @own6 snat ip6 to ip6 saddr map @snat6",
        "ip6 saddr . oifname != @own6 ip6 saddr @masq6 masquerade",
        "ip saddr 127.0.0.0/8 oifname @bridges masquerade"],
    "publish": [
        "dnat ip to ip daddr . meta l4proto . th dport map @ports4",
        "ip daddr != 127.0.0.0/8 dnat ip to meta l4proto . th dport map "
        "@any4",
        "ip daddr 127.0.0.0/8 dnat ip to meta l4proto . th dport map @lo4",
        "dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6",
        "ip6 daddr != ::1 dnat ip6 to meta l4proto . th dport map @any6"],
}


def test_ruleset_in_one_transaction(be, netns):
    before = be.stats()["sendmsg"]
    ops = ruleset.table_ops(T, "libnetwork test")
    ok(be, ops)
    assert be.stats()["sendmsg"] - before == 1
    objs = listing(netns, "table", "inet", T)
    assert [o["table"]["name"] for o in objs if "table" in o] == [T]
    assert sum("rule" in o for o in objs) == ruleset.RULE_COUNT

    sets = {o[k]["name"]: (k, o[k]) for o in objs for k in ("set", "map")
            if k in o}
    assert len(sets) == 14 and set(sets) == set(ruleset.SETS)
    for name, (key, data, interval) in ruleset.SETS.items():
        kind, s = sets[name]
        assert kind == ("map" if data else "set"), name
        assert s["type"] == (key[0] if len(key) == 1 else list(key)), name
        if data:
            assert s["map"] == " . ".join(data), name
        assert s.get("flags", []) == (["interval"] if interval else []), name

    chains = {o["chain"]["name"]: o["chain"] for o in objs if "chain" in o}
    assert set(chains) == set(ruleset.CHAINS)
    for name, (hook, prio, ctype, policy) in ruleset.CHAINS.items():
        c = chains[name]
        if hook is None:
            assert "hook" not in c and "policy" not in c, c
            continue
        assert (c["hook"], c["prio"], c["type"], c["policy"]) == (
            hook, prio, ctype, policy), c

    text, top = chains_text(netns)
    assert 'comment "libnetwork test"' in top
    assert text == RULES


def test_adding_again_is_no_error(be, table):
    # table, sets and chains (not the rules: they would be appended)
    again = [op for op in ruleset.table_ops(T, "libnetwork test")
             if type(op) is not N.NftRuleAdd]
    ok(be, again)
    objs = listing(table, "table", "inet", T)
    assert sum("rule" in o for o in objs) == ruleset.RULE_COUNT
    assert sum("chain" in o for o in objs) == len(ruleset.CHAINS)


# ----------------------------------------------------------- elements

ADD = [
    N.NftElemAdd(T, "own4", (N.NftElem(
        N.pack(V4_IF, ("10.0.1.0", "br-a")),
        key_end=N.pack(V4_IF, ("10.0.1.255", "br-a"))),)),
    N.NftElemAdd(T, "own6", (N.NftElem(
        N.pack(V6_IF, ("fd00:1::", "br-a")),
        key_end=N.pack(V6_IF, ("fd00:1::ffff:ffff:ffff:ffff", "br-a"))),)),
    N.NftElemAdd(T, "masq4", tuple(N.range_elems("10.0.1.0/24"))),
    N.NftElemAdd(T, "masq6", tuple(N.range_elems("fd00:1::/64"))),
    N.NftElemAdd(T, "snat4", tuple(N.range_elems(
        "10.0.2.0/24", N.pack(("ipv4_addr",), ("192.0.2.1",))))),
    N.NftElemAdd(T, "ports4", (N.NftElem(
        N.pack(PORTS_KEY, ("10.9.0.1", "tcp", 8080)),
        data=N.pack(PORTS_DATA, ("10.0.1.2", 80))),)),
    N.NftElemAdd(T, "any4", (N.NftElem(
        N.pack(("inet_proto", "inet_service"), ("udp", 53)),
        data=N.pack(PORTS_DATA, ("10.0.1.3", 5353))),)),
    N.NftElemAdd(T, "pairs", (
        N.NftElem(N.pack(("ifname", "ifname"), ("br-a", "br-a")),
                  verdict=N.Verdict(N.ACCEPT)),
        N.NftElem(N.pack(("ifname", "ifname"), ("br-b", "br-b")),
                  verdict=N.Verdict(N.DROP)))),
    N.NftElemAdd(T, "bridges", (N.NftElem(N.pack(("ifname",), ("br-a",))),
                                N.NftElem(N.pack(("ifname",), ("br-b",))))),
]
SEEN = {
    ("set", "own4"): ['10.0.1.0/24 . "br-a"'],
    ("set", "own6"): ['fd00:1::/64 . "br-a"'],
    ("set", "masq4"): ["10.0.1.0/24"],
    ("set", "masq6"): ["fd00:1::/64"],
    ("map", "snat4"): ["10.0.2.0/24 : 192.0.2.1"],
    ("map", "ports4"): ["10.9.0.1 . tcp . 8080 : 10.0.1.2 . 80"],
    ("map", "any4"): ["udp . 53 : 10.0.1.3 . 5353"],
    ("map", "pairs"): ['"br-a" . "br-a" : accept',
                       '"br-b" . "br-b" : drop'],
    ("set", "bridges"): ['"br-a"', '"br-b"'],
}


def test_elements_add_read_delete(be, table):
    before = be.stats()["sendmsg"]
    ok(be, ADD)
    assert be.stats()["sendmsg"] - before == 1
    for (kind, name), want in SEEN.items():
        assert sorted(elements(table, kind, name)) == want, name
    ok(be, [N.NftElemDel(op.table, op.set, op.elements) for op in ADD])
    for kind, name in SEEN:
        assert elements(table, kind, name) == [], name


def test_refused_transaction_changes_nothing(be, table):
    ok(be, ADD[:2])
    before = nft(table, "-j", "list", "ruleset").stdout
    batch = [
        ADD[2],
        N.NftElemAdd(T, "nosuch", (N.NftElem(b"\n\0\0\1"),)),
        N.NftChainAdd(T, "extra"),
        N.NftElemDel(T, "own4", ADD[0].elements),
        N.NftTableDel(T),
    ]
    res = be.execute(batch)
    failed(res[1], E.ENOENT, NetlinkNotFound)
    for k in (0, 2, 3, 4):
        assert res[k].errno == E.ECANCELED, res[k]
        assert res[k].message == CANCELED
    assert nft(table, "-j", "list", "ruleset").stdout == before
    # two refusals: each reported, nothing applied
    res = be.execute([ADD[2], N.NftTableDel("nosuch"),
                      N.NftElemAdd(T, "bridges", (N.NftElem(bytes(8)),))])
    assert [r.errno for r in res] == [E.ECANCELED, E.ENOENT, E.EINVAL]
    assert nft(table, "-j", "list", "ruleset").stdout == before


def test_table_del(be, table):
    ok(be, [N.NftTableDel(T)])
    assert listing(table, "tables") == []
    res = be.execute([N.NftTableDel(T)])
    failed(res[0], E.ENOENT, NetlinkNotFound)
    assert nft(table, "list", "ruleset").stdout.strip() == ""


def test_20000_elements_in_one_sendmsg(be, table):
    ports = tuple(N.NftElem(N.pack(PORTS_KEY, ("10.9.0.1", "tcp", p)),
                            data=N.pack(PORTS_DATA, ("10.0.1.2", 80)))
                  for p in range(1, 15001))
    own = [N.NftElemAdd(T, "own4", (N.NftElem(
        N.pack(V4_IF, (f"10.{n >> 8}.{n & 255}.0", "br-a")),
        key_end=N.pack(V4_IF, (f"10.{n >> 8}.{n & 255}.255", "br-a"))),))
        for n in range(5000)]
    before = be.stats()["sendmsg"]
    ok(be, [N.NftElemAdd(T, "ports4", ports), *own])
    assert be.stats()["sendmsg"] - before == 1
    (m,) = listing(table, "map", "inet", T, "ports4")
    assert len(m["map"]["elem"]) == 15000
    (s,) = listing(table, "set", "inet", T, "own4")
    assert len(s["set"]["elem"]) == 5000


# ---------------------------------------------------------- namespaces

def test_other_namespace_and_missing_one(be, table, make_ns, nsdir):
    other = make_ns("other")
    ok(be, [N.NftTableAdd("t2", ns=other),
            N.NftChainAdd("t2", "c", "input", ns=other)])
    assert [o["table"]["name"] for o in listing(other, "tables")] == ["t2"]
    assert [o["table"]["name"] for o in listing(table, "tables")] == [T]
    res = be.execute([N.NftTableAdd("t3", ns=f"{nsdir}/nope"),
                      N.NftTableDel("t2", ns=f"{nsdir}/nope")])
    for r in res:
        failed(r, E.ENOENT, NetlinkNotFound)
    ok(be, [N.NftTableDel("t2", ns=other)])
    assert listing(other, "tables") == []
