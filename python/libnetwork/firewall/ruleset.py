"""The ruleset: one nftables table per controller, whose rules never change.

Everything that varies -- networks, their options, published ports -- is a
set or map element; the 19 rules below are the same for 1 or 10,000
containers and ports.  In ``nft`` syntax (``<t>`` the table)::

    table inet <t> {
      set bridges  { type ifname; }               # every bridge network
      set internal { type ifname; }               # internal networks
      map pairs    { type ifname . ifname : verdict; }  # br . br: ICC
      set own4     { type ipv4_addr . ifname; flags interval; }  # net . br
      set masq4    { type ipv4_addr; flags interval; }   # masquerade on
      map snat4    { type ipv4_addr : ipv4_addr; flags interval; }  # host_ipv4
      map ports4   { type ipv4_addr . inet_proto . inet_service
                     : ipv4_addr . inet_service; }   # host ip . proto . port
      map any4     { type inet_proto . inet_service
                     : ipv4_addr . inet_service; }   # on every host address
      map lo4      { ... as any4 }                   # ... and 127/8 (route_localnet)
      (own6, masq6, snat6, ports6, any6 alike for IPv6)

      chain forward { type filter hook forward priority filter; policy accept;
        ct state established,related accept
        oifname @bridges ct status dnat accept      # published ports
        iifname . oifname vmap @pairs               # same bridge: ICC on/off
        iifname @internal drop                      # internal: no way out
        oifname @bridges drop                       # isolation, no way in
      }
      chain prerouting { type nat hook prerouting priority dstnat;
        fib daddr type local jump publish }
      chain output { type nat hook output priority -100;
        fib daddr type local jump publish }
      chain publish {
        dnat ip to ip daddr . meta l4proto . th dport map @ports4
        ip daddr != 127.0.0.0/8 dnat ip to meta l4proto . th dport map @any4
        ip daddr 127.0.0.0/8 dnat ip to meta l4proto . th dport map @lo4
        dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6
        ip6 daddr != ::1 dnat ip6 to meta l4proto . th dport map @any6
      }
      chain postrouting { type nat hook postrouting priority srcnat;
        ct status dnat ip saddr . oifname @own4 masquerade      # hairpin
        ip saddr . oifname != @own4 snat ip to ip saddr map @snat4
        ip saddr . oifname != @own4 ip saddr @masq4 masquerade
        (the same three for ip6)
        ip saddr 127.0.0.0/8 oifname @bridges masquerade    # route_localnet
      }
    }

The forward chain's policy is accept and it drops only traffic to or from
this controller's bridges: other tables and tools keep deciding about
everything else.  With ``br_netfilter`` (``bridge-nf-call-iptables=1``,
which the controller turns on) traffic between two ports of one bridge
crosses the ``forward`` hook with the bridge as both interfaces, which is
what ``pairs`` matches.
"""

from __future__ import annotations

from ..backends import nft_ops as N

__all__ = ["TABLE_PREFIX", "table_name", "SETS", "table_ops", "RULE_COUNT"]

TABLE_PREFIX = "libnetwork_"

#: set name -> (key types, data types or None, interval)
SETS = {
    "bridges": (("ifname",), None, False),
    "internal": (("ifname",), None, False),
    "pairs": (("ifname", "ifname"), ("verdict",), False),
    "own4": (("ipv4_addr", "ifname"), None, True),
    "masq4": (("ipv4_addr",), None, True),
    "snat4": (("ipv4_addr",), ("ipv4_addr",), True),
    "ports4": (("ipv4_addr", "inet_proto", "inet_service"),
               ("ipv4_addr", "inet_service"), False),
    "any4": (("inet_proto", "inet_service"), ("ipv4_addr", "inet_service"),
             False),
    "lo4": (("inet_proto", "inet_service"), ("ipv4_addr", "inet_service"),
            False),
    "own6": (("ipv6_addr", "ifname"), None, True),
    "masq6": (("ipv6_addr",), None, True),
    "snat6": (("ipv6_addr",), ("ipv6_addr",), True),
    "ports6": (("ipv6_addr", "inet_proto", "inet_service"),
               ("ipv6_addr", "inet_service"), False),
    "any6": (("inet_proto", "inet_service"), ("ipv6_addr", "inet_service"),
             False),
}

#: chain name -> (hook, priority, type, policy)
CHAINS = {
    "forward": ("forward", 0, "filter", "accept"),
    "prerouting": ("prerouting", -100, "nat", "accept"),
    "output": ("output", -100, "nat", "accept"),
    "postrouting": ("postrouting", 100, "nat", "accept"),
    "publish": (None, 0, "filter", None),
}


def table_name(identity: str) -> str:
    """The table of the controller whose store has ``identity``: the name
    itself is the mark that proves the table is ours."""
    return TABLE_PREFIX + identity[:16]


# ------------------------------------------------------------ expressions

R1, R2 = N.REG_1, N.REG_2
R9, R13 = N.reg32(1), N.reg32(5)
_V4, _V6 = bytes([N.IPV4]), bytes([N.IPV6])
_Z4 = b"\0\0\0\0"


def _nfproto(p):
    return (N.Meta(N.META_NFPROTO), N.Cmp(N.CMP_EQ, p))


def _flag(key, mask):
    """``ct KEY & MASK != 0``"""
    return (N.Ct(key), N.Bitwise(mask.to_bytes(4, "little"), _Z4),
            N.Cmp(N.CMP_NEQ, _Z4))


