"""The native backend's nftables messages, without a kernel: each operation
encoded by the C core (``NativeBackend.encode``) and decoded by pyroute2's
nft message classes, an independent oracle; numbers are read from the
attributes' own bytes (pyroute2 names some of them wrongly, e.g. fib's)
and compared with what the operation says, per the kernel's
``nf_tables.h``.  Also: a run's framing (batch begin/end, set ids), an
element operation too large for one message, and how the kernel's acks
become results.

Needs the built core and a netlink socket in the current namespace (no
root: encode() sends nothing).
"""

from __future__ import annotations

import errno
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)
pytest.importorskip("pyroute2")

from pyroute2.netlink.nfnetlink.nftsocket import (  # noqa: E402
    nft_chain_msg, nft_rule_msg, nft_set_elem_list_msg, nft_set_msg,
    nft_table_msg)

from libnetwork._binding import ffi, lib  # noqa: E402
from libnetwork.backends import nft_ops as N  # noqa: E402
from libnetwork.backends.native import NativeBackend, nft  # noqa: E402
from libnetwork.backends.nft_validate import PREPARE  # noqa: E402
from libnetwork.errors import InvalidParameter  # noqa: E402
from libnetwork.firewall import ruleset  # noqa: E402

NFT = 10 << 8                                   # NFNL_SUBSYS_NFTABLES
NEWTABLE, DELTABLE, NEWCHAIN, NEWRULE = NFT | 0, NFT | 2, NFT | 3, NFT | 6
NEWSET, NEWSETELEM, DELSETELEM = NFT | 9, NFT | 12, NFT | 14
REQ, ACK, EXCL, CREATE, APPEND = 0x1, 0x4, 0x200, 0x400, 0x800


@pytest.fixture(scope="module")
def be():
    b = NativeBackend()
    yield b
    b.close()


def be32(v):
    return struct.pack(">I", v & 0xffffffff)


def tlvs(buf):
    """{type: payload} of the attributes in ``buf`` (flags masked)."""
    out, at = {}, 0
    while at + 4 <= len(buf):
        length, typ = struct.unpack_from("=HH", buf, at)
        assert 4 <= length <= len(buf) - at
        out[typ & 0x3fff] = bytes(buf[at + 4:at + length])
        at += (length + 3) & ~3
    assert at == len(buf) or at - len(buf) < 4
    return out


def payload(nla):
    """The bytes inside a decoded pyroute2 attribute."""
    return bytes(nla.data[nla.offset + 4:nla.offset + nla.length])


def decode(cls, data):
    length, mtype, flags, seq, pid = struct.unpack_from("=IHHII", data)
    assert length == len(data) and (seq, pid) == (0, 0)
    msg = cls(data)
    msg.decode()
    return msg, mtype, flags


def value(b):
    """NFTA_DATA_VALUE nested in ``b`` (an nft_data attribute)."""
    return tlvs(b)[1]


# ------------------------------------------------------- tables, chains

def test_table(be):
    m, t, f = decode(nft_table_msg, be.encode(
        N.NftTableAdd("libnetwork_x", comment="a comment")))
    assert (t, f) == (NEWTABLE, REQ | ACK | CREATE)
    assert m["nfgen_family"] == N.INET and m["res_id"] == 0
    assert m.get_attr("NFTA_TABLE_NAME") == "libnetwork_x"
    assert m.get_attr("NFTA_TABLE_FLAGS") == 0
    assert m.get_attr("NFTA_TABLE_USERDATA") == "a comment"
    m, _, _ = decode(nft_table_msg, be.encode(N.NftTableAdd("x",
                                                            family=N.IPV6)))
    assert m["nfgen_family"] == N.IPV6
    assert m.get_attr("NFTA_TABLE_USERDATA") is None
    m, t, f = decode(nft_table_msg, be.encode(N.NftTableDel("x")))
    assert (t, f) == (DELTABLE, REQ | ACK)
    assert [a[0] for a in m["attrs"]] == ["NFTA_TABLE_NAME"]


