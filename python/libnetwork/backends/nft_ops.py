"""nftables operations of the Backend contract, and the expressions a rule
is made of.

Like the rtnetlink operations in :mod:`.ops`, these are plain immutable
values; a backend turns each into exactly one nfnetlink message.  A run of
consecutive nftables operations on one namespace is **one transaction**
(``NFNL_MSG_BATCH_BEGIN`` ... ``NFNL_MSG_BATCH_END``): the kernel applies
all of it or none of it.  When it refuses one message, every operation of
the run fails: the refused ones with the kernel's errno and extended-ack
text, the others with ECANCELED ("not applied: the transaction was
aborted").

Rules are written as the kernel runs them: a tuple of expressions over
registers (what ``nft --debug=netlink`` prints).  Values that land in
registers or set elements are bytes in the kernel's layout; :func:`pack`
builds them from typed values (each field of a concatenation padded to 4
bytes, as the kernel's registers are).

``ip``-tool analogies are ``nft`` commands: ``NftTableAdd`` is ``nft add
table inet NAME``, ``NftElemAdd`` is ``nft add element inet T S { ... }``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Optional

NS = Optional[str]

# nfproto families (linux/netfilter.h)
INET, IPV4, IPV6 = 1, 2, 10
FAMILIES = {INET: "inet", IPV4: "ip", IPV6: "ip6"}

# hooks (NF_INET_*) and chain types
HOOKS = {"prerouting": 0, "input": 1, "forward": 2, "output": 3,
         "postrouting": 4}
CHAIN_TYPES = ("filter", "nat", "route")

# registers: NFT_REG_VERDICT, the four 16-byte registers, and the 32-bit
# ones (NFT_REG32_00 = 8 ... NFT_REG32_15 = 23) that alias them
REG_VERDICT = 0
REG_1, REG_2, REG_3, REG_4 = 1, 2, 3, 4


def reg32(n: int) -> int:
    """NFT_REG32_<n>: the n-th 4-byte slot of the register space."""
    return 8 + n


# verdicts (NF_DROP, NF_ACCEPT and the nft_verdicts)
DROP, ACCEPT = 0, 1
CONTINUE, BREAK, JUMP, GOTO, RETURN = -1, -2, -3, -4, -5
VERDICTS = {"drop": DROP, "accept": ACCEPT, "continue": CONTINUE,
            "jump": JUMP, "goto": GOTO, "return": RETURN}

# expression constants
META_IIFNAME, META_OIFNAME, META_NFPROTO, META_L4PROTO = 6, 7, 15, 16
CMP_EQ, CMP_NEQ = 0, 1
PAYLOAD_NETWORK, PAYLOAD_TRANSPORT = 1, 2
CT_STATE, CT_STATUS = 0, 2
CT_STATE_ESTABLISHED, CT_STATE_RELATED = 2, 4
CT_STATUS_DNAT = 0x20            # IPS_DST_NAT
FIB_F_DADDR = 0x2                # NFTA_FIB_F_DADDR
FIB_RESULT_ADDRTYPE = 3          # NFT_FIB_RESULT_ADDRTYPE
RTN_LOCAL = 2
NAT_SNAT, NAT_DNAT = 0, 1
NAT_MAP_IPS, NAT_PROTO_SPECIFIED = 0x1, 0x2   # NF_NAT_RANGE_*

# set flags and element flags
SET_INTERVAL, SET_MAP, SET_CONCAT = 0x4, 0x8, 0x80
ELEM_INTERVAL_END = 0x1
DATA_VERDICT = 0xffffff00        # NFT_DATA_VERDICT

#: nft's data types: name -> (type id, length in bytes)
TYPES = {
    "verdict": (1, 0),
    "ipv4_addr": (7, 4),
    "ipv6_addr": (8, 16),
    "inet_proto": (12, 1),
    "inet_service": (13, 2),
    "mark": (19, 4),
    "ifname": (41, 16),
}
_TYPE_BITS = 6                   # nft's concat type: id << 6 | next


# -------------------------------------------------------------- expressions

@dataclass(frozen=True, slots=True)
class Meta:
    """``[ meta load KEY => reg DREG ]``"""
    key: int
    dreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Cmp:
    """``[ cmp OP reg SREG DATA ]``"""
    op: int
    data: bytes
    sreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Payload:
    """``[ payload load LENb @ BASE header + OFFSET => reg DREG ]``"""
    base: int
    offset: int
    length: int
    dreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Bitwise:
    """``[ bitwise reg DREG = ( reg SREG & MASK ) ^ XOR ]``
    (``len(mask) == len(xor)`` bytes)."""
    mask: bytes
    xor: bytes
    sreg: int = REG_1
    dreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Ct:
    """``[ ct load KEY => reg DREG ]``"""
    key: int
    dreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Fib:
    """``[ fib daddr type => reg DREG ]`` (flags FIB_F_*, result
    FIB_RESULT_*)."""
    flags: int
    result: int
    dreg: int = REG_1


@dataclass(frozen=True, slots=True)
class Lookup:
    """``[ lookup reg SREG set SET [dreg DREG] [inverted] ]``: the set (a
    map with ``dreg``) named in the same table."""
    set: str
    sreg: int = REG_1
    dreg: Optional[int] = None
    invert: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """``[ immediate reg 0 VERDICT [-> CHAIN] ]``; also a verdict map's
    element value.  ``code``: ACCEPT, DROP, JUMP, GOTO, RETURN ..."""
    code: int
    chain: Optional[str] = None


@dataclass(frozen=True, slots=True)
class Nat:
    """``[ nat {snat|dnat} {ip|ip6} addr_min reg A addr_max reg A
    [proto_min reg P proto_max reg P] flags F ]``"""
    kind: int
    family: int
    addr_reg: int
    proto_reg: Optional[int] = None
    flags: int = NAT_MAP_IPS


@dataclass(frozen=True, slots=True)
class Masq:
    """``[ masq ]``"""
    flags: int = 0


EXPRESSIONS = (Meta, Cmp, Payload, Bitwise, Ct, Fib, Lookup, Verdict, Nat,
               Masq)


# ---------------------------------------------------------------- elements

@dataclass(frozen=True, slots=True)
class NftElem:
    """One set element.  ``key`` (and ``key_end``, the inclusive end of a
    range in a concatenated interval set) in the set's key layout;
    ``data`` a map's value in its data layout, or ``verdict`` a verdict
    map's.  A range in a single-field interval set is two elements: its
    start, and its end + 1 with ``interval_end`` (see :func:`range_elems`).
    """
    key: bytes
    key_end: Optional[bytes] = None
    data: Optional[bytes] = None
    verdict: Optional[Verdict] = None
    interval_end: bool = False


# -------------------------------------------------------------- operations

@dataclass(frozen=True, slots=True)
class NftTableAdd:
    """``nft add table FAMILY NAME [{ comment "COMMENT" }]`` (no error when
    it exists)."""
    name: str
    comment: Optional[str] = None
    family: int = INET
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftTableDel:
    """``nft delete table FAMILY NAME`` with everything in it; with
    ``missing_ok``, ``nft destroy table``: no error when it is not there
    (``NFT_MSG_DESTROYTABLE``, Linux 6.3)."""
    name: str
    family: int = INET
    missing_ok: bool = False
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftChainAdd:
    """``nft add chain FAMILY TABLE NAME [{ type TYPE hook HOOK priority P;
    policy POLICY; }]``: a base chain with ``hook``, else a regular one."""
    table: str
    name: str
    hook: Optional[str] = None
    priority: int = 0
    type: str = "filter"
    policy: Optional[str] = None
    family: int = INET
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftSetAdd:
    """``nft add {set|map} FAMILY TABLE NAME { type K1 . K2 [: D1 . D2 |
    : verdict]; [flags interval;] }``.  ``key`` and ``data`` are tuples of
    :data:`TYPES` names (``data=("verdict",)``: a verdict map)."""
    table: str
    name: str
    key: tuple
    data: Optional[tuple] = None
    interval: bool = False
    family: int = INET
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftRuleAdd:
    """``nft add rule FAMILY TABLE CHAIN ...``: the expressions in order."""
    table: str
    chain: str
    exprs: tuple
    family: int = INET
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftElemAdd:
    """``nft add element FAMILY TABLE SET { ... }``: one message for all
    ``elements`` (a tuple of :class:`NftElem`)."""
    table: str
    set: str
    elements: tuple
    family: int = INET
    ns: NS = None


@dataclass(frozen=True, slots=True)
class NftElemDel:
    """``nft delete element FAMILY TABLE SET { ... }``; with
    ``missing_ok``, ``nft destroy element``: elements not there are no
    error (``NFT_MSG_DESTROYSETELEM``, Linux 6.3)."""
    table: str
    set: str
    elements: tuple
    family: int = INET
    missing_ok: bool = False
    ns: NS = None


NFT_OPS = (NftTableAdd, NftTableDel, NftChainAdd, NftSetAdd, NftRuleAdd,
           NftElemAdd, NftElemDel)


# ------------------------------------------------------------------ values

def _round4(n: int) -> int:
    return (n + 3) & ~3


def type_shape(types: tuple) -> tuple:
    """``(type id, length, field lengths)`` of a key or data made of
    ``types``: nft's concatenated type id, the length in registers (each
    field padded to 4 bytes) and each field's own length."""
    tid, length, fields = 0, 0, []
    for t in types:
        try:
            i, n = TYPES[t]
        except KeyError:
            raise ValueError(f"unknown nft type {t!r} (have: "
                             f"{', '.join(sorted(TYPES))})") from None
        tid = (tid << _TYPE_BITS) | i
        length += _round4(n)
        fields.append(n)
    return tid, length, tuple(fields)


