/*
 * nft.c - nftables request builders (nfnetlink), pure: no syscalls.
 *
 *   nlmsghdr { type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_* }
 *   | nfgenmsg { family, NFNETLINK_V0, res_id 0 } | attributes
 *
 * A transaction: BATCH_BEGIN | NEWTABLE | NEWSET | ... | BATCH_END, the
 * begin and end carrying res_id NFNL_SUBSYS_NFTABLES (network order).
 *
 *   NEWRULE: NFTA_RULE_TABLE | NFTA_RULE_CHAIN
 *            | NFTA_RULE_EXPRESSIONS { NFTA_LIST_ELEM {
 *                  NFTA_EXPR_NAME "cmp" | NFTA_EXPR_DATA { ... } } ... }
 *   NEWSETELEM: NFTA_SET_ELEM_LIST_TABLE | NFTA_SET_ELEM_LIST_SET
 *            | NFTA_SET_ELEM_LIST_ELEMENTS { NFTA_LIST_ELEM {
 *                  KEY { VALUE } [KEY_END { VALUE }]
 *                  [DATA { VALUE } | DATA { VERDICT { CODE [CHAIN] } }]
 *                  [FLAGS] } ... }
 *
 * Integers the kernel reads as __be32 are written in network order.
 * Arguments are checked whole before anything is written, so -EINVAL
 * never depends on the room left in the batch.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "internal.h"

#define NFT_TYPE(msg) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (msg)))

/* Linux 6.3 (older headers lack them): delete, no error when absent */
#define NLC_NFT_MSG_DESTROYTABLE 26
#define NLC_NFT_MSG_DESTROYSETELEM 30
#define UDATA_TABLE_COMMENT 0   /* nft's table user-data TLV for comments */
#define UDATA_SET_KEYBYTEORDER 0    /* ... and a set's, for byte orders */
#define UDATA_SET_DATABYTEORDER 1
#define SET_FLAGS_ALL 0x1ffu    /* NFT_SET_ANONYMOUS .. NFT_SET_EXPR */
#define NLC_ALEN(n) (NLA_HDRLEN + NLA_ALIGN(n))   /* one attribute */

/* ----------------------------------------------------------- helpers */

static bool
__name_ok(const char *s)
{
    size_t n;

    if (!s)
        return false;
    n = strnlen(s, NLC_NFT_NAME_MAX);
    return n > 0 && n < NLC_NFT_NAME_MAX;
}

static bool
__family_ok(uint8_t f)
{
    return f == NFPROTO_INET || f == NFPROTO_IPV4 || f == NFPROTO_ARP ||
           f == NFPROTO_NETDEV || f == NFPROTO_BRIDGE || f == NFPROTO_IPV6;
}

static bool
__reg_ok(uint32_t r)
{
    return (r >= NFT_REG_1 && r <= NFT_REG_4) ||
           (r >= NFT_REG32_00 && r <= NFT_REG32_15);
}

static bool
__len_ok(uint32_t len)
{
    return len >= 1 && len <= NLC_NFT_DATA_MAX;
}

/* A verdict code, and whether it names a chain (jump and goto). */
static bool
__verdict_ok(int32_t code, bool has_chain)
{
    if (code < NFT_RETURN || code > NF_ACCEPT)
        return false;
    return has_chain == (code == NFT_JUMP || code == NFT_GOTO);
}

static struct nfgenmsg *
__nft_msg(struct nlc_mb *m, struct nlc_batch *b, uint16_t type,
          uint16_t flags, uint8_t family)
{
    struct nfgenmsg *g = __nlc_msg_begin(m, b, type, flags, sizeof(*g));

    if (g) {
        g->nfgen_family = family;
        g->version = NFNETLINK_V0;
    }
    return g;
}

static void
__put_be32(struct nlc_mb *m, uint16_t type, uint32_t v)
{
    __nlc_attr_put_u32(m, type, htonl(v));
}

/* n bytes of s (no NUL among them) and a NUL, as an NLA_STRING. */
static void
__put_strn(struct nlc_mb *m, uint16_t type, const char *s, size_t n)
{
    struct nlattr *a = __nlc_put_raw(m, NLA_HDRLEN + n + 1);

    if (!a)
        return;
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + n + 1);
    memcpy((uint8_t *)a + NLA_HDRLEN, s, n);
}

