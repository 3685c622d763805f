/*
 * test_msg.c - the message layer of the C core, without a kernel.
 *
 *   1. msg.c: message and attribute put / nest / parse round trips, and
 *      bounds: a message is built at every buffer size below the one it
 *      needs (EMSGSIZE, batch untouched, no byte written at or past cap),
 *      EMSGSIZE is sticky, oversized attributes and nests are refused;
 *      batch.c: the echo flag, and batches whose public fields lie.
 *   2. __nlc_attr_parse on malformed input.  Inputs are copied into heap
 *      blocks of exactly their length, so the sanitizer build
 *      (-DNLC_SANITIZE=ON) reports any read out of bounds.
 *   3. Every public builder is built, parsed back with the dump parsers
 *      (nlc_parse_link/addr/route) and compared; the parsers also get
 *      hand-built messages from an independent TLV writer (short family
 *      headers, missing and oversized attributes).
 *   4. sock.c's reply handling (acks matched by sequence number,
 *      extended-ack text, echoed creations, -EPROTO/-ESRCH/-EBADMSG/
 *      -EMSGSIZE/-ETIMEDOUT, send chunking, draining after a failure, the
 *      sendmsg count, forged batches, dumps with DUMP_INTR) against
 *      a fake kernel: this program defines socket(), sendmsg(), recvmmsg()
 *      and friends, the static core binds to them, and no real socket is
 *      ever opened (glibc only: its <sys/socket.h> prototypes are used).
 *
 * Exits non-zero when any check fails.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE      /* we define recv(); no inline wrappers */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>

#include "internal.h"
#include "check.h"

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t
rnd(void)
{
    return check_rnd(&rng_state);
}

/* --------------------------------------------- an independent TLV writer */

/*
 * Builds messages by hand for the parser tests, sharing no code with
 * msg.c: a header, a family header, and attributes appended at the tail.
 */
struct hand {
    union {
        struct nlmsghdr h;
        uint8_t b[4096];
    } u;
};

static void
hand_init(struct hand *m, uint16_t type, uint16_t flags, const void *fam,
          size_t famlen)
{
    memset(m, 0, sizeof(*m));
    m->u.h.nlmsg_type = type;
    m->u.h.nlmsg_flags = flags;
    m->u.h.nlmsg_len = (uint32_t)(16 + ((famlen + 3) & ~(size_t)3));
    if (famlen)
        memcpy(m->u.b + 16, fam, famlen);
}

/* Appends one attribute; returns its offset (for hand_nest_end). */
static size_t
hand_attr(struct hand *m, uint16_t type, const void *data, size_t len)
{
    size_t off = m->u.h.nlmsg_len;
    uint16_t hdr[2] = { (uint16_t)(4 + len), type };

    memcpy(m->u.b + off, hdr, 4);
    if (len)
        memcpy(m->u.b + off + 4, data, len);
    m->u.h.nlmsg_len = (uint32_t)(off + ((4 + len + 3) & ~(size_t)3));
    return off;
}

static void
hand_u32(struct hand *m, uint16_t type, uint32_t v)
{
    hand_attr(m, type, &v, 4);
}

static void
hand_str(struct hand *m, uint16_t type, const char *s)
{
    hand_attr(m, type, s, strlen(s) + 1);
}

static size_t
hand_nest(struct hand *m, uint16_t type)
{
    return hand_attr(m, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
}

static void
hand_nest_end(struct hand *m, size_t off)
{
    uint16_t len = (uint16_t)(m->u.h.nlmsg_len - off);

    memcpy(m->u.b + off, &len, 2);
}

/* A heap copy of exactly n bytes: the sanitizer sees any overread. */
static void *
exact_copy(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);

    if (!q) {
        perror("malloc");
        exit(2);
    }
    if (n)
        memcpy(q, p, n);
    return q;
}

/* The public parsers on one message of exactly its nlmsg_len bytes. */
static int
parse_link(const void *msg, struct nlc_link *out)
{
    return nlc_parse_link(msg, ((const struct nlmsghdr *)msg)->nlmsg_len,
                          out);
}

static int
parse_addr(const void *msg, struct nlc_addr *out)
{
    return nlc_parse_addr(msg, ((const struct nlmsghdr *)msg)->nlmsg_len,
                          out);
}

static int
parse_route(const void *msg, struct nlc_route *out)
{
    return nlc_parse_route(msg, ((const struct nlmsghdr *)msg)->nlmsg_len,
                           out);
}

/* ------------------------------------------------------ 1. msg.c layer */

/* The sample message of the round-trip and bounds tests (88 bytes). */
static int
build_sample(struct nlc_batch *b)
{
    struct nlc_mb m;
    struct nlattr *outer, *inner;
    uint8_t *fam;
    const uint8_t raw5[5] = { 1, 2, 3, 4, 5 };

    fam = __nlc_msg_begin(&m, b, RTM_NEWLINK, NLM_F_CREATE, 4);
    if (fam)
        memcpy(fam, "\x0a\x0b\x0c\x0d", 4);
    __nlc_attr_put_u32(&m, 1, 0xdeadbeef);
    __nlc_attr_put_str(&m, 2, "hello");
    __nlc_attr_put(&m, 3, raw5, sizeof(raw5));
    __nlc_attr_put(&m, 4, NULL, 0);                    /* a flag */
    outer = __nlc_nest_start(&m, 5);
    __nlc_attr_put_u32(&m, 1, 7);
    inner = __nlc_nest_start(&m, 2);
    __nlc_attr_put_str(&m, 3, "x");
    __nlc_nest_end(&m, inner);
    __nlc_nest_end(&m, outer);
    __nlc_attr_put_u32(&m, 6, 42);
    return __nlc_msg_end(&m);
}

#define SAMPLE_LEN 88u

static void
test_msg_begin_end(void)
{
    uint8_t buf[128];
    struct nlc_batch b;
    struct nlc_mb m;
    struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
    uint8_t *fam;

    memset(buf, 0xa5, sizeof(buf));
    nlc_batch_init(&b, buf, sizeof(buf));
    CHECK(b.buf == buf);
    CHECK_EQ(b.cap, sizeof(buf));
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);

    /* an unaligned family header is padded with zeroes */
    fam = __nlc_msg_begin(&m, &b, RTM_GETLINK, NLM_F_DUMP, 1);
    CHECK(fam == buf + NLMSG_HDRLEN);
    CHECK_EQ(nlh->nlmsg_len, 20);
    CHECK_EQ(nlh->nlmsg_type, RTM_GETLINK);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
    CHECK_EQ(nlh->nlmsg_seq, 0);
    CHECK_EQ(nlh->nlmsg_pid, 0);
    CHECK(fam[0] == 0 && fam[1] == 0 && fam[2] == 0 && fam[3] == 0);
    CHECK_EQ(b.len, 0);                 /* not committed yet */
    CHECK_EQ(__nlc_msg_end(&m), 0);
    CHECK_EQ(b.len, 20);
    CHECK_EQ(b.count, 1);

    /* the next one starts right after, and gets the next index */
    fam = __nlc_msg_begin(&m, &b, RTM_DELLINK, 0, 0);
    CHECK(fam == buf + 20 + NLMSG_HDRLEN);
    CHECK_EQ(__nlc_msg_end(&m), 1);
    CHECK_EQ(b.len, 36);
    CHECK_EQ(b.count, 2);
    CHECK(buf[36] == 0xa5);             /* nothing written past the end */

    /* a batch whose length is not aligned takes nothing */
    b.len = 38;
    CHECK(__nlc_msg_begin(&m, &b, RTM_DELLINK, 0, 0) == NULL);
    CHECK_EQ(m.err, -EMSGSIZE);
    CHECK_EQ(__nlc_msg_end(&m), -EMSGSIZE);
    CHECK_EQ(b.len, 38);
    CHECK_EQ(b.count, 2);

    nlc_batch_reset(&b);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);
    CHECK(b.buf == buf);
    CHECK_EQ(b.cap, sizeof(buf));

    /* no storage at all */
    nlc_batch_init(&b, NULL, 4096);
    CHECK_EQ(b.cap, 0);
    CHECK(__nlc_msg_begin(&m, &b, RTM_DELLINK, 0, 0) == NULL);
    CHECK_EQ(__nlc_msg_end(&m), -EMSGSIZE);
    CHECK_EQ(nlc_link_del(&b, 1, NULL), -EMSGSIZE);
}

/* nlc_batch_echo marks the last message only; __nlc_batch_check proves
 * that count messages fill exactly [0, len), whatever a caller wrote into
 * the public fields. */
static void
test_batch_echo_and_check(void)
{
    union {
        uint8_t b[256];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlmsghdr *first = (struct nlmsghdr *)u.b, *second;

    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_batch_echo(&b), -EINVAL);          /* empty */
    CHECK_EQ(__nlc_batch_check(&b), 0);
    CHECK_EQ(nlc_link_del(&b, 1, NULL), 0);
    CHECK_EQ(b.last, 0);
    CHECK_EQ(nlc_link_get(&b, 0, "eth0"), 1);
    CHECK_EQ(b.last, 32);
    second = (struct nlmsghdr *)(u.b + b.last);
    CHECK_EQ(nlc_batch_echo(&b), 0);
    CHECK_EQ(second->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO);
    CHECK_EQ(first->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(nlc_batch_echo(&b), 0);                /* idempotent */
    CHECK_EQ(second->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO);
    CHECK_EQ(__nlc_batch_check(&b), 0);

    /* a failed build leaves `last` on the last complete message */
    b.cap = b.len + 8;
    CHECK_EQ(nlc_link_del(&b, 2, NULL), -EMSGSIZE);
    CHECK_EQ(b.last, 32);
    b.cap = sizeof(u.b);

    /* forged fields */
    b.count = 3;                                    /* more than len holds */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    b.count = 1;                                    /* fewer */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    b.count = 2;
    b.len = 0;                                      /* a length set to 0 */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    b.len = sizeof(u.b) + 4;                        /* past cap */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    b.len = 32 + NLMSG_ALIGN(second->nlmsg_len);
    CHECK_EQ(__nlc_batch_check(&b), 0);
    first->nlmsg_len = 8;                           /* shorter than a header */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    first->nlmsg_len = 0xffffffffu;                 /* wraps when aligned */
    CHECK_EQ(__nlc_batch_check(&b), -EINVAL);
    first->nlmsg_len = 32;
    CHECK_EQ(__nlc_batch_check(&b), 0);
    b.last = b.len;                                 /* echo past the end */
    CHECK_EQ(nlc_batch_echo(&b), -EINVAL);
    nlc_batch_reset(&b);
    CHECK_EQ(b.last, 0);
    b.count = 1;                                    /* nothing behind it */
    CHECK_EQ(nlc_batch_echo(&b), -EINVAL);
}

static void
test_attr_round_trip(void)
{
    union {
        uint8_t b[256];
        uint32_t align;
    } u;
    struct nlc_batch b;
    const struct nlattr *tb[8], *nb[4], *ib[4];
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)u.b;
    const uint8_t *p;
    int rc;

    memset(u.b, 0xa5, sizeof(u.b));
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(build_sample(&b), 0);
    CHECK_EQ(nlh->nlmsg_len, SAMPLE_LEN);
    CHECK_EQ(b.len, SAMPLE_LEN);
    CHECK(u.b[SAMPLE_LEN] == 0xa5);
    CHECK_MEM(u.b + 16, "\x0a\x0b\x0c\x0d", 4);

    p = u.b + 20;
    rc = __nlc_attr_parse(p, SAMPLE_LEN - 20, tb, 7);
    CHECK_EQ(rc, 0);
    if (rc < 0)
        return;
    CHECK(tb[0] == NULL && tb[7] == NULL);
    CHECK(tb[1] && tb[2] && tb[3] && tb[4] && tb[5] && tb[6]);
    if (!(tb[1] && tb[2] && tb[3] && tb[4] && tb[5] && tb[6]))
        return;
    /* the exact wire layout: offsets, lengths, zero padding */
    CHECK((const uint8_t *)tb[1] == p);
    CHECK_EQ(tb[1]->nla_len, 8);
    CHECK_EQ(__nlc_attr_u32(tb[1]), 0xdeadbeef);
    CHECK((const uint8_t *)tb[2] == p + 8);
    CHECK_EQ(tb[2]->nla_len, 10);
    CHECK_MEM(__nlc_attr_data(tb[2]), "hello\0\0\0", 8);
    CHECK((const uint8_t *)tb[3] == p + 20);
    CHECK_EQ(tb[3]->nla_len, 9);
    CHECK_MEM(__nlc_attr_data(tb[3]), "\1\2\3\4\5\0\0\0", 8);
    CHECK((const uint8_t *)tb[4] == p + 32);
    CHECK_EQ(tb[4]->nla_len, 4);
    CHECK_EQ(__nlc_attr_len(tb[4]), 0);
    CHECK((const uint8_t *)tb[5] == p + 36);
    CHECK_EQ(tb[5]->nla_type, 5 | NLA_F_NESTED);
    CHECK_EQ(tb[5]->nla_len, 24);
    CHECK((const uint8_t *)tb[6] == p + 60);
    CHECK_EQ(__nlc_attr_u32(tb[6]), 42);

    rc = __nlc_attr_parse(__nlc_attr_data(tb[5]), __nlc_attr_len(tb[5]), nb,
                          3);
    CHECK_EQ(rc, 0);
    if (rc < 0 || !nb[1] || !nb[2]) {
        CHECK(0);
        return;
    }
    CHECK_EQ(__nlc_attr_u32(nb[1]), 7);
    CHECK_EQ(nb[2]->nla_type, 2 | NLA_F_NESTED);
    CHECK_EQ(nb[2]->nla_len, 12);
    rc = __nlc_attr_parse(__nlc_attr_data(nb[2]), __nlc_attr_len(nb[2]), ib,
                          3);
    CHECK_EQ(rc, 0);
    if (rc == 0 && ib[3]) {
        char s[8];

        CHECK_EQ(ib[3]->nla_len, 6);
        __nlc_attr_strcpy(s, sizeof(s), ib[3]);
        CHECK_STR(s, "x");
    } else {
        CHECK(0);
    }
}