_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


def _field(t: str, v) -> bytes:
    if type(v) in _ADDRESSES and t == ("ipv4_addr" if v.version == 4
                                       else "ipv6_addr"):
        return v.packed
    if t == "inet_service" and type(v) is int and 0 <= v < 65536:
        return v.to_bytes(2, "big")
    if t == "ipv4_addr":
        return ipaddress.IPv4Address(v).packed
    if t == "ipv6_addr":
        return ipaddress.IPv6Address(v).packed
    if t == "ifname":
        raw = v.encode() if isinstance(v, str) else bytes(v)
        if len(raw) >= 16:
            raise ValueError(f"interface name {v!r} is longer than 15 bytes")
        return raw.ljust(16, b"\0")
    if t == "inet_proto":
        if isinstance(v, str):
            v = socket.getprotobyname(v)
        return bytes([v])
    if t == "inet_service":
        return int(v).to_bytes(2, "big")
    if t == "mark":
        return int(v).to_bytes(4, "little")
    raise ValueError(f"cannot pack nft type {t!r}")


def pack(types: tuple, values: tuple) -> bytes:
    """The bytes of a key or data of ``types`` holding ``values``: each
    field in network order (interface names NUL-padded to 16), padded to
    4 bytes, as in the kernel's registers."""
    if len(types) != len(values):
        raise ValueError(f"{len(values)} values for {len(types)} fields")
    out = b""
    for t, v in zip(types, values):
        f = _field(t, v)
        out += f + b"\0" * (_round4(len(f)) - len(f))
    return out


def range_elems(network, data: Optional[bytes] = None) -> list:
    """The elements of a prefix in a single-field interval set (or map):
    its first address, and the address after its last as an interval end
    (none when the prefix reaches the end of the address space)."""
    net = ipaddress.ip_network(network, strict=False)
    out = [NftElem(net.network_address.packed, data=data)]
    after = int(net.broadcast_address) + 1
    if after < 2 ** net.max_prefixlen:
        out.append(NftElem(
            after.to_bytes(net.max_prefixlen // 8, "big"),
            interval_end=True))
    return out
