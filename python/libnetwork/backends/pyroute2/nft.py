"""nftables in the pyroute2 backend: the messages of the nft operations
(:mod:`..nft_ops`), built with pyroute2's nftables classes
(:mod:`.nft_msgs`), and one transaction per run on an nfnetlink socket.

Messages
--------

Each operation is one message (but see *Large element lists*): netlink
header (sequence 0 and port 0 from :func:`encode`; the sender numbers
them), ``nfgenmsg`` (family = the operation's, version 0 =
``NFNETLINK_V0``, ``res_id`` 0), then the attributes.  Attributes come in
ascending order of their ``NFTA_*`` numbers, at every level, and only
those listed; every nest is flagged ``NLA_F_NESTED``, list elements
(expressions, set elements, concat fields) are ``NFTA_LIST_ELEM`` (1):

    ============  ===========  =========================================
    operation     type, flags  attributes (nests in {})
    ============  ===========  =========================================
    NftTableAdd   NEWTABLE c   NAME, USERDATA (comment: nftnl TLV type 0
                               = NFTNL_UDATA_TABLE_COMMENT, length,
                               text + NUL) when a comment is given
    NftTableDel   DELTABLE     NAME
    NftChainAdd   NEWCHAIN c   TABLE NAME; a base chain also HOOK{HOOKNUM
                               PRIORITY} POLICY (when given: accept 1,
                               drop 0) TYPE
    NftSetAdd     NEWSET c     TABLE NAME FLAGS KEY_TYPE KEY_LEN
                               DATA_TYPE (a map) DATA_LEN (a map but a
                               verdict map) DESC{CONCAT{ELEM{FIELD_LEN}
                               ...}} (a key of 2+ fields) ID (1)
                               USERDATA (byte orders, below)
    NftRuleAdd    NEWRULE c|a  TABLE CHAIN EXPRESSIONS{ELEM{NAME DATA{}}}
    NftElemAdd    NEWSETELEM c TABLE SET ELEMENTS{ELEM{KEY{VALUE}
    NftElemDel    DELSETELEM   DATA{VALUE | VERDICT{CODE CHAIN}} FLAGS
                               (1 = INTERVAL_END, only then)
                               KEY_END{VALUE}} ...}
    ============  ===========  =========================================

The kernel wants a set's ``NFTA_SET_ID`` (a transaction-local id); it is
always 1, as nothing refers to a set by id (rules and elements name it).
A set's ``NFTA_SET_USERDATA`` is for nft, which without it prints an
interface name key backwards (``""``): nftnl TLVs (type byte, length
byte, value) ``NFTNL_UDATA_SET_KEYBYTEORDER`` (type 0) and, for a map,
``NFTNL_UDATA_SET_DATABYTEORDER`` (type 1), each a host-order u32 as nft
writes it: 1 (host endian) for one ``ifname`` or ``mark`` field, 2 (big
endian) for one field of another type, 0 for a concatenation or a
verdict.

Types are ``NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*``; every message has
``NLM_F_REQUEST | NLM_F_ACK``, ``c``: also ``NLM_F_CREATE`` (never
``NLM_F_EXCL``: adding what exists is no error), ``a``: ``NLM_F_APPEND``.

Expressions (``NFTA_EXPR_DATA`` of each; every register a be32):

    ========  ==========  ===============================================
    class     NAME        DATA
    ========  ==========  ===============================================
    Meta      meta        DREG KEY
    Cmp       cmp         SREG OP DATA{VALUE}
    Payload   payload     DREG BASE OFFSET LEN
    Bitwise   bitwise     SREG DREG LEN MASK{VALUE} XOR{VALUE} (no OP)
    Ct        ct          DREG KEY
    Fib       fib         DREG RESULT FLAGS
    Lookup    lookup      SET SREG DREG (a map) FLAGS (1, inverted only)
    Verdict   immediate   DREG (0) DATA{VERDICT{CODE CHAIN (jump/goto)}}
    Nat       nat         TYPE FAMILY REG_ADDR_MIN REG_ADDR_MAX
                          REG_PROTO_MIN REG_PROTO_MAX (with proto_reg)
                          FLAGS (when not 0)
    Masq      masq        FLAGS (when not 0); else an empty DATA nest
    ========  ==========  ===============================================

Large element lists
-------------------

An attribute's length is 16 bits, so ``NFTA_SET_ELEM_LIST_ELEMENTS``
holds at most 65,535 bytes (its header included).  An element operation
whose elements do not fit is sent as several messages, in order, each
with the same header and TABLE/SET and as many of the next elements as
fit; :func:`encode` returns them concatenated.  They belong to the same
transaction, and the operation's result is its messages' first error.

The transaction
---------------

``NFNL_MSG_BATCH_BEGIN``, the messages, ``NFNL_MSG_BATCH_END`` (bare
``nfgenmsg``, ``NLM_F_REQUEST`` only, family 0, ``res_id`` =
``NFNL_SUBSYS_NFTABLES``) go in one ``send``, numbered consecutively from
the socket's next sequence (:func:`.transport.batch`: the send buffer is
raised to hold them and the receive buffer to hold every ack, which are
mapped to the contract's all-or-nothing results).  The socket is
nfnetlink (``NETLINK_NETFILTER``), with ``NETLINK_EXT_ACK`` and
``NETLINK_CAP_ACK`` (an ack echoes only the refused message's header).
"""

