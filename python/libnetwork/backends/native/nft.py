"""The native backend's nftables transactions.

A run of nftables operations is one batch built by the C core --
``nlc_nft_begin``, one ``nlc_nft_*`` call per operation, ``nlc_nft_end``
-- and sent by ``nlc_nft_exec`` in one ``sendmsg`` on the namespace's
nfnetlink socket.  Python builds no netlink bytes: it hands the core the
operations' fields, rule expressions as ``struct nlc_nft_expr`` and set
elements as ``struct nlc_nft_elem`` over one blob of their bytes.

Every operation is one message but an element operation too large for one
(an element list is a netlink attribute: at most 64 KiB, some 1,500
elements), which is sent as several consecutive messages of the same
transaction; its result is theirs.  A set's ``NFTA_SET_ID`` is its
position among the run's ``NftSetAdd`` (from 1; :func:`encode` uses 1).
"""

from __future__ import annotations

import errno as E
import os

from ..._binding import ffi, lib
from .. import nft_ops as N

NETLINK_NETFILTER = 12
ABORTED = "not applied: the transaction was aborted"
_START_CAP = 64 * 1024
KEEP_CAP = 4 * 1024 * 1024      # a larger buffer is dropped after its run
_POLICIES = {None: -1, "drop": 0, "accept": 1}
#: byte order of nft's types in registers (nft keeps it in a set's user
#: data to show single-field keys and values right): host for strings and
#: marks, big endian for the rest
_HOST_ORDER = ("ifname", "mark")
_NULL = ffi.NULL


class _Full(Exception):
    """The batch buffer is too small: grow it and build again."""


# ---------------------------------------------------------- expressions

def _fill(e, x):
    t = type(x)
    u = e.u
    if t is N.Meta:
        e.kind = lib.NLC_NFT_META
        u.meta.key, u.meta.dreg = x.key, x.dreg
    elif t is N.Cmp:
        e.kind = lib.NLC_NFT_CMP
        u.cmp.op, u.cmp.sreg, u.cmp.len = x.op, x.sreg, len(x.data)
        ffi.memmove(u.cmp.data, x.data, len(x.data))
    elif t is N.Payload:
        e.kind = lib.NLC_NFT_PAYLOAD
        p = u.payload
        p.base, p.offset, p.len, p.dreg = x.base, x.offset, x.length, x.dreg
    elif t is N.Bitwise:
        e.kind = lib.NLC_NFT_BITWISE
        w = u.bitwise
        w.sreg, w.dreg, w.len = x.sreg, x.dreg, len(x.mask)
        ffi.memmove(w.mask, x.mask, len(x.mask))
        ffi.memmove(w.xor, x.xor, len(x.xor))
    elif t is N.Ct:
        e.kind = lib.NLC_NFT_CT
        u.ct.key, u.ct.dreg = x.key, x.dreg
    elif t is N.Fib:
        e.kind = lib.NLC_NFT_FIB
        u.fib.flags, u.fib.result, u.fib.dreg = x.flags, x.result, x.dreg
    elif t is N.Lookup:
        e.kind = lib.NLC_NFT_LOOKUP
        k = u.lookup
        k.sreg = x.sreg
        k.dreg = -1 if x.dreg is None else x.dreg
        k.invert = int(x.invert)
        k.set = x.set.encode()
    elif t is N.Verdict:
        e.kind = lib.NLC_NFT_VERDICT
        u.verdict.code = x.code
        if x.chain is not None:
            u.verdict.chain = x.chain.encode()
    elif t is N.Nat:
        e.kind = lib.NLC_NFT_NAT
        n = u.nat
        n.type, n.family, n.addr_reg = x.kind, x.family, x.addr_reg
        n.proto_reg = x.proto_reg or 0
        n.flags = x.flags
    elif t is N.Masq:
        e.kind = lib.NLC_NFT_MASQ
        u.masq.flags = x.flags
    else:
        raise TypeError(f"not an nftables expression: {x!r}")


