/*
 * test_nft.c - the nftables builders and transactions of the C core,
 * without a kernel.
 *
 *   1. Each builder's bytes against the same message written by an
 *      independent TLV writer (the facts: what nft --debug=mnl sends).
 *   2. Bounds: every builder at every buffer size below the one it needs
 *      gives -EMSGSIZE, leaves the batch as it was and writes nothing at
 *      or past the end of the room it was given.
 *   3. Arguments the kernel could never take: -EINVAL, nothing written.
 *   4. Element lists: as many elements per message as a 64 KiB attribute
 *      holds, the same count whatever the room, every element once.
 *   5. nlc_nft_exec against a fake nfnetlink kernel (this program defines
 *      socket(), sendmsg(), recvmmsg() ...; glibc only): one sendmsg, the
 *      send buffer raised to fit, commit, abort (refused + ECANCELED),
 *      a batch refused as a whole, malformed transactions, timeouts.
 *
 * Exits non-zero when any check fails.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE      /* we define recv(); no inline wrappers */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "internal.h"
#include "check.h"

#define NFT(msg) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (msg)))
#define REQ_ACK (NLM_F_REQUEST | NLM_F_ACK)

/* --------------------------------------------- an independent writer */

struct hand {
    union {
        uint8_t b[4096];
        uint32_t align;
    } u;
    size_t len;
};

static void
h_init(struct hand *h, uint16_t type, uint16_t flags, uint8_t family,
       uint16_t res_id)
{
    memset(h, 0, sizeof(*h));
    h->len = 20;
    h->u.b[4] = (uint8_t)type;
    h->u.b[5] = (uint8_t)(type >> 8);
    h->u.b[6] = (uint8_t)flags;
    h->u.b[7] = (uint8_t)(flags >> 8);
    h->u.b[16] = family;
    h->u.b[18] = (uint8_t)(res_id >> 8);     /* network order */
    h->u.b[19] = (uint8_t)res_id;
}

static size_t
h_attr(struct hand *h, uint16_t type, const void *data, size_t len)
{
    size_t at = h->len;

    h->u.b[at] = (uint8_t)(4 + len);
    h->u.b[at + 1] = (uint8_t)((4 + len) >> 8);
    h->u.b[at + 2] = (uint8_t)type;
    h->u.b[at + 3] = (uint8_t)(type >> 8);
    if (len)
        memcpy(h->u.b + at + 4, data, len);
    h->len = at + ((4 + len + 3) & ~(size_t)3);
    return at;
}

static void
h_be32(struct hand *h, uint16_t type, uint32_t v)
{
    uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                      (uint8_t)(v >> 8), (uint8_t)v };

    h_attr(h, type, be, 4);
}

static void
h_str(struct hand *h, uint16_t type, const char *s)
{
    h_attr(h, type, s, strlen(s) + 1);
}

static size_t
h_nest(struct hand *h, uint16_t type)
{
    return h_attr(h, (uint16_t)(type | 0x8000), NULL, 0);
}

static void
h_end(struct hand *h, size_t at)
{
    size_t l = h->len - at;

    h->u.b[at] = (uint8_t)l;
    h->u.b[at + 1] = (uint8_t)(l >> 8);
}

static void
h_value(struct hand *h, uint16_t type, const void *v, size_t len)
{
    size_t n = h_nest(h, type);

    h_attr(h, NFTA_DATA_VALUE, v, len);
    h_end(h, n);
}

/* the header's length, once every attribute is in */
static const uint8_t *
h_done(struct hand *h)
{
    uint32_t l = (uint32_t)h->len;

    memcpy(h->u.b, &l, 4);
    return h->u.b;
}

static void
h_expr(struct hand *h, const char *name, size_t *elem, size_t *data)
{
    *elem = h_nest(h, NFTA_LIST_ELEM);
    h_str(h, NFTA_EXPR_NAME, name);
    *data = h_nest(h, NFTA_EXPR_DATA);
}

static void
h_expr_end(struct hand *h, size_t elem, size_t data)
{
    h_end(h, data);
    h_end(h, elem);
}

/* The message the batch holds at index i. */
static const struct nlmsghdr *
nth(const struct nlc_batch *b, uint32_t i)
{
    const uint8_t *p = b->buf;

    if (__nlc_batch_check(b) < 0 || i >= b->count)
        return NULL;
    while (i--)
        p += NLMSG_ALIGN(((const struct nlmsghdr *)p)->nlmsg_len);
    return (const struct nlmsghdr *)p;
}

/* Message i of b is exactly the hand-written one. */
#define CHECK_MSG(b, i, h)                                                \
    do {                                                                  \
        const struct nlmsghdr *m_ = nth((b), (i));                        \
        const uint8_t *w_ = h_done(h);                                    \
        CHECK(m_ != NULL);                                                \
        if (m_) {                                                         \
            CHECK_EQ(m_->nlmsg_len, (h)->len);                            \
            CHECK_MEM(m_, w_, (h)->len);                                  \
        }                                                                 \
    } while (0)

/* ------------------------------------------------- the sample messages */

static const uint8_t OWN4_FIELDS[2] = { 4, 16 };
static const uint8_t KEY_A[20] = { 10, 0, 1, 0, 'b', 'r', '-', 'a' };
static const uint8_t KEY_B[20] = { 10, 0, 1, 255, 'b', 'r', '-', 'a' };
static const uint8_t PORTS_DATA[8] = { 10, 0, 1, 2, 0, 80, 0, 0 };

/* The sample blob: KEY_A KEY_B PORTS_DATA "publish" */
static uint8_t blob[64];

static void
make_blob(void)
{
    memcpy(blob, KEY_A, 20);
    memcpy(blob + 20, KEY_B, 20);
    memcpy(blob + 40, PORTS_DATA, 8);
    memcpy(blob + 48, "publish", 7);
}

static const struct nlc_nft_elem ELEMS[3] = {
    { .key_off = 0, .key_len = 20, .key_end_off = 20, .key_end_len = 20 },
    { .key_off = 0, .key_len = 12, .data_off = 40, .data_len = 8 },
    { .key_off = 20, .key_len = 4, .has_verdict = 1, .verdict = NFT_JUMP,
      .chain_off = 48, .chain_len = 7,
      .flags = NLC_NFT_ELEM_INTERVAL_END },
};