/* Every capacity below the needed one: -EMSGSIZE, batch and the bytes at
 * and past cap untouched; then at the exact size, the same bytes as a
 * roomy build.  With and without a message already in the batch. */
static void
test_attr_bounds(void)
{
    uint8_t ref[512];
    struct nlc_batch b;

    for (int with_prefix = 0; with_prefix < 2; with_prefix++) {
        uint8_t *big = calloc(1, sizeof(ref));
        size_t prefix;

        nlc_batch_init(&b, big, sizeof(ref));
        if (with_prefix)
            CHECK_EQ(nlc_link_del(&b, 3, NULL), 0);     /* 32 bytes */
        prefix = b.len;
        CHECK_EQ(prefix, with_prefix ? 32 : 0);
        CHECK_EQ(build_sample(&b), prefix ? 1 : 0);
        CHECK_EQ(b.len, prefix + SAMPLE_LEN);
        memcpy(ref, big, prefix + SAMPLE_LEN);
        free(big);

        for (size_t cap = prefix; cap <= prefix + SAMPLE_LEN; cap++) {
            size_t total = prefix + SAMPLE_LEN + 64;
            uint8_t *buf = malloc(total);
            int rc;

            memset(buf, 0xa5, total);
            nlc_batch_init(&b, buf, cap);
            if (prefix) {
                memcpy(buf, ref, prefix);
                b.len = prefix;
                b.count = 1;
            }
            rc = build_sample(&b);
            if (cap < prefix + SAMPLE_LEN) {
                CHECK_EQ(rc, -EMSGSIZE);
                CHECK_EQ(b.len, prefix);
                CHECK_EQ(b.count, prefix ? 1 : 0);
            } else {
                CHECK_EQ(rc, prefix ? 1 : 0);
                CHECK_EQ(b.len, cap);
                CHECK_MEM(buf, ref, cap);
            }
            CHECK_MEM(buf, ref, prefix);
            for (size_t i = cap; i < total; i++) {
                if (buf[i] != 0xa5) {
                    fprintf(stderr, "cap %zu: byte %zu written\n", cap, i);
                    failures++;
                    break;
                }
            }
            free(buf);
        }
    }
}

static void
test_attr_sticky_and_limits(void)
{
    uint8_t buf[64];
    struct nlc_batch b;
    struct nlc_mb m;
    uint8_t big[100] = { 0 };
    uint32_t len_before;
    uint8_t *huge;
    struct nlattr *nest;

    /* a failed put poisons the message: later small puts do nothing */
    nlc_batch_init(&b, buf, sizeof(buf));
    CHECK(__nlc_msg_begin(&m, &b, RTM_NEWLINK, 0, 16) != NULL);
    __nlc_attr_put_u32(&m, 1, 1);
    len_before = m.nlh->nlmsg_len;
    __nlc_attr_put(&m, 2, big, sizeof(big));
    CHECK_EQ(m.err, -EMSGSIZE);
    CHECK_EQ(m.nlh->nlmsg_len, len_before);
    __nlc_attr_put_u32(&m, 3, 3);                    /* would fit */
    CHECK_EQ(m.nlh->nlmsg_len, len_before);
    CHECK(__nlc_nest_start(&m, 4) == NULL);
    CHECK(__nlc_put_raw(&m, 0) == NULL);
    __nlc_nest_end(&m, NULL);
    CHECK_EQ(m.err, -EMSGSIZE);
    CHECK_EQ(__nlc_msg_end(&m), -EMSGSIZE);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);

    /* an attribute payload that nla_len (u16) cannot describe */
    huge = calloc(1, 200000);
    nlc_batch_init(&b, huge, 200000);
    CHECK(__nlc_msg_begin(&m, &b, RTM_NEWLINK, 0, 16) != NULL);
    __nlc_attr_put(&m, 1, huge + 100000, UINT16_MAX - NLA_HDRLEN);
    CHECK_EQ(m.err, 0);                              /* the largest fits */
    CHECK_EQ(__nlc_msg_end(&m), 0);
    CHECK_EQ(b.len, NLMSG_HDRLEN + 16 + NLC_ALIGN(UINT16_MAX));

    nlc_batch_reset(&b);
    CHECK(__nlc_msg_begin(&m, &b, RTM_NEWLINK, 0, 16) != NULL);
    __nlc_attr_put(&m, 1, huge + 100000, UINT16_MAX - NLA_HDRLEN + 1);
    CHECK_EQ(m.err, -EMSGSIZE);
    CHECK_EQ(__nlc_msg_end(&m), -EMSGSIZE);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);

    /* a nest whose content outgrows nla_len */
    nlc_batch_reset(&b);
    CHECK(__nlc_msg_begin(&m, &b, RTM_NEWLINK, 0, 16) != NULL);
    nest = __nlc_nest_start(&m, 1);
    CHECK(nest != NULL);
    __nlc_attr_put(&m, 2, huge + 100000, 40000);
    __nlc_attr_put(&m, 3, huge + 100000, 40000);
    CHECK_EQ(m.err, 0);
    __nlc_nest_end(&m, nest);
    CHECK_EQ(m.err, -EMSGSIZE);
    CHECK_EQ(__nlc_msg_end(&m), -EMSGSIZE);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);
    free(huge);
}

/* ------------------------------------------------- 2. __nlc_attr_parse */

/* Parses an exact heap copy; checks every tb[] entry lies inside it. */
static int
parse_exact(const void *data, size_t len, unsigned int maxtype,
            uint16_t *types_found)
{
    const struct nlattr *tb[16];
    uint8_t *p = exact_copy(data, len);
    int rc;

    for (unsigned int i = 0; i < 16; i++)
        tb[i] = (const struct nlattr *)(uintptr_t)0x1;  /* must be reset */
    rc = __nlc_attr_parse(p, len, tb, maxtype);
    if (types_found)
        *types_found = 0;
    for (unsigned int i = 0; i <= maxtype; i++) {
        if (rc == 0 && tb[i]) {
            const uint8_t *a = (const uint8_t *)tb[i];

            CHECK(a >= p && a + 4 <= p + len);
            CHECK(a + tb[i]->nla_len <= p + len);
            CHECK_EQ(tb[i]->nla_type & NLA_TYPE_MASK, i);
            if (types_found)
                *types_found |= (uint16_t)(1u << i);
        }
        if (rc == 0 && tb[i] == (const struct nlattr *)(uintptr_t)0x1)
            CHECK(!"tb entry left unset");
    }
    free(p);
    return rc;
}

static void
test_parse_malformed(void)
{
    /* little-endian words: nla_len, nla_type */
    static const uint8_t ok2[] = { 8, 0, 1, 0, 1, 2, 3, 4,
                                   5, 0, 2, 0, 9, 0, 0, 0 };
    uint8_t buf[32];
    uint16_t found;
    const struct nlattr *tb[4];

    CHECK_EQ(parse_exact(NULL, 0, 3, &found), 0);
    CHECK_EQ(found, 0);
    CHECK_EQ(parse_exact(ok2, sizeof(ok2), 3, &found), 0);
    CHECK_EQ(found, (1u << 1) | (1u << 2));
    /* the last attribute may omit its padding */
    CHECK_EQ(parse_exact(ok2, 13, 3, &found), 0);
    CHECK_EQ(found, (1u << 1) | (1u << 2));
    /* types above maxtype are skipped, not refused */
    CHECK_EQ(parse_exact(ok2, sizeof(ok2), 1, &found), 0);
    CHECK_EQ(found, 1u << 1);

    /* truncated header: 1..3 bytes, alone or after a good attribute */
    for (size_t n = 1; n < 4; n++) {
        CHECK_EQ(parse_exact(ok2, n, 3, NULL), -EBADMSG);
        memcpy(buf, ok2, 8);
        memset(buf + 8, 0, n);
        CHECK_EQ(parse_exact(buf, 8 + n, 3, NULL), -EBADMSG);
    }
    /* nla_len < 4 (0 would loop forever if accepted) */
    for (uint8_t l = 0; l < 4; l++) {
        uint8_t a[8] = { l, 0, 1, 0, 0, 0, 0, 0 };

        CHECK_EQ(parse_exact(a, 4, 3, NULL), -EBADMSG);
        CHECK_EQ(parse_exact(a, 8, 3, NULL), -EBADMSG);
        memcpy(buf, ok2, 8);
        memcpy(buf + 8, a, 8);
        CHECK_EQ(parse_exact(buf, 16, 3, NULL), -EBADMSG);
    }
    /* nla_len beyond the buffer, first or later, by one or by a lot */
    {
        uint8_t a[8] = { 9, 0, 1, 0, 1, 2, 3, 4 };

        CHECK_EQ(parse_exact(a, 8, 3, NULL), -EBADMSG);
        a[0] = 0xff;
        a[1] = 0xff;
        CHECK_EQ(parse_exact(a, 8, 3, NULL), -EBADMSG);
        memcpy(buf, ok2, 8);
        memcpy(buf + 8, a, 8);
        CHECK_EQ(parse_exact(buf, 16, 3, NULL), -EBADMSG);
        buf[8] = 9;
        buf[9] = 0;
        CHECK_EQ(parse_exact(buf, 16, 3, NULL), -EBADMSG);
    }
    /* NLA_F_NESTED / NLA_F_NET_BYTEORDER are masked off the type */
    {
        uint8_t a[8] = { 8, 0, 2, 0xc0, 0, 0, 0, 0 };

        CHECK_EQ(parse_exact(a, 8, 3, &found), 0);
        CHECK_EQ(found, 1u << 2);
    }
    /* duplicates: the last one wins */
    {
        uint8_t a[16] = { 8, 0, 1, 0, 1, 0, 0, 0, 8, 0, 1, 0, 2, 0, 0, 0 };

        CHECK_EQ(__nlc_attr_parse(a, sizeof(a), tb, 3), 0);
        CHECK(tb[1] == (const struct nlattr *)(a + 8));
        CHECK_EQ(__nlc_attr_u32(tb[1]), 2);
    }
    /* short payloads read as zero / are cut to the capacity */
    {
        uint8_t a[8] = { 6, 0, 1, 0, 0xff, 0xff, 0, 0 };
        char s[4];

        CHECK_EQ(__nlc_attr_parse(a, sizeof(a), tb, 3), 0);
        CHECK_EQ(__nlc_attr_u32(tb[1]), 0);
        a[0] = 4;
        CHECK_EQ(__nlc_attr_parse(a, 4, tb, 3), 0);
        memset(s, 'z', sizeof(s));
        __nlc_attr_strcpy(s, sizeof(s), tb[1]);
        CHECK_STR(s, "");
    }
    {
        uint8_t a[12] = { 12, 0, 1, 0, 'a', 'b', 'c', 'd',
                          'e', 'f', 'g', 'h' };
        char s[4] = "zzz";

        CHECK_EQ(__nlc_attr_parse(a, sizeof(a), tb, 3), 0);
        __nlc_attr_strcpy(s, sizeof(s), tb[1]);
        CHECK_STR(s, "abc");
        __nlc_attr_strcpy(s, 0, tb[1]);                 /* no write */
        CHECK_STR(s, "abc");
    }

    /* random bytes: never a crash or an out-of-bounds read (the sanitizer
     * build checks that), only 0 or -EBADMSG, and every tb[] inside */
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t r[64];
        size_t len = (size_t)(rnd() % sizeof(r));
        int rc;

        for (size_t i = 0; i < len; i++)
            r[i] = (uint8_t)rnd();
        /* make plausible lengths common */
        for (size_t i = 0; i + 4 <= len; i += 4 * (1 + rnd() % 3)) {
            if (rnd() % 2) {
                r[i] = (uint8_t)(rnd() % (len - i + 6));
                r[i + 1] = 0;
                r[i + 3] &= 0xc0;
            }
        }
        rc = parse_exact(r, len, 15, NULL);
        CHECK(rc == 0 || rc == -EBADMSG);
    }
}