@pytest.mark.parametrize("name", list(ruleset.CHAINS))
def test_chains(be, name):
    hook, prio, ctype, policy = ruleset.CHAINS[name]
    m, t, f = decode(nft_chain_msg, be.encode(
        N.NftChainAdd("t", name, hook, prio, ctype, policy)))
    assert (t, f) == (NEWCHAIN, REQ | ACK | CREATE)
    assert m.get_attr("NFTA_CHAIN_TABLE") == "t"
    assert m.get_attr("NFTA_CHAIN_NAME") == name
    if hook is None:
        assert len(m["attrs"]) == 2
        return
    h = tlvs(payload(m.get_attr("NFTA_CHAIN_HOOK")))
    assert h == {1: be32(N.HOOKS[hook]), 2: be32(prio)}
    assert m.get_attr("NFTA_CHAIN_TYPE") == ctype
    assert m.get_attr("NFTA_CHAIN_POLICY") == {"accept": 1, "drop": 0}[policy]


# ----------------------------------------------------------------- sets

@pytest.mark.parametrize("name", list(ruleset.SETS))
def test_sets(be, name):
    key, data, interval = ruleset.SETS[name]
    op = N.NftSetAdd("t", name, key, data, interval)
    m, t, f = decode(nft_set_msg, be.encode(op))
    assert (t, f) == (NEWSET, REQ | ACK | CREATE)
    a = tlvs(m.data[20:m["header"]["length"]])
    ktype, klen, kfields = N.type_shape(key)
    flags = (N.SET_INTERVAL if interval else 0) | \
        (N.SET_CONCAT if len(key) > 1 else 0) | (N.SET_MAP if data else 0)
    assert m.get_attr("NFTA_SET_NAME") == name
    assert a[3] == be32(flags)                          # NFTA_SET_FLAGS
    assert (a[4], a[5]) == (be32(ktype), be32(klen))
    assert a[10] == be32(1)                 # NFTA_SET_ID: encode() uses 1
    if data == ("verdict",):
        assert (a[6], a[7]) == (be32(N.DATA_VERDICT), be32(0))
    elif data:
        dtype, dlen, _ = N.type_shape(data)
        assert (a[6], a[7]) == (be32(dtype), be32(dlen))
    else:
        assert 6 not in a and 7 not in a
    if len(key) > 1:                # NFTA_SET_DESC { CONCAT { ELEM ... } }
        concat = tlvs(a[9])[2]
        lens, at = [], 0
        while at < len(concat):
            n = struct.unpack_from("=H", concat, at)[0]
            lens.append(struct.unpack(">I", tlvs(concat[at + 4:at + n])[1])[0])
            at += (n + 3) & ~3
        assert tuple(lens) == kfields
    else:
        assert 9 not in a
    # nft's byte orders in the user data: single fields only
    ud = dict(m.get_attr("NFTA_SET_USERDATA") or [])
    order = {"ifname": 1}.get(key[0], 2)
    assert ud.get("NFTNL_UDATA_SET_KEYBYTEORDER") == (
        struct.pack("=I", order) if len(key) == 1 else None)
    want = None
    if data and len(data) == 1 and data != ("verdict",):
        want = struct.pack("=I", 2)
    assert ud.get("NFTNL_UDATA_SET_DATABYTEORDER") == want


# ---------------------------------------------------------------- rules

EXPR_NAMES = {N.Meta: "meta", N.Cmp: "cmp", N.Payload: "payload",
              N.Bitwise: "bitwise", N.Ct: "ct", N.Fib: "fib",
              N.Lookup: "lookup", N.Verdict: "immediate", N.Nat: "nat",
              N.Masq: "masq"}