static void
sample_exprs(struct nlc_nft_expr *e)
{
    memset(e, 0, 6 * sizeof(*e));
    e[0].kind = NLC_NFT_META;
    e[0].u.meta.key = NFT_META_OIFNAME;
    e[0].u.meta.dreg = NFT_REG32_01;
    e[1].kind = NLC_NFT_CMP;
    e[1].u.cmp.op = NFT_CMP_NEQ;
    e[1].u.cmp.sreg = NFT_REG_1;
    e[1].u.cmp.len = 1;
    e[1].u.cmp.data[0] = 0x7f;
    e[2].kind = NLC_NFT_LOOKUP;
    e[2].u.lookup.sreg = NFT_REG_1;
    e[2].u.lookup.dreg = -1;
    e[2].u.lookup.invert = 1;
    strcpy(e[2].u.lookup.set, "own4");
    e[3].kind = NLC_NFT_NAT;
    e[3].u.nat.type = NFT_NAT_DNAT;
    e[3].u.nat.family = NFPROTO_IPV4;
    e[3].u.nat.addr_reg = NFT_REG_1;
    e[3].u.nat.proto_reg = NFT_REG32_01;
    e[3].u.nat.flags = 3;
    e[4].kind = NLC_NFT_MASQ;
    e[5].kind = NLC_NFT_VERDICT;
    e[5].u.verdict.code = NFT_JUMP;
    strcpy(e[5].u.verdict.chain, "publish");
}

/* The samples, one per builder: 0 begin, 1 end, 2 table, 3 table del,
 * 4 base chain, 5 regular chain, 6 set, 7 map, 8 rule, 9 elements,
 * 10 element delete, 11 an interval map. */
#define SAMPLES 12

static int
build_sample(struct nlc_batch *b, int which)
{
    struct nlc_nft_expr e[6];
    size_t taken;

    switch (which) {
    case 0:
        return nlc_nft_begin(b);
    case 1:
        return nlc_nft_end(b);
    case 2:
        return nlc_nft_table_add(b, NFPROTO_INET, "t", "hi");
    case 3:
        return nlc_nft_table_del(b, NFPROTO_IPV4, "t", 0);
    case 4:
        return nlc_nft_chain_add(b, NFPROTO_INET, "t", "postrouting",
                                 NF_INET_POST_ROUTING, -100, "nat", NF_ACCEPT);
    case 5:
        return nlc_nft_chain_add(b, NFPROTO_INET, "t", "publish", -1, 0,
                                 NULL, -1);
    case 6:
        return nlc_nft_set_add(b, NFPROTO_INET, "t", "own4", 3,
                               NFT_SET_INTERVAL | NFT_SET_CONCAT,
                               (7 << 6) | 41, 20, OWN4_FIELDS, 2, 0, 0,
                               0, 0);
    case 7:
        return nlc_nft_set_add(b, NFPROTO_INET, "t", "pairs", 1,
                               NFT_SET_MAP, 41, 16, NULL, 0,
                               NFT_DATA_VERDICT, 0, NLC_NFT_ORDER_HOST, 0);
    case 11:
        return nlc_nft_set_add(b, NFPROTO_INET, "t", "snat4", 2,
                               NFT_SET_MAP | NFT_SET_INTERVAL, 7, 4, NULL, 0,
                               7, 4, NLC_NFT_ORDER_BIG, NLC_NFT_ORDER_BIG);
    case 8:
        sample_exprs(e);
        return nlc_nft_rule_add(b, NFPROTO_INET, "t", "publish", e, 6);
    case 9:
    case 10:
        return nlc_nft_elems(b, which == 10, NFPROTO_INET, "t", "s", blob,
                             sizeof(blob), ELEMS, 3, &taken);
    default:
        return -EINVAL;
    }
}

/* ------------------------------------------------ 1. the exact bytes */