/* ---------------------------------------------- 3. builders and parsers */

static const uint8_t MAC1[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
static const uint8_t MAC2[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0xff };

/* The i-th message of a batch (NULL past its count). */
static struct nlmsghdr *
nth(struct nlc_batch *b, unsigned int i)
{
    uint8_t *p = b->buf;

    if (__nlc_batch_check(b) < 0 || i >= b->count)
        return NULL;
    while (i--)
        p += NLMSG_ALIGN(((struct nlmsghdr *)p)->nlmsg_len);
    return (struct nlmsghdr *)p;
}

/* The attributes after a message's family header. */
static int
msg_attrs(const struct nlmsghdr *nlh, size_t famlen,
          const struct nlattr **tb, unsigned int maxtype)
{
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(famlen);

    if (nlh->nlmsg_len < off)
        return -EBADMSG;
    return __nlc_attr_parse((const uint8_t *)nlh + off,
                            nlh->nlmsg_len - off, tb, maxtype);
}

/* Parses a request as the reply type (a copy with the type changed), so
 * that SET/DEL/GET requests go through the same parsers. */
static int
parse_as(const struct nlmsghdr *nlh, uint16_t type, void *out,
         int (*parse)(const struct nlmsghdr *, void *))
{
    uint8_t *copy = exact_copy(nlh, nlh->nlmsg_len);
    int rc;

    ((struct nlmsghdr *)copy)->nlmsg_type = type;
    rc = parse((const struct nlmsghdr *)copy, out);
    free(copy);
    return rc;
}

static int
p_link(const struct nlmsghdr *nlh, void *out)
{
    return parse_link(nlh, out);
}

static int
p_addr(const struct nlmsghdr *nlh, void *out)
{
    return parse_addr(nlh, out);
}

static int
p_route(const struct nlmsghdr *nlh, void *out)
{
    return parse_route(nlh, out);
}

static void
test_build_links(void)
{
    union {
        uint8_t b[2048];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifi;
    struct nlc_link l;
    const struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
    const struct nlattr *vd[VETH_INFO_MAX + 1], *pb[IFLA_MAX + 1];
    const struct ifinfomsg *pifi;
    char s[16];

    nlc_batch_init(&b, u.b, sizeof(u.b));

    /* bridge, everything set */
    CHECK_EQ(nlc_link_add_bridge(&b, "br-test", 1450, MAC1, 1, 77), 0);
    nlh = nth(&b, 0);
    ifi = NLMSG_DATA(nlh);
    CHECK_EQ(nlh->nlmsg_type, RTM_NEWLINK);
    CHECK_EQ(nlh->nlmsg_flags,
             NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    CHECK_EQ(ifi->ifi_change, IFF_UP);
    CHECK_EQ(parse_link(nlh, &l), 0);
    CHECK_EQ(l.index, 0);
    CHECK_EQ(l.flags, IFF_UP);
    CHECK_STR(l.name, "br-test");
    CHECK_EQ(l.mtu, 1450);
    CHECK_EQ(l.mac_len, 6);
    CHECK_MEM(l.mac, MAC1, 6);
    CHECK_EQ(l.group, 77);
    CHECK_EQ(l.master, 0);
    CHECK_EQ(l.link, 0);
    CHECK_EQ(l.link_netnsid, -1);
    CHECK_STR(l.kind, "bridge");

    /* bridge, nothing optional: the attributes are absent, not zero;
     * group 0 is a value and is sent */
    CHECK_EQ(nlc_link_add_bridge(&b, "br1", 0, NULL, 0, -1), 1);
    nlh = nth(&b, 1);
    ifi = NLMSG_DATA(nlh);
    CHECK_EQ(ifi->ifi_change, 0);
    CHECK_EQ(ifi->ifi_flags, 0);
    CHECK_EQ(msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(tb[IFLA_IFNAME] && tb[IFLA_LINKINFO]);
    CHECK(!tb[IFLA_MTU] && !tb[IFLA_ADDRESS] && !tb[IFLA_GROUP]);
    CHECK(!tb[IFLA_MASTER] && !tb[IFLA_NET_NS_FD]);
    CHECK_EQ(nlc_link_add_bridge(&b, "br2", 0, NULL, -1, 0), 2);
    CHECK_EQ(msg_attrs(nth(&b, 2), sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(tb[IFLA_GROUP] && __nlc_attr_u32(tb[IFLA_GROUP]) == 0);

    /* veth, everything set; the peer is dug out by hand */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_link_add_veth(&b, "veth-host", 3, 1400, MAC1, 1, 5,
                               "eth0", 9, 1300, MAC2, 1), 0);
    nlh = nth(&b, 0);
    CHECK_EQ(nlh->nlmsg_flags,
             NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    CHECK_EQ(parse_link(nlh, &l), 0);
    CHECK_STR(l.name, "veth-host");
    CHECK_EQ(l.master, 3);
    CHECK_EQ(l.mtu, 1400);
    CHECK_EQ(l.group, 5);
    CHECK_EQ(l.flags, IFF_UP);
    CHECK_MEM(l.mac, MAC1, 6);
    CHECK_STR(l.kind, "veth");
    CHECK_EQ(msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(!tb[IFLA_NET_NS_FD]);
    CHECK(tb[IFLA_NUM_TX_QUEUES] && tb[IFLA_NUM_RX_QUEUES]);
    if (tb[IFLA_NUM_TX_QUEUES] && tb[IFLA_NUM_RX_QUEUES]) {
        CHECK_EQ(__nlc_attr_u32(tb[IFLA_NUM_TX_QUEUES]), 1);
        CHECK_EQ(__nlc_attr_u32(tb[IFLA_NUM_RX_QUEUES]), 1);
    }
    CHECK(tb[IFLA_LINKINFO] != NULL);
    if (!tb[IFLA_LINKINFO])
        return;
    CHECK_NESTED(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
    CHECK(li[IFLA_INFO_DATA] != NULL);
    if (!li[IFLA_INFO_DATA])
        return;
    CHECK_NESTED(li[IFLA_INFO_DATA], vd, VETH_INFO_MAX);
    CHECK(vd[VETH_INFO_PEER] != NULL);
    if (!vd[VETH_INFO_PEER] ||
        __nlc_attr_len(vd[VETH_INFO_PEER]) < sizeof(struct ifinfomsg)) {
        CHECK(0);
        return;
    }
    pifi = __nlc_attr_data(vd[VETH_INFO_PEER]);
    CHECK_EQ(pifi->ifi_family, 0);
    CHECK_EQ(pifi->ifi_index, 0);
    CHECK_EQ(pifi->ifi_flags, 0);     /* the peer cannot be set up here */
    CHECK_EQ(pifi->ifi_change, 0);
    CHECK_EQ(__nlc_attr_parse((const uint8_t *)pifi + sizeof(*pifi),
                              __nlc_attr_len(vd[VETH_INFO_PEER]) -
                                  sizeof(*pifi), pb, IFLA_MAX), 0);
    CHECK(pb[IFLA_IFNAME] && pb[IFLA_NET_NS_FD] && pb[IFLA_MTU] &&
          pb[IFLA_ADDRESS]);
    if (pb[IFLA_IFNAME]) {
        __nlc_attr_strcpy(s, sizeof(s), pb[IFLA_IFNAME]);
        CHECK_STR(s, "eth0");
    }
    if (pb[IFLA_NET_NS_FD])
        CHECK_EQ(__nlc_attr_u32(pb[IFLA_NET_NS_FD]), 9);
    if (pb[IFLA_MTU])
        CHECK_EQ(__nlc_attr_u32(pb[IFLA_MTU]), 1300);
    if (pb[IFLA_ADDRESS]) {
        CHECK_EQ(__nlc_attr_len(pb[IFLA_ADDRESS]), 6);
        CHECK_MEM(__nlc_attr_data(pb[IFLA_ADDRESS]), MAC2, 6);
    }
    CHECK(!pb[IFLA_GROUP] && !pb[IFLA_MASTER]);
    /* each end is its own device: the queues go to the peer too */
    CHECK(pb[IFLA_NUM_TX_QUEUES] && pb[IFLA_NUM_RX_QUEUES]);
    if (pb[IFLA_NUM_TX_QUEUES] && pb[IFLA_NUM_RX_QUEUES]) {
        CHECK_EQ(__nlc_attr_u32(pb[IFLA_NUM_TX_QUEUES]), 1);
        CHECK_EQ(__nlc_attr_u32(pb[IFLA_NUM_RX_QUEUES]), 1);
    }

    /* veth, minimal: no master, peer beside the host end (fd 0 is a
     * valid namespace fd and is sent) */
    CHECK_EQ(nlc_link_add_veth(&b, "v0", 0, 0, NULL, 0, -1, "v1", -1, 0,
                               NULL, 0), 1);
    CHECK_EQ(msg_attrs(nth(&b, 1), sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(!tb[IFLA_MASTER] && !tb[IFLA_MTU] && !tb[IFLA_ADDRESS] &&
          !tb[IFLA_GROUP] && !tb[IFLA_NUM_TX_QUEUES] &&
          !tb[IFLA_NUM_RX_QUEUES]);
    CHECK_EQ(nlc_link_add_veth(&b, "v2", -1, 0, NULL, 0, -1, "v3", 0, 0,
                               NULL, 0), 2);
    CHECK_EQ(parse_link(nth(&b, 2), &l), 0);
    CHECK_EQ(l.master, 0);

    /* set by index: every field */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_link_set(&b, 12, NULL, 0, 0, 9000, "renamed", 0, 0, MAC2, -1),
             0);
    nlh = nth(&b, 0);
    ifi = NLMSG_DATA(nlh);
    CHECK_EQ(nlh->nlmsg_type, RTM_SETLINK);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(ifi->ifi_index, 12);
    CHECK_EQ(ifi->ifi_change, IFF_UP);
    CHECK_EQ(ifi->ifi_flags, 0);
    CHECK_EQ(parse_as(nlh, RTM_NEWLINK, &l, p_link), 0);
    CHECK_EQ(l.index, 12);
    CHECK_STR(l.name, "renamed");
    CHECK_EQ(l.mtu, 9000);
    CHECK_EQ(l.group, 0);
    CHECK_MEM(l.mac, MAC2, 6);
    CHECK_EQ(msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(tb[IFLA_MASTER] && __nlc_attr_u32(tb[IFLA_MASTER]) == 0);
    CHECK(tb[IFLA_NET_NS_FD] && __nlc_attr_u32(tb[IFLA_NET_NS_FD]) == 0);
    CHECK(tb[IFLA_GROUP] != NULL);
    /* nlc_parse_link parses nothing but RTM_NEWLINK */
    CHECK_EQ(parse_link(nlh, &l), 1);

    /* set by index, nothing: just the header */
    CHECK_EQ(nlc_link_set(&b, 12, NULL, -1, -1, 0, NULL, -1, -1, NULL, -1), 1);
    nlh = nth(&b, 1);
    CHECK_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(struct ifinfomsg)));
    CHECK_EQ(((struct ifinfomsg *)NLMSG_DATA(nlh))->ifi_change, 0);

    /* set by name, up; a name is ignored when the index is given */
    CHECK_EQ(nlc_link_set(&b, 0, "eth7", 1, 4, 0, NULL, -1, -1, NULL, -1), 2);
    CHECK_EQ(parse_as(nth(&b, 2), RTM_NEWLINK, &l, p_link), 0);
    CHECK_STR(l.name, "eth7");
    CHECK_EQ(l.index, 0);
    CHECK_EQ(l.flags, IFF_UP);
    CHECK_EQ(l.master, 4);
    CHECK_EQ(nlc_link_set(&b, 8, "ignored", -1, -1, 0, NULL, -1, -1, NULL, -1),
             3);
    CHECK_EQ(msg_attrs(nth(&b, 3), sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(!tb[IFLA_IFNAME]);

    /* del, del group, get */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_link_del(&b, 6, NULL), 0);
    CHECK_EQ(nlc_link_del(&b, 0, "gone0"), 1);
    CHECK_EQ(nlc_link_del_group(&b, 4242), 2);
    CHECK_EQ(nlc_link_get(&b, 0, "lo"), 3);
    CHECK_EQ(nlc_link_get(&b, 9, NULL), 4);
    CHECK_EQ(b.count, 5);
    CHECK_EQ(nth(&b, 0)->nlmsg_type, RTM_DELLINK);
    CHECK_EQ(nth(&b, 0)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(nth(&b, 0)->nlmsg_len, NLMSG_LENGTH(sizeof(*ifi)));
    CHECK_EQ(((struct ifinfomsg *)NLMSG_DATA(nth(&b, 0)))->ifi_index, 6);
    CHECK_EQ(parse_as(nth(&b, 1), RTM_NEWLINK, &l, p_link), 0);
    CHECK_STR(l.name, "gone0");
    CHECK_EQ(parse_as(nth(&b, 2), RTM_NEWLINK, &l, p_link), 0);
    CHECK_EQ(l.group, 4242);
    CHECK_EQ(l.index, 0);
    CHECK_EQ(nth(&b, 3)->nlmsg_type, RTM_GETLINK);
    CHECK_EQ(nth(&b, 3)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(msg_attrs(nth(&b, 3), sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(tb[IFLA_EXT_MASK] &&
          __nlc_attr_u32(tb[IFLA_EXT_MASK]) == RTEXT_FILTER_SKIP_STATS);
    CHECK(tb[IFLA_IFNAME] != NULL);
    CHECK_EQ(msg_attrs(nth(&b, 4), sizeof(*ifi), tb, IFLA_MAX), 0);
    CHECK(!tb[IFLA_IFNAME] && tb[IFLA_EXT_MASK]);

    /* invalid arguments take nothing */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_link_add_bridge(&b, NULL, 0, NULL, 0, -1), -EINVAL);
    CHECK_EQ(nlc_link_add_bridge(&b, "", 0, NULL, 0, -1), -EINVAL);
    CHECK_EQ(nlc_link_add_bridge(&b, "0123456789abcdef", 0, NULL, 0, -1),
             -EINVAL);
    CHECK_EQ(nlc_link_add_bridge(&b, "br", 0, NULL, 0,
                                 (int64_t)UINT32_MAX + 1), -EINVAL);
    CHECK_EQ(nlc_link_add_veth(&b, "a", 0, 0, NULL, 0, -1, NULL, -1, 0,
                               NULL, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_veth(&b, "a", 0, 0, NULL, 0, -1, "b", -1, 0,
                               NULL, NLC_MAX_QUEUES + 1), -EINVAL);
    CHECK_EQ(nlc_link_set(&b, 0, NULL, 1, -1, 0, NULL, -1, -1, NULL, -1),
             -EINVAL);
    CHECK_EQ(nlc_link_set(&b, 0, "a", 1, -1, 0, "b", -1, -1, NULL, -1),
             -EINVAL);
    CHECK_EQ(nlc_link_del(&b, 0, NULL), -EINVAL);
    CHECK_EQ(nlc_link_del_group(&b, 0), -EINVAL);
    CHECK_EQ(nlc_link_get(&b, -1, ""), -EINVAL);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);
    /* a 15-byte name is the longest */
    CHECK_EQ(nlc_link_add_bridge(&b, "0123456789abcde", 0, NULL, 0, -1), 0);
    CHECK_EQ(parse_link(nth(&b, 0), &l), 0);
    CHECK_STR(l.name, "0123456789abcde");
}

static void
test_build_addrs(void)
{
    union {
        uint8_t b[1024];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlc_addr a;
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    const struct nlattr *tb[IFA_MAX + 1];
    static const uint8_t v4[4] = { 10, 1, 2, 3 };
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0x42 };
    static const struct {
        uint8_t plen;
        uint8_t brd[4];     /* all zero: no broadcast */
    } cases[] = {
        { 0, { 255, 255, 255, 255 } }, { 8, { 10, 255, 255, 255 } },
        { 23, { 10, 1, 3, 255 } },     { 24, { 10, 1, 2, 255 } },
        { 30, { 10, 1, 2, 3 } },       { 31, { 0, 0, 0, 0 } },
        { 32, { 0, 0, 0, 0 } },
    };

    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nlc_batch_reset(&b);
        CHECK_EQ(nlc_addr_add(&b, 7, AF_INET, v4, cases[i].plen,
                              NLC_ADDR_NODAD), 0);
        nlh = nth(&b, 0);
        ifa = NLMSG_DATA(nlh);
        CHECK_EQ(nlh->nlmsg_type, RTM_NEWADDR);
        CHECK_EQ(nlh->nlmsg_flags,
                 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        CHECK_EQ(ifa->ifa_flags, IFA_F_NODAD);
        CHECK_EQ(parse_addr(nlh, &a), 0);
        CHECK_EQ(a.index, 7);
        CHECK_EQ(a.family, AF_INET);
        CHECK_EQ(a.prefixlen, cases[i].plen);
        CHECK_EQ(a.flags, IFA_F_NODAD);
        CHECK_MEM(a.addr, v4, 4);
        CHECK_MEM(a.local, v4, 4);
        CHECK_EQ(msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX), 0);
        CHECK(tb[IFA_LOCAL] && tb[IFA_ADDRESS] && tb[IFA_FLAGS]);
        if (cases[i].plen < 31) {
            CHECK(tb[IFA_BROADCAST] != NULL);
            if (tb[IFA_BROADCAST]) {
                CHECK_EQ(__nlc_attr_len(tb[IFA_BROADCAST]), 4);
                CHECK_MEM(__nlc_attr_data(tb[IFA_BROADCAST]), cases[i].brd,
                          4);
            }
        } else {
            CHECK(tb[IFA_BROADCAST] == NULL);
        }
    }

    /* no flags: no IFA_FLAGS at all */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_addr_add(&b, 7, AF_INET, v4, 24, 0), 0);
    CHECK_EQ(msg_attrs(nth(&b, 0), sizeof(*ifa), tb, IFA_MAX), 0);
    CHECK(tb[IFA_FLAGS] == NULL);

    /* IPv6: no broadcast, the address reads back */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_addr_add(&b, 9, AF_INET6, v6, 64, NLC_ADDR_NODAD), 0);
    nlh = nth(&b, 0);
    CHECK_EQ(parse_addr(nlh, &a), 0);
    CHECK_EQ(a.family, AF_INET6);
    CHECK_EQ(a.prefixlen, 64);
    CHECK_EQ(a.index, 9);
    CHECK_EQ(a.flags, IFA_F_NODAD);
    CHECK_MEM(a.addr, v6, 16);
    CHECK_MEM(a.local, v6, 16);
    CHECK_EQ(msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX), 0);
    CHECK(tb[IFA_ADDRESS] && !tb[IFA_BROADCAST]);

    /* del: no broadcast, no flags */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_addr_del(&b, 7, AF_INET, v4, 24), 0);
    CHECK_EQ(nlc_addr_del(&b, 7, AF_INET6, v6, 128), 1);
    nlh = nth(&b, 0);
    CHECK_EQ(nlh->nlmsg_type, RTM_DELADDR);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX), 0);
    CHECK(!tb[IFA_BROADCAST] && !tb[IFA_FLAGS] && tb[IFA_LOCAL]);
    CHECK_EQ(parse_as(nth(&b, 1), RTM_NEWADDR, &a, p_addr), 0);
    CHECK_EQ(a.prefixlen, 128);
    CHECK_EQ(a.flags, 0);
    CHECK_EQ(parse_addr(nlh, &a), 1);     /* not NEWADDR */

    nlc_batch_reset(&b);
    CHECK_EQ(nlc_addr_add(&b, 7, AF_INET, v4, 33, 0), -EINVAL);
    CHECK_EQ(nlc_addr_add(&b, 7, AF_INET6, v6, 129, 0), -EINVAL);
    CHECK_EQ(nlc_addr_add(&b, 7, AF_UNSPEC, v4, 8, 0), -EINVAL);
    CHECK_EQ(nlc_addr_add(&b, 7, AF_INET, NULL, 8, 0), -EINVAL);
    CHECK_EQ(nlc_addr_add(&b, 0, AF_INET, v4, 8, 0), -EINVAL);
    CHECK_EQ(nlc_addr_del(&b, -3, AF_INET, v4, 8), -EINVAL);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);
}

static void
test_build_routes(void)
{
    union {
        uint8_t b[1024];
        uint32_t align;
    } u;
    struct nlc_batch b;
    struct nlc_route r;
    struct nlmsghdr *nlh;
    struct rtmsg *rtm;
    const struct nlattr *tb[RTA_MAX + 1];
    static const uint8_t dst4[4] = { 10, 88, 0, 0 }, gw4[4] = { 10, 0, 0, 1 };
    static const uint8_t dst6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 1 };
    static const uint8_t gw6[16] = { 0xfe, 0x80, [15] = 1 };

    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_route_add(&b, AF_INET, dst4, 16, gw4, 5, NLC_ROUTE_ONLINK,
                           100, 1000), 0);
    nlh = nth(&b, 0);
    rtm = NLMSG_DATA(nlh);
    CHECK_EQ(nlh->nlmsg_type, RTM_NEWROUTE);
    CHECK_EQ(nlh->nlmsg_flags,
             NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    CHECK_EQ(rtm->rtm_table, RT_TABLE_UNSPEC);   /* > 255: RTA_TABLE only */
    CHECK_EQ(parse_route(nlh, &r), 0);
    CHECK_EQ(r.family, AF_INET);
    CHECK_EQ(r.dst_len, 16);
    CHECK_EQ(r.protocol, RTPROT_BOOT);
    CHECK_EQ(r.scope, RT_SCOPE_UNIVERSE);
    CHECK_EQ(r.type, RTN_UNICAST);
    CHECK_EQ(r.flags, RTNH_F_ONLINK);
    CHECK_EQ(r.table, 1000);
    CHECK_EQ(r.oif, 5);
    CHECK_EQ(r.priority, 100);
    CHECK_MEM(r.dst, dst4, 4);
    CHECK_EQ(r.has_gateway, 1);
    CHECK_MEM(r.gateway, gw4, 4);

    /* default route, directly connected, main table */
    CHECK_EQ(nlc_route_add(&b, AF_INET, NULL, 0, NULL, 3, 0, 0, 0), 1);
    nlh = nth(&b, 1);
    rtm = NLMSG_DATA(nlh);
    CHECK_EQ(rtm->rtm_table, RT_TABLE_MAIN);
    CHECK_EQ(rtm->rtm_scope, RT_SCOPE_LINK);
    CHECK_EQ(msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX), 0);
    CHECK(!tb[RTA_DST] && !tb[RTA_GATEWAY] && !tb[RTA_PRIORITY]);
    CHECK(tb[RTA_TABLE] && __nlc_attr_u32(tb[RTA_TABLE]) == RT_TABLE_MAIN);
    CHECK(tb[RTA_OIF] && __nlc_attr_u32(tb[RTA_OIF]) == 3);
    CHECK_EQ(parse_route(nlh, &r), 0);
    CHECK_EQ(r.has_gateway, 0);
    CHECK_EQ(r.table, RT_TABLE_MAIN);

    /* IPv6 via a gateway only */
    CHECK_EQ(nlc_route_add(&b, AF_INET6, dst6, 64, gw6, 0, 0, 0, 7), 2);
    nlh = nth(&b, 2);
    CHECK_EQ(((struct rtmsg *)NLMSG_DATA(nlh))->rtm_table, 7);
    CHECK_EQ(msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX), 0);
    CHECK(!tb[RTA_OIF]);
    CHECK_EQ(parse_route(nlh, &r), 0);
    CHECK_EQ(r.family, AF_INET6);
    CHECK_MEM(r.dst, dst6, 16);
    CHECK_MEM(r.gateway, gw6, 16);
    CHECK_EQ(r.table, 7);

    /* del: wildcards */
    nlc_batch_reset(&b);
    CHECK_EQ(nlc_route_del(&b, AF_INET, dst4, 16, NULL, 0, 0, 0), 0);
    nlh = nth(&b, 0);
    rtm = NLMSG_DATA(nlh);
    CHECK_EQ(nlh->nlmsg_type, RTM_DELROUTE);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    CHECK_EQ(rtm->rtm_scope, RT_SCOPE_NOWHERE);
    CHECK_EQ(rtm->rtm_protocol, 0);
    CHECK_EQ(rtm->rtm_type, 0);
    CHECK_EQ(parse_as(nlh, RTM_NEWROUTE, &r, p_route), 0);
    CHECK_EQ(r.dst_len, 16);
    CHECK_EQ(r.oif, 0);
    CHECK_EQ(r.has_gateway, 0);
    CHECK_EQ(parse_route(nlh, &r), 1);    /* not NEWROUTE */

    nlc_batch_reset(&b);
    CHECK_EQ(nlc_route_add(&b, AF_INET, dst4, 16, NULL, 0, 0, 0, 0),
             -EINVAL);
    CHECK_EQ(nlc_route_add(&b, AF_INET, dst4, 33, gw4, 0, 0, 0, 0),
             -EINVAL);
    CHECK_EQ(nlc_route_add(&b, AF_INET, NULL, 8, gw4, 0, 0, 0, 0), -EINVAL);
    CHECK_EQ(nlc_route_add(&b, AF_PACKET, dst4, 8, gw4, 0, 0, 0, 0),
             -EINVAL);
    CHECK_EQ(nlc_route_del(&b, AF_INET6, dst6, 129, NULL, 0, 0, 0),
             -EINVAL);
    CHECK_EQ(nlc_route_del(&b, AF_INET, dst4, 8, NULL, -1, 0, 0), -EINVAL);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.count, 0);
}

