/*
 * test_parse.c - the public reply parsers of nlc.h (nlc_parse_link, _addr,
 * _route, nlc_parse_acks) without a kernel: framing, results, errors, and
 * a deterministic fuzz loop over damaged messages.
 *
 * Every input is a heap block of exactly its length, so the sanitizer
 * build (-DNLC_SANITIZE=ON) reports any read out of bounds; checks on the
 * results (NUL-terminated strings, bounded lengths, error codes from the
 * documented set, an untouched record on failure) hold in any build.  The
 * Python fuzz tests (tests/unit/test_fuzz_netlink.py) go further with
 * pyroute2-built messages.
 *
 * Exits non-zero when any check fails.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>

#include "nlc.h"
#include "check.h"

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
    return check_rnd(&rnd_state);
}

/* A message built by hand: header, family header, attributes. */
struct hand {
    union {
        struct nlmsghdr h;
        uint8_t b[1024];
    } u;
};

static void
hand_init(struct hand *m, uint16_t type, const void *fam, size_t famlen)
{
    memset(m, 0, sizeof(*m));
    m->u.h.nlmsg_type = type;
    m->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(NLMSG_ALIGN(famlen));
    if (famlen)
        memcpy(NLMSG_DATA(&m->u.h), fam, famlen);
}

static size_t
hand_attr(struct hand *m, uint16_t type, const void *data, size_t len)
{
    size_t off = m->u.h.nlmsg_len;
    uint16_t hdr[2] = { (uint16_t)(NLA_HDRLEN + len), type };

    memcpy(m->u.b + off, hdr, sizeof(hdr));
    if (len)
        memcpy(m->u.b + off + NLA_HDRLEN, data, len);
    m->u.h.nlmsg_len = (uint32_t)(off + NLA_ALIGN(NLA_HDRLEN + len));
    return off;
}

static void
hand_u32(struct hand *m, uint16_t type, uint32_t v)
{
    hand_attr(m, type, &v, sizeof(v));
}

/* A heap copy of exactly n bytes (malloc is 4-byte aligned). */
static uint8_t *
exact_copy(const void *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);

    if (!q)
        exit(2);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* ------------------------------------------------------------- framing */

typedef int (*parse_fn)(const uint8_t *, size_t, void *);

static int
p_link(const uint8_t *m, size_t n, void *out)
{
    return nlc_parse_link(m, n, out);
}

static int
p_addr(const uint8_t *m, size_t n, void *out)
{
    return nlc_parse_addr(m, n, out);
}

static int
p_route(const uint8_t *m, size_t n, void *out)
{
    return nlc_parse_route(m, n, out);
}

static const struct {
    parse_fn parse;
    uint16_t type;
    size_t famlen;
} PARSERS[] = {
    { p_link, RTM_NEWLINK, sizeof(struct ifinfomsg) },
    { p_addr, RTM_NEWADDR, sizeof(struct ifaddrmsg) },
    { p_route, RTM_NEWROUTE, sizeof(struct rtmsg) },
};

#define NPARSERS (sizeof(PARSERS) / sizeof(PARSERS[0]))

/* Calls parser i on msg[0 .. n) (an exact copy); rc, and whether the
 * record was left untouched. */
static int
parse_copy(size_t i, const void *msg, size_t n, bool *untouched)
{
    union {
        struct nlc_link l;
        struct nlc_addr a;
        struct nlc_route r;
    } out, before;
    uint8_t *copy = exact_copy(msg, n);
    int rc;

    memset(&out, 0x5a, sizeof(out));
    before = out;
    rc = PARSERS[i].parse(copy, n, &out);
    free(copy);
    if (untouched)
        *untouched = memcmp(&out, &before, sizeof(out)) == 0;
    return rc;
}