from __future__ import annotations

import socket
import struct

from pyroute2.netlink import (
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST)
from pyroute2.netlink.nfnetlink import NFNL_SUBSYS_NFTABLES
from pyroute2.netlink.nfnetlink.nftsocket import (
    NFT_MSG_DELSETELEM, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE,
    NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE)

from .. import nft_ops as N
from . import nft_msgs as M

# Linux 6.3: delete, without an error when the object is not there
NFT_MSG_DESTROYTABLE = 26
NFT_MSG_DESTROYSETELEM = 30
from . import transport

__all__ = ["encode", "messages", "transaction", "ENCODERS",
           "NETLINK_NETFILTER"]

NETLINK_NETFILTER = 12
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11
NFT_LOOKUP_F_INV = 0x1
SET_ID = 1
BYTEORDER_INVALID, BYTEORDER_HOST_ENDIAN, BYTEORDER_BIG_ENDIAN = 0, 1, 2
HOST_ENDIAN = frozenset({"ifname", "mark"})      # nft's host-order types

_REQ = NLM_F_REQUEST | NLM_F_ACK
_NEW = _REQ | NLM_F_CREATE
_ELEMS_MAX = 0xFFFF
_POLICY = {"accept": N.ACCEPT, "drop": N.DROP}


def _msg(cls, cmd, flags, family, attrs):
    m = cls()
    m["header"]["type"] = NFNL_SUBSYS_NFTABLES << 8 | cmd
    m["header"]["flags"] = flags
    m["header"]["sequence_number"] = 0
    m["header"]["pid"] = 0
    m["nfgen_family"] = family
    m["version"] = 0
    m["res_id"] = 0
    m["attrs"] = attrs
    return m


def _wire(m) -> bytes:
    m.encode()
    return bytes(m.data)


def _value(raw: bytes):
    return {"attrs": [("NFTA_DATA_VALUE", raw)]}


def _verdict(v: N.Verdict):
    attrs = [("NFTA_VERDICT_CODE", v.code)]
    if v.chain is not None:
        attrs.append(("NFTA_VERDICT_CHAIN", v.chain))
    return {"attrs": [("NFTA_DATA_VERDICT", {"attrs": attrs})]}


# ----------------------------------------------------------- expressions
# each: expression -> (NFTA_EXPR_NAME, NFTA_EXPR_DATA attributes)