static void
test_dump_request(void)
{
    union {
        uint8_t b[256];
        uint32_t align;
    } u;
    struct nlc_batch b;
    const struct nlattr *tb[IFLA_MAX + 1];
    struct nlmsghdr *nlh;

    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(__nlc_dump_request(&b, RTM_GETLINK, AF_UNSPEC), 0);
    CHECK_EQ(__nlc_dump_request(&b, RTM_GETADDR, AF_INET6), 1);
    CHECK_EQ(__nlc_dump_request(&b, RTM_GETROUTE, AF_INET), 2);
    nlh = nth(&b, 0);
    CHECK_EQ(nlh->nlmsg_type, RTM_GETLINK);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);   /* no ACK */
    CHECK_EQ(((uint8_t *)NLMSG_DATA(nlh))[0], AF_UNSPEC);
    CHECK_EQ(msg_attrs(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX), 0);
    nlh = nth(&b, 1);
    CHECK_EQ(nlh->nlmsg_type, RTM_GETADDR);
    CHECK_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    CHECK_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(struct ifaddrmsg)));
    CHECK_EQ(((uint8_t *)NLMSG_DATA(nlh))[0], AF_INET6);
    nlh = nth(&b, 2);
    CHECK_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(struct rtmsg)));
    CHECK_EQ(((uint8_t *)NLMSG_DATA(nlh))[0], AF_INET);
}