static void
test_framing(void)
{
    uint8_t fam[16] = { 0 };
    struct hand m;
    bool same;

    for (size_t i = 0; i < NPARSERS; i++) {
        uint16_t type = PARSERS[i].type;
        size_t full;

        hand_init(&m, type, fam, PARSERS[i].famlen);
        hand_u32(&m, 1, 7);
        full = m.u.h.nlmsg_len;
        CHECK_EQ(parse_copy(i, m.u.b, full, &same), 0);
        CHECK(!same);
        /* bytes past nlmsg_len are not this message's */
        CHECK_EQ(parse_copy(i, m.u.b, full + 13, NULL), 0);
        /* shorter than a header, or than nlmsg_len says */
        for (size_t n = 0; n < full; n++) {
            CHECK_EQ(parse_copy(i, m.u.b, n, &same), -EBADMSG);
            CHECK(same);
        }
        /* nlmsg_len below a header, or beyond the bytes given */
        for (uint32_t l = 0; l < NLMSG_HDRLEN; l++) {
            m.u.h.nlmsg_len = l;
            CHECK_EQ(parse_copy(i, m.u.b, full, &same), -EBADMSG);
            CHECK(same);
        }
        m.u.h.nlmsg_len = (uint32_t)full + 4;
        CHECK_EQ(parse_copy(i, m.u.b, full, NULL), -EBADMSG);
        m.u.h.nlmsg_len = UINT32_MAX;
        CHECK_EQ(parse_copy(i, m.u.b, full, NULL), -EBADMSG);
        /* a family header cut short */
        for (uint32_t l = NLMSG_HDRLEN;
             l < NLMSG_LENGTH(PARSERS[i].famlen); l++) {
            m.u.h.nlmsg_len = l;
            CHECK_EQ(parse_copy(i, m.u.b, l, &same), -EBADMSG);
            CHECK(same);
        }
        /* another type: 1, even when its body would not parse */
        m.u.h.nlmsg_len = NLMSG_HDRLEN;
        m.u.h.nlmsg_type = (uint16_t)(type + 1);
        CHECK_EQ(parse_copy(i, m.u.b, NLMSG_HDRLEN, &same), 1);
        CHECK(same);
        m.u.h.nlmsg_type = NLMSG_ERROR;
        CHECK_EQ(parse_copy(i, m.u.b, NLMSG_HDRLEN, NULL), 1);
        /* misaligned */
        {
            union {
                uint8_t b[sizeof(m.u.b) + 4];
                uint32_t align;
            } u;

            hand_init(&m, type, fam, PARSERS[i].famlen);
            memcpy(u.b + 1, m.u.b, m.u.h.nlmsg_len);
            CHECK_EQ(PARSERS[i].parse(u.b + 1, m.u.h.nlmsg_len, &m),
                     -EINVAL);
            memcpy(u.b, m.u.b, m.u.h.nlmsg_len);
            CHECK_EQ(PARSERS[i].parse(u.b, m.u.h.nlmsg_len, &m), 0);
        }
    }
}

/* ---------------------------------------------------------------- acks */

#define PORT 4242u
#define BASE 0xfffffffeu     /* the sequence numbers wrap inside a batch */

/* A datagram of messages appended one after another. */
struct dgram {
    union {
        uint8_t b[4096];
        uint32_t align;
    } u;
    size_t len;
};

static struct nlmsghdr *
dg_put(struct dgram *d, const struct hand *m, uint32_t seq, uint32_t pid)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(d->u.b + d->len);

    memcpy(h, m->u.b, m->u.h.nlmsg_len);
    h->nlmsg_seq = seq;
    h->nlmsg_pid = pid;
    d->len += NLMSG_ALIGN(m->u.h.nlmsg_len);
    return h;
}

/* An ack: error, the request's header (CAPPED) or the request with 8
 * payload bytes, and an ext-ack text when text is not NULL. */
static void
ack(struct hand *m, int error, bool capped, const char *text)
{
    struct {
        struct nlmsgerr e;
        uint8_t payload[8];
    } body;
    size_t blen = sizeof(body.e) + (capped ? 0 : sizeof(body.payload));

    memset(&body, 0, sizeof(body));
    body.e.error = error;
    body.e.msg.nlmsg_len = (uint32_t)NLMSG_LENGTH(capped ? 0 : 8);
    body.e.msg.nlmsg_type = RTM_NEWLINK;
    memset(body.payload, 0xee, sizeof(body.payload));
    hand_init(m, NLMSG_ERROR, &body, blen);
    m->u.h.nlmsg_flags = capped ? NLM_F_CAPPED : 0;
    if (text) {
        m->u.h.nlmsg_flags |= NLM_F_ACK_TLVS;
        hand_attr(m, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
    }
}

static void
pending(struct nlc_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        res[i].err = NLC_ACK_PENDING;
    }
}

/* nlc_parse_acks on an exact copy of the datagram. */
static int
acks(const struct dgram *d, uint32_t n, struct nlc_result *res)
{
    uint8_t *copy = exact_copy(d->u.b, d->len);
    int rc = nlc_parse_acks(copy, d->len, PORT, BASE, n, res);

    free(copy);
    return rc;
}

