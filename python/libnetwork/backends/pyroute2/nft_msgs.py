"""pyroute2's nftables message classes, as the pyroute2 backend sends them.

:mod:`pyroute2.netlink.nfnetlink.nftsocket` (0.9.7) describes every
message and expression this backend needs, but a few of its attribute
types do not encode what the kernel reads, and none flags its nests.  The
classes here subclass pyroute2's and change only that, keeping pyroute2's
attribute maps otherwise:

* every nest carries ``NLA_F_NESTED``, as libmnl's ``mnl_attr_nest_start``
  sets it (the list elements of ``NFTA_RULE_EXPRESSIONS``,
  ``NFTA_SET_ELEM_LIST_ELEMENTS`` and ``NFTA_SET_DESC_CONCAT`` included,
  each typed ``NFTA_LIST_ELEM`` = 1: pyroute2 numbers a set's elements and
  concat fields 1, 2, 3 ...);
* flag words are plain be32 numbers (pyroute2 encodes ``NFTA_FIB_RESULT``
  as a bit set, although it is an enum, and ``NFTA_SET_ELEM_FLAGS`` through
  a broken map);
* ``NFTA_DATA_VALUE`` of a set element is raw bytes (pyroute2 names a
  ``binary`` type it does not have);
* ``NFTA_TABLE_USERDATA`` is nftnl's user-data TLV list (type byte, length
  byte, value), where nft keeps a table's comment.

pyroute2 caches a class's compiled attribute map in a class attribute that
subclasses inherit; :func:`_sub` gives each subclass its own.
"""

from __future__ import annotations

from pyroute2.netlink import NLA_F_NESTED
from pyroute2.netlink.nfnetlink import nfgen_msg
from pyroute2.netlink.nfnetlink.nftsocket import (
    nft_chain_msg,
    nft_data,
    nft_rule_msg,
    nft_set_elem_list_msg,
    nft_set_msg,
    nft_table_msg,
    nftnl_udata,
)

__all__ = ["table_msg", "chain_msg", "set_msg", "rule_msg", "elem_msg",
           "batch_msg", "data", "expr"]

LIST_ELEM = 1 | NLA_F_NESTED       # NFTA_LIST_ELEM, a nest


def _sub(base, nests=(), types=None, **attrs):
    """A subclass of pyroute2 class ``base``: its attribute map with
    ``nests`` flagged NLA_F_NESTED and ``types`` replaced, and ``attrs``
    (inner classes, ``header_type``) overridden."""
    types = types or {}
    unknown = (set(nests) | set(types)) - {a[0] for a in base.nla_map}
    assert not unknown, unknown
    nla_map = tuple(
        (a[0], types.get(a[0], a[1]), NLA_F_NESTED if a[0] in nests else 0)
        for a in base.nla_map)
    body = dict(attrs, nla_map=nla_map, __slots__=())
    # pyroute2's per-class cache of the compiled map (nlmsg_base.__*):
    # without these the subclass would use its base's compiled map
    body["_nlmsg_base__compiled_nla"] = False
    body["_nlmsg_base__t_nla_map"] = None
    body["_nlmsg_base__r_nla_map"] = None
    return type(base.__name__, (base,), body)


# ------------------------------------------------------------------ data

_verdict = _sub(nft_data.nfta_data.verdict)

#: NFTA_DATA_*: a value (raw bytes) or a verdict {code, chain}
data = _sub(nft_data.nfta_data, nests=("NFTA_DATA_VERDICT",),
            verdict=_verdict)


# ----------------------------------------------------------- expressions

_E = nft_rule_msg.nft_expr


def _with_data(base, nests):
    return _sub(base, nests=nests, nfta_data=data)


#: one rule expression: NFTA_EXPR_NAME, NFTA_EXPR_DATA{...}
expr = _sub(
    _E, nests=("NFTA_EXPR_DATA",), header_type=LIST_ELEM,
    nft_meta=_sub(_E.nft_meta),
    nft_cmp=_with_data(_E.nft_cmp, ("NFTA_CMP_DATA",)),
    nft_payload=_sub(_E.nft_payload),
    nft_bitwise=_with_data(_E.nft_bitwise, (
        "NFTA_BITWISE_MASK", "NFTA_BITWISE_XOR", "NFTA_BITWISE_DATA")),
    nft_ct=_sub(_E.nft_ct),
    nft_fib=_sub(_E.nft_fib, types={"NFTA_FIB_RESULT": "be32",
                                    "NFTA_FIB_FLAGS": "be32"}),
    nft_lookup=_sub(_E.nft_lookup, types={"NFTA_LOOKUP_FLAGS": "be32"}),
    nft_immediate=_with_data(_E.nft_immediate, ("NFTA_IMMEDIATE_DATA",)),
    nft_nat=_sub(_E.nft_nat, types={"NFTA_NAT_FLAGS": "be32"}),
    nft_masq=_sub(_E.nft_masq, types={"NFTA_MASQ_FLAGS": "be32"}),
)


# -------------------------------------------------------------- messages

class _table_udata(nftnl_udata):
    """nftnl's table user data: TLVs, the comment NUL-terminated."""
    __slots__ = ()
    udata_types = ("NFTNL_UDATA_TABLE_COMMENT",)


table_msg = _sub(nft_table_msg, types={"NFTA_TABLE_USERDATA": "udata"},
                 udata=_table_udata)

chain_msg = _sub(nft_chain_msg, nests=("NFTA_CHAIN_HOOK",),
                 hook=_sub(nft_chain_msg.hook))

rule_msg = _sub(nft_rule_msg, nests=("NFTA_RULE_EXPRESSIONS",),
                nft_expr=expr)

_field = _sub(nft_set_msg.set_desc.list_elem.set_field_attribute,
              header_type=LIST_ELEM)
_desc = _sub(nft_set_msg.set_desc, nests=("NFTA_SET_DESC_CONCAT",),
             types={"NFTA_SET_DESC_CONCAT": "*field"}, field=_field)

set_msg = _sub(nft_set_msg, nests=("NFTA_SET_DESC",),
               types={"NFTA_SET_FLAGS": "be32"}, set_desc=_desc)

_elem = _sub(nft_set_elem_list_msg.set_elem,
             nests=("NFTA_SET_ELEM_KEY", "NFTA_SET_ELEM_DATA",
                    "NFTA_SET_ELEM_KEY_END"),
             types={"NFTA_SET_ELEM_FLAGS": "be32"},
             header_type=LIST_ELEM, data_attributes=data)

elem_msg = _sub(nft_set_elem_list_msg,
                nests=("NFTA_SET_ELEM_LIST_ELEMENTS",), set_elem=_elem)


class batch_msg(nfgen_msg):
    """NFNL_MSG_BATCH_BEGIN / _END: a bare nfgenmsg."""
    __slots__ = ()