static void
test_bytes(void)
{
    union {
        uint8_t b[8192];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct hand h;
    size_t n, n2, el, da;

    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (int i = 0; i < SAMPLES; i++)
        CHECK_EQ(build_sample(&b, i), i);
    CHECK_EQ(b.count, SAMPLES);

    h_init(&h, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, AF_UNSPEC,
           NFNL_SUBSYS_NFTABLES);
    CHECK_MSG(&b, 0, &h);
    h_init(&h, NFNL_MSG_BATCH_END, NLM_F_REQUEST, AF_UNSPEC,
           NFNL_SUBSYS_NFTABLES);
    CHECK_MSG(&b, 1, &h);

    h_init(&h, NFT(NFT_MSG_NEWTABLE), REQ_ACK | NLM_F_CREATE, NFPROTO_INET,
           0);
    h_str(&h, NFTA_TABLE_NAME, "t");
    h_be32(&h, NFTA_TABLE_FLAGS, 0);
    h_attr(&h, NFTA_TABLE_USERDATA, "\x00\x03hi", 5);
    CHECK_MSG(&b, 2, &h);

    h_init(&h, NFT(NFT_MSG_DELTABLE), REQ_ACK, NFPROTO_IPV4, 0);
    h_str(&h, NFTA_TABLE_NAME, "t");
    CHECK_MSG(&b, 3, &h);

    h_init(&h, NFT(NFT_MSG_NEWCHAIN), REQ_ACK | NLM_F_CREATE, NFPROTO_INET,
           0);
    h_str(&h, NFTA_CHAIN_TABLE, "t");
    h_str(&h, NFTA_CHAIN_NAME, "postrouting");
    n = h_nest(&h, NFTA_CHAIN_HOOK);
    h_be32(&h, NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING);
    h_be32(&h, NFTA_HOOK_PRIORITY, (uint32_t)-100);
    h_end(&h, n);
    h_be32(&h, NFTA_CHAIN_POLICY, NF_ACCEPT);
    h_str(&h, NFTA_CHAIN_TYPE, "nat");
    CHECK_MSG(&b, 4, &h);

    h_init(&h, NFT(NFT_MSG_NEWCHAIN), REQ_ACK | NLM_F_CREATE, NFPROTO_INET,
           0);
    h_str(&h, NFTA_CHAIN_TABLE, "t");
    h_str(&h, NFTA_CHAIN_NAME, "publish");
    CHECK_MSG(&b, 5, &h);

    h_init(&h, NFT(NFT_MSG_NEWSET), REQ_ACK | NLM_F_CREATE, NFPROTO_INET, 0);
    h_str(&h, NFTA_SET_TABLE, "t");
    h_str(&h, NFTA_SET_NAME, "own4");
    h_be32(&h, NFTA_SET_FLAGS, NFT_SET_INTERVAL | NFT_SET_CONCAT);
    h_be32(&h, NFTA_SET_KEY_TYPE, 0x1e9);
    h_be32(&h, NFTA_SET_KEY_LEN, 20);
    n = h_nest(&h, NFTA_SET_DESC);
    n2 = h_nest(&h, NFTA_SET_DESC_CONCAT);
    for (int i = 0; i < 2; i++) {
        size_t f = h_nest(&h, NFTA_LIST_ELEM);

        h_be32(&h, NFTA_SET_FIELD_LEN, OWN4_FIELDS[i]);
        h_end(&h, f);
    }
    h_end(&h, n2);
    h_end(&h, n);
    h_be32(&h, NFTA_SET_ID, 3);
    CHECK_MSG(&b, 6, &h);

    h_init(&h, NFT(NFT_MSG_NEWSET), REQ_ACK | NLM_F_CREATE, NFPROTO_INET, 0);
    h_str(&h, NFTA_SET_TABLE, "t");
    h_str(&h, NFTA_SET_NAME, "pairs");
    h_be32(&h, NFTA_SET_FLAGS, NFT_SET_MAP);
    h_be32(&h, NFTA_SET_KEY_TYPE, 41);
    h_be32(&h, NFTA_SET_KEY_LEN, 16);
    h_be32(&h, NFTA_SET_DATA_TYPE, NFT_DATA_VERDICT);
    h_be32(&h, NFTA_SET_DATA_LEN, 0);
    h_be32(&h, NFTA_SET_ID, 1);
    h_attr(&h, NFTA_SET_USERDATA, "\x00\x04\x01\x00\x00\x00", 6);
    CHECK_MSG(&b, 7, &h);

    h_init(&h, NFT(NFT_MSG_NEWSET), REQ_ACK | NLM_F_CREATE, NFPROTO_INET, 0);
    h_str(&h, NFTA_SET_TABLE, "t");
    h_str(&h, NFTA_SET_NAME, "snat4");
    h_be32(&h, NFTA_SET_FLAGS, NFT_SET_MAP | NFT_SET_INTERVAL);
    h_be32(&h, NFTA_SET_KEY_TYPE, 7);
    h_be32(&h, NFTA_SET_KEY_LEN, 4);
    h_be32(&h, NFTA_SET_DATA_TYPE, 7);
    h_be32(&h, NFTA_SET_DATA_LEN, 4);
    h_be32(&h, NFTA_SET_ID, 2);
    h_attr(&h, NFTA_SET_USERDATA,
           "\x00\x04\x02\x00\x00\x00\x01\x04\x02\x00\x00\x00", 12);
    CHECK_MSG(&b, 11, &h);

    h_init(&h, NFT(NFT_MSG_NEWRULE), REQ_ACK | NLM_F_CREATE | NLM_F_APPEND,
           NFPROTO_INET, 0);
    h_str(&h, NFTA_RULE_TABLE, "t");
    h_str(&h, NFTA_RULE_CHAIN, "publish");
    n = h_nest(&h, NFTA_RULE_EXPRESSIONS);
    h_expr(&h, "meta", &el, &da);
    h_be32(&h, NFTA_META_KEY, NFT_META_OIFNAME);
    h_be32(&h, NFTA_META_DREG, NFT_REG32_01);
    h_expr_end(&h, el, da);
    h_expr(&h, "cmp", &el, &da);
    h_be32(&h, NFTA_CMP_SREG, NFT_REG_1);
    h_be32(&h, NFTA_CMP_OP, NFT_CMP_NEQ);
    h_value(&h, NFTA_CMP_DATA, "\x7f", 1);
    h_expr_end(&h, el, da);
    h_expr(&h, "lookup", &el, &da);
    h_be32(&h, NFTA_LOOKUP_SREG, NFT_REG_1);
    h_str(&h, NFTA_LOOKUP_SET, "own4");
    h_be32(&h, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    h_expr_end(&h, el, da);
    h_expr(&h, "nat", &el, &da);
    h_be32(&h, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    h_be32(&h, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    h_be32(&h, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
    h_be32(&h, NFTA_NAT_REG_PROTO_MIN, NFT_REG32_01);
    h_be32(&h, NFTA_NAT_FLAGS, 3);
    h_expr_end(&h, el, da);
    h_expr(&h, "masq", &el, &da);             /* an empty data nest */
    h_expr_end(&h, el, da);
    h_expr(&h, "immediate", &el, &da);
    h_be32(&h, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    n2 = h_nest(&h, NFTA_IMMEDIATE_DATA);
    {
        size_t v = h_nest(&h, NFTA_DATA_VERDICT);

        h_be32(&h, NFTA_VERDICT_CODE, (uint32_t)NFT_JUMP);
        h_str(&h, NFTA_VERDICT_CHAIN, "publish");
        h_end(&h, v);
    }
    h_end(&h, n2);
    h_expr_end(&h, el, da);
    h_end(&h, n);
    CHECK_MSG(&b, 8, &h);

    for (int del = 0; del < 2; del++) {
        h_init(&h, NFT(del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM),
               del ? REQ_ACK : REQ_ACK | NLM_F_CREATE, NFPROTO_INET, 0);
        h_str(&h, NFTA_SET_ELEM_LIST_TABLE, "t");
        h_str(&h, NFTA_SET_ELEM_LIST_SET, "s");
        n = h_nest(&h, NFTA_SET_ELEM_LIST_ELEMENTS);
        el = h_nest(&h, NFTA_LIST_ELEM);
        h_value(&h, NFTA_SET_ELEM_KEY, KEY_A, 20);
        h_value(&h, NFTA_SET_ELEM_KEY_END, KEY_B, 20);
        h_end(&h, el);
        el = h_nest(&h, NFTA_LIST_ELEM);
        h_value(&h, NFTA_SET_ELEM_KEY, KEY_A, 12);
        if (!del)       /* a delete names its elements by key only */
            h_value(&h, NFTA_SET_ELEM_DATA, PORTS_DATA, 8);
        h_end(&h, el);
        el = h_nest(&h, NFTA_LIST_ELEM);
        h_value(&h, NFTA_SET_ELEM_KEY, KEY_B, 4);
        if (!del) {
            size_t d = h_nest(&h, NFTA_SET_ELEM_DATA);
            size_t v = h_nest(&h, NFTA_DATA_VERDICT);

            h_be32(&h, NFTA_VERDICT_CODE, (uint32_t)NFT_JUMP);
            h_str(&h, NFTA_VERDICT_CHAIN, "publish");
            h_end(&h, v);
            h_end(&h, d);
        }
        h_be32(&h, NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        h_end(&h, el);
        h_end(&h, n);
        CHECK_MSG(&b, (uint32_t)(9 + del), &h);
    }

    /* a table without a comment (NULL or ""), every other family */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_IPV6, "x", NULL), 0);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_IPV6, "x", ""), 1);
    h_init(&h, NFT(NFT_MSG_NEWTABLE), REQ_ACK | NLM_F_CREATE, NFPROTO_IPV6,
           0);
    h_str(&h, NFTA_TABLE_NAME, "x");
    h_be32(&h, NFTA_TABLE_FLAGS, 0);
    CHECK_MSG(&b, 0, &h);
    CHECK_MSG(&b, 1, &h);
    CHECK_EQ(nlc_nft_table_del(&b, NFPROTO_ARP, "x", 0), 2);
    CHECK_EQ(nlc_nft_table_del(&b, NFPROTO_NETDEV, "x", 0), 3);
    CHECK_EQ(nlc_nft_table_del(&b, NFPROTO_BRIDGE, "x", 0), 4);
}

/* ---------------------------------------------------------- 2. bounds */

static void
test_bounds(void)
{
    enum { ROOM = 4096 };
    union {
        uint8_t b[ROOM + 64];
        uint32_t align;
    } u;
    struct nlc_batch b;

    for (int which = 0; which < SAMPLES; which++) {
        size_t need;

        nlc_batch_init(&b, u.b, ROOM);
        CHECK_EQ(nlc_nft_begin(&b), 0);
        CHECK_EQ(b.len, 20);
        CHECK_EQ(build_sample(&b, which), 1);
        need = b.len;
        for (size_t cap = 0; cap < need; cap++) {
            size_t len0;

            memset(u.b, 0xa5, sizeof(u.b));
            nlc_batch_init(&b, u.b, cap);
            if (cap >= 20)
                CHECK_EQ(nlc_nft_begin(&b), 0);
            len0 = b.len;
            CHECK_EQ(build_sample(&b, which), -EMSGSIZE);
            CHECK_EQ(b.len, len0);
            CHECK_EQ(b.count, len0 ? 1 : 0);
            for (size_t i = cap; i < sizeof(u.b); i++)
                if (u.b[i] != 0xa5) {
                    fprintf(stderr, "sample %d cap %zu: byte %zu written\n",
                            which, cap, i);
                    failures++;
                    break;
                }
        }
        nlc_batch_init(&b, u.b, need);
        CHECK_EQ(nlc_nft_begin(&b), 0);
        CHECK_EQ(build_sample(&b, which), 1);
        CHECK_EQ(b.len, need);
    }
}

/* --------------------------------------------------- 3. bad arguments */

static void
test_invalid(void)
{
    union {
        uint8_t b[4096];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlc_nft_expr e[6], bad;
    struct nlc_nft_elem el;
    char name[NLC_NFT_NAME_MAX + 1], comment[NLC_NFT_COMMENT_MAX + 1];
    static const uint8_t f3[3] = { 4, 1, 2 }, f17[17] = { 0 };
    size_t taken = 99;

    memset(name, 'n', sizeof(name));
    name[NLC_NFT_NAME_MAX] = '\0';            /* 256 bytes: one too many */
    memset(comment, 'c', sizeof(comment));
    comment[NLC_NFT_COMMENT_MAX] = '\0';
    memset(u.b, 0x5a, sizeof(u.b));
    nlc_batch_init(&b, u.b, sizeof(u.b));

    /* tables */
    CHECK_EQ(nlc_nft_table_add(&b, 0, "t", NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(&b, 4, "t", NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_INET, "", NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_INET, NULL, NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_INET, name, NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_INET, "t", comment), -EINVAL);
    comment[NLC_NFT_COMMENT_MAX - 1] = '\0';  /* 127 bytes: the most */
    name[NLC_NFT_NAME_MAX - 1] = '\0';        /* 255 bytes: the most */
    CHECK_EQ(nlc_nft_table_add(&b, NFPROTO_INET, name, comment), 0);
    CHECK_EQ(nlc_nft_table_del(&b, NFPROTO_INET, "", 0), -EINVAL);
    CHECK_EQ(nlc_nft_table_del(&b, 11, "t", 0), -EINVAL);
    CHECK_EQ(nlc_nft_table_del(&b, NFPROTO_INET, "t", 2), -EINVAL);

    /* chains */
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", -2, 0, NULL, -1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", -1, 0, NULL, 1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 5, 0, "filter", 1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0, NULL, 1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0, "", 1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0,
                               "0123456789abcdef", 1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0, "filter", 2), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0, "filter", -2),
             -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "", "c", -1, 0, NULL, -1), -EINVAL);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", NULL, -1, 0, NULL, -1), -EINVAL);

    /* sets: shapes the kernel refuses (SET: no byte orders) */
#define SET(...) nlc_nft_set_add(&b, 1, "t", "s", 1, __VA_ARGS__, 0, 0)
    CHECK_EQ(SET(0x200, 7, 4, NULL, 0, 0, 0), -EINVAL);
    CHECK_EQ(SET(0, 7, 0, NULL, 0, 0, 0), -EINVAL);
    CHECK_EQ(SET(0, 7, 65, NULL, 0, 0, 0), -EINVAL);
    CHECK_EQ(SET(NFT_SET_CONCAT, 7, 4, NULL, 0, 0, 0), -EINVAL);
    CHECK_EQ(SET(0, 7, 20, OWN4_FIELDS, 2, 0, 0), -EINVAL); /* no concat */
    CHECK_EQ(SET(NFT_SET_CONCAT, 7, 20, NULL, 2, 0, 0), -EINVAL);
    CHECK_EQ(SET(NFT_SET_CONCAT, 7, 16, f3, 3, 0, 0), -EINVAL); /* 12 */
    CHECK_EQ(SET(NFT_SET_CONCAT, 7, 12, f3, 3, 0, 0), 1);
    CHECK_EQ(SET(NFT_SET_CONCAT, 7, 64, f17, 17, 0, 0), -EINVAL);
    CHECK_EQ(SET(0, 7, 4, NULL, 0, 7, 4), -EINVAL);      /* data, no map */
    CHECK_EQ(SET(NFT_SET_MAP, 7, 4, NULL, 0, 0, 4), -EINVAL);
    CHECK_EQ(SET(NFT_SET_MAP, 7, 4, NULL, 0, 7, 0), -EINVAL);
    CHECK_EQ(SET(NFT_SET_MAP, 7, 4, NULL, 0, NFT_DATA_VERDICT, 4), -EINVAL);
#undef SET
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", "", 1, 0, 7, 4, NULL, 0, 0, 0, 0,
                             0), -EINVAL);
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", "s", 1, 0, 7, 4, NULL, 0, 0, 0, 3,
                             0), -EINVAL);               /* no such order */
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", "s", 1, 0, 7, 4, NULL, 0, 0, 0, 2,
                             2), -EINVAL);               /* a set's data */
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", "s", 1, NFT_SET_MAP, 7, 4, NULL, 0,
                             7, 4, 2, 3), -EINVAL);

    /* rules */
    sample_exprs(e);
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", e, 0), -EINVAL);
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", NULL, 1), -EINVAL);
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", e, NLC_NFT_EXPRS_MAX + 1),
             -EINVAL);
    for (int i = 0; i < 15; i++) {
        switch (i) {
        case 0: bad = e[0]; bad.kind = 0; break;
        case 1: bad = e[0]; bad.kind = NLC_NFT_MASQ + 1; break;
        case 2: bad = e[0]; bad.u.meta.dreg = 5; break;   /* no such reg */
        case 3: bad = e[1]; bad.u.cmp.len = NLC_NFT_DATA_MAX + 1; break;
        case 4: bad = e[1]; bad.u.cmp.op = NFT_CMP_GTE + 1; break;
        case 5: bad = e[1]; bad.u.cmp.sreg = NFT_REG_VERDICT; break;
        case 6: bad = e[2]; bad.u.lookup.set[0] = '\0'; break;
        case 7: bad = e[2]; bad.u.lookup.dreg = -2; break;
        case 8: bad = e[2]; bad.u.lookup.invert = 2; break;
        case 9:
            bad = e[2];
            memset(bad.u.lookup.set, 's', NLC_NFT_NAME_MAX);  /* no NUL */
            break;
        case 10: bad = e[3]; bad.u.nat.family = NFPROTO_INET; break;
        case 11: bad = e[3]; bad.u.nat.proto_reg = 24; break;
        case 12: bad = e[5]; bad.u.verdict.chain[0] = '\0'; break;
        case 13: bad = e[5]; bad.u.verdict.code = NF_ACCEPT; break;
        default:
            bad = e[5];
            bad.u.verdict.code = 2;               /* NF_STOLEN */
            bad.u.verdict.chain[0] = '\0';
            break;
        }
        e[4] = bad;
        CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", e, 6), -EINVAL);
        sample_exprs(e);
    }
    /* a lookup into a verdict map is the one use of register 0 */
    e[2].u.lookup.dreg = NFT_REG_VERDICT;
    e[2].u.lookup.invert = 0;
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", e, 6), 2);

    /* elements */
    make_blob();
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", blob, sizeof(blob), ELEMS, 0,
                           &taken), -EINVAL);
    CHECK_EQ(taken, 0);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", blob, sizeof(blob), ELEMS, 1,
                           NULL), -EINVAL);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", NULL, 0, ELEMS, 1, &taken),
             -EINVAL);
    CHECK_EQ(nlc_nft_elems(&b, 3, 1, "t", "s", blob, sizeof(blob), ELEMS, 1,
                           &taken), -EINVAL);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", blob, sizeof(blob), NULL, 1,
                           &taken), -EINVAL);
    for (int i = 0; i < 13; i++) {
        el = ELEMS[2];
        switch (i) {
        case 0: el.key_len = 0; break;
        case 1: el.key_len = 65; break;
        case 2: el.key_off = 61; break;                /* past the blob */
        case 3: el.key_off = UINT32_MAX; break;
        case 4: el.key_end_len = 4; el.key_end_off = 62; break;
        case 5: el.flags = 2; break;
        case 6: el.has_verdict = 2; break;
        case 7: el.chain_len = 0; break;               /* jump, no chain */
        case 8: el.verdict = NF_ACCEPT; break;         /* chain, no jump */
        case 9: el.data_len = 4; break;                /* data + verdict */
        case 10: el.chain_off = 40; break;             /* a NUL inside */
        case 11: el.has_verdict = 0; break;            /* a chain alone */
        case 12: el = ELEMS[1]; el.data_off = 60; break;
        default: break;
        }
        CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", blob, sizeof(blob), &el,
                               1, &taken), -EINVAL);
        CHECK_EQ(taken, 0);
    }
    /* nothing refused was written: three messages, then untouched bytes */
    CHECK_EQ(b.count, 3);
    for (size_t i = b.len; i < sizeof(u.b); i++)
        if (u.b[i] != 0x5a) {
            CHECK(0);
            break;
        }
    /* NULL batch */
    CHECK_EQ(nlc_nft_begin(NULL), -EINVAL);
    CHECK_EQ(nlc_nft_end(NULL), -EINVAL);
    CHECK_EQ(nlc_nft_table_add(NULL, 1, "t", NULL), -EINVAL);
    CHECK_EQ(nlc_nft_elems(NULL, 0, 1, "t", "s", blob, sizeof(blob), ELEMS,
                           1, &taken), -EINVAL);
}