static void
test_acks(void)
{
    struct nlc_result res[4];
    struct ifinfomsg ifi = { .ifi_index = 9 };
    struct dgram d;
    struct hand m;

    /* an ack per request, out of order, with and without text */
    memset(&d, 0, sizeof(d));
    ack(&m, -EEXIST, true, "File exists, says the kernel");
    dg_put(&d, &m, BASE + 2, PORT);
    ack(&m, 0, false, "a warning");
    dg_put(&d, &m, BASE, PORT);
    hand_init(&m, RTM_NEWLINK, &ifi, sizeof(ifi));
    hand_u32(&m, IFLA_LINK, 12);
    dg_put(&d, &m, BASE + 1, PORT);
    ack(&m, EPERM, false, NULL);           /* a positive error: -EPERM */
    dg_put(&d, &m, BASE + 1, PORT);
    hand_init(&m, NLMSG_NOOP, NULL, 0);    /* skipped */
    dg_put(&d, &m, BASE + 3, PORT);
    pending(res, 4);
    CHECK_EQ(acks(&d, 4, res), 3);
    CHECK_EQ(res[0].err, 0);
    CHECK_STR(res[0].msg, "");              /* success: no error text */
    CHECK_EQ(res[1].err, -EPERM);
    CHECK_EQ(res[1].value, 9);
    CHECK_EQ(res[1].link, 12);
    CHECK_EQ(res[2].err, -EEXIST);
    CHECK_STR(res[2].msg, "File exists, says the kernel");
    CHECK_EQ(res[3].err, NLC_ACK_PENDING);
    /* the same datagram again: every ack is a second one */
    CHECK_EQ(acks(&d, 4, res), -EPROTO);
    /* a short RTM_NEWLINK (no ifinfomsg) is skipped, a bad one refused */
    memset(&d, 0, sizeof(d));
    hand_init(&m, RTM_NEWLINK, NULL, 0);
    dg_put(&d, &m, BASE, PORT);
    pending(res, 4);
    CHECK_EQ(acks(&d, 1, res), 0);
    CHECK_EQ(res[0].value, 0);
    hand_init(&m, RTM_NEWLINK, &ifi, sizeof(ifi));
    hand_u32(&m, IFLA_LINK, 12);
    m.u.b[NLMSG_LENGTH(sizeof(ifi))] = 9;   /* nla_len past the message */
    dg_put(&d, &m, BASE, PORT);
    CHECK_EQ(acks(&d, 1, res), -EBADMSG);

    /* the kept results before a bad message; each error */
    {
        static const struct {
            uint32_t seq, pid, len;     /* len 0: the ack's own */
            int rc;
        } bad[] = {
            { BASE + 1, PORT + 1, 0, -ESRCH },
            { BASE + 2, PORT, 0, -EPROTO },         /* n = 2 */
            { BASE - 1, PORT, 0, -EPROTO },
            { BASE + 1, PORT, NLMSG_HDRLEN + 3, -EBADMSG }, /* short err */
            { BASE + 1, PORT, 4000, -EBADMSG },     /* past the datagram */
            { BASE + 1, PORT, 8, -EBADMSG },        /* below a header */
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            struct nlmsghdr *h;

            memset(&d, 0, sizeof(d));
            ack(&m, -ENODEV, true, "no such device");
            dg_put(&d, &m, BASE, PORT);
            ack(&m, 0, true, NULL);
            h = dg_put(&d, &m, bad[i].seq, bad[i].pid);
            if (bad[i].len) {
                h->nlmsg_len = bad[i].len;
                d.len = 128;
            }
            pending(res, 2);
            CHECK_EQ(acks(&d, 2, res), bad[i].rc);
            CHECK_EQ(res[0].err, -ENODEV);
            CHECK_STR(res[0].msg, "no such device");
        }
    }
    /* trailing bytes too short for a header */
    memset(&d, 0, sizeof(d));
    ack(&m, 0, true, NULL);
    dg_put(&d, &m, BASE, PORT);
    d.len += 4;
    pending(res, 1);
    CHECK_EQ(acks(&d, 1, res), -EBADMSG);
    /* malformed ext-ack TLVs only lose the text; a huge quoted request
     * length makes the TLVs unreachable */
    memset(&d, 0, sizeof(d));
    ack(&m, -EINVAL, true, "text");
    m.u.b[m.u.h.nlmsg_len - 12] = 0xff;     /* nla_len of "text" TLV */
    dg_put(&d, &m, BASE, PORT);
    ack(&m, -EINVAL, false, "text");
    ((struct nlmsgerr *)NLMSG_DATA(&m.u.h))->msg.nlmsg_len = UINT32_MAX - 1;
    dg_put(&d, &m, BASE + 1, PORT);
    pending(res, 2);
    CHECK_EQ(acks(&d, 2, res), 2);
    CHECK_EQ(res[0].err, -EINVAL);
    CHECK_STR(res[0].msg, "");
    CHECK_EQ(res[1].err, -EINVAL);
    CHECK_STR(res[1].msg, "");
    /* nothing at all; arguments */
    CHECK_EQ(nlc_parse_acks(d.u.b, 0, PORT, BASE, 0, NULL), 0);
    CHECK_EQ(nlc_parse_acks(d.u.b + 2, 16, PORT, BASE, 2, res), -EINVAL);
    CHECK_EQ(nlc_parse_acks(d.u.b, d.len, PORT, BASE, 0, res), -EPROTO);
}

