"""The nftables operations of the Backend contract against the real kernel,
read back with nft(8) inside the test's namespace (``nsenter``), never
through libnetwork.

* the firewall's ruleset (``ruleset.table_ops``) is one transaction: the
  table, its comment, the 14 sets and maps, the 5 chains, exactly
  ``RULE_COUNT`` rules -- and the kernel holds the very expressions nft
  itself makes of the ruleset written in nft syntax (``REFERENCE``);
* elements of every kind of set go in, read back as nft shows them, and
  out again;
* a transaction with a refused message changes nothing: the refused ones
  carry the kernel's errno, the others ECANCELED;
* a large transaction (20,000 elements, or thousands of operations) is
  still one sendmsg.

Both backends run these.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess

import pytest

from backend_util import ok
from libnetwork.backends import nft_ops as N
from libnetwork.firewall import ruleset

NFT = shutil.which("nft") or "/usr/sbin/nft"
T = "libnetwork_t"
ABORTED = "not applied: the transaction was aborted"
S = ruleset.SETS

#: The ruleset of ruleset.py's docstring, in nft syntax, in its order.
REFERENCE = """
table inet ref {
  comment "libnetwork test"
  set bridges  { type ifname; }
  set internal { type ifname; }
  map pairs    { type ifname . ifname : verdict; }
  set own4     { type ipv4_addr . ifname; flags interval; }
  set masq4    { type ipv4_addr; flags interval; }
  map snat4    { type ipv4_addr : ipv4_addr; flags interval; }
  map ports4   { type ipv4_addr . inet_proto . inet_service : \
                 ipv4_addr . inet_service; }
  map any4     { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map lo4      { type inet_proto . inet_service : ipv4_addr . inet_service; }
  set own6     { type ipv6_addr . ifname; flags interval; }
  set masq6    { type ipv6_addr; flags interval; }
  map snat6    { type ipv6_addr : ipv6_addr; flags interval; }
  map ports6   { type ipv6_addr . inet_proto . inet_service : \
                 ipv6_addr . inet_service; }
  map any6     { type inet_proto . inet_service : ipv6_addr . inet_service; }
  chain forward { type filter hook forward priority filter; policy accept;
    ct state established,related accept
    oifname @bridges ct status dnat accept
    iifname . oifname vmap @pairs
    iifname @internal drop
    oifname @bridges drop
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump publish
  }
  chain output { type nat hook output priority -100; policy accept;
    fib daddr type local jump publish
  }
  chain postrouting { type nat hook postrouting priority srcnat;
    policy accept;
    ct status dnat ip saddr . oifname @own4 masquerade
    ip saddr . oifname != @own4 snat ip to ip saddr map @snat4
    ip saddr . oifname != @own4 ip saddr @masq4 masquerade
    ct status dnat ip6 saddr . oifname @own6 masquerade
    ip6 saddr . oifname != @own6 snat ip6 to ip6 saddr map @snat6
    ip6 saddr . oifname != @own6 ip6 saddr @masq6 masquerade
    ip saddr 127.0.0.0/8 oifname @bridges masquerade
  }
  chain publish {
    dnat ip to ip daddr . meta l4proto . th dport map @ports4
    ip daddr != 127.0.0.0/8 dnat ip to meta l4proto . th dport map @any4
    ip daddr 127.0.0.0/8 dnat ip to meta l4proto . th dport map @lo4
    dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6
    ip6 daddr != ::1 dnat ip6 to meta l4proto . th dport map @any6
  }
}
"""


# --------------------------------------------------------------- helpers

@pytest.fixture
def be(backend):
    """The backend (nft(8), which reads the kernel back, is installed by
    the project's scripts)."""
    assert os.path.exists(NFT), f"nft(8) is not installed ({NFT})"
    probe = backend.execute([N.NftTableDel("libnetwork_probe")])[0]
    assert probe.errno == errno.ENOENT, probe
    return backend


def nft(ns, *args, stdin=None):
    """nft(8) in the namespace at ``ns``: its output."""
    out = subprocess.run(["nsenter", f"--net={ns}", NFT, *args],
                         input=stdin, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def listed(ns, *what):
    """``nft -j list WHAT``: the objects, without the metainfo."""
    return [o for o in json.loads(nft(ns, "-j", "list", *what))["nftables"]
            if "metainfo" not in o]


def elems(ns, kind, name):
    """The elements of set or map ``name`` of T, as nft -j shows them,
    in a stable order."""
    (obj,) = listed(ns, kind, "inet", T, name)
    return sorted(obj[kind].get("elem", []), key=json.dumps)


def sent(be, batch):
    before = be.stats()["sendmsg"]
    res = be.execute(batch)
    return be.stats()["sendmsg"] - before, res


def rules_held(ns, table):
    """{chain: [rule, ...]}, each rule the list of expressions the kernel
    holds (``nft --debug=netlink``), handles left out."""
    out, rule = {}, None
    head = re.compile(rf"^inet {re.escape(table)} (\S+) \d+( \d+)?$")
    for line in nft(ns, "--debug=netlink", "list", "table", "inet",
                    table).splitlines():
        m = head.match(line)
        if m:
            rule = []
            out.setdefault(m.group(1), []).append(rule)
        elif line.startswith("  [") and rule is not None:
            rule.append(line.strip())
        elif not line.strip():
            rule = None
    return out


def table_text(ns, table):
    return nft(ns, "list", "table", "inet", table).replace(
        f"table inet {table} ", "table inet X ")


def setup_table(be):
    n, res = sent(be, ruleset.table_ops(T, "libnetwork test"))
    assert not [r for r in res if r.errno], res
    return n


def key(name, *values):
    return N.pack(S[name][0], values)


def data(name, *values):
    return N.pack(S[name][1], values)


def sample_elements():
    """One element op per kind of set: (op, what nft -j lists)."""
    v4 = N.pack(("ipv4_addr",), ("192.0.2.1",))
    return [
        (N.NftElemAdd(T, "bridges", (N.NftElem(key("bridges", "br-a")),
                                     N.NftElem(key("bridges", "br-b")))),
         ("set", ["br-a", "br-b"])),
        (N.NftElemAdd(T, "own4", (N.NftElem(
            key("own4", "10.0.1.0", "br-a"),
            key_end=key("own4", "10.0.1.255", "br-a")),)),
         ("set", [{"concat": [{"prefix": {"addr": "10.0.1.0", "len": 24}},
                              "br-a"]}])),
        (N.NftElemAdd(T, "masq4", tuple(N.range_elems("10.0.1.0/24"))),
         ("set", [{"prefix": {"addr": "10.0.1.0", "len": 24}}])),
        (N.NftElemAdd(T, "snat4", tuple(N.range_elems("10.0.1.0/24", v4))),
         ("map", [[{"prefix": {"addr": "10.0.1.0", "len": 24}},
                   "192.0.2.1"]])),
        (N.NftElemAdd(T, "ports4", (N.NftElem(
            key("ports4", "10.9.0.1", "tcp", 8080),
            data=data("ports4", "10.0.1.2", 80)),)),
         ("map", [[{"concat": ["10.9.0.1", "tcp", 8080]},
                   {"concat": ["10.0.1.2", 80]}]])),
        (N.NftElemAdd(T, "pairs", (
            N.NftElem(key("pairs", "br-a", "br-a"),
                      verdict=N.Verdict(N.ACCEPT)),
            N.NftElem(key("pairs", "br-a", "br-b"),
                      verdict=N.Verdict(N.DROP)))),
         ("map", [[{"concat": ["br-a", "br-a"]}, {"accept": None}],
                  [{"concat": ["br-a", "br-b"]}, {"drop": None}]])),
        (N.NftElemAdd(T, "own6", (N.NftElem(
            key("own6", "fd00:1::", "br-a"),
            key_end=key("own6", "fd00:1::ffff:ffff:ffff:ffff", "br-a")),)),
         ("set", [{"concat": [{"prefix": {"addr": "fd00:1::", "len": 64}},
                              "br-a"]}])),
        (N.NftElemAdd(T, "any6", (N.NftElem(
            key("any6", "udp", 53), data=data("any6", "fd00:1::2", 5353)),)),
         ("map", [[{"concat": ["udp", 53]},
                   {"concat": ["fd00:1::2", 5353]}]])),
    ]


# ----------------------------------------------------------------- tests

def test_ruleset_is_one_transaction(be, netns):
    assert setup_table(be) == 1
    objs = listed(netns, "table", "inet", T)
    (table,) = [o["table"] for o in objs if "table" in o]
    assert table["name"] == T
    # nft 1.0's JSON leaves table comments out; its text has them
    assert '\tcomment "libnetwork test"\n' in nft(netns, "list", "table",
                                                  "inet", T)
    rules = [o["rule"] for o in objs if "rule" in o]
    assert len(rules) == ruleset.RULE_COUNT
    per_chain: dict = {}
    for chain, _ in ruleset.rules():
        per_chain[chain] = per_chain.get(chain, 0) + 1
    assert {c: sum(r["chain"] == c for r in rules) for c in per_chain} == \
        per_chain
    sets = {}
    for o in objs:
        for kind in ("set", "map"):
            if kind in o:
                s = o[kind]
                sets[s["name"]] = (kind, s["type"], s.get("map"),
                                   s.get("flags", []))
    want = {}
    for name, (k, d, interval) in S.items():
        want[name] = ("map" if d else "set",
                      list(k) if len(k) > 1 else k[0],
                      " . ".join(d) if d else None,
                      ["interval"] if interval else [])
    assert sets == want
    chains = {o["chain"]["name"]: o["chain"] for o in objs if "chain" in o}
    assert set(chains) == set(ruleset.CHAINS)
    for name, (hook, prio, ctype, policy) in ruleset.CHAINS.items():
        c = chains[name]
        if hook is None:
            assert "hook" not in c, c
            continue
        assert (c["hook"], c["prio"], c["type"], c["policy"]) == \
            (hook, prio, ctype, policy)


def test_rules_are_what_nft_makes_of_the_docstring(be, netns):
    """The expressions as the kernel holds them -- registers, offsets,
    lengths, flags -- and the listing nft prints are those of the same
    ruleset written in nft syntax and loaded by nft itself."""
    setup_table(be)
    nft(netns, "-f", "-", stdin=REFERENCE)
    ours, theirs = rules_held(netns, T), rules_held(netns, "ref")
    assert sum(map(len, ours.values())) == ruleset.RULE_COUNT
    assert ours == theirs
    assert table_text(netns, T) == table_text(netns, "ref")


def test_elements_in_and_out(be, netns):
    setup_table(be)
    samples = sample_elements()
    n, res = sent(be, [op for op, _ in samples])
    assert n == 1 and not [r for r in res if r.errno], res
    for op, (kind, shown) in samples:
        assert elems(netns, kind, op.set) == sorted(shown, key=json.dumps), \
            op.set
    # adding what is there is no error (nft add element)
    ok(be, [op for op, _ in samples])
    n, res = sent(be, [N.NftElemDel(op.table, op.set, op.elements)
                       for op, _ in samples])
    assert n == 1 and not [r for r in res if r.errno], res
    for op, (kind, _) in samples:
        assert elems(netns, kind, op.set) == [], op.set


def test_a_refused_message_aborts_everything(be, netns):
    setup_table(be)
    ok(be, [op for op, _ in sample_elements()])
    before = nft(netns, "list", "ruleset")
    good = N.NftElemAdd(T, "bridges", (N.NftElem(key("bridges", "br-x")),))
    batch = [
        N.NftTableAdd("libnetwork_new"),
        good,
        N.NftElemAdd(T, "nosuch", (N.NftElem(key("bridges", "br-y")),)),
        N.NftElemAdd(T, "ports4", (N.NftElem(      # the key, other data
            key("ports4", "10.9.0.1", "tcp", 8080),
            data=data("ports4", "10.0.1.3", 80)),)),
        N.NftElemDel(T, "bridges", (N.NftElem(key("bridges", "br-x")),)),
        N.NftRuleAdd(T, "forward", (N.Verdict(N.ACCEPT),)),
    ]
    n, res = sent(be, batch)
    assert n == 1
    assert [r.errno for r in res[:3]] == [
        errno.ECANCELED, errno.ECANCELED, errno.ENOENT]
    assert res[3].errno in (errno.EEXIST, errno.EBUSY)    # kernels differ
    assert [r.errno for r in res[4:]] == [errno.ECANCELED] * 2
    for r in res:
        assert isinstance(r.message, str)
        if r.errno == errno.ECANCELED:
            assert r.message == ABORTED
    assert nft(netns, "list", "ruleset") == before
    # the same run without the refused ones commits
    ok(be, [batch[0], batch[1], batch[5]])
    assert "br-x" in elems(netns, "set", "bridges")


def test_table_delete(be, netns):
    setup_table(be)
    ok(be, [N.NftTableAdd("other", family=N.IPV4)])
    res = be.execute([N.NftTableDel(T)])
    assert res[0].ok, res
    assert nft(netns, "list", "tables").split("\n")[:-1] == \
        ["table ip other"]
    res = be.execute([N.NftTableDel(T)])
    assert res[0].errno == errno.ENOENT, res


def test_adding_what_exists_is_no_error(be, netns):
    setup_table(be)
    again = [op for op in ruleset.table_ops(T, "libnetwork test")
             if type(op) is not N.NftRuleAdd]
    ok(be, again)
    rules = [o for o in listed(netns, "table", "inet", T) if "rule" in o]
    assert len(rules) == ruleset.RULE_COUNT


def test_twenty_thousand_elements_one_sendmsg(be, netns):
    setup_table(be)
    to = data("ports4", "10.0.1.2", 80)
    els = tuple(N.NftElem(key("ports4", f"10.{i >> 16}.{(i >> 8) & 255}."
                              f"{i & 255}", "tcp", 1024 + i % 4096), data=to)
                for i in range(20000))
    anys = tuple(N.NftElem(key("any4", "udp", 1 + i),
                           data=data("any4", "10.0.1.3", 53))
                 for i in range(3000))
    n, res = sent(be, [N.NftElemAdd(T, "ports4", els),
                       N.NftElemAdd(T, "any4", anys)])
    assert n == 1 and [r.errno for r in res] == [0, 0], res
    assert len(elems(netns, "map", "ports4")) == 20000
    assert len(elems(netns, "map", "any4")) == 3000
    n, res = sent(be, [N.NftElemDel(T, "ports4", els)])
    assert n == 1 and res[0].ok, res
    assert elems(netns, "map", "ports4") == []


def test_thousands_of_operations_one_sendmsg(be, netns):
    setup_table(be)
    ops = [N.NftElemAdd(T, "bridges", (N.NftElem(key("bridges", f"b{i}")),))
           for i in range(6000)]
    n, res = sent(be, ops)
    assert n == 1 and not [r for r in res if r.errno]
    assert len(elems(netns, "set", "bridges")) == 6000
    # one refusal at the end cancels all 6,000
    ops.append(N.NftElemDel(T, "bridges", (N.NftElem(key("bridges", "zz")),)))
    ops[:6000] = [N.NftElemDel(T, "bridges", op.elements)
                  for op in ops[:6000]]
    n, res = sent(be, ops)
    assert n == 1 and res[-1].errno == errno.ENOENT
    assert {r.errno for r in res[:-1]} == {errno.ECANCELED}
    assert len(elems(netns, "set", "bridges")) == 6000


def test_other_namespace(be, netns, make_ns):
    other = make_ns()
    ok(be, [N.NftTableAdd(T, comment="there", ns=other),
            N.NftChainAdd(T, "c", ns=other),
            N.NftTableAdd(T, comment="here")])
    (there,) = [o["table"] for o in listed(other, "tables")]
    (here,) = [o["table"] for o in listed(netns, "tables")]
    assert (there["name"], here["name"]) == (T, T)
    assert [o["chain"]["name"] for o in listed(other, "chains")] == ["c"]
    assert listed(netns, "chains") == []
    res = be.execute([N.NftTableAdd(T, ns=netns + "-gone")])
    assert res[0].errno == errno.ENOENT, res