/* Hand-built dump replies, including malformed ones. */
static void
test_parse_dump_messages(void)
{
    struct hand m;
    struct nlc_link l;
    struct nlc_addr a;
    struct nlc_route r;
    struct ifinfomsg ifi = { .ifi_type = 1, .ifi_index = 7,
                             .ifi_flags = IFF_UP | IFF_RUNNING };
    struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24,
                             .ifa_flags = 0x02, .ifa_scope = 0,
                             .ifa_index = 7 };
    struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_dst_len = 24,
                         .rtm_table = RT_TABLE_MAIN,
                         .rtm_protocol = RTPROT_KERNEL,
                         .rtm_scope = RT_SCOPE_LINK, .rtm_type = RTN_UNICAST,
                         .rtm_flags = RTNH_F_ONLINK };
    uint8_t mac40[40];
    size_t li, data;
    int32_t nsid = 2;
    void *copy;

    for (size_t i = 0; i < sizeof(mac40); i++)
        mac40[i] = (uint8_t)i;

    /* a full link */
    hand_init(&m, RTM_NEWLINK, NLM_F_MULTI, &ifi, sizeof(ifi));
    hand_str(&m, IFLA_IFNAME, "eth0");
    hand_u32(&m, IFLA_MTU, 1500);
    hand_u32(&m, IFLA_MASTER, 3);
    hand_u32(&m, IFLA_LINK, 9);
    hand_attr(&m, IFLA_LINK_NETNSID, &nsid, 4);
    hand_u32(&m, IFLA_GROUP, 5);
    hand_attr(&m, IFLA_ADDRESS, MAC1, 6);
    li = hand_nest(&m, IFLA_LINKINFO);
    hand_str(&m, IFLA_INFO_KIND, "veth");
    data = hand_nest(&m, IFLA_INFO_DATA);
    hand_nest_end(&m, data);
    hand_nest_end(&m, li);
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_link(copy, &l), 0);
    free(copy);
    CHECK_EQ(l.index, 7);
    CHECK_EQ(l.flags, IFF_UP | IFF_RUNNING);
    CHECK_STR(l.name, "eth0");
    CHECK_EQ(l.mtu, 1500);
    CHECK_EQ(l.master, 3);
    CHECK_EQ(l.link, 9);
    CHECK_EQ(l.link_netnsid, 2);
    CHECK_EQ(l.group, 5);
    CHECK_EQ(l.mac_len, 6);
    CHECK_MEM(l.mac, MAC1, 6);
    CHECK_STR(l.kind, "veth");

    /* IFLA_STATS64: the first eight counters; a short one is ignored */
    {
        uint64_t st[24];

        for (int i = 0; i < 24; i++)
            st[i] = 1000u + (uint64_t)i;
        hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
        hand_attr(&m, IFLA_STATS64, st, sizeof(st));
        copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
        CHECK_EQ(parse_link(copy, &l), 0);
        free(copy);
        CHECK_EQ(l.rx_packets, 1000);
        CHECK_EQ(l.tx_packets, 1001);
        CHECK_EQ(l.rx_bytes, 1002);
        CHECK_EQ(l.tx_bytes, 1003);
        CHECK_EQ(l.rx_errors, 1004);
        CHECK_EQ(l.tx_errors, 1005);
        CHECK_EQ(l.rx_dropped, 1006);
        CHECK_EQ(l.tx_dropped, 1007);
        hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
        hand_attr(&m, IFLA_STATS64, st, 7 * sizeof(uint64_t));
        copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
        CHECK_EQ(parse_link(copy, &l), 0);
        free(copy);
        CHECK_EQ(l.rx_packets, 0);
        CHECK_EQ(l.tx_dropped, 0);
    }

    /* no attributes: defaults, link_netnsid -1 */
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    memset(&l, 0x5a, sizeof(l));
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_link(copy, &l), 0);
    free(copy);
    CHECK_STR(l.name, "");
    CHECK_STR(l.kind, "");
    CHECK_EQ(l.mtu, 0);
    CHECK_EQ(l.mac_len, 0);
    CHECK_EQ(l.master, 0);
    CHECK_EQ(l.link_netnsid, -1);

    /* oversized address and name, malformed LINKINFO (ignored) */
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    hand_attr(&m, IFLA_ADDRESS, mac40, sizeof(mac40));
    hand_attr(&m, IFLA_IFNAME, "abcdefghijklmnopqrst", 20);   /* no NUL */
    li = hand_nest(&m, IFLA_LINKINFO);
    hand_attr(&m, IFLA_INFO_KIND, "veth", 4);
    m.u.b[li + 4] = 99;          /* inner nla_len beyond the nest */
    hand_nest_end(&m, li);
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_link(copy, &l), 0);
    free(copy);
    CHECK_EQ(l.mac_len, 32);
    CHECK_MEM(l.mac, mac40, 32);
    CHECK_STR(l.name, "abcdefghijklmno");
    CHECK_STR(l.kind, "");

    /* too short for the family header; every shorter length */
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    for (uint32_t n = NLMSG_HDRLEN; n < NLMSG_LENGTH(sizeof(ifi)); n++) {
        m.u.h.nlmsg_len = n;
        copy = exact_copy(m.u.b, n);
        CHECK_EQ(parse_link(copy, &l), -EBADMSG);
        free(copy);
    }
    /* a malformed attribute */
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    hand_u32(&m, IFLA_MTU, 1500);
    m.u.b[32] = 3;               /* nla_len 3 */
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_link(copy, &l), -EBADMSG);
    free(copy);
    /* a wrong type: not this parser's (the dumps count it as -EBADMSG) */
    hand_init(&m, RTM_NEWADDR, 0, &ifi, sizeof(ifi));
    CHECK_EQ(parse_link(&m.u.h, &l), 1);

    /* addresses: peer and local, IFA_FLAGS over ifa_flags, label */
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    hand_attr(&m, IFA_ADDRESS, "\x0a\x00\x00\x02", 4);
    hand_attr(&m, IFA_LOCAL, "\x0a\x00\x00\x01", 4);
    hand_u32(&m, IFA_FLAGS, 0x380);
    hand_str(&m, IFA_LABEL, "eth0:1");
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_addr(copy, &a), 0);
    free(copy);
    CHECK_EQ(a.index, 7);
    CHECK_EQ(a.family, AF_INET);
    CHECK_EQ(a.prefixlen, 24);
    CHECK_EQ(a.flags, 0x380);
    CHECK_MEM(a.addr, "\x0a\x00\x00\x02", 4);
    CHECK_MEM(a.local, "\x0a\x00\x00\x01", 4);
    CHECK_STR(a.label, "eth0:1");
    /* only IFA_ADDRESS (IPv6 style): local mirrors it; ifa_flags used */
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    hand_attr(&m, IFA_ADDRESS, "\x0a\x00\x00\x02", 4);
    CHECK_EQ(parse_addr(&m.u.h, &a), 0);
    CHECK_EQ(a.flags, 0x02);
    CHECK_MEM(a.local, "\x0a\x00\x00\x02", 4);
    /* only IFA_LOCAL: addr mirrors it */
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    hand_attr(&m, IFA_LOCAL, "\x0a\x00\x00\x01", 4);
    CHECK_EQ(parse_addr(&m.u.h, &a), 0);
    CHECK_MEM(a.addr, "\x0a\x00\x00\x01", 4);
    /* an oversized address is cut to 16 bytes */
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    hand_attr(&m, IFA_ADDRESS, mac40, 20);
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_addr(copy, &a), 0);
    free(copy);
    CHECK_MEM(a.addr, mac40, 16);
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    for (uint32_t n = NLMSG_HDRLEN; n < NLMSG_LENGTH(sizeof(ifa)); n++) {
        m.u.h.nlmsg_len = n;
        copy = exact_copy(m.u.b, n);
        CHECK_EQ(parse_addr(copy, &a), -EBADMSG);
        free(copy);
    }

    /* routes: RTA_TABLE wins over rtm_table */
    hand_init(&m, RTM_NEWROUTE, 0, &rtm, sizeof(rtm));
    hand_u32(&m, RTA_TABLE, 1000);
    hand_attr(&m, RTA_DST, "\x0a\x58\x00\x00", 4);
    hand_attr(&m, RTA_GATEWAY, "\x0a\x00\x00\x01", 4);
    hand_u32(&m, RTA_OIF, 4);
    hand_u32(&m, RTA_PRIORITY, 600);
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_route(copy, &r), 0);
    free(copy);
    CHECK_EQ(r.family, AF_INET);
    CHECK_EQ(r.dst_len, 24);
    CHECK_EQ(r.protocol, RTPROT_KERNEL);
    CHECK_EQ(r.scope, RT_SCOPE_LINK);
    CHECK_EQ(r.type, RTN_UNICAST);
    CHECK_EQ(r.flags, RTNH_F_ONLINK);
    CHECK_EQ(r.table, 1000);
    CHECK_EQ(r.oif, 4);
    CHECK_EQ(r.priority, 600);
    CHECK_MEM(r.dst, "\x0a\x58\x00\x00", 4);
    CHECK_EQ(r.has_gateway, 1);
    CHECK_MEM(r.gateway, "\x0a\x00\x00\x01", 4);
    hand_init(&m, RTM_NEWROUTE, 0, &rtm, sizeof(rtm));
    CHECK_EQ(parse_route(&m.u.h, &r), 0);
    CHECK_EQ(r.table, RT_TABLE_MAIN);
    CHECK_EQ(r.has_gateway, 0);
    for (uint32_t n = NLMSG_HDRLEN; n < NLMSG_LENGTH(sizeof(rtm)); n++) {
        m.u.h.nlmsg_len = n;
        copy = exact_copy(m.u.b, n);
        CHECK_EQ(parse_route(copy, &r), -EBADMSG);
        free(copy);
    }
    hand_init(&m, RTM_NEWROUTE, 0, &rtm, sizeof(rtm));
    hand_u32(&m, RTA_OIF, 4);
    m.u.h.nlmsg_len -= 2;        /* cuts the attribute: nla_len > rest */
    copy = exact_copy(m.u.b, m.u.h.nlmsg_len);
    CHECK_EQ(parse_route(copy, &r), -EBADMSG);
    free(copy);
}