/* --------------------------------------------------- 4. element lists */

static void
test_elem_split(void)
{
    enum { N = 5000 };
    static struct nlc_nft_elem els[N];
    static uint8_t keys[N * 4];
    uint8_t *buf = malloc(1 << 20);
    struct nlc_batch b;
    size_t done = 0, taken = 0, first_taken = 0;
    unsigned int msgs = 0;

    if (!buf) {
        CHECK(0);
        return;
    }
    for (uint32_t i = 0; i < N; i++) {
        uint32_t be = htonl(i);

        memcpy(keys + 4 * i, &be, 4);
        els[i].key_off = 4 * i;
        els[i].key_len = 4;
    }
    nlc_batch_init(&b, buf, 1 << 20);
    while (done < N) {
        int rc = nlc_nft_elems(&b, 0, NFPROTO_IPV4, "t", "s", keys,
                               sizeof(keys), els + done, N - done, &taken);
        const struct nlmsghdr *nlh;
        const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1];
        const uint8_t *p;
        size_t left, count = 0;

        CHECK_EQ(rc, (int)msgs);
        if (rc < 0)
            break;
        nlh = nth(&b, msgs);
        CHECK_EQ(__nlc_msg_parse(nlh, NFT(NFT_MSG_NEWSETELEM), 4, tb,
                                 NFTA_SET_ELEM_LIST_MAX), 0);
        CHECK(tb[NFTA_SET_ELEM_LIST_ELEMENTS] != NULL);
        if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
            break;
        /* every element, in order, once */
        p = __nlc_attr_data(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
        left = __nlc_attr_len(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
        while (left >= NLA_HDRLEN) {
            const struct nlattr *a = (const struct nlattr *)p;
            const struct nlattr *et[NFTA_SET_ELEM_MAX + 1];
            const struct nlattr *kv[NFTA_DATA_MAX + 1];
            uint32_t key = 0;

            CHECK_NESTED(a, et, NFTA_SET_ELEM_MAX);
            if (et[NFTA_SET_ELEM_KEY]) {
                CHECK_NESTED(et[NFTA_SET_ELEM_KEY], kv, NFTA_DATA_MAX);
                if (kv[NFTA_DATA_VALUE])
                    key = ntohl(__nlc_attr_u32(kv[NFTA_DATA_VALUE]));
            }
            CHECK_EQ(key, done + count);
            count++;
            if ((size_t)NLA_ALIGN(a->nla_len) >= left)
                break;
            p += NLA_ALIGN(a->nla_len);
            left -= NLA_ALIGN(a->nla_len);
        }
        CHECK_EQ(count, taken);
        CHECK(taken == N - done || __nlc_attr_len(
              tb[NFTA_SET_ELEM_LIST_ELEMENTS]) + NLA_HDRLEN + 20 > 0xffff);
        if (!msgs)
            first_taken = taken;
        done += taken;
        msgs++;
    }
    CHECK_EQ(done, N);
    CHECK(msgs >= 2);
    /* the count never depends on the room: exactly the first message's
     * bytes work, one byte less is -EMSGSIZE */
    {
        size_t need = NLMSG_ALIGN(nth(&b, 0)->nlmsg_len);

        nlc_batch_init(&b, buf, need);
        CHECK_EQ(nlc_nft_elems(&b, 0, NFPROTO_IPV4, "t", "s", keys,
                               sizeof(keys), els, N, &taken), 0);
        CHECK_EQ(taken, first_taken);
        nlc_batch_init(&b, buf, need - 1);
        CHECK_EQ(nlc_nft_elems(&b, 0, NFPROTO_IPV4, "t", "s", keys,
                               sizeof(keys), els, N, &taken), -EMSGSIZE);
        CHECK_EQ(taken, 0);
        CHECK_EQ(b.count, 0);
    }
    free(buf);
}

/* ------------------------------------------------ 5. a fake kernel */

#if defined(__GLIBC__) && defined(__linux__)

#define FAKE_PID 777u
#define FK_QMAX 4096
#define FK_DGMAX 256
#define FK_ANSWERS 64

static struct {
    int fd;                     /* the fake socket (/dev/null)           */
    int protocol;
    int sndbuf, rcvbuf;         /* what getsockopt() reports             */
    int buf_max;                /* SO_SNDBUF / SO_RCVBUF's ceiling        */
    bool force_ok;              /* SO_*BUFFORCE allowed (root)           */
    unsigned int sends;         /* sendmsg() calls                       */
    unsigned int msgs;          /* messages of the last transaction      */
    int bad;                    /* malformed transactions received       */
    /* how to answer message i of the transaction (0: BEGIN) */
    int err[FK_ANSWERS];
    const char *text[FK_ANSWERS];
    int whole;                  /* != 0: BEGIN is acknowledged with it   */
    bool whole_then_acks;       /* ... and the others' acks follow       */
    unsigned int drop_ack;      /* this message's ack never comes (0: none) */
    /* reply datagrams, FIFO */
    uint8_t dg[FK_QMAX][FK_DGMAX];
    size_t dglen[FK_QMAX];
    unsigned int head, tail;
} fk;

static void
fk_reset(void)
{
    int fd = fk.fd;

    memset(&fk, 0, sizeof(fk));
    fk.fd = fd;
    fk.protocol = -1;
    fk.sndbuf = 64 << 10;
    fk.rcvbuf = 64 << 10;
    fk.buf_max = 1 << 20;
    fk.force_ok = true;
}

/* One ack datagram, as nfnetlink sends them: capped, ext-ack text. */
static void
fk_ack(const struct nlmsghdr *req, int err, const char *text)
{
    unsigned int slot = fk.tail++ % FK_QMAX;
    uint8_t *p = fk.dg[slot];
    struct nlmsghdr *nlh = (struct nlmsghdr *)p;
    struct nlmsgerr *e = NLMSG_DATA(nlh);
    size_t len = NLMSG_HDRLEN + sizeof(*e);

    if (fk.tail - fk.head > FK_QMAX) {
        fprintf(stderr, "fake kernel: reply queue full\n");
        exit(2);
    }
    memset(p, 0, FK_DGMAX);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_CAPPED;
    nlh->nlmsg_seq = req->nlmsg_seq;
    nlh->nlmsg_pid = FAKE_PID;
    e->error = err;
    e->msg = *req;
    if (text) {
        struct nlattr *a = (struct nlattr *)(p + len);
        size_t tl = strlen(text) + 1;

        a->nla_type = NLMSGERR_ATTR_MSG;
        a->nla_len = (uint16_t)(NLA_HDRLEN + tl);
        memcpy(a + 1, text, tl);
        len += NLA_ALIGN(NLA_HDRLEN + tl);
        nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
    }
    nlh->nlmsg_len = (uint32_t)len;
    fk.dglen[slot] = len;
}

int
socket(int domain, int type, int protocol)
{
    (void)type;
    if (domain != AF_NETLINK) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    fk.protocol = protocol;
    fk.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fk.fd;
}

int
setsockopt(int fd, int level, int optname, const void *optval,
           socklen_t optlen)
{
    int v;

    (void)fd;
    if (level != SOL_SOCKET || optlen != sizeof(int))
        return 0;
    memcpy(&v, optval, sizeof(v));
    if ((optname == SO_SNDBUFFORCE || optname == SO_RCVBUFFORCE) &&
        !fk.force_ok) {
        errno = EPERM;
        return -1;
    }
    if (optname == SO_SNDBUF || optname == SO_RCVBUF)
        v = v < fk.buf_max ? v : fk.buf_max;
    if (optname == SO_SNDBUF || optname == SO_SNDBUFFORCE)
        fk.sndbuf = 2 * v;                  /* the kernel doubles it */
    if (optname == SO_RCVBUF || optname == SO_RCVBUFFORCE)
        fk.rcvbuf = 2 * v;
    return 0;
}

#include "fake_sock.h"

/* A transaction, answered as nfnetlink_rcv_batch does. */
ssize_t
sendmsg(int fd, const struct msghdr *mh, int flags)
{
    const uint8_t *p;
    size_t len;
    const struct nlmsghdr *msgs[8192];
    unsigned int n = 0;
    bool ok = true;

    (void)flags;
    if (fd != fk.fd || mh->msg_iovlen != 1) {
        errno = EINVAL;
        return -1;
    }
    p = mh->msg_iov[0].iov_base;
    len = mh->msg_iov[0].iov_len;
    if (len + 32 > (size_t)fk.sndbuf) {
        errno = EMSGSIZE;
        return -1;
    }
    fk.sends++;
    while (len >= NLMSG_HDRLEN && n < 8192) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
        size_t l = NLMSG_ALIGN(nlh->nlmsg_len);

        if (nlh->nlmsg_len < NLMSG_HDRLEN || l > len)
            break;
        msgs[n++] = nlh;
        p += l;
        len -= l;
    }
    fk.msgs = n;
    if (len || n < 2 || msgs[0]->nlmsg_type != NFNL_MSG_BATCH_BEGIN ||
        msgs[n - 1]->nlmsg_type != NFNL_MSG_BATCH_END)
        ok = false;
    for (unsigned int i = 1; ok && i < n; i++)
        ok = msgs[i]->nlmsg_seq == msgs[0]->nlmsg_seq + i &&
             msgs[i]->nlmsg_pid == 0;
    if (ok) {
        const struct nfgenmsg *g = NLMSG_DATA(msgs[0]);

        ok = g->res_id == htons(NFNL_SUBSYS_NFTABLES);
    }
    if (!ok) {
        fk.bad++;
        return (ssize_t)mh->msg_iov[0].iov_len;
    }
    if (fk.whole)
        fk_ack(msgs[0], fk.whole, fk.text[0]);
    if (fk.whole && !fk.whole_then_acks)
        return (ssize_t)mh->msg_iov[0].iov_len;
    for (unsigned int i = 1; i + 1 < n; i++) {
        if (i == fk.drop_ack || !(msgs[i]->nlmsg_flags & NLM_F_ACK))
            continue;
        fk_ack(msgs[i], i < FK_ANSWERS ? fk.err[i] : 0,
               i < FK_ANSWERS ? fk.text[i] : NULL);
    }
    return (ssize_t)mh->msg_iov[0].iov_len;
}