/* type { NFTA_DATA_VALUE v } */
static void
__put_value(struct nlc_mb *m, uint16_t type, const void *v, size_t len)
{
    struct nlattr *nest = __nlc_nest_start(m, type);

    __nlc_attr_put(m, NFTA_DATA_VALUE, v, len);
    __nlc_nest_end(m, nest);
}

/* type { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE [NFTA_VERDICT_CHAIN] } } */
static void
__put_verdict(struct nlc_mb *m, uint16_t type, int32_t code,
              const char *chain, size_t chain_len)
{
    struct nlattr *data = __nlc_nest_start(m, type);
    struct nlattr *v = __nlc_nest_start(m, NFTA_DATA_VERDICT);

    __put_be32(m, NFTA_VERDICT_CODE, (uint32_t)code);
    if (chain_len)
        __put_strn(m, NFTA_VERDICT_CHAIN, chain, chain_len);
    __nlc_nest_end(m, v);
    __nlc_nest_end(m, data);
}

/* ------------------------------------------------- batch, table, chain */

static int
__batch_mark(struct nlc_batch *b, uint16_t type)
{
    struct nlc_mb m;
    struct nfgenmsg *g = __nlc_msg_begin(&m, b, type, 0, sizeof(*g));

    if (g) {
        g->nfgen_family = AF_UNSPEC;
        g->version = NFNETLINK_V0;
        g->res_id = htons(NFNL_SUBSYS_NFTABLES);
        m.nlh->nlmsg_flags = NLM_F_REQUEST;     /* never acknowledged */
    }
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_nft_begin(struct nlc_batch *b)
{
    return __batch_mark(b, NFNL_MSG_BATCH_BEGIN);
}

NLC_EXPORT int
nlc_nft_end(struct nlc_batch *b)
{
    return __batch_mark(b, NFNL_MSG_BATCH_END);
}

NLC_EXPORT int
nlc_nft_table_add(struct nlc_batch *b, uint8_t family, const char *name,
                  const char *comment)
{
    struct nlc_mb m;
    size_t clen = comment ? strnlen(comment, NLC_NFT_COMMENT_MAX) : 0;

    if (!__family_ok(family) || !__name_ok(name) ||
        clen >= NLC_NFT_COMMENT_MAX)
        return -EINVAL;
    __nft_msg(&m, b, NFT_TYPE(NFT_MSG_NEWTABLE), NLM_F_CREATE, family);
    __nlc_attr_put_str(&m, NFTA_TABLE_NAME, name);
    __put_be32(&m, NFTA_TABLE_FLAGS, 0);
    if (clen) {
        /* nft's user data: one TLV { u8 type, u8 len, comment + NUL } */
        uint8_t *tlv;
        struct nlattr *a = __nlc_put_raw(&m, NLA_HDRLEN + 2 + clen + 1);

        if (a) {
            a->nla_type = NFTA_TABLE_USERDATA;
            a->nla_len = (uint16_t)(NLA_HDRLEN + 2 + clen + 1);
            tlv = (uint8_t *)a + NLA_HDRLEN;
            tlv[0] = UDATA_TABLE_COMMENT;
            tlv[1] = (uint8_t)(clen + 1);
            memcpy(tlv + 2, comment, clen);
        }
    }
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_nft_table_del(struct nlc_batch *b, uint8_t family, const char *name,
                  int destroy)
{
    struct nlc_mb m;

    if (!__family_ok(family) || !__name_ok(name) || destroy < 0 ||
        destroy > 1)
        return -EINVAL;
    __nft_msg(&m, b, NFT_TYPE(destroy ? NLC_NFT_MSG_DESTROYTABLE
                                      : NFT_MSG_DELTABLE), 0, family);
    __nlc_attr_put_str(&m, NFTA_TABLE_NAME, name);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_nft_chain_add(struct nlc_batch *b, uint8_t family, const char *table,
                  const char *name, int hook, int32_t priority,
                  const char *type, int policy)
{
    struct nlc_mb m;
    struct nlattr *h;
    size_t tlen;

    if (!__family_ok(family) || !__name_ok(table) || !__name_ok(name))
        return -EINVAL;
    if (hook < 0) {
        if (hook != -1 || policy != -1)
            return -EINVAL;
    } else {
        tlen = type ? strnlen(type, 16) : 0;
        if (hook >= NF_INET_NUMHOOKS || tlen == 0 || tlen >= 16 ||
            policy < -1 || policy > NF_ACCEPT)
            return -EINVAL;
    }
    __nft_msg(&m, b, NFT_TYPE(NFT_MSG_NEWCHAIN), NLM_F_CREATE, family);
    __nlc_attr_put_str(&m, NFTA_CHAIN_TABLE, table);
    __nlc_attr_put_str(&m, NFTA_CHAIN_NAME, name);
    if (hook >= 0) {
        h = __nlc_nest_start(&m, NFTA_CHAIN_HOOK);
        __put_be32(&m, NFTA_HOOK_HOOKNUM, (uint32_t)hook);
        __put_be32(&m, NFTA_HOOK_PRIORITY, (uint32_t)priority);
        __nlc_nest_end(&m, h);
        if (policy >= 0)
            __put_be32(&m, NFTA_CHAIN_POLICY, (uint32_t)policy);
        __nlc_attr_put_str(&m, NFTA_CHAIN_TYPE, type);
    }
    return __nlc_msg_end(&m);
}

/* ---------------------------------------------------------------- set */

static bool
__set_shape_ok(uint32_t flags, uint32_t key_len, const uint8_t *fields,
               size_t nfields, uint32_t data_type, uint32_t data_len)
{
    size_t sum = 0;

    if ((flags & ~SET_FLAGS_ALL) || !__len_ok(key_len))
        return false;
    if (nfields > 1) {
        if (!fields || nfields > NLC_NFT_FIELDS_MAX ||
            !(flags & NFT_SET_CONCAT))
            return false;
        for (size_t i = 0; i < nfields; i++) {
            if (!__len_ok(fields[i]))
                return false;
            sum += NLA_ALIGN(fields[i]);
        }
        if (sum != key_len)
            return false;
    } else if (flags & NFT_SET_CONCAT) {
        return false;
    }
    if (!(flags & NFT_SET_MAP))
        return data_type == 0 && data_len == 0;
    if (data_type == NFT_DATA_VERDICT)
        return data_len == 0;
    return data_type != 0 && __len_ok(data_len);
}

NLC_EXPORT int
nlc_nft_set_add(struct nlc_batch *b, uint8_t family, const char *table,
                const char *name, uint32_t id, uint32_t flags,
                uint32_t key_type, uint32_t key_len, const uint8_t *fields,
                size_t nfields, uint32_t data_type, uint32_t data_len,
                uint8_t key_order, uint8_t data_order)
{
    struct nlc_mb m;
    struct nlattr *desc, *concat, *elem;

    if (!__family_ok(family) || !__name_ok(table) || !__name_ok(name) ||
        !__set_shape_ok(flags, key_len, fields, nfields, data_type,
                        data_len) ||
        key_order > NLC_NFT_ORDER_BIG || data_order > NLC_NFT_ORDER_BIG ||
        (data_order && !(flags & NFT_SET_MAP)))
        return -EINVAL;
    __nft_msg(&m, b, NFT_TYPE(NFT_MSG_NEWSET), NLM_F_CREATE, family);
    __nlc_attr_put_str(&m, NFTA_SET_TABLE, table);
    __nlc_attr_put_str(&m, NFTA_SET_NAME, name);
    __put_be32(&m, NFTA_SET_FLAGS, flags);
    __put_be32(&m, NFTA_SET_KEY_TYPE, key_type);
    __put_be32(&m, NFTA_SET_KEY_LEN, key_len);
    if (flags & NFT_SET_MAP) {
        __put_be32(&m, NFTA_SET_DATA_TYPE, data_type);
        __put_be32(&m, NFTA_SET_DATA_LEN, data_len);
    }
    if (nfields > 1) {
        desc = __nlc_nest_start(&m, NFTA_SET_DESC);
        concat = __nlc_nest_start(&m, NFTA_SET_DESC_CONCAT);
        for (size_t i = 0; i < nfields; i++) {
            elem = __nlc_nest_start(&m, NFTA_LIST_ELEM);
            __put_be32(&m, NFTA_SET_FIELD_LEN, fields[i]);
            __nlc_nest_end(&m, elem);
        }
        __nlc_nest_end(&m, concat);
        __nlc_nest_end(&m, desc);
    }
    __put_be32(&m, NFTA_SET_ID, id);
    if (key_order || data_order) {
        /* nft's user data: TLVs { u8 type, u8 len, u32 in host order } */
        uint8_t ud[12], *p = ud;
        uint32_t v;

        if (key_order) {
            v = key_order;
            p[0] = UDATA_SET_KEYBYTEORDER;
            p[1] = sizeof(v);
            memcpy(p + 2, &v, sizeof(v));
            p += 2 + sizeof(v);
        }
        if (data_order) {
            v = data_order;
            p[0] = UDATA_SET_DATABYTEORDER;
            p[1] = sizeof(v);
            memcpy(p + 2, &v, sizeof(v));
            p += 2 + sizeof(v);
        }
        __nlc_attr_put(&m, NFTA_SET_USERDATA, ud, (size_t)(p - ud));
    }
    return __nlc_msg_end(&m);
}

/* --------------------------------------------------------------- rule */

static bool
__expr_ok(const struct nlc_nft_expr *e)
{
    switch (e->kind) {
    case NLC_NFT_META:
        return __reg_ok(e->u.meta.dreg);
    case NLC_NFT_CT:
        return __reg_ok(e->u.ct.dreg);
    case NLC_NFT_CMP:
        return __reg_ok(e->u.cmp.sreg) && __len_ok(e->u.cmp.len) &&
               e->u.cmp.op <= NFT_CMP_GTE;
    case NLC_NFT_PAYLOAD:
        return __reg_ok(e->u.payload.dreg) && __len_ok(e->u.payload.len);
    case NLC_NFT_BITWISE:
        return __reg_ok(e->u.bitwise.sreg) && __reg_ok(e->u.bitwise.dreg) &&
               __len_ok(e->u.bitwise.len);
    case NLC_NFT_FIB:
        return __reg_ok(e->u.fib.dreg);
    case NLC_NFT_LOOKUP:
        return __reg_ok(e->u.lookup.sreg) && e->u.lookup.invert <= 1 &&
               (e->u.lookup.dreg == -1 ||
                e->u.lookup.dreg == NFT_REG_VERDICT ||
                __reg_ok((uint32_t)e->u.lookup.dreg)) &&
               __name_ok(e->u.lookup.set);
    case NLC_NFT_VERDICT: {
        size_t n = strnlen(e->u.verdict.chain, NLC_NFT_NAME_MAX);

        return n < NLC_NFT_NAME_MAX &&
               __verdict_ok(e->u.verdict.code, n != 0);
    }
    case NLC_NFT_NAT:
        return e->u.nat.type <= NFT_NAT_DNAT &&
               (e->u.nat.family == NFPROTO_IPV4 ||
                e->u.nat.family == NFPROTO_IPV6) &&
               __reg_ok(e->u.nat.addr_reg) &&
               (e->u.nat.proto_reg == 0 || __reg_ok(e->u.nat.proto_reg));
    case NLC_NFT_MASQ:
        return true;
    default:
        return false;
    }
}

static const char *const __expr_names[] = {
    [NLC_NFT_META] = "meta", [NLC_NFT_CMP] = "cmp",
    [NLC_NFT_PAYLOAD] = "payload", [NLC_NFT_BITWISE] = "bitwise",
    [NLC_NFT_CT] = "ct", [NLC_NFT_FIB] = "fib", [NLC_NFT_LOOKUP] = "lookup",
    [NLC_NFT_VERDICT] = "immediate", [NLC_NFT_NAT] = "nat",
    [NLC_NFT_MASQ] = "masq",
};

/* The attributes of one (checked) expression, inside NFTA_EXPR_DATA. */
static void
__expr_data(struct nlc_mb *m, const struct nlc_nft_expr *e)
{
    switch (e->kind) {
    case NLC_NFT_META:
        __put_be32(m, NFTA_META_KEY, e->u.meta.key);
        __put_be32(m, NFTA_META_DREG, e->u.meta.dreg);
        break;
    case NLC_NFT_CT:
        __put_be32(m, NFTA_CT_KEY, e->u.ct.key);
        __put_be32(m, NFTA_CT_DREG, e->u.ct.dreg);
        break;
    case NLC_NFT_CMP:
        __put_be32(m, NFTA_CMP_SREG, e->u.cmp.sreg);
        __put_be32(m, NFTA_CMP_OP, e->u.cmp.op);
        __put_value(m, NFTA_CMP_DATA, e->u.cmp.data, e->u.cmp.len);
        break;
    case NLC_NFT_PAYLOAD:
        __put_be32(m, NFTA_PAYLOAD_DREG, e->u.payload.dreg);
        __put_be32(m, NFTA_PAYLOAD_BASE, e->u.payload.base);
        __put_be32(m, NFTA_PAYLOAD_OFFSET, e->u.payload.offset);
        __put_be32(m, NFTA_PAYLOAD_LEN, e->u.payload.len);
        break;
    case NLC_NFT_BITWISE:
        __put_be32(m, NFTA_BITWISE_SREG, e->u.bitwise.sreg);
        __put_be32(m, NFTA_BITWISE_DREG, e->u.bitwise.dreg);
        __put_be32(m, NFTA_BITWISE_LEN, e->u.bitwise.len);
        __put_value(m, NFTA_BITWISE_MASK, e->u.bitwise.mask,
                    e->u.bitwise.len);
        __put_value(m, NFTA_BITWISE_XOR, e->u.bitwise.xor, e->u.bitwise.len);
        break;
    case NLC_NFT_FIB:
        __put_be32(m, NFTA_FIB_FLAGS, e->u.fib.flags);
        __put_be32(m, NFTA_FIB_RESULT, e->u.fib.result);
        __put_be32(m, NFTA_FIB_DREG, e->u.fib.dreg);
        break;
    case NLC_NFT_LOOKUP:
        __put_be32(m, NFTA_LOOKUP_SREG, e->u.lookup.sreg);
        if (e->u.lookup.dreg >= 0)
            __put_be32(m, NFTA_LOOKUP_DREG, (uint32_t)e->u.lookup.dreg);
        __nlc_attr_put_str(m, NFTA_LOOKUP_SET, e->u.lookup.set);
        if (e->u.lookup.invert)
            __put_be32(m, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
        break;
    case NLC_NFT_VERDICT:
        __put_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        __put_verdict(m, NFTA_IMMEDIATE_DATA, e->u.verdict.code,
                      e->u.verdict.chain, strlen(e->u.verdict.chain));
        break;
    case NLC_NFT_NAT:
        __put_be32(m, NFTA_NAT_TYPE, e->u.nat.type);
        __put_be32(m, NFTA_NAT_FAMILY, e->u.nat.family);
        __put_be32(m, NFTA_NAT_REG_ADDR_MIN, e->u.nat.addr_reg);
        if (e->u.nat.proto_reg)
            __put_be32(m, NFTA_NAT_REG_PROTO_MIN, e->u.nat.proto_reg);
        if (e->u.nat.flags)
            __put_be32(m, NFTA_NAT_FLAGS, e->u.nat.flags);
        break;
    case NLC_NFT_MASQ:
        if (e->u.masq.flags)
            __put_be32(m, NFTA_MASQ_FLAGS, e->u.masq.flags);
        break;
    default:
        break;
    }
}

NLC_EXPORT int
nlc_nft_rule_add(struct nlc_batch *b, uint8_t family, const char *table,
                 const char *chain, const struct nlc_nft_expr *exprs,
                 size_t n)
{
    struct nlc_mb m;
    struct nlattr *list, *elem, *data;

    if (!__family_ok(family) || !__name_ok(table) || !__name_ok(chain) ||
        !exprs || n == 0 || n > NLC_NFT_EXPRS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!__expr_ok(&exprs[i]))
            return -EINVAL;
    __nft_msg(&m, b, NFT_TYPE(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND,
              family);
    __nlc_attr_put_str(&m, NFTA_RULE_TABLE, table);
    __nlc_attr_put_str(&m, NFTA_RULE_CHAIN, chain);
    list = __nlc_nest_start(&m, NFTA_RULE_EXPRESSIONS);
    for (size_t i = 0; i < n; i++) {
        elem = __nlc_nest_start(&m, NFTA_LIST_ELEM);
        __nlc_attr_put_str(&m, NFTA_EXPR_NAME, __expr_names[exprs[i].kind]);
        data = __nlc_nest_start(&m, NFTA_EXPR_DATA);
        __expr_data(&m, &exprs[i]);
        __nlc_nest_end(&m, data);
        __nlc_nest_end(&m, elem);
    }
    __nlc_nest_end(&m, list);
    return __nlc_msg_end(&m);
}

/* ----------------------------------------------------------- elements */

/* [off, off + len) inside a blob of blob_len bytes */
static bool
__in_blob(uint32_t off, uint32_t len, size_t blob_len)
{
    return off <= blob_len && len <= blob_len - off;
}

/*
 * The bytes element e takes in the element list (0 when it is invalid);
 * a delete carries its keys and flags only.
 */
static size_t
__elem_size(const struct nlc_nft_elem *e, const uint8_t *blob,
            size_t blob_len, bool del)
{
    size_t sz = NLA_HDRLEN;                         /* NFTA_LIST_ELEM */

    if (!__len_ok(e->key_len) || !__in_blob(e->key_off, e->key_len, blob_len))
        return 0;
    sz += NLA_HDRLEN + NLC_ALEN(e->key_len);
    if (e->key_end_len) {
        if (!__len_ok(e->key_end_len) ||
            !__in_blob(e->key_end_off, e->key_end_len, blob_len))
            return 0;
        sz += NLA_HDRLEN + NLC_ALEN(e->key_end_len);
    }
    if ((e->flags & ~(uint32_t)NLC_NFT_ELEM_INTERVAL_END) ||
        e->has_verdict > 1)
        return 0;
    if (e->flags)
        sz += NLC_ALEN(sizeof(uint32_t));
    if (e->has_verdict) {
        if (e->data_len ||
            !__verdict_ok(e->verdict, e->chain_len != 0) ||
            e->chain_len >= NLC_NFT_NAME_MAX ||
            !__in_blob(e->chain_off, e->chain_len, blob_len) ||
            memchr(blob + e->chain_off, 0, e->chain_len))
            return 0;
        if (!del)
            sz += 2 * NLA_HDRLEN + NLC_ALEN(sizeof(uint32_t)) +
                  (e->chain_len ? NLC_ALEN(e->chain_len + 1) : 0);
    } else if (e->data_len || e->chain_len) {
        if (e->chain_len || !__len_ok(e->data_len) ||
            !__in_blob(e->data_off, e->data_len, blob_len))
            return 0;
        if (!del)
            sz += NLA_HDRLEN + NLC_ALEN(e->data_len);
    }
    return sz;
}

static void
__elem_put(struct nlc_mb *m, const struct nlc_nft_elem *e,
           const uint8_t *blob, bool del)
{
    struct nlattr *nest = __nlc_nest_start(m, NFTA_LIST_ELEM);

    __put_value(m, NFTA_SET_ELEM_KEY, blob + e->key_off, e->key_len);
    if (e->key_end_len)
        __put_value(m, NFTA_SET_ELEM_KEY_END, blob + e->key_end_off,
                    e->key_end_len);
    if (!del && e->has_verdict)
        __put_verdict(m, NFTA_SET_ELEM_DATA, e->verdict,
                      (const char *)blob + e->chain_off, e->chain_len);
    else if (!del && e->data_len)
        __put_value(m, NFTA_SET_ELEM_DATA, blob + e->data_off, e->data_len);
    if (e->flags)
        __put_be32(m, NFTA_SET_ELEM_FLAGS, e->flags);
    __nlc_nest_end(m, nest);
}

NLC_EXPORT int
nlc_nft_elems(struct nlc_batch *b, int del, uint8_t family,
              const char *table, const char *set, const uint8_t *blob,
              size_t blob_len, const struct nlc_nft_elem *elems, size_t n,
              size_t *taken)
{
    struct nlc_mb m;
    struct nlattr *list;
    size_t k = 0, room = UINT16_MAX - NLA_HDRLEN;

    if (taken)
        *taken = 0;
    if (!taken || !__family_ok(family) || !__name_ok(table) ||
        !__name_ok(set) || !blob || !elems || n == 0 || del < 0 || del > 2)
        return -EINVAL;
    for (; k < n; k++) {
        size_t sz = __elem_size(&elems[k], blob, blob_len, del != 0);

        if (sz == 0)
            return -EINVAL;
        if (sz > room)
            break;
        room -= sz;
    }
    __nft_msg(&m, b, NFT_TYPE(del == 2 ? NLC_NFT_MSG_DESTROYSETELEM :
                              del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM),
              del ? 0 : NLM_F_CREATE, family);
    __nlc_attr_put_str(&m, NFTA_SET_ELEM_LIST_TABLE, table);
    __nlc_attr_put_str(&m, NFTA_SET_ELEM_LIST_SET, set);
    list = __nlc_nest_start(&m, NFTA_SET_ELEM_LIST_ELEMENTS);
    for (size_t i = 0; i < k; i++)
        __elem_put(&m, &elems[i], blob, del != 0);
    __nlc_nest_end(&m, list);
    if (m.err)
        return m.err;
    *taken = k;
    return __nlc_msg_end(&m);
}