def _exprs(exprs):
    arr = ffi.new("struct nlc_nft_expr[]", len(exprs))
    for i, x in enumerate(exprs):
        _fill(arr[i], x)
    return arr


def _elems(elements):
    """``(blob, descriptors)`` of the elements: their bytes in one blob,
    each element as offsets into it."""
    descs = ffi.new("struct nlc_nft_elem[]", len(elements))
    parts, off = [], 0
    for i, el in enumerate(elements):
        d = descs[i]
        k = el.key
        d.key_off, d.key_len = off, len(k)
        parts.append(k)
        off += len(k)
        if el.key_end is not None:
            d.key_end_off, d.key_end_len = off, len(el.key_end)
            parts.append(el.key_end)
            off += len(el.key_end)
        if el.verdict is not None:
            d.has_verdict, d.verdict = 1, el.verdict.code
            if el.verdict.chain is not None:
                c = el.verdict.chain.encode()
                d.chain_off, d.chain_len = off, len(c)
                parts.append(c)
                off += len(c)
        elif el.data is not None:
            d.data_off, d.data_len = off, len(el.data)
            parts.append(el.data)
            off += len(el.data)
        if el.interval_end:
            d.flags = lib.NLC_NFT_ELEM_INTERVAL_END
    return b"".join(parts), descs


# ------------------------------------------------------------- builders

def _order(types):
    """nft's byte order of a single-field key or value, else 0."""
    if types is None or len(types) != 1 or types[0] == "verdict":
        return 0
    return (lib.NLC_NFT_ORDER_HOST if types[0] in _HOST_ORDER
            else lib.NLC_NFT_ORDER_BIG)


def _put(b, op, prep, set_id):
    """Append ``op``'s message(s): ``(rc, count)`` -- rc < 0 is the core's
    error, count the messages appended."""
    t = type(op)
    fam = op.family
    if t is N.NftTableAdd:
        return lib.nlc_nft_table_add(
            b, fam, op.name.encode(),
            op.comment.encode() if op.comment else _NULL), 1
    if t is N.NftTableDel:
        return lib.nlc_nft_table_del(b, fam, op.name.encode(),
                                     int(op.missing_ok)), 1
    if t is N.NftChainAdd:
        base = op.hook is not None
        return lib.nlc_nft_chain_add(
            b, fam, op.table.encode(), op.name.encode(),
            N.HOOKS[op.hook] if base else -1, op.priority if base else 0,
            op.type.encode() if base else _NULL,
            _POLICIES[op.policy] if base else -1), 1
    if t is N.NftSetAdd:
        ktype, klen, kfields, dtype, dlen, flags = prep
        fields = ffi.new("uint8_t[]", kfields)
        return lib.nlc_nft_set_add(
            b, fam, op.table.encode(), op.name.encode(), set_id, flags,
            ktype, klen, fields, len(kfields), dtype, dlen,
            _order(op.key), _order(op.data)), 1
    if t is N.NftRuleAdd:
        return lib.nlc_nft_rule_add(
            b, fam, op.table.encode(), op.chain.encode(),
            _exprs(op.exprs), len(op.exprs)), 1
    if t is N.NftElemAdd or t is N.NftElemDel:
        blob, descs = _elems(op.elements)
        table, name = op.table.encode(), op.set.encode()
        delete = 0 if t is N.NftElemAdd else 2 if op.missing_ok else 1
        taken = ffi.new("size_t *")
        n, done, count = len(op.elements), 0, 0
        saved = (b.len, b.last, b.count)
        while done < n:
            rc = lib.nlc_nft_elems(b, delete, fam, table, name, blob,
                                   len(blob), descs + done, n - done, taken)
            if rc < 0:           # take back this op's earlier messages
                b.len, b.last, b.count = saved
                return rc, 0
            done += taken[0]
            count += 1
        return 0, count
    raise TypeError(f"not an nftables operation: {op!r}")


