"""Validation of the nftables operations (:mod:`.nft_ops`) and of
:class:`~.ops.Sysctl`, before anything is sent: names, families, types,
expressions and elements.  The prepared form of an nftables operation is
``None`` (backends encode from the operation itself) but for
:class:`~.nft_ops.NftSetAdd`, whose key and data shapes are computed here
once: ``(key type, key length, key field lengths, data type, data length,
flags)``.
"""

from __future__ import annotations

import re

from ..errors import InvalidParameter
from . import nft_ops as N

NAME_MAX = 255          # NFT_NAME_MAXLEN - 1
COMMENT_MAX = 127       # NFT_USERDATA_MAXLEN allows more; nft's is 128


def _bad(op, field, value, why):
    return InvalidParameter(f"{type(op).__name__}.{field}={value!r}: {why}")


def _name(op, field, value):
    if not isinstance(value, str) or not value or "\0" in value \
            or len(value.encode()) > NAME_MAX:
        raise _bad(op, field, value, f"a name is 1 to {NAME_MAX} bytes "
                   "without NUL")


def _common(op):
    if op.family not in N.FAMILIES:
        raise _bad(op, "family", op.family,
                   f"one of {sorted(N.FAMILIES)} (inet, ip, ip6)")
    if op.ns is not None and (not isinstance(op.ns, str) or not op.ns):
        raise _bad(op, "ns", op.ns, "a namespace path or None")


def _table(op):
    _common(op)
    _name(op, "name", op.name)
    if getattr(op, "comment", None) is not None:
        c = op.comment
        if not isinstance(c, str) or "\0" in c or \
                len(c.encode()) > COMMENT_MAX:
            raise _bad(op, "comment", c,
                       f"a comment is at most {COMMENT_MAX} bytes")
    return None


def _chain(op):
    _common(op)
    _name(op, "table", op.table)
    _name(op, "name", op.name)
    if op.hook is None:
        if op.policy is not None:
            raise _bad(op, "policy", op.policy,
                       "only a base chain (with a hook) has a policy")
        return None
    if op.hook not in N.HOOKS:
        raise _bad(op, "hook", op.hook, f"one of {', '.join(N.HOOKS)}")
    if op.type not in N.CHAIN_TYPES:
        raise _bad(op, "type", op.type, f"one of {', '.join(N.CHAIN_TYPES)}")
    if op.policy not in (None, "accept", "drop"):
        raise _bad(op, "policy", op.policy, "accept or drop")
    if isinstance(op.priority, bool) or not isinstance(op.priority, int) \
            or not -2**31 <= op.priority < 2**31:
        raise _bad(op, "priority", op.priority, "a 32-bit integer")
    return None


def _types(op, field, types):
    if not isinstance(types, tuple) or not types:
        raise _bad(op, field, types, "a non-empty tuple of type names")
    if "verdict" in types and (field == "key" or len(types) != 1):
        raise _bad(op, field, types, "verdict is a map's whole data type")
    try:
        return N.type_shape(types)
    except ValueError as exc:
        raise _bad(op, field, types, str(exc)) from None


def _set(op):
    _common(op)
    _name(op, "table", op.table)
    _name(op, "name", op.name)
    ktype, klen, kfields = _types(op, "key", op.key)
    flags = 0
    if op.interval:
        flags |= N.SET_INTERVAL
    if len(op.key) > 1:
        flags |= N.SET_CONCAT
    dtype = dlen = 0
    if op.data is not None:
        flags |= N.SET_MAP
        if op.data == ("verdict",):
            dtype = N.DATA_VERDICT
        else:
            dtype, dlen, _ = _types(op, "data", op.data)
    return (ktype, klen, kfields, dtype, dlen, flags)


_REG_MAX = 23


def _reg(op, what, r, verdict_ok=False):
    if isinstance(r, bool) or not isinstance(r, int) or not (
            (verdict_ok and r == 0) or 1 <= r <= 4 or 8 <= r <= _REG_MAX):
        raise _bad(op, "exprs", r, f"{what}: not a data register")


def _expr(op, e):
    t = type(e)
    if t not in N.EXPRESSIONS:
        raise _bad(op, "exprs", e, "not an nftables expression")
    for f in ("sreg", "dreg", "addr_reg", "proto_reg"):
        r = getattr(e, f, None)
        if r is not None:
            _reg(op, f"{t.__name__}.{f}", r,
                 verdict_ok=t is N.Lookup and f == "dreg")
    for f in ("data", "mask", "xor"):
        v = getattr(e, f, None)
        if v is not None and (not isinstance(v, bytes) or not 0 < len(v)
                              <= 64):
            raise _bad(op, "exprs", e, f"{t.__name__}.{f}: 1 to 64 bytes")
    if t is N.Bitwise and len(e.mask) != len(e.xor):
        raise _bad(op, "exprs", e, "Bitwise mask and xor differ in length")
    if t is N.Lookup:
        _name(op, "exprs", e.set)
    if t is N.Verdict:
        _verdict(op, "exprs", e)
    if t is N.Nat and (e.kind not in (N.NAT_SNAT, N.NAT_DNAT)
                       or e.family not in (N.IPV4, N.IPV6)):
        raise _bad(op, "exprs", e, "Nat: snat/dnat over ip or ip6")


def _verdict(op, field, v):
    if v.code not in N.VERDICTS.values():
        raise _bad(op, field, v, "not a verdict code")
    if (v.code in (N.JUMP, N.GOTO)) != (v.chain is not None):
        raise _bad(op, field, v, "jump and goto (only) name a chain")
    if v.chain is not None:
        _name(op, field, v.chain)


def _rule(op):
    _common(op)
    _name(op, "table", op.table)
    _name(op, "chain", op.chain)
    if not isinstance(op.exprs, tuple) or not op.exprs:
        raise _bad(op, "exprs", op.exprs, "a non-empty tuple of expressions")
    for e in op.exprs:
        _expr(op, e)
    return None


def _elems(op):
    _common(op)
    _name(op, "table", op.table)
    _name(op, "set", op.set)
    if not isinstance(op.elements, tuple) or not op.elements:
        raise _bad(op, "elements", op.elements,
                   "a non-empty tuple of NftElem")
    for el in op.elements:
        if type(el) is not N.NftElem:
            raise _bad(op, "elements", el, "not an NftElem")
        for f in ("key", "key_end", "data"):
            v = getattr(el, f)
            if v is None and f == "key":
                raise _bad(op, "elements", el, "an element needs a key")
            if v is not None and (not isinstance(v, bytes) or not v
                                  or len(v) > 64 or len(v) % 4):
                raise _bad(op, "elements", el, f"{f}: 4 to 64 bytes, "
                           "a multiple of 4 (see nft_ops.pack)")
        if el.verdict is not None:
            if el.data is not None:
                raise _bad(op, "elements", el, "data or verdict, not both")
            _verdict(op, "elements", el.verdict)
    return None


_SYSCTL = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.@:-]+)+$")


def _sysctl(op):
    if not isinstance(op.key, str) or not _SYSCTL.match(op.key) or \
            ".." in op.key.split("/"):
        raise _bad(op, "key", op.key,
                   "a path under /proc/sys such as net/ipv4/ip_forward")
    if not isinstance(op.value, str) or "\n" in op.value or not op.value:
        raise _bad(op, "value", op.value, "a one-line value")
    return None


PREPARE = {
    N.NftTableAdd: _table, N.NftTableDel: _table, N.NftChainAdd: _chain,
    N.NftSetAdd: _set, N.NftRuleAdd: _rule, N.NftElemAdd: _elems,
    N.NftElemDel: _elems,
}