int
recvmmsg(int fd, struct mmsghdr *mm, unsigned int vlen, int flags,
         struct timespec *tmo)
{
    unsigned int got = 0;

    (void)flags;
    (void)tmo;
    if (fd != fk.fd) {
        errno = EBADF;
        return -1;
    }
    while (got < vlen && fk.head != fk.tail) {
        unsigned int slot = fk.head++ % FK_QMAX;
        struct iovec *iov = mm[got].msg_hdr.msg_iov;

        memcpy(iov->iov_base, fk.dg[slot], fk.dglen[slot]);
        mm[got].msg_len = (unsigned int)fk.dglen[slot];
        mm[got].msg_hdr.msg_flags = 0;
        got++;
    }
    if (got == 0) {
        errno = EAGAIN;     /* blocking: the socket's SO_RCVTIMEO ran out */
        return -1;
    }
    return (int)got;
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
    unsigned int slot;
    size_t n;

    (void)flags;
    if (fd != fk.fd || fk.head == fk.tail) {
        errno = fd != fk.fd ? EBADF : EAGAIN;
        return -1;
    }
    slot = fk.head++ % FK_QMAX;
    n = fk.dglen[slot] < len ? fk.dglen[slot] : len;
    memcpy(buf, fk.dg[slot], n);
    return (ssize_t)n;
}