/* ------------------------------------------------- 4. a fake kernel */

#if defined(__GLIBC__) && defined(__linux__)

#define FAKE_PID 4242u
#define FK_QMAX 512
#define FK_DGMAX 8192

enum fk_fault {
    FK_NONE,
    FK_BAD_PID,         /* the ack of fk.fault_at comes from another port */
    FK_BAD_SEQ,         /* ... carries a sequence number out of range    */
    FK_DUP_ACK,         /* ... is sent twice                             */
    FK_SHORT_ERR,       /* ... is an NLMSG_ERROR too short for nlmsgerr  */
    FK_LEN_OVER,        /* ... claims more bytes than its datagram       */
    FK_TRUNC,           /* ... arrives with MSG_TRUNC                    */
    FK_NO_ACK,          /* ... never comes                               */
    FK_BAD_TLV,         /* ... has a malformed ext-ack TLV               */
    FK_BAD_ECHO,        /* ... claims an echoed request it does not hold */
    FK_DUMP_INTR,       /* a dump message carries NLM_F_DUMP_INTR        */
    FK_DUMP_DONE_ERR,   /* the dump ends with DONE(-EIO)                 */
    FK_DUMP_ERROR,      /* the dump is answered by NLMSG_ERROR(-EPERM)   */
    FK_DUMP_SHORT,      /* a dump message too short for its header       */
};

static struct {
    int fd;                     /* the fake socket (/dev/null), -1: none */
    int sndbuf, rcvbuf;         /* what getsockopt() reports             */
    unsigned int sends;         /* sendmsg() calls                       */
    long rcvtimeo_ms;           /* the last SO_RCVTIMEO set, -1: none    */
    int timeo_err;              /* setsockopt(SO_RCVTIMEO) fails with it */
    unsigned int msgs;          /* requests seen                         */
    size_t max_send;            /* the largest sendmsg(), in bytes       */
    unsigned int per_send[64];  /* requests per sendmsg()                */
    uint32_t next_seq;          /* the sequence number expected next     */
    bool seq_known;
    int bad_requests;           /* malformed or out-of-sequence requests */
    /* reply datagrams, FIFO */
    uint8_t dg[FK_QMAX][FK_DGMAX];
    size_t dglen[FK_QMAX];
    int dgflags[FK_QMAX];
    unsigned int head, tail;
    bool one_per_recv;          /* recvmmsg() hands out one datagram    */
    /* how to answer request i */
    int err[256];
    const char *text[256];
    bool capped;
    enum fk_fault fault;
    unsigned int fault_at;
    uint16_t dump_type;
    int dump_family;
} fk;

static void
fk_reset(void)
{
    int fd = fk.fd;

    memset(&fk, 0, sizeof(fk));
    fk.fd = fd;
    fk.sndbuf = 1 << 20;
    fk.rcvbuf = 1 << 22;
    fk.capped = true;
    fk.rcvtimeo_ms = -1;
}

static unsigned int
fk_queued(void)
{
    return fk.tail - fk.head;
}

/* Starts a new reply datagram. */
static void
fk_dg(void)
{
    if (fk.tail - fk.head >= FK_QMAX) {
        fprintf(stderr, "fake kernel: reply queue full\n");
        exit(2);
    }
    fk.dglen[fk.tail % FK_QMAX] = 0;
    fk.dgflags[fk.tail % FK_QMAX] = 0;
    fk.tail++;
}

/* Appends a message to the current datagram; returns it. */
static struct nlmsghdr *
fk_put(uint16_t type, uint16_t flags, uint32_t seq, const void *p,
       size_t len)
{
    unsigned int slot = (fk.tail - 1) % FK_QMAX;
    size_t at = fk.dglen[slot];
    struct nlmsghdr *nlh = (struct nlmsghdr *)(fk.dg[slot] + at);

    if (at + NLMSG_SPACE(len) > FK_DGMAX) {
        fprintf(stderr, "fake kernel: datagram full\n");
        exit(2);
    }
    memset(nlh, 0, NLMSG_SPACE(len));
    nlh->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = FAKE_PID;
    if (len)
        memcpy(NLMSG_DATA(nlh), p, len);
    fk.dglen[slot] = at + NLMSG_SPACE(len);
    return nlh;
}

/* The kernel's ack: nlmsgerr, the request's payload unless capped or a
 * success, then the extended-ack TLVs. */
static void
fk_ack(const struct nlmsghdr *req, unsigned int i)
{
    uint8_t body[2048];
    struct nlmsgerr *e = (struct nlmsgerr *)body;
    size_t len = sizeof(*e);
    uint16_t flags = 0;
    const char *text = fk.text[i];
    struct nlmsghdr *nlh;
    bool faulty = fk.fault_at == i;

    memset(body, 0, sizeof(body));
    e->error = fk.err[i];
    e->msg = *req;
    if (e->error != 0 && !fk.capped) {
        size_t pl = NLMSG_ALIGN(req->nlmsg_len) - NLMSG_HDRLEN;

        memcpy(body + len, NLMSG_DATA(req), pl);
        len += pl;
    } else {
        flags |= NLM_F_CAPPED;
    }
    if (text || (faulty && fk.fault == FK_BAD_TLV)) {
        uint16_t hdr[2];
        size_t tl = text ? strlen(text) + 1 : 4;

        hdr[0] = (uint16_t)(NLA_HDRLEN + tl);
        hdr[1] = NLMSGERR_ATTR_MSG;
        if (faulty && fk.fault == FK_BAD_TLV)
            hdr[0] = 200;                   /* beyond the message */
        memcpy(body + len, hdr, 4);
        if (text)
            memcpy(body + len + 4, text, tl);
        len += NLA_ALIGN(NLA_HDRLEN + tl);
        flags |= NLM_F_ACK_TLVS;
    }
    if (faulty && fk.fault == FK_BAD_ECHO) {
        e->msg.nlmsg_len = 0x7fff0000;      /* "echoed", yet not there */
        flags &= (uint16_t)~NLM_F_CAPPED;
    }
    if (faulty && fk.fault == FK_NO_ACK)
        return;
    fk_dg();
    nlh = fk_put(NLMSG_ERROR, flags, req->nlmsg_seq, body, len);
    if (!faulty)
        return;
    switch (fk.fault) {
    case FK_BAD_PID:
        nlh->nlmsg_pid = FAKE_PID + 1;
        break;
    case FK_BAD_SEQ:
        nlh->nlmsg_seq += 1000;
        break;
    case FK_DUP_ACK:
        fk_dg();
        fk_put(NLMSG_ERROR, flags, req->nlmsg_seq, body, len);
        break;
    case FK_SHORT_ERR:
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(int));
        fk.dglen[(fk.tail - 1) % FK_QMAX] = nlh->nlmsg_len;
        break;
    case FK_LEN_OVER:
        nlh->nlmsg_len += 64;
        break;
    case FK_TRUNC:
        fk.dgflags[(fk.tail - 1) % FK_QMAX] = MSG_TRUNC;
        break;
    default:
        break;
    }
}

/*
 * One request: a GETLINK, or an NEWLINK asking for NLM_F_ECHO, gets its
 * RTM_NEWLINK first: ifindex 40 + i and, for an echo, IFLA_LINK 70 + i
 * (as the kernel's echo of a created veth names its peer), then stats
 * and a name after it, as the kernel sends.
 */
static void
fk_request(const struct nlmsghdr *req)
{
    unsigned int i = fk.msgs++;
    bool echo = req->nlmsg_type == RTM_NEWLINK &&
                (req->nlmsg_flags & NLM_F_ECHO);

    if (req->nlmsg_len < NLMSG_HDRLEN || req->nlmsg_pid != 0 ||
        !(req->nlmsg_flags & NLM_F_REQUEST))
        fk.bad_requests++;
    if (fk.seq_known && req->nlmsg_seq != fk.next_seq)
        fk.bad_requests++;
    fk.seq_known = true;
    fk.next_seq = req->nlmsg_seq + 1;
    if (req->nlmsg_type == RTM_GETLINK || echo) {
        struct ifinfomsg ifi = { .ifi_index = (int)(40 + i) };
        struct hand m;
        uint64_t stats[8] = { 0 };

        hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
        hand_str(&m, IFLA_IFNAME, "echoed");
        if (echo)
            hand_u32(&m, IFLA_LINK, 70 + i);
        hand_attr(&m, IFLA_STATS64, stats, sizeof(stats));
        fk_dg();
        fk_put(RTM_NEWLINK, 0, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
               m.u.h.nlmsg_len - NLMSG_HDRLEN);
    }
    if (i < 256)
        fk_ack(req, i);
}

/* The socket calls of sock.c, answered by the fake. */

int
socket(int domain, int type, int protocol)
{
    (void)type;
    (void)protocol;
    if (domain != AF_NETLINK) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    fk.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fk.fd;
}

int
setsockopt(int fd, int level, int optname, const void *optval,
           socklen_t optlen)
{
    (void)fd;
    if (level == SOL_SOCKET && optname == SO_RCVTIMEO) {
        const struct timeval *tv = optval;

        if (optlen != sizeof(*tv)) {
            errno = EINVAL;
            return -1;
        }
        if (fk.timeo_err) {
            errno = fk.timeo_err;
            return -1;
        }
        fk.rcvtimeo_ms = (long)tv->tv_sec * 1000 + tv->tv_usec / 1000;
    }
    return 0;
}

#include "fake_sock.h"