/* ---------------------------------------------------------------- fuzz */

/* Strings NUL-terminated in their arrays; lengths within their fields. */
static void
check_records(int rc, size_t i, const void *out)
{
    CHECK(rc == 0 || rc == 1 || rc == -EBADMSG);
    if (rc != 0)
        return;
    if (i == 0) {
        const struct nlc_link *l = out;

        CHECK(memchr(l->name, 0, sizeof(l->name)) != NULL);
        CHECK(memchr(l->kind, 0, sizeof(l->kind)) != NULL);
        CHECK(l->mac_len <= sizeof(l->mac));
    } else if (i == 1) {
        const struct nlc_addr *a = out;

        CHECK(memchr(a->label, 0, sizeof(a->label)) != NULL);
    } else {
        const struct nlc_route *r = out;

        CHECK(r->has_gateway <= 1);
    }
}

/* A plausible message of parser i's type (or an ack), then damaged. */
static size_t
fuzz_message(struct hand *m, size_t i)
{
    uint8_t fam[16];
    size_t nattrs = rnd() % 8, len;

    for (size_t k = 0; k < sizeof(fam); k++)
        fam[k] = (uint8_t)rnd();
    if (i == NPARSERS)
        ack(m, -(int)(rnd() % 200), rnd() % 2, rnd() % 2 ? "why" : NULL);
    else
        hand_init(m, PARSERS[i].type, fam, PARSERS[i].famlen);
    for (size_t k = 0; k < nattrs; k++) {
        uint8_t data[40];
        size_t dl = rnd() % sizeof(data);

        for (size_t j = 0; j < dl; j++)
            data[j] = (uint8_t)(rnd() % 4 ? 'a' + rnd() % 26 : rnd());
        if (rnd() % 4 == 0) {   /* a nest holding one attribute */
            size_t at = hand_attr(m, (uint16_t)(rnd() % 64 | NLA_F_NESTED),
                                  NULL, 0);
            uint16_t nl;

            hand_attr(m, (uint16_t)(rnd() % 8), data, dl);
            nl = (uint16_t)(m->u.h.nlmsg_len - at);
            memcpy(m->u.b + at, &nl, 2);
        } else {
            hand_attr(m, (uint16_t)(rnd() % 64), data, dl);
        }
    }
    len = m->u.h.nlmsg_len;
    /* damage: a byte, a 16-bit length, the header's length, a cut */
    for (uint64_t k = rnd() % 4; k > 0 && len > 0; k--) {
        size_t at = (size_t)(rnd() % len);

        switch (rnd() % 4) {
        case 0:
            m->u.b[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:
            m->u.b[at & ~(size_t)3] = (uint8_t)(rnd() % (len + 8));
            m->u.b[(at & ~(size_t)3) + 1] = 0;
            break;
        case 2:
            m->u.h.nlmsg_len = (uint32_t)(rnd() % (len + 16));
            break;
        default:
            len = at;
            break;
        }
    }
    return len;
}

static void
test_fuzz(void)
{
    struct nlc_result res[4];

    for (int iter = 0; iter < 60000; iter++) {
        struct hand m;
        size_t i = (size_t)(rnd() % (NPARSERS + 1));
        size_t len = fuzz_message(&m, i);
        uint8_t *copy = exact_copy(m.u.b, len);

        for (size_t p = 0; p < NPARSERS; p++) {
            union {
                struct nlc_link l;
                struct nlc_addr a;
                struct nlc_route r;
            } out;

            check_records(PARSERS[p].parse(copy, len, &out), p, &out);
        }
        {
            int rc;

            m.u.h.nlmsg_pid = PORT;
            m.u.h.nlmsg_seq = BASE + (uint32_t)(rnd() % 3);
            free(copy);
            copy = exact_copy(m.u.b, len);
            pending(res, 4);
            rc = nlc_parse_acks(copy, len, PORT, BASE, 2, res);
            CHECK(rc == 0 || rc == 1 || rc == -EBADMSG || rc == -EPROTO ||
                  rc == -ESRCH);
            for (size_t k = 0; k < 4; k++) {
                CHECK(res[k].err <= 0 || res[k].err == NLC_ACK_PENDING);
                CHECK(memchr(res[k].msg, 0, sizeof(res[k].msg)) != NULL);
            }
            CHECK_EQ(res[2].err, NLC_ACK_PENDING);   /* never past n */
        }
        free(copy);
    }
}

int
main(void)
{
    test_framing();
    test_acks();
    test_fuzz();
    return check_done("test_parse");
}