/* BEGIN, table, set, rule, END */
static void
five(struct nlc_batch *b, void *buf, size_t cap)
{
    nlc_batch_init(b, buf, cap);
    CHECK_EQ(build_sample(b, 0), 0);
    CHECK_EQ(build_sample(b, 2), 1);
    CHECK_EQ(build_sample(b, 6), 2);
    CHECK_EQ(build_sample(b, 8), 3);
    CHECK_EQ(build_sample(b, 1), 4);
}

static void
check_cancelled(const struct nlc_result *r)
{
    CHECK_EQ(r->err, -ECANCELED);
    CHECK_STR(r->msg, "not applied: the transaction was aborted");
}

static void
test_fake_outcomes(struct nlc_sock *s)
{
    static union {
        uint8_t b[8192];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlc_result res[5];

    /* committed: one sendmsg, every result 0 */
    fk_reset();
    five(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_nft_exec(s, &b, res), 0);
    CHECK_EQ(fk.sends, 1);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 1);
    CHECK_EQ(fk.msgs, 5);
    CHECK_EQ(fk.bad, 0);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(res[i].err, 0);
        CHECK_STR(res[i].msg, "");
    }
    CHECK(fk.head == fk.tail);

    /* aborted: the refused one's errno and text, ECANCELED for the rest
     * (acknowledged with 0 all the same) */
    fk_reset();
    fk.err[2] = -ENOENT;
    fk.text[2] = "no such set";
    CHECK_EQ(nlc_nft_exec(s, &b, res), 3);
    CHECK_EQ(res[0].err, 0);
    CHECK_EQ(res[4].err, 0);
    CHECK_EQ(res[2].err, -ENOENT);
    CHECK_STR(res[2].msg, "no such set");
    check_cancelled(&res[1]);
    check_cancelled(&res[3]);

    /* two refused (the kernel goes on after the first), no text */
    fk_reset();
    fk.err[1] = -EEXIST;
    fk.err[3] = -EINVAL;
    CHECK_EQ(nlc_nft_exec(s, &b, res), 3);
    CHECK_EQ(res[1].err, -EEXIST);
    CHECK_STR(res[1].msg, "");
    check_cancelled(&res[2]);
    CHECK_EQ(res[3].err, -EINVAL);

    /* the batch refused as a whole: only BEGIN is acknowledged */
    fk_reset();
    fk.whole = -EPERM;
    fk.text[0] = "not permitted";
    CHECK_EQ(nlc_nft_exec(s, &b, res), 4);
    CHECK_EQ(res[0].err, -EPERM);
    for (int i = 1; i < 4; i++) {
        CHECK_EQ(res[i].err, -EPERM);
        CHECK_STR(res[i].msg, "not permitted");
    }
    CHECK_EQ(res[4].err, 0);
    CHECK(fk.head == fk.tail);

    /* a failed commit: BEGIN's error, then 0 for every message */
    fk_reset();
    fk.whole = -ENOMEM;
    fk.whole_then_acks = true;
    CHECK_EQ(nlc_nft_exec(s, &b, res), 4);
    for (int i = 1; i < 4; i++)
        CHECK_EQ(res[i].err, -ENOMEM);
    CHECK(fk.head == fk.tail);

    /* an ack that never comes: the socket's timeout; the next exchange
     * starts clean */
    fk_reset();
    fk.drop_ack = 2;
    CHECK_EQ(nlc_nft_exec(s, &b, res), -ETIMEDOUT);
    CHECK_EQ(res[1].err, 0);
    CHECK_EQ(res[2].err, -ETIMEDOUT);
    CHECK_EQ(res[3].err, 0);
    fk.drop_ack = 0;
    CHECK_EQ(nlc_nft_exec(s, &b, res), 0);
    CHECK_EQ(fk.bad, 0);
}