/* A dump request: its replies, split over two datagrams. */
static void
fk_dump_links(const struct nlmsghdr *req)
{
    struct hand m;
    struct ifinfomsg ifi = { .ifi_index = 1, .ifi_flags = IFF_UP };
    size_t li;
    int32_t nsid = 0;
    uint16_t multi = NLM_F_MULTI;

    fk_dg();
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    hand_str(&m, IFLA_IFNAME, "lo");
    hand_u32(&m, IFLA_MTU, 65536);
    fk_put(RTM_NEWLINK, multi, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
           m.u.h.nlmsg_len - NLMSG_HDRLEN);
    ifi.ifi_index = 2;
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    hand_str(&m, IFLA_IFNAME, "veth0");
    hand_u32(&m, IFLA_MASTER, 3);
    hand_u32(&m, IFLA_LINK, 5);
    hand_attr(&m, IFLA_LINK_NETNSID, &nsid, 4);
    hand_attr(&m, IFLA_ADDRESS, MAC1, 6);
    li = hand_nest(&m, IFLA_LINKINFO);
    hand_str(&m, IFLA_INFO_KIND, "veth");
    hand_nest_end(&m, li);
    if (fk.fault == FK_DUMP_INTR)
        multi |= NLM_F_DUMP_INTR;
    fk_put(RTM_NEWLINK, multi, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
           (fk.fault == FK_DUMP_SHORT ? 4 : m.u.h.nlmsg_len - NLMSG_HDRLEN));
    fk_dg();
    ifi.ifi_index = 3;
    hand_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    hand_str(&m, IFLA_IFNAME, "br0");
    li = hand_nest(&m, IFLA_LINKINFO);
    hand_str(&m, IFLA_INFO_KIND, "bridge");
    hand_nest_end(&m, li);
    fk_put(RTM_NEWLINK, NLM_F_MULTI, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
           m.u.h.nlmsg_len - NLMSG_HDRLEN);
}

static void
fk_dump_addrs(const struct nlmsghdr *req)
{
    struct ifaddrmsg ifa = { .ifa_family = AF_INET6, .ifa_prefixlen = 64,
                             .ifa_index = 2 };
    struct hand m;
    static const uint8_t a6[16] = { 0xfd, 0, [15] = 2 };

    fk_dg();
    hand_init(&m, RTM_NEWADDR, 0, &ifa, sizeof(ifa));
    hand_attr(&m, IFA_ADDRESS, a6, 16);
    fk_put(RTM_NEWADDR, NLM_F_MULTI, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
           m.u.h.nlmsg_len - NLMSG_HDRLEN);
}

static void
fk_dump_routes(const struct nlmsghdr *req)
{
    struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = 254,
                         .rtm_type = RTN_UNICAST };
    struct hand m;

    fk_dg();
    hand_init(&m, RTM_NEWROUTE, 0, &rtm, sizeof(rtm));
    hand_u32(&m, RTA_TABLE, 254);
    hand_attr(&m, RTA_GATEWAY, "\x0a\x00\x00\x01", 4);
    hand_u32(&m, RTA_OIF, 2);
    fk_put(RTM_NEWROUTE, NLM_F_MULTI, req->nlmsg_seq, m.u.b + NLMSG_HDRLEN,
           m.u.h.nlmsg_len - NLMSG_HDRLEN);
}

/* NLM_F_DUMP shares its bits with NLM_F_CREATE | NLM_F_EXCL: only a get
 * is a dump. */