def _meta(e):
    return "meta", [("NFTA_META_DREG", e.dreg), ("NFTA_META_KEY", e.key)]


def _cmp(e):
    return "cmp", [("NFTA_CMP_SREG", e.sreg), ("NFTA_CMP_OP", e.op),
                   ("NFTA_CMP_DATA", _value(e.data))]


def _payload(e):
    return "payload", [("NFTA_PAYLOAD_DREG", e.dreg),
                       ("NFTA_PAYLOAD_BASE", e.base),
                       ("NFTA_PAYLOAD_OFFSET", e.offset),
                       ("NFTA_PAYLOAD_LEN", e.length)]


def _bitwise(e):
    return "bitwise", [("NFTA_BITWISE_SREG", e.sreg),
                       ("NFTA_BITWISE_DREG", e.dreg),
                       ("NFTA_BITWISE_LEN", len(e.mask)),
                       ("NFTA_BITWISE_MASK", _value(e.mask)),
                       ("NFTA_BITWISE_XOR", _value(e.xor))]


def _ct(e):
    return "ct", [("NFTA_CT_DREG", e.dreg), ("NFTA_CT_KEY", e.key)]


def _fib(e):
    return "fib", [("NFTA_FIB_DREG", e.dreg), ("NFTA_FIB_RESULT", e.result),
                   ("NFTA_FIB_FLAGS", e.flags)]


def _lookup(e):
    attrs = [("NFTA_LOOKUP_SET", e.set), ("NFTA_LOOKUP_SREG", e.sreg)]
    if e.dreg is not None:
        attrs.append(("NFTA_LOOKUP_DREG", e.dreg))
    if e.invert:
        attrs.append(("NFTA_LOOKUP_FLAGS", NFT_LOOKUP_F_INV))
    return "lookup", attrs


def _immediate(e):
    return "immediate", [("NFTA_IMMEDIATE_DREG", N.REG_VERDICT),
                         ("NFTA_IMMEDIATE_DATA", _verdict(e))]


def _nat(e):
    attrs = [("NFTA_NAT_TYPE", e.kind), ("NFTA_NAT_FAMILY", e.family),
             ("NFTA_NAT_REG_ADDR_MIN", e.addr_reg),
             ("NFTA_NAT_REG_ADDR_MAX", e.addr_reg)]
    if e.proto_reg is not None:
        attrs += [("NFTA_NAT_REG_PROTO_MIN", e.proto_reg),
                  ("NFTA_NAT_REG_PROTO_MAX", e.proto_reg)]
    if e.flags:
        attrs.append(("NFTA_NAT_FLAGS", e.flags))
    return "nat", attrs


def _masq(e):
    return "masq", [("NFTA_MASQ_FLAGS", e.flags)] if e.flags else []


EXPRESSIONS = {
    N.Meta: _meta, N.Cmp: _cmp, N.Payload: _payload, N.Bitwise: _bitwise,
    N.Ct: _ct, N.Fib: _fib, N.Lookup: _lookup, N.Verdict: _immediate,
    N.Nat: _nat, N.Masq: _masq,
}


def _expr(e):
    name, attrs = EXPRESSIONS[type(e)](e)
    return {"attrs": [("NFTA_EXPR_NAME", name),
                      ("NFTA_EXPR_DATA", {"attrs": attrs})]}


# --------------------------------------------------------------- messages
# each: (op, prepared) -> [pyroute2 message, ...]

def table_add(op, prep):
    """``nft add table FAMILY NAME [{ comment "C" }]``"""
    attrs = [("NFTA_TABLE_NAME", op.name)]
    if op.comment is not None:
        attrs.append(("NFTA_TABLE_USERDATA", [
            ("NFTNL_UDATA_TABLE_COMMENT", op.comment.encode() + b"\0")]))
    return [_msg(M.table_msg, NFT_MSG_NEWTABLE, _NEW, op.family, attrs)]