def build(b, items):
    """BEGIN, the messages of every ``(op, prep)``, END into ``b``.
    Returns ``(spans, None)`` -- each op's (first message, count) -- or
    ``(k, rc)`` when the core refused op k; raises _Full when ``b`` is too
    small."""
    lib.nlc_batch_reset(b)
    if lib.nlc_nft_begin(b) < 0:
        raise _Full
    spans, set_id = [], 0
    for k, (op, prep) in enumerate(items):
        if type(op) is N.NftSetAdd:
            set_id += 1
        first = b.count
        try:
            rc, count = _put(b, op, prep, set_id)
        except (OverflowError, TypeError, ValueError):
            rc, count = -E.EINVAL, 0     # a field C cannot hold
        if rc == -E.EMSGSIZE:
            raise _Full
        if rc < 0:
            return k, rc
        spans.append((first, count))
    if lib.nlc_nft_end(b) < 0:
        raise _Full
    return spans, None


class Scratch:
    """A batch buffer that grows to what a run needs."""

    def __init__(self, cap=_START_CAP):
        self.cap = cap
        self.buf = ffi.new("uint8_t[]", cap)
        self.batch = ffi.new("struct nlc_batch *")
        lib.nlc_batch_init(self.batch, self.buf, cap)

    def build(self, fn):
        """``fn(batch)``, again in a buffer twice as large while it raises
        _Full."""
        while True:
            try:
                return fn(self.batch)
            except _Full:
                self.__init__(self.cap * 2)


# -------------------------------------------------------------- results

def _op_result(res, first, count):
    """One op's (errno, message) from its messages' results: a refusal
    over a cancellation."""
    chosen = None
    for i in range(first, first + count):
        r = res[i]
        if r.err and (chosen is None or chosen.err == -E.ECANCELED):
            chosen = r
    if chosen is None:
        return 0, ""
    return -chosen.err, ffi.string(chosen.msg).decode(errors="replace")


def results(res, spans, rc):
    """Per op (errno, message) after ``nlc_nft_exec`` returned ``rc``."""
    outs = [_op_result(res, first, count) for first, count in spans]
    if rc >= 0:
        return outs
    # the exchange failed: an op acknowledged with 0 is not known to be
    # applied; a refusal seen means the kernel aborted
    refused = any(e not in (0, -rc, E.ECANCELED) for e, _ in outs)
    failed = []
    for e, msg in outs:
        if refused:
            failed.append((e, msg) if e not in (0, -rc) else
                          (E.ECANCELED, ABORTED))
        else:
            failed.append((-rc, f"nftables transaction: {os.strerror(-rc)}"))
    return failed


def refused(items, k, rc):
    """Results of a run the core refused to build (op k): nothing sent."""
    outs = [(E.ECANCELED, ABORTED)] * len(items)
    outs[k] = (-rc, f"{type(items[k][0]).__name__}: {os.strerror(-rc)}")
    return outs


def encode(op, prep) -> bytes:
    """The message(s) of one nftables operation, without BEGIN and END."""
    def one(b):
        lib.nlc_batch_reset(b)
        rc, _ = _put(b, op, prep, 1)
        if rc == -E.EMSGSIZE:
            raise _Full
        if rc < 0:
            raise OSError(-rc, os.strerror(-rc))
        return ffi.buffer(b.buf, b.len)[:]
    return Scratch(4096).build(one)


def run(sock, scratch, res_for, items):
    """Build and send one transaction: ``(outs, sendmsg calls)``."""
    built = scratch.build(lambda b: build(b, items))
    spans, err = built
    if err is not None:
        return refused(items, spans, err), 0
    b = scratch.batch
    res = res_for(b.count)
    before = lib.nlc_sock_sendmsg_count(sock)
    rc = lib.nlc_nft_exec(sock, b, res)
    sent = lib.nlc_sock_sendmsg_count(sock) - before
    if rc == -E.EINVAL and not sent:
        return [(E.EINVAL, "nftables: the batch was refused unsent")] * \
            len(items), 0
    return results(res, spans, rc), sent