def expected(x):
    """{attribute type: payload} of an expression, from nf_tables.h."""
    t = type(x)
    if t is N.Meta:
        return {2: be32(x.key), 1: be32(x.dreg)}
    if t is N.Ct:
        return {2: be32(x.key), 1: be32(x.dreg)}
    if t is N.Cmp:
        return {1: be32(x.sreg), 2: be32(x.op), 3: x.data}
    if t is N.Payload:
        return {1: be32(x.dreg), 2: be32(x.base), 3: be32(x.offset),
                4: be32(x.length)}
    if t is N.Bitwise:
        return {1: be32(x.sreg), 2: be32(x.dreg), 3: be32(len(x.mask)),
                4: x.mask, 5: x.xor}
    if t is N.Fib:
        return {3: be32(x.flags), 2: be32(x.result), 1: be32(x.dreg)}
    if t is N.Lookup:
        out = {2: be32(x.sreg), 1: x.set.encode() + b"\0"}
        if x.dreg is not None:
            out[3] = be32(x.dreg)
        if x.invert:
            out[5] = be32(1)                    # NFT_LOOKUP_F_INV
        return out
    if t is N.Verdict:
        return {1: be32(0), 2: x}
    if t is N.Nat:
        out = {1: be32(x.kind), 2: be32(x.family), 3: be32(x.addr_reg)}
        if x.proto_reg is not None:
            out[5] = be32(x.proto_reg)
        if x.flags:
            out[7] = be32(x.flags)
        return out
    assert t is N.Masq
    return {1: be32(x.flags)} if x.flags else {}


def verdict_of(b):
    """(code, chain) of an nft_data holding a verdict."""
    v = tlvs(tlvs(b)[2])
    code = struct.unpack(">i", v[1])[0]
    return code, v[2].rstrip(b"\0").decode() if 2 in v else None


@pytest.mark.parametrize("k", range(ruleset.RULE_COUNT))
def test_rules(be, k):
    chain, exprs = ruleset.rules()[k]
    m, t, f = decode(nft_rule_msg, be.encode(N.NftRuleAdd("t", chain,
                                                          exprs)))
    assert (t, f) == (NEWRULE, REQ | ACK | CREATE | APPEND)
    assert m.get_attr("NFTA_RULE_CHAIN") == chain
    got = m.get_attr("NFTA_RULE_EXPRESSIONS")
    assert [e.get_attr("NFTA_EXPR_NAME") for e in got] == \
        [EXPR_NAMES[type(x)] for x in exprs]
    for e, x in zip(got, exprs):
        a = tlvs(payload(e.get_attr("NFTA_EXPR_DATA")))
        want = expected(x)
        if type(x) is N.Verdict:
            assert a[1] == want[1]
            assert verdict_of(a[2]) == (x.code, x.chain)
            continue
        for nested in {N.Cmp: (3,), N.Bitwise: (4, 5)}.get(type(x), ()):
            a[nested] = value(a[nested])
        assert a == want, x


# ------------------------------------------------------------- elements

def test_elements(be):
    els = (
        N.NftElem(N.pack(("ifname", "ifname"), ("br-a", "br-b")),
                  verdict=N.Verdict(N.JUMP, "publish")),
        N.NftElem(b"\1\2\3\4", key_end=b"\5\6\7\x08", interval_end=True),
        N.NftElem(b"abcd", data=b"wxyz"),
        N.NftElem(b"efgh", verdict=N.Verdict(N.DROP)),
    )
    for cls, mtype, flags in ((N.NftElemAdd, NEWSETELEM, CREATE),
                              (N.NftElemDel, DELSETELEM, 0)):
        m, t, f = decode(nft_set_elem_list_msg, be.encode(cls("t", "s", els)))
        assert (t, f) == (mtype, REQ | ACK | flags)
        assert m.get_attr("NFTA_SET_ELEM_LIST_SET") == "s"
        got = m.get_attr("NFTA_SET_ELEM_LIST_ELEMENTS")
        assert len(got) == len(els)
        for e, el in zip(got, els):
            a = tlvs(payload(e))
            assert value(a[1]) == el.key                   # KEY
            assert (value(a[10]) if 10 in a else None) == el.key_end
            assert a.get(3) == (be32(1) if el.interval_end else None)
            if mtype == DELSETELEM:     # named by key: no data sent
                assert 2 not in a
            elif el.verdict:
                assert verdict_of(a[2]) == (el.verdict.code,
                                            el.verdict.chain)
            else:
                assert (value(a[2]) if 2 in a else None) == el.data