def table_del(op, prep):
    """``nft delete table FAMILY NAME`` (``destroy`` with
    ``missing_ok``)"""
    return [_msg(M.table_msg, NFT_MSG_DESTROYTABLE if op.missing_ok
                 else NFT_MSG_DELTABLE, _REQ, op.family,
                 [("NFTA_TABLE_NAME", op.name)])]


def chain_add(op, prep):
    """``nft add chain FAMILY TABLE NAME [{ type T hook H priority P;
    policy P; }]``"""
    attrs = [("NFTA_CHAIN_TABLE", op.table), ("NFTA_CHAIN_NAME", op.name)]
    if op.hook is not None:
        attrs.append(("NFTA_CHAIN_HOOK", {"attrs": [
            ("NFTA_HOOK_HOOKNUM", N.HOOKS[op.hook]),
            ("NFTA_HOOK_PRIORITY", op.priority)]}))
        if op.policy is not None:
            attrs.append(("NFTA_CHAIN_POLICY", _POLICY[op.policy]))
        attrs.append(("NFTA_CHAIN_TYPE", op.type))
    return [_msg(M.chain_msg, NFT_MSG_NEWCHAIN, _NEW, op.family, attrs)]


def _byteorder(types) -> bytes:
    """nft's byte order of a key or data made of ``types`` (see above)."""
    if len(types) > 1 or types[0] == "verdict":
        order = BYTEORDER_INVALID
    elif types[0] in HOST_ENDIAN:
        order = BYTEORDER_HOST_ENDIAN
    else:
        order = BYTEORDER_BIG_ENDIAN
    return struct.pack("=I", order)


def set_add(op, prep):
    """``nft add {set|map} FAMILY TABLE NAME { type K [: D]; [flags
    interval;] }``"""
    ktype, klen, kfields, dtype, dlen, flags = prep
    attrs = [("NFTA_SET_TABLE", op.table), ("NFTA_SET_NAME", op.name),
             ("NFTA_SET_FLAGS", flags), ("NFTA_SET_KEY_TYPE", ktype),
             ("NFTA_SET_KEY_LEN", klen)]
    if op.data is not None:
        attrs.append(("NFTA_SET_DATA_TYPE", dtype))
        if dtype != N.DATA_VERDICT:
            attrs.append(("NFTA_SET_DATA_LEN", dlen))
    if len(kfields) > 1:
        attrs.append(("NFTA_SET_DESC", {"attrs": [
            ("NFTA_SET_DESC_CONCAT", [
                {"attrs": [("NFTA_SET_FIELD_LEN", n)]} for n in kfields])]}))
    attrs.append(("NFTA_SET_ID", SET_ID))
    udata = [("NFTNL_UDATA_SET_KEYBYTEORDER", _byteorder(op.key))]
    if op.data is not None:
        udata.append(("NFTNL_UDATA_SET_DATABYTEORDER", _byteorder(op.data)))
    attrs.append(("NFTA_SET_USERDATA", udata))
    return [_msg(M.set_msg, NFT_MSG_NEWSET, _NEW, op.family, attrs)]


def rule_add(op, prep):
    """``nft add rule FAMILY TABLE CHAIN ...``"""
    return [_msg(M.rule_msg, NFT_MSG_NEWRULE, _NEW | NLM_F_APPEND,
                 op.family, [("NFTA_RULE_TABLE", op.table),
                             ("NFTA_RULE_CHAIN", op.chain),
                             ("NFTA_RULE_EXPRESSIONS",
                              [_expr(e) for e in op.exprs])])]


def _pad(n: int) -> int:
    return (n + 3) & ~3