static bool
fk_is_dump(const struct nlmsghdr *nlh)
{
    return (nlh->nlmsg_type == RTM_GETLINK ||
            nlh->nlmsg_type == RTM_GETADDR ||
            nlh->nlmsg_type == RTM_GETROUTE) &&
           (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

/* A dump request, the one message of a sendmsg(): its replies. */
static ssize_t
fk_dump(const struct nlmsghdr *req, size_t len)
{
    int done = 0;

    if (len < NLMSG_HDRLEN || req->nlmsg_len != len) {
        errno = EINVAL;
        return -1;
    }
    fk.sends++;
    fk.dump_type = req->nlmsg_type;
    fk.dump_family = len > NLMSG_HDRLEN ? ((const uint8_t *)req)[16] : -1;
    if (req->nlmsg_flags != (NLM_F_REQUEST | NLM_F_DUMP) ||
        req->nlmsg_pid != 0)
        fk.bad_requests++;
    if (fk.fault == FK_DUMP_ERROR) {
        struct nlmsgerr e = { .error = -EPERM, .msg = *req };

        fk_dg();
        fk_put(NLMSG_ERROR, NLM_F_CAPPED, req->nlmsg_seq, &e, sizeof(e));
        return (ssize_t)len;
    }
    if (req->nlmsg_type == RTM_GETLINK)
        fk_dump_links(req);
    else if (req->nlmsg_type == RTM_GETADDR)
        fk_dump_addrs(req);
    else if (req->nlmsg_type == RTM_GETROUTE)
        fk_dump_routes(req);
    if (fk.fault == FK_DUMP_DONE_ERR)
        done = -EIO;
    fk_dg();
    fk_put(NLMSG_DONE, NLM_F_MULTI, req->nlmsg_seq, &done, sizeof(done));
    return (ssize_t)len;
}

ssize_t
sendmsg(int fd, const struct msghdr *mh, int flags)
{
    const uint8_t *p;
    size_t len, n = 0;
    const struct sockaddr_nl *to = mh->msg_name;

    (void)flags;
    if (fd != fk.fd || mh->msg_iovlen != 1 || !to ||
        to->nl_family != AF_NETLINK || to->nl_pid != 0) {
        errno = EINVAL;
        return -1;
    }
    p = mh->msg_iov[0].iov_base;
    len = mh->msg_iov[0].iov_len;
    if (len >= NLMSG_HDRLEN && fk_is_dump((const struct nlmsghdr *)p))
        return fk_dump((const struct nlmsghdr *)p, len);
    if (len > fk.max_send)
        fk.max_send = len;
    while (len >= NLMSG_HDRLEN) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
        size_t l = NLMSG_ALIGN(nlh->nlmsg_len);

        if (nlh->nlmsg_len < NLMSG_HDRLEN || l > len)
            break;
        fk_request(nlh);
        n++;
        p += l;
        len -= l;
    }
    if (len != 0)
        fk.bad_requests++;
    if (fk.sends < 64)
        fk.per_send[fk.sends] = (unsigned int)n;
    fk.sends++;
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
        size_t n = fk.dglen[slot] < iov->iov_len ? fk.dglen[slot]
                                                 : iov->iov_len;

        memcpy(iov->iov_base, fk.dg[slot], n);
        mm[got].msg_len = (unsigned int)n;
        mm[got].msg_hdr.msg_flags = fk.dgflags[slot];
        got++;
        if (fk.one_per_recv)
            break;
    }
    if (got == 0) {
        errno = EAGAIN;         /* a real socket: its SO_RCVTIMEO ran out */
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
    if (fd != fk.fd) {
        errno = EBADF;
        return -1;
    }
    if (fk.head == fk.tail) {
        errno = EAGAIN;
        return -1;
    }
    slot = fk.head++ % FK_QMAX;
    n = fk.dglen[slot] < len ? fk.dglen[slot] : len;
    memcpy(buf, fk.dg[slot], n);
    return (ssize_t)n;
}

/* A batch of four requests: del, get (a reply then an ack), add, del. */
static void
four_requests(struct nlc_batch *b, void *buf, size_t cap)
{
    static const uint8_t v4[4] = { 10, 0, 0, 1 };

    nlc_batch_init(b, buf, cap);
    CHECK_EQ(nlc_link_del(b, 1, NULL), 0);
    CHECK_EQ(nlc_link_get(b, 0, "lo"), 1);
    CHECK_EQ(nlc_addr_add(b, 2, AF_INET, v4, 24, 0), 2);
    CHECK_EQ(nlc_link_del(b, 0, "gone"), 3);
}

static void
test_fake_exec(void)
{
    struct nlc_sock *s = NULL;
    struct nlc_batch b;
    struct nlc_result res[256];
    union {
        uint8_t b[16384];
        uint32_t align;
    } u;
    char longtext[300];
    int rc;

    fk_reset();
    CHECK_EQ(nlc_sock_open(NULL, 0), -EINVAL);
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;
    CHECK_EQ(nlc_sock_portid(s), FAKE_PID);
    CHECK_EQ(nlc_sock_fd(s), fk.fd);

    /* an empty batch sends nothing */
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_sock_exec(s, &b, NULL), 0);
    CHECK_EQ(fk.sends, 0);
    CHECK_EQ(nlc_sock_exec(NULL, &b, res), -EINVAL);
    CHECK_EQ(nlc_sock_exec(s, NULL, res), -EINVAL);

    /* errors, ext-ack text, the GETLINK reply's ifindex; capped or not */
    for (int capped = 1; capped >= 0; capped--) {
        fk_reset();
        fk.capped = capped;
        fk.err[2] = -EEXIST;
        fk.text[2] = "Address already assigned (test)";
        fk.err[3] = ENODEV;                 /* positive: normalised */
        fk.text[1] = "a warning on success";
        four_requests(&b, u.b, sizeof(u.b));
        rc = nlc_sock_exec(s, &b, res);
        CHECK_EQ(rc, 2);
        CHECK_EQ(fk.sends, 1);
        CHECK_EQ(fk.per_send[0], 4);
        CHECK_EQ(fk.bad_requests, 0);
        CHECK_EQ(fk_queued(), 0);
        CHECK_EQ(res[0].err, 0);
        CHECK_STR(res[0].msg, "");
        CHECK_EQ(res[1].err, 0);
        CHECK_EQ(res[1].value, 41);
        CHECK_STR(res[1].msg, "");          /* warnings are not errors */
        CHECK_EQ(res[2].err, -EEXIST);
        CHECK_STR(res[2].msg, "Address already assigned (test)");
        CHECK_EQ(res[3].err, -ENODEV);
        CHECK_STR(res[3].msg, "");
        /* the batch is left intact: it can be sent again */
        CHECK_EQ(b.count, 4);
    }

    /* a long text is cut to the record; a malformed TLV is ignored */
    memset(longtext, 'e', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    fk_reset();
    fk.err[0] = -EINVAL;
    fk.text[0] = longtext;
    fk.err[2] = -EINVAL;
    fk.fault = FK_BAD_TLV;
    fk.fault_at = 2;
    four_requests(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_sock_exec(s, &b, res), 2);
    CHECK_EQ(strlen(res[0].msg), NLC_ERRMSG_MAX - 1);
    CHECK_EQ(res[2].err, -EINVAL);
    CHECK_STR(res[2].msg, "");

    /* an uncapped ack whose echoed header claims more than the ack holds:
     * the text cannot be located and must not be searched for */
    fk_reset();
    fk.err[3] = -EBUSY;
    fk.text[3] = "unreachable";
    fk.fault = FK_BAD_ECHO;
    fk.fault_at = 3;
    four_requests(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_sock_exec(s, &b, res), 1);
    CHECK_EQ(res[3].err, -EBUSY);
    CHECK_STR(res[3].msg, "");

    /* transport faults at request 1: that request and every one after it
     * without an ack get the error; the ones before keep theirs */
    {
        static const struct {
            enum fk_fault fault;
            int want;
        } faults[] = {
            { FK_BAD_PID, -ESRCH },     { FK_BAD_SEQ, -EPROTO },
            { FK_DUP_ACK, -EPROTO },    { FK_SHORT_ERR, -EBADMSG },
            { FK_LEN_OVER, -EBADMSG },  { FK_TRUNC, -EMSGSIZE },
            { FK_NO_ACK, -ETIMEDOUT },
        };

        for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
            int want = faults[i].want;

            fk_reset();
            fk.fault = faults[i].fault;
            fk.fault_at = 1;
            fk.one_per_recv = true;    /* leave the rest queued */
            four_requests(&b, u.b, sizeof(u.b));
            rc = nlc_sock_exec(s, &b, res);
            CHECK_EQ(rc, want);
            CHECK_EQ(res[0].err, 0);
            if (faults[i].fault == FK_DUP_ACK) {
                CHECK_EQ(res[1].err, 0);    /* its first ack counted */
            } else {
                CHECK_EQ(res[1].err, want);
            }
            if (faults[i].fault == FK_NO_ACK) {
                CHECK_EQ(res[2].err, 0);    /* acked after the gap */
                CHECK_EQ(res[3].err, 0);
            } else {
                CHECK_EQ(res[2].err, want);
                CHECK_EQ(res[3].err, want);
            }

            /* the next exchange first throws away what is left */
            fk.fault = FK_NONE;
            fk.seq_known = false;
            fk.msgs = 0;
            four_requests(&b, u.b, sizeof(u.b));
            CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
            CHECK_EQ(res[1].value, 41);
            CHECK_EQ(fk_queued(), 0);
            CHECK_EQ(fk.bad_requests, 0);
        }
    }

    /* sequence numbers advance by the batch size across exchanges */
    fk_reset();
    four_requests(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
    four_requests(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
    CHECK_EQ(fk.msgs, 8);
    CHECK_EQ(fk.bad_requests, 0);           /* one continuous sequence */

    nlc_sock_close(s);
    nlc_sock_close(NULL);
}

/* A batch is cut where the acks would overflow the receive buffer, or
 * the bytes the send buffer; every request still gets its ack. */
static void
test_fake_chunking(void)
{
    struct nlc_sock *s = NULL;
    struct nlc_batch b;
    static struct nlc_result res[256];
    static union {
        uint8_t b[65536];
        uint32_t align;
    } u;
    unsigned int total = 0;

    fk_reset();
    fk.rcvbuf = 3 * 4096 + 1;              /* room for 3 acks */
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;
    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (int i = 0; i < 7; i++)
        CHECK_EQ(nlc_link_del(&b, i + 1, NULL), i);
    fk.err[5] = -ENODEV;
    CHECK_EQ(nlc_sock_exec(s, &b, res), 1);
    CHECK_EQ(fk.sends, 3);
    CHECK_EQ(fk.per_send[0], 3);
    CHECK_EQ(fk.per_send[1], 3);
    CHECK_EQ(fk.per_send[2], 1);
    CHECK_EQ(res[5].err, -ENODEV);
    CHECK_EQ(res[6].err, 0);
    CHECK_EQ(fk.bad_requests, 0);
    nlc_sock_close(s);

    fk_reset();
    fk.sndbuf = 4096;                       /* 4096 bytes per sendmsg */
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;
    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (int i = 0; i < 200; i++)
        CHECK_EQ(nlc_link_del(&b, 0, "abcdefghijklmno"), i);
    CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
    CHECK(fk.sends >= 3);
    CHECK(fk.max_send <= 4096);
    for (unsigned int i = 0; i < fk.sends && i < 64; i++)
        total += fk.per_send[i];
    CHECK_EQ(total, 200);
    CHECK_EQ(fk.msgs, 200);
    CHECK_EQ(fk.bad_requests, 0);
    for (int i = 0; i < 200; i++)
        CHECK_EQ(res[i].err, 0);
    nlc_sock_close(s);
}

static void
test_fake_dumps(void)
{
    struct nlc_sock *s = NULL;
    struct nlc_link links[8];
    struct nlc_addr addrs[4];
    struct nlc_route routes[4];

    fk_reset();
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;

    memset(links, 0x5a, sizeof(links));
    CHECK_EQ(nlc_link_dump(s, links, 8), 3);
    CHECK_EQ(fk.dump_type, RTM_GETLINK);
    CHECK_EQ(fk.bad_requests, 0);
    CHECK_EQ(links[0].index, 1);
    CHECK_STR(links[0].name, "lo");
    CHECK_EQ(links[0].mtu, 65536);
    CHECK_EQ(links[0].flags, IFF_UP);
    CHECK_EQ(links[0].link_netnsid, -1);
    CHECK_STR(links[0].kind, "");
    CHECK_EQ(links[1].index, 2);
    CHECK_STR(links[1].name, "veth0");
    CHECK_EQ(links[1].master, 3);
    CHECK_EQ(links[1].link, 5);
    CHECK_EQ(links[1].link_netnsid, 0);
    CHECK_EQ(links[1].mac_len, 6);
    CHECK_MEM(links[1].mac, MAC1, 6);
    CHECK_STR(links[1].kind, "veth");
    CHECK_EQ(links[2].index, 3);
    CHECK_STR(links[2].kind, "bridge");
    CHECK_EQ(links[3].index, 0x5a5a5a5a);   /* untouched */
    CHECK_EQ(fk_queued(), 0);

    /* too small an array: the total, and only cap records written */
    memset(links, 0x5a, sizeof(links));
    CHECK_EQ(nlc_link_dump(s, links, 2), 3);
    CHECK_EQ(links[1].index, 2);
    CHECK_EQ(links[2].index, 0x5a5a5a5a);
    CHECK_EQ(nlc_link_dump(s, NULL, 0), 3);
    CHECK_EQ(nlc_link_dump(NULL, links, 8), -EINVAL);

    fk.fault = FK_DUMP_INTR;
    CHECK_EQ(nlc_link_dump(s, links, 8), -EINTR);
    fk.fault = FK_DUMP_DONE_ERR;
    CHECK_EQ(nlc_link_dump(s, links, 8), -EIO);
    fk.fault = FK_DUMP_ERROR;
    CHECK_EQ(nlc_link_dump(s, links, 8), -EPERM);
    CHECK_EQ(fk_queued(), 0);

    /* a malformed message ends the dump; the next one drains the rest */
    fk.fault = FK_DUMP_SHORT;
    CHECK_EQ(nlc_link_dump(s, links, 8), -EBADMSG);
    CHECK(fk_queued() > 0);
    fk.fault = FK_NONE;
    CHECK_EQ(nlc_link_dump(s, links, 8), 3);
    CHECK_EQ(fk_queued(), 0);

    CHECK_EQ(nlc_addr_dump(s, AF_INET6, addrs, 4), 1);
    CHECK_EQ(fk.dump_type, RTM_GETADDR);
    CHECK_EQ(fk.dump_family, AF_INET6);
    CHECK_EQ(addrs[0].family, AF_INET6);
    CHECK_EQ(addrs[0].prefixlen, 64);
    CHECK_EQ(addrs[0].index, 2);
    CHECK_EQ(addrs[0].addr[0], 0xfd);
    CHECK_EQ(addrs[0].local[15], 2);

    CHECK_EQ(nlc_route_dump(s, AF_INET, routes, 4), 1);
    CHECK_EQ(fk.dump_type, RTM_GETROUTE);
    CHECK_EQ(fk.dump_family, AF_INET);
    CHECK_EQ(routes[0].table, 254);
    CHECK_EQ(routes[0].oif, 2);
    CHECK_EQ(routes[0].has_gateway, 1);
    CHECK_MEM(routes[0].gateway, "\x0a\x00\x00\x01", 4);
    CHECK_EQ(fk.bad_requests, 0);

    nlc_sock_close(s);
}

/* Echoed creations, lookups, the sendmsg count, the receive timeout and
 * a forged batch. */
static void
test_fake_echo_count_timeout(void)
{
    struct nlc_sock *s = NULL;
    struct nlc_batch b;
    struct nlc_result res[16];
    struct nlc_link links[4];
    union {
        uint8_t b[4096];
        uint32_t align;
    } u;

    fk_reset();
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;
    CHECK_EQ(fk.rcvtimeo_ms, NLC_TIMEOUT_MS);      /* set at open */
    CHECK_EQ(nlc_sock_set_timeout(s, 1500), 0);
    CHECK_EQ(fk.rcvtimeo_ms, 1500);
    CHECK_EQ(nlc_sock_set_timeout(s, 0), 0);        /* wait forever */
    CHECK_EQ(fk.rcvtimeo_ms, 0);
    fk.timeo_err = ENOPROTOOPT;
    CHECK_EQ(nlc_sock_set_timeout(s, 10), -ENOPROTOOPT);
    fk.timeo_err = 0;
    CHECK_EQ(nlc_sock_sendmsg_count(s), 0);

    /* a veth echoed (ifindex and IFLA_LINK), a plain del, a lookup (its
     * ifindex; no IFLA_LINK in the reply) */
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_link_add_veth(&b, "vh0", -1, 0, NULL, 1, -1, "eth0", 3, 0,
                               NULL, 1), 0);
    CHECK_EQ(nlc_batch_echo(&b), 0);
    CHECK_EQ(nlc_link_del(&b, 9, NULL), 1);
    CHECK_EQ(nlc_link_get(&b, 0, "lo"), 2);
    memset(res, 0x5a, sizeof(res));
    CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
    CHECK_EQ(res[0].err, 0);
    CHECK_EQ(res[0].value, 40);
    CHECK_EQ(res[0].link, 70);
    CHECK_EQ(res[1].value, 0);                      /* no reply: cleared */
    CHECK_EQ(res[1].link, 0);
    CHECK_EQ(res[2].value, 42);
    CHECK_EQ(res[2].link, 0);
    CHECK_EQ(fk.bad_requests, 0);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 1);
    CHECK_EQ(fk.sends, 1);

    /* a dump is one more sendmsg */
    CHECK_EQ(nlc_link_dump(s, links, 4), 3);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 2);

    /* a forged batch is refused before anything is sent */
    b.count = 5;
    CHECK_EQ(nlc_sock_exec(s, &b, res), -EINVAL);
    b.count = 3;
    CHECK_EQ(nlc_sock_exec(s, &b, NULL), -EINVAL);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 2);

    /* no answer: every request without an ack times out */
    fk.fault = FK_NO_ACK;
    fk.fault_at = 4;                    /* the 2nd of this batch's three */
    fk.one_per_recv = true;
    CHECK_EQ(nlc_sock_exec(s, &b, res), -ETIMEDOUT);
    CHECK_EQ(res[0].err, 0);
    CHECK_EQ(res[1].err, -ETIMEDOUT);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 3);
    fk.fault = FK_NONE;
    CHECK_EQ(nlc_link_dump(s, links, 4), 3);        /* drained first */
    CHECK_EQ(nlc_sock_sendmsg_count(s), 4);
    nlc_sock_close(s);

    /* replies take room in the receive buffer: echoed requests and
     * lookups are cut into smaller sends than plain ones */
    fk_reset();
    fk.rcvbuf = 2 * (4096 + 8192) + 1;
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), 0);
    if (!s)
        return;
    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(nlc_link_add_bridge(&b, "br", 0, NULL, 0, -1), i);
        CHECK_EQ(nlc_batch_echo(&b), 0);
    }
    for (int i = 0; i < 6; i++)
        CHECK_EQ(nlc_link_del(&b, i + 1, NULL), 5 + i);
    CHECK_EQ(nlc_sock_exec(s, &b, res), 0);
    CHECK_EQ(fk.sends, 4);
    CHECK_EQ(fk.per_send[0], 2);
    CHECK_EQ(fk.per_send[1], 2);
    CHECK_EQ(fk.per_send[2], 1 + 3);                /* 12288 + 3 * 4096 */
    CHECK_EQ(fk.per_send[3], 3);
    CHECK_EQ(res[4].value, 44);
    CHECK_EQ(res[4].link, 74);
    CHECK_EQ(nlc_sock_sendmsg_count(s), 4);
    nlc_sock_close(s);

    /* a socket whose timeout cannot be set is not handed out */
    fk_reset();
    fk.timeo_err = EPERM;
    s = (struct nlc_sock *)&fk;
    CHECK_EQ(nlc_sock_open(&s, NETLINK_ROUTE), -EPERM);
    CHECK(s == NULL);
}

static void
test_fake_kernel(void)
{
    fk.fd = -1;
    test_fake_exec();
    test_fake_chunking();
    test_fake_dumps();
    test_fake_echo_count_timeout();
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
    test_msg_begin_end();
    test_batch_echo_and_check();
    test_attr_round_trip();
    test_attr_bounds();
    test_attr_sticky_and_limits();
    test_parse_malformed();
    test_build_links();
    test_build_addrs();
    test_build_routes();
    test_dump_request();
    test_parse_dump_messages();
    test_fake_kernel();
    return check_done("test_msg");
}