_DNAT_MAPPED = N.NAT_MAP_IPS | N.NAT_PROTO_SPECIFIED
_ACCEPT, _DROP = N.Verdict(N.ACCEPT), N.Verdict(N.DROP)
_ESTABLISHED = _flag(N.CT_STATE, N.CT_STATE_ESTABLISHED | N.CT_STATE_RELATED)
_DNATTED = _flag(N.CT_STATUS, N.CT_STATUS_DNAT)
_TH_DPORT = (N.PAYLOAD_TRANSPORT, 2, 2)


def _src(v6):
    return (N.Payload(N.PAYLOAD_NETWORK, 8, 16) if v6
            else N.Payload(N.PAYLOAD_NETWORK, 12, 4))


def _postrouting(v6):
    fam, sfx = (N.IPV6, "6") if v6 else (N.IPV4, "4")
    oif = R2 if v6 else R9
    own = (*_nfproto(_V6 if v6 else _V4), _src(v6),
           N.Meta(N.META_OIFNAME, oif))
    return [
        (*_DNATTED, *own, N.Lookup("own" + sfx), N.Masq()),
        (*own, N.Lookup("own" + sfx, invert=True), _src(v6),
         N.Lookup("snat" + sfx, dreg=R1), N.Nat(N.NAT_SNAT, fam, R1)),
        (*own, N.Lookup("own" + sfx, invert=True), _src(v6),
         N.Lookup("masq" + sfx), N.Masq()),
    ]


def _publish():
    v4_dst = N.Payload(N.PAYLOAD_NETWORK, 16, 4)
    v4_first = N.Payload(N.PAYLOAD_NETWORK, 16, 1)
    v6_dst = N.Payload(N.PAYLOAD_NETWORK, 24, 16)
    lo6 = bytes(15) + b"\x01"

    def proto_port(port_reg):
        return (N.Meta(N.META_L4PROTO, R1 if port_reg == R9 else R2),
                N.Payload(*_TH_DPORT, dreg=port_reg))

    def dnat(fam, proto_reg):
        return N.Nat(N.NAT_DNAT, fam, R1, proto_reg, _DNAT_MAPPED)
    return [
        (*_nfproto(_V4), v4_dst, N.Meta(N.META_L4PROTO, R9),
         N.Payload(*_TH_DPORT, dreg=N.reg32(2)),
         N.Lookup("ports4", dreg=R1), dnat(N.IPV4, R9)),
        (*_nfproto(_V4), v4_first, N.Cmp(N.CMP_NEQ, b"\x7f"),
         N.Meta(N.META_L4PROTO, R1), N.Payload(*_TH_DPORT, dreg=R9),
         N.Lookup("any4", dreg=R1), dnat(N.IPV4, R9)),
        (*_nfproto(_V4), v4_first, N.Cmp(N.CMP_EQ, b"\x7f"),
         N.Meta(N.META_L4PROTO, R1), N.Payload(*_TH_DPORT, dreg=R9),
         N.Lookup("lo4", dreg=R1), dnat(N.IPV4, R9)),
        (*_nfproto(_V6), v6_dst, N.Meta(N.META_L4PROTO, R2),
         N.Payload(*_TH_DPORT, dreg=R13),
         N.Lookup("ports6", dreg=R1), dnat(N.IPV6, R2)),
        (*_nfproto(_V6), v6_dst, N.Cmp(N.CMP_NEQ, lo6),
         N.Meta(N.META_L4PROTO, R1), N.Payload(*_TH_DPORT, dreg=R9),
         N.Lookup("any6", dreg=R1), dnat(N.IPV6, R2)),
    ]


def rules() -> list:
    """(chain, expressions) of every rule, in order."""
    local = (N.Fib(N.FIB_F_DADDR, N.FIB_RESULT_ADDRTYPE),
             N.Cmp(N.CMP_EQ, N.RTN_LOCAL.to_bytes(4, "little")),
             N.Verdict(N.JUMP, "publish"))
    oif_bridge = (N.Meta(N.META_OIFNAME), N.Lookup("bridges"))
    out = [
        ("forward", (*_ESTABLISHED, _ACCEPT)),
        ("forward", (*oif_bridge, *_DNATTED, _ACCEPT)),
        ("forward", (N.Meta(N.META_IIFNAME), N.Meta(N.META_OIFNAME, R2),
                     N.Lookup("pairs", dreg=N.REG_VERDICT))),
        ("forward", (N.Meta(N.META_IIFNAME), N.Lookup("internal"), _DROP)),
        ("forward", (*oif_bridge, _DROP)),
        ("prerouting", local),
        ("output", local),
    ]
    out += [("publish", r) for r in _publish()]
    out += [("postrouting", r) for r in _postrouting(False)]
    out += [("postrouting", r) for r in _postrouting(True)]
    out.append(("postrouting", (
        *_nfproto(_V4), N.Payload(N.PAYLOAD_NETWORK, 12, 1),
        N.Cmp(N.CMP_EQ, b"\x7f"), *oif_bridge, N.Masq())))
    return out


RULE_COUNT = len(rules())


def table_ops(table: str, comment: str) -> list:
    """The operations creating the whole (empty) table: table, sets,
    chains, rules, in that order."""
    ops: list = [N.NftTableAdd(table, comment=comment)]
    for name, (key, data, interval) in SETS.items():
        ops.append(N.NftSetAdd(table, name, key, data, interval))
    for name, (hook, prio, ctype, policy) in CHAINS.items():
        ops.append(N.NftChainAdd(table, name, hook, prio, ctype, policy))
    for chain, exprs in rules():
        ops.append(N.NftRuleAdd(table, chain, exprs))
    return ops