static void
test_fake_refusals(struct nlc_sock *s, struct nlc_sock *rt)
{
    static union {
        uint8_t b[8192];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlc_result res[8];
    struct nlmsghdr *nlh;

    fk_reset();
    five(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_nft_exec(NULL, &b, res), -EINVAL);
    CHECK_EQ(nlc_nft_exec(s, NULL, res), -EINVAL);
    CHECK_EQ(nlc_nft_exec(s, &b, NULL), -EINVAL);
    CHECK_EQ(nlc_nft_exec(rt, &b, res), -EINVAL);     /* not nfnetlink */
    /* a middle message that asks for no ack */
    nlh = (struct nlmsghdr *)(u.b + NLMSG_ALIGN(
        ((struct nlmsghdr *)u.b)->nlmsg_len));
    nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EINVAL);
    /* no BEGIN; no END; BEGIN twice; BEGIN alone */
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(build_sample(&b, 2), 0);
    CHECK_EQ(build_sample(&b, 1), 1);
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EINVAL);
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(build_sample(&b, 0), 0);
    CHECK_EQ(build_sample(&b, 2), 1);
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EINVAL);
    CHECK_EQ(build_sample(&b, 0), 2);
    CHECK_EQ(build_sample(&b, 1), 3);
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EINVAL);
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(build_sample(&b, 0), 0);
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EINVAL);
    /* BEGIN, END: an empty transaction is sent and commits */
    CHECK_EQ(build_sample(&b, 1), 1);
    CHECK_EQ(nlc_nft_exec(s, &b, res), 0);
    CHECK_EQ(fk.sends, 1);
    CHECK_EQ(fk.bad, 0);
}