def elem_size(el: N.NftElem) -> int:
    """Bytes of ``el``'s ``NFTA_LIST_ELEM`` nest, header included (keys
    and data are multiples of 4 bytes: no padding)."""
    n = 4 + 8 + len(el.key)
    if el.key_end is not None:
        n += 8 + len(el.key_end)
    if el.data is not None:
        n += 8 + len(el.data)
    elif el.verdict is not None:
        n += 16
        if el.verdict.chain is not None:
            n += 4 + _pad(len(el.verdict.chain.encode()) + 1)
    if el.interval_end:
        n += 8
    return n


def _elem(el: N.NftElem):
    attrs = [("NFTA_SET_ELEM_KEY", _value(el.key))]
    if el.data is not None:
        attrs.append(("NFTA_SET_ELEM_DATA", _value(el.data)))
    elif el.verdict is not None:
        attrs.append(("NFTA_SET_ELEM_DATA", _verdict(el.verdict)))
    if el.interval_end:
        attrs.append(("NFTA_SET_ELEM_FLAGS", N.ELEM_INTERVAL_END))
    if el.key_end is not None:
        attrs.append(("NFTA_SET_ELEM_KEY_END", _value(el.key_end)))
    return {"attrs": attrs}


def chunks(elements) -> list:
    """``elements`` cut into the lists that each fit one
    ``NFTA_SET_ELEM_LIST_ELEMENTS`` (at most 65,535 bytes)."""
    out, cur, size = [], [], 4
    for el in elements:
        n = elem_size(el)
        if cur and size + n > _ELEMS_MAX:
            out.append(cur)
            cur, size = [], 4
        cur.append(el)
        size += n
    if cur:
        out.append(cur)
    return out


def _elems(op, cmd, flags):
    head = [("NFTA_SET_ELEM_LIST_TABLE", op.table),
            ("NFTA_SET_ELEM_LIST_SET", op.set)]
    return [_msg(M.elem_msg, cmd, flags, op.family, head + [
        ("NFTA_SET_ELEM_LIST_ELEMENTS", [_elem(el) for el in part])])
        for part in chunks(op.elements)]


def elem_add(op, prep):
    """``nft add element FAMILY TABLE SET { ... }``"""
    return _elems(op, NFT_MSG_NEWSETELEM, _NEW)


def elem_del(op, prep):
    """``nft delete element FAMILY TABLE SET { ... }`` (``destroy`` with
    ``missing_ok``)"""
    return _elems(op, NFT_MSG_DESTROYSETELEM if op.missing_ok
                  else NFT_MSG_DELSETELEM, _REQ)


ENCODERS = {
    N.NftTableAdd: table_add, N.NftTableDel: table_del,
    N.NftChainAdd: chain_add, N.NftSetAdd: set_add, N.NftRuleAdd: rule_add,
    N.NftElemAdd: elem_add, N.NftElemDel: elem_del,
}


def messages(op, prep) -> list:
    """The messages of ``op`` (usually one), each as bytes with sequence
    number and port id 0."""
    return [_wire(m) for m in ENCODERS[type(op)](op, prep)]


def encode(op, prep) -> bytes:
    """What ``op`` is sent as, without batch begin and end: its message,
    or its messages concatenated (see *Large element lists*)."""
    return b"".join(messages(op, prep))


def _batch(cmd) -> bytes:
    m = M.batch_msg()
    m["header"]["type"] = cmd
    m["header"]["flags"] = NLM_F_REQUEST
    m["header"]["sequence_number"] = 0
    m["header"]["pid"] = 0
    m["nfgen_family"] = socket.AF_UNSPEC
    m["version"] = 0
    m["res_id"] = NFNL_SUBSYS_NFTABLES
    return _wire(m)


_BEGIN = _batch(NFNL_MSG_BATCH_BEGIN)
_END = _batch(NFNL_MSG_BATCH_END)


def transaction(conn, msgs: list) -> list:
    """Send ``msgs`` (per item, its messages from :func:`messages`) as one
    transaction in one ``send``; ``(errno, message)`` per item (see
    :func:`.transport.batch`)."""
    return transport.batch(conn, _BEGIN, msgs, _END)