def test_a_large_element_op_is_several_messages(be):
    n = 5000
    els = tuple(N.NftElem(struct.pack(">I", i), data=b"\0\0\0\1")
                for i in range(n))
    raw = be.encode(N.NftElemAdd("t", "s", els))
    keys, at, msgs = [], 0, 0
    while at < len(raw):
        length = struct.unpack_from("=I", raw, at)[0]
        m, t, _ = decode(nft_set_elem_list_msg, raw[at:at + length])
        assert t == NEWSETELEM
        lst = m.get_attr("NFTA_SET_ELEM_LIST_ELEMENTS")
        keys += [struct.unpack(">I", value(tlvs(payload(e))[1]))[0]
                 for e in lst]
        at += (length + 3) & ~3
        msgs += 1
    assert keys == list(range(n))
    assert msgs >= 2


def test_run_framing_and_set_ids():
    ops = ruleset.table_ops("t", "c")
    items = [(op, PREPARE[type(op)](op)) for op in ops]
    scratch = nft.Scratch(256)                  # grows as it must
    spans, err = scratch.build(lambda b: nft.build(b, items))
    assert err is None and len(spans) == len(ops)
    b = scratch.batch
    raw = ffi.buffer(b.buf, b.len)[:]
    msgs, at = [], 0
    while at < len(raw):
        length, mtype = struct.unpack_from("=IH", raw, at)
        msgs.append((mtype, raw[at:at + length]))
        at += (length + 3) & ~3
    assert len(msgs) == b.count == len(ops) + 2
    for mtype, body in (msgs[0], msgs[-1]):
        assert body[16:20] == b"\0\0\0\x0a"     # AF_UNSPEC, v0, res_id
        assert struct.unpack_from("=H", body, 6)[0] == REQ
    assert msgs[0][0] == 0x10 and msgs[-1][0] == 0x11
    assert spans == [(i + 1, 1) for i in range(len(ops))]
    ids = [tlvs(body[20:])[10] for mtype, body in msgs if mtype == NEWSET]
    assert ids == [be32(i) for i in range(1, len(ruleset.SETS) + 1)]


def test_refused_build_and_invalid_ops(be):
    with pytest.raises(InvalidParameter):
        be.encode(N.NftSetAdd("t", "s", ("nosuch",)))
    with pytest.raises(InvalidParameter):
        be.encode(N.NftRuleAdd("t", "c", ()))
    outs = nft.refused([(None, None)] * 3, 1, -errno.EINVAL)
    assert outs[0] == outs[2] == (errno.ECANCELED, nft.ABORTED)
    assert outs[1][0] == errno.EINVAL


# -------------------------------------------------------------- results

def results_of(errs):
    res = ffi.new("struct nlc_result[]", len(errs))
    for r, (e, msg) in zip(res, errs):
        r.err, r.msg = e, msg.encode()
    return res


def test_results_collapse_per_op():
    res = results_of([(0, ""), (-errno.ECANCELED, nft.ABORTED),
                      (-errno.ENOENT, "no set"), (-errno.ECANCELED,
                                                  nft.ABORTED), (0, "")])
    # op 0: messages 1-3 (a refusal beats a cancellation); op 1: none left
    assert nft.results(res, [(1, 3)], 3) == [(errno.ENOENT, "no set")]
    assert nft.results(res, [(1, 1), (2, 1)], 3) == [
        (errno.ECANCELED, nft.ABORTED), (errno.ENOENT, "no set")]
    ok = results_of([(0, "")] * 4)
    assert nft.results(ok, [(1, 1), (2, 1)], 0) == [(0, ""), (0, "")]


def test_results_of_a_failed_exchange():
    t = -errno.ETIMEDOUT
    # acks of 0 and no refusal: nothing is known to be applied
    res = results_of([(0, ""), (0, ""), (t, ""), (0, "")])
    outs = nft.results(res, [(1, 1), (2, 1)], t)
    assert [e for e, _ in outs] == [errno.ETIMEDOUT] * 2
    # a refusal seen: the kernel aborted
    res = results_of([(0, ""), (-errno.EEXIST, "x"), (t, ""), (0, "")])
    outs = nft.results(res, [(1, 1), (2, 1)], t)
    assert outs == [(errno.EEXIST, "x"), (errno.ECANCELED, nft.ABORTED)]


def test_core_constants():
    assert (lib.NLC_NFT_NAME_MAX, lib.NLC_NFT_DATA_MAX) == (256, 64)
    assert lib.NLC_NFT_ELEM_INTERVAL_END == N.ELEM_INTERVAL_END