static void
test_fake_buffers(struct nlc_sock *s)
{
    enum { N = 6000, CAP = 1 << 20 };
    static struct nlc_nft_elem els[N];
    static uint8_t keys[N * 16];
    static struct nlc_result res[64];
    uint8_t *buf = malloc(CAP);
    struct nlc_batch b;
    size_t done = 0, taken;

    if (!buf) {
        CHECK(0);
        return;
    }
    for (uint32_t i = 0; i < N; i++) {
        memcpy(keys + 16 * i, &i, sizeof(i));
        els[i].key_off = 16 * i;
        els[i].key_len = 16;
    }
    nlc_batch_init(&b, buf, CAP);
    CHECK_EQ(nlc_nft_begin(&b), 0);
    while (done < N && b.count < 60) {
        CHECK(nlc_nft_elems(&b, 0, NFPROTO_INET, "t", "s", keys,
                            sizeof(keys), els + done, N - done, &taken) > 0);
        done += taken;
    }
    CHECK_EQ(done, N);
    CHECK(nlc_nft_end(&b) > 0);
    CHECK(b.len > (64u << 10));       /* more than the send buffer holds */

    /* root: the send buffer is forced up; still one sendmsg */
    fk_reset();
    CHECK_EQ(nlc_nft_exec(s, &b, res), 0);
    CHECK_EQ(fk.sends, 1);
    CHECK_EQ(fk.bad, 0);
    CHECK(fk.sndbuf >= (int)b.len + 32);
    CHECK(fk.rcvbuf >= (int)(b.count - 2) * 4096);

    /* no privilege, a ceiling below the batch: refused unsent */
    fk_reset();
    fk.force_ok = false;
    fk.buf_max = 32 << 10;
    CHECK_EQ(nlc_nft_exec(s, &b, res), -EMSGSIZE);
    CHECK_EQ(fk.sends, 0);
    for (uint32_t i = 0; i < b.count; i++)
        CHECK_EQ(res[i].err, -EMSGSIZE);
    /* ... and a ceiling above it will do */
    fk_reset();
    fk.force_ok = false;
    CHECK_EQ(nlc_nft_exec(s, &b, res), 0);
    CHECK_EQ(fk.sends, 1);
    free(buf);
}

static void
test_fake_kernel(void)
{
    struct nlc_sock *s = NULL, *rt = NULL;

    fk.fd = -1;
    fk_reset();
    CHECK_EQ(nlc_sock_open(&rt, NETLINK_ROUTE), 0);
    CHECK_EQ(nlc_sock_open(&s, NETLINK_NETFILTER), 0);
    CHECK_EQ(fk.protocol, NETLINK_NETFILTER);
    if (!s || !rt)
        return;
    test_fake_outcomes(s);
    test_fake_refusals(s, rt);
    test_fake_buffers(s);
    nlc_sock_close(s);
    nlc_sock_close(rt);
}

#else
static void
test_fake_kernel(void)
{
    fprintf(stderr, "skip: the fake kernel needs glibc's socket prototypes\n");
}
#endif

int
main(void)
{
    make_blob();
    test_bytes();
    test_bounds();
    test_invalid();
    test_elem_split();
    test_fake_kernel();
    return check_done("test_nft");
}
