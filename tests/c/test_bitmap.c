/*
 * test_bitmap.c - the sparse bitmap of csrc/bitmap.c and bitmap_codec.c
 * against a dense byte-per-ordinal model, plus boundaries (sizes 1 and
 * 2^64), next-fit wrap-around, all-or-nothing bulk allocation, and
 * serialization: the bytes are checked against an independent encoder of
 * the format, round tripped, and every kind of malformed input must give
 * -EINVAL.
 *
 * Exits non-zero when any check fails.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nlc.h"
#include "check.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
    return check_rnd(&rng_state);
}

/* A uniform-enough value in [0, n), n > 0. */
static uint64_t
below(uint64_t n)
{
    return rnd() % n;
}

static struct nlc_bitmap *
new_bitmap(uint64_t last)
{
    struct nlc_bitmap *bm = NULL;

    if (nlc_bitmap_new(&bm, last) != 0) {
        fprintf(stderr, "nlc_bitmap_new(%llu) failed\n",
                (unsigned long long)last);
        exit(2);
    }
    return bm;
}

/* The serialized bytes (malloc'ed), their length in *len. */
static uint8_t *
serialize(const struct nlc_bitmap *bm, size_t *len)
{
    size_t n = nlc_bitmap_size_bytes(bm);
    uint8_t *buf = malloc(n);

    if (!buf)
        exit(2);
    CHECK_EQ(nlc_bitmap_to_bytes(bm, buf, n), n);
    if (n > 40)
        CHECK_EQ(nlc_bitmap_to_bytes(bm, buf, n - 1), -EMSGSIZE);
    *len = n;
    return buf;
}

/* ------------------------------------------------------ the dense model */

struct model {
    uint64_t last;
    uint64_t used;
    uint64_t cursor;
    uint8_t *set;
};

static int
model_first(const struct model *m, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const uint8_t *p = memchr(m->set + lo, 0, hi - lo + 1);

    if (!p)
        return 0;
    *out = (uint64_t)(p - m->set);
    return 1;
}

/* The first allocated ordinal at or after x (wrapping), else x. */
static uint64_t
model_some_set(const struct model *m, uint64_t x)
{
    for (uint64_t i = 0; i <= m->last; i++) {
        uint64_t y = x + i > m->last ? x + i - m->last - 1 : x + i;

        if (m->set[y])
            return y;
    }
    return x;
}

/* The ordinal nlc_bitmap_alloc() must return, or UINT64_MAX (ENOSPC). */
static uint64_t
model_alloc(struct model *m, int serial, uint64_t lo, uint64_t hi)
{
    uint64_t c = m->cursor, x;
    int found;

    if (serial && lo <= c && c <= hi)
        found = model_first(m, c, hi, &x) ||
                (c > lo && model_first(m, lo, c - 1, &x));
    else
        found = model_first(m, lo, hi, &x);
    if (!found)
        return UINT64_MAX;
    m->set[x] = 1;
    m->used++;
    m->cursor = x == m->last ? 0 : x + 1;
    return x;
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* An encoder of format v1 written from its description, as an oracle. */
static uint8_t *
model_bytes(const struct model *m, size_t *len)
{
    uint64_t nleaves = 0, nleaf = (m->last >> 12) + 1;
    uint8_t *buf = malloc(40 + nleaf * (16 + 64 * 8)), *p = buf + 40;

    if (!buf)
        exit(2);
    for (uint64_t k = 0; k < nleaf; k++) {
        uint64_t words[64] = { 0 }, mask = 0, n = 0, cap = 0;

        for (uint64_t x = k * 4096; x <= m->last && x < (k + 1) * 4096;
             x++) {
            cap++;
            if (m->set[x]) {
                words[(x >> 6) & 63] |= 1ULL << (x & 63);
                n++;
            }
        }
        if (!n)
            continue;
        for (unsigned j = 0; j < 64; j++)
            if (words[j])
                mask |= 1ULL << j;
        if (n == cap)
            mask = 0;
        put64(p, k);
        put64(p + 8, mask);
        p += 16;
        for (unsigned j = 0; j < 64; j++) {
            if (mask >> j & 1) {
                put64(p, words[j]);
                p += 8;
            }
        }
        nleaves++;
    }
    memcpy(buf, "NLCB\x01\0\0\0", 8);
    put64(buf + 8, m->last);
    put64(buf + 16, m->cursor);
    put64(buf + 24, m->used);
    put64(buf + 32, nleaves);
    *len = (size_t)(p - buf);
    return buf;
}

static void
check_against_model(const struct nlc_bitmap *bm, const struct model *m)
{
    size_t len, mlen;
    uint8_t *bytes = serialize(bm, &len), *mbytes = model_bytes(m, &mlen);
    struct nlc_bitmap *copy = NULL;

    CHECK_EQ(nlc_bitmap_used(bm), m->used);
    CHECK_EQ(nlc_bitmap_cursor(bm), m->cursor);
    CHECK_EQ(len, mlen);
    CHECK(len == mlen && memcmp(bytes, mbytes, len) == 0);
    for (uint64_t x = 0; x <= m->last; x++) {
        if (nlc_bitmap_test(bm, x) != m->set[x]) {
            fprintf(stderr, "ordinal %llu: test %d, model %d\n",
                    (unsigned long long)x, nlc_bitmap_test(bm, x),
                    m->set[x]);
            failures++;
            break;
        }
    }
    CHECK_EQ(nlc_bitmap_from_bytes(&copy, bytes, len), 0);
    if (copy) {
        size_t clen;
        uint8_t *again = serialize(copy, &clen);

        CHECK(clen == len && memcmp(again, bytes, len) == 0);
        free(again);
        nlc_bitmap_free(copy);
    }
    free(bytes);
    free(mbytes);
}

/* A range [lo, hi] of [0, last], often small or at a leaf boundary. */
static void
random_range(uint64_t last, uint64_t *lo, uint64_t *hi)
{
    uint64_t a, b;

    switch (below(4)) {
    case 0:
        *lo = 0;
        *hi = last;
        return;
    case 1:
        a = below(last + 1);
        b = a + below(130);
        break;
    case 2:
        a = (below(last / 4096 + 1) * 4096) - below(3);
        b = a + 4096 + below(70);
        break;
    default:
        a = below(last + 1);
        b = below(last + 1);
        break;
    }
    if (a > last)
        a = 0;
    if (b > last)
        b = last;
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

static void
test_random_model(uint64_t last, unsigned steps)
{
    struct nlc_bitmap *bm = new_bitmap(last);
    struct model m = { last, 0, 0, calloc(last + 1, 1) };
    uint64_t *out = malloc(6000 * sizeof(*out));

    if (!m.set || !out)
        exit(2);
    for (unsigned step = 0; step < steps; step++) {
        uint64_t lo, hi, x, got, want, count;
        int serial = (int)below(2), rc;

        random_range(last, &lo, &hi);
        switch (below(6)) {
        case 0:
        case 1:
            want = model_alloc(&m, serial, lo, hi);
            got = nlc_bitmap_alloc(bm, serial, lo, hi);
            CHECK_EQ(got, want);
            CHECK_EQ(nlc_bitmap_error(bm), want == UINT64_MAX ? -ENOSPC : 0);
            break;
        case 2:
            count = below(4) ? below(70) : below(6000);
            rc = nlc_bitmap_alloc_many(bm, count, serial, lo, hi, out);
            if (rc == 0) {
                for (uint64_t i = 0; i < count; i++)
                    CHECK_EQ(out[i], model_alloc(&m, serial, lo, hi));
            } else {
                /* the model must agree that count did not fit */
                struct model t = m;

                CHECK_EQ(rc, -ENOSPC);
                t.set = malloc(last + 1);
                if (!t.set)
                    exit(2);
                memcpy(t.set, m.set, last + 1);
                for (x = 0; x < count; x++)
                    if (model_alloc(&t, serial, lo, hi) == UINT64_MAX)
                        break;
                CHECK(x < count);
                free(t.set);
            }
            break;
        case 3:
            x = below(4) ? below(last + 1) : lo;
            CHECK_EQ(nlc_bitmap_set(bm, x), m.set[x] ? -EEXIST : 0);
            m.used += !m.set[x];
            m.set[x] = 1;
            break;
        default:
            x = below(4) ? model_some_set(&m, lo) : below(last + 1);
            CHECK_EQ(nlc_bitmap_release(bm, x), m.set[x] ? 0 : -ENOENT);
            m.used -= m.set[x];
            m.set[x] = 0;
            break;
        }
        if (step % 64 == 0 || last < 200)
            check_against_model(bm, &m);
    }
    check_against_model(bm, &m);
    /* release everything: every leaf must go away */
    for (uint64_t y = 0; y <= last; y++)
        if (m.set[y])
            CHECK_EQ(nlc_bitmap_release(bm, y), 0);
    CHECK_EQ(nlc_bitmap_used(bm), 0);
    CHECK_EQ(nlc_bitmap_size_bytes(bm), 40);
    nlc_bitmap_free(bm);
    free(m.set);
    free(out);
}

/* ------------------------------------------------------- example tests */

static void
test_errors(void)
{
    struct nlc_bitmap *bm = new_bitmap(99);
    uint64_t out[4];

    nlc_bitmap_free(NULL);
    CHECK_EQ(nlc_bitmap_last(bm), 99);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 5, 4), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -EINVAL);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 0, 100), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -EINVAL);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 99, 99), 99);
    CHECK_EQ(nlc_bitmap_error(bm), 0);
    CHECK_EQ(nlc_bitmap_cursor(bm), 0);         /* past last: back to 0 */
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 99, 99), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -ENOSPC);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 1, 0, 7, 6, out), -EINVAL);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 1, 0, 0, 100, out), -EINVAL);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 0, 0, 0, 99, out), 0);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 1, 0, 99, 99, out), -ENOSPC);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 101, 0, 0, 99, out), -ENOSPC);
    CHECK_EQ(nlc_bitmap_set(bm, 100), -EINVAL);
    CHECK_EQ(nlc_bitmap_set(bm, 99), -EEXIST);
    CHECK_EQ(nlc_bitmap_set(bm, 42), 0);
    CHECK_EQ(nlc_bitmap_release(bm, 100), -EINVAL);
    CHECK_EQ(nlc_bitmap_release(bm, 41), -ENOENT);
    CHECK_EQ(nlc_bitmap_release(bm, 42), 0);
    CHECK_EQ(nlc_bitmap_release(bm, 42), -ENOENT);
    CHECK_EQ(nlc_bitmap_test(bm, 100), -EINVAL);
    CHECK_EQ(nlc_bitmap_test(bm, 99), 1);
    CHECK_EQ(nlc_bitmap_test(bm, 98), 0);
    CHECK_EQ(nlc_bitmap_used(bm), 1);
    CHECK_EQ(nlc_bitmap_cursor(bm), 0);         /* set/release keep it */
    nlc_bitmap_free(bm);
}

static void
test_size_one(void)
{
    struct nlc_bitmap *bm = new_bitmap(0);

    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 0, 0), 0);
    CHECK_EQ(nlc_bitmap_cursor(bm), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 0, 0), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -ENOSPC);
    CHECK_EQ(nlc_bitmap_release(bm, 0), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 0, 0), 0);
    nlc_bitmap_free(bm);
}

static void
test_serial_wrap(void)
{
    struct nlc_bitmap *bm = new_bitmap(99);
    uint64_t out[8];

    for (uint64_t i = 10; i <= 19; i++)
        CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), i);
    CHECK_EQ(nlc_bitmap_cursor(bm), 20);
    CHECK_EQ(nlc_bitmap_release(bm, 12), 0);
    CHECK_EQ(nlc_bitmap_cursor(bm), 20);
    /* cursor outside [10, 19]: the search starts at lo */
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), 12);
    CHECK_EQ(nlc_bitmap_cursor(bm), 13);
    CHECK_EQ(nlc_bitmap_release(bm, 11), 0);
    CHECK_EQ(nlc_bitmap_release(bm, 15), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), 15);   /* at/after cursor */
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), 11);   /* wrapped to lo */
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -ENOSPC);
    CHECK_EQ(nlc_bitmap_cursor(bm), 12);             /* failure keeps it */
    /* first-fit ignores the cursor but moves it */
    CHECK_EQ(nlc_bitmap_release(bm, 18), 0);
    CHECK_EQ(nlc_bitmap_release(bm, 13), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 0, 99), 0);
    CHECK_EQ(nlc_bitmap_cursor(bm), 1);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 10, 19), 13);
    /* bulk next-fit wraps the same way: [14, 19] then [10, 13] */
    CHECK_EQ(nlc_bitmap_release(bm, 10), 0);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 2, 1, 10, 19, out), 0);
    CHECK_EQ(out[0], 18);
    CHECK_EQ(out[1], 10);
    CHECK_EQ(nlc_bitmap_cursor(bm), 11);
    nlc_bitmap_free(bm);
}

static void
test_alloc_many_all_or_nothing(void)
{
    struct nlc_bitmap *bm = new_bitmap(3 * 4096 - 1);
    uint64_t *out = malloc(3 * 4096 * sizeof(*out));
    uint8_t *before, *after;
    size_t blen, alen;

    if (!out)
        exit(2);
    for (uint64_t x = 0; x < 3 * 4096; x += 3)
        CHECK_EQ(nlc_bitmap_set(bm, x), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 4000, 4100), 4000);
    before = serialize(bm, &blen);
    /* 8191 free ordinals in all, 5461 in [1, 8192]: asks for one more */
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 5462, 1, 1, 8192, out), -ENOSPC);
    after = serialize(bm, &alen);
    CHECK(alen == blen && memcmp(before, after, blen) == 0);
    free(after);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 8192, 0, 0, 3 * 4096 - 1, out),
             -ENOSPC);
    after = serialize(bm, &alen);
    CHECK(alen == blen && memcmp(before, after, blen) == 0);
    free(after);
    /* the exact fit: from the cursor (4001) to 8192, then from 1 */
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 5461, 1, 1, 8192, out), 0);
    CHECK_EQ(out[0], 4001);
    CHECK_EQ(out[1], 4003);
    CHECK_EQ(out[2], 4004);
    CHECK_EQ(out[5460], 3998);
    CHECK_EQ(nlc_bitmap_cursor(bm), 3999);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 1, 8192), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_used(bm), 4096 + 1 + 5461);
    free(before);
    free(out);
    nlc_bitmap_free(bm);
}

static void
test_full_range(void)
{
    const uint64_t top = UINT64_MAX;
    struct nlc_bitmap *bm = new_bitmap(top);
    uint64_t *out = malloc((1 << 20) * sizeof(*out));
    uint8_t *bytes;
    size_t len;

    if (!out)
        exit(2);
    CHECK_EQ(nlc_bitmap_set(bm, top), 0);
    CHECK_EQ(nlc_bitmap_set(bm, 1ULL << 63), 0);
    CHECK_EQ(nlc_bitmap_test(bm, top), 1);
    CHECK_EQ(nlc_bitmap_test(bm, top - 1), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, top - 1, top), top - 1);
    CHECK_EQ(nlc_bitmap_cursor(bm), top);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, top - 1, top), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -ENOSPC);
    CHECK_EQ(nlc_bitmap_release(bm, top), 0);
    /* UINT64_MAX as a valid ordinal: the error tells it apart */
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, 0, top), top);
    CHECK_EQ(nlc_bitmap_error(bm), 0);
    CHECK_EQ(nlc_bitmap_cursor(bm), 0);
    /* a 2^20 run: one bulk call, then the next search skips it */
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 1 << 20, 1, 0, top, out), 0);
    for (uint64_t i = 0; i < (1 << 20); i++) {
        if (out[i] != i) {
            CHECK_EQ(out[i], i);
            break;
        }
    }
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 0, top), 1 << 20);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 5, 1 << 20), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 1ULL << 63, top), (1ULL << 63) + 1);
    /* the last leaf filled up: serialized as one full record */
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 4094, 0, top - 4095, top, out), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, top - 4095, top), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_used(bm), (1 << 20) + 5 + 4094);
    bytes = serialize(bm, &len);
    /* 256 full leaves, leaf 256 (one word), leaf 2^51 (one), the last */
    CHECK_EQ(len, 40 + 256 * 16 + 24 + 24 + 16);
    nlc_bitmap_free(bm);
    bm = NULL;
    CHECK_EQ(nlc_bitmap_from_bytes(&bm, bytes, len), 0);
    if (!bm)
        return;
    CHECK_EQ(nlc_bitmap_test(bm, top), 1);
    CHECK_EQ(nlc_bitmap_test(bm, top - 4096), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, top - 5000, top), top - 5000);
    nlc_bitmap_free(bm);
    free(bytes);
    free(out);
}

/* Heap bytes in use (glibc; 0 under sanitizers that replace malloc). */
static size_t
heap_used(void)
{
    return mallinfo2().uordblks;
}

static void
test_memory(void)
{
    struct nlc_bitmap *bm = new_bitmap(UINT64_MAX);
    size_t base = heap_used();
    uint64_t x = 12345;

    if (base == 0) {                    /* a sanitizer owns the heap */
        nlc_bitmap_free(bm);
        return;
    }

    /* 1000 ordinals far apart: at most 9 nodes each, 528 bytes a node */
    for (unsigned i = 0; i < 1000; i++, x += 0x9e3779b97f4a7c15ULL)
        CHECK_EQ(nlc_bitmap_set(bm, x), 0);
    CHECK(heap_used() - base < 1000 * 9 * 600);
    CHECK(heap_used() - base > 1000 * 528);
    CHECK_EQ(nlc_bitmap_size_bytes(bm), 40 + 1000 * 24);
    x = 12345;
    for (unsigned i = 0; i < 1000; i++, x += 0x9e3779b97f4a7c15ULL)
        CHECK_EQ(nlc_bitmap_release(bm, x), 0);
    /* every node freed again, but for the spares kept for reuse and the
     * chain of the leaf emptied last (9 nodes in a /64) */
    CHECK(heap_used() - base <= (10 + 9) * 600);
    nlc_bitmap_free(bm);
}

/*
 * The hint leaf (the last one written): filled through the hint, it must
 * read full from the root, so that a search goes past it; emptied, it
 * must go, hint and all, and be walked to again.
 */
static void
test_hint_transitions(void)
{
    struct nlc_bitmap *bm = new_bitmap(UINT64_MAX);
    uint64_t base = 1ULL << 40;

    for (uint64_t i = 0; i < 4096; i++)
        CHECK_EQ(nlc_bitmap_alloc(bm, 0, base, UINT64_MAX), base + i);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, base, UINT64_MAX), base + 4096);
    CHECK_EQ(nlc_bitmap_release(bm, base + 7), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, base, UINT64_MAX), base + 7);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, base, UINT64_MAX), base + 4097);
    CHECK_EQ(nlc_bitmap_alloc(bm, 0, 0, UINT64_MAX), 0);
    CHECK_EQ(nlc_bitmap_alloc(bm, 1, base, base + 4095), UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(bm), -ENOSPC);
    for (uint64_t i = 0; i < 4098; i++)
        CHECK_EQ(nlc_bitmap_release(bm, base + i), 0);
    CHECK_EQ(nlc_bitmap_used(bm), 1);
    CHECK_EQ(nlc_bitmap_size_bytes(bm), 40 + 24);
    CHECK_EQ(nlc_bitmap_test(bm, base), 0);
    CHECK_EQ(nlc_bitmap_release(bm, base), -ENOENT);
    CHECK_EQ(nlc_bitmap_set(bm, base + 1), 0);
    CHECK_EQ(nlc_bitmap_test(bm, base + 1), 1);
    CHECK_EQ(nlc_bitmap_release(bm, base + 1), 0);
    CHECK_EQ(nlc_bitmap_release(bm, base + 1), -ENOENT);
    CHECK_EQ(nlc_bitmap_release(bm, 0), 0);
    CHECK_EQ(nlc_bitmap_used(bm), 0);
    CHECK_EQ(nlc_bitmap_size_bytes(bm), 40);
    nlc_bitmap_free(bm);
}

/* Seconds taken by n first-fit allocate + release pairs (best of 3). */
static double
time_pairs(struct nlc_bitmap *bm, unsigned n)
{
    double best = 1e9;

    for (unsigned r = 0; r < 3; r++) {
        struct timespec t0, t1;
        double dt;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned i = 0; i < n; i++) {
            uint64_t x = nlc_bitmap_alloc(bm, 0, 0, UINT64_MAX);

            if (nlc_bitmap_release(bm, x) != 0)
                failures++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        best = dt < best ? dt : best;
    }
    return best;
}

/*
 * The full summaries let a search skip a run of full leaves: finding the
 * first free ordinal after 2^26 allocated ones (16384 full leaves) must
 * cost about the same as after 2^14 (4 leaves), not 4096 times more.
 */
static void
test_search_skips_full_runs(void)
{
    struct nlc_bitmap *small = new_bitmap(UINT64_MAX);
    struct nlc_bitmap *big = new_bitmap(UINT64_MAX);
    uint64_t *out = malloc((1 << 20) * sizeof(*out));
    double ts, tb;

    if (!out)
        exit(2);
    CHECK_EQ(nlc_bitmap_alloc_many(small, 1 << 14, 0, 0, UINT64_MAX, out), 0);
    for (unsigned i = 0; i < 64; i++)
        CHECK_EQ(nlc_bitmap_alloc_many(big, 1 << 20, 0, 0, UINT64_MAX, out),
                 0);
    ts = time_pairs(small, 20000);
    tb = time_pairs(big, 20000);
    if (tb > 8 * ts + 0.002) {
        fprintf(stderr, "search after 2^26 full: %.1f us, after 2^14: "
                "%.1f us\n", tb / 20000 * 1e6, ts / 20000 * 1e6);
        failures++;
    }
    nlc_bitmap_free(small);
    nlc_bitmap_free(big);
    free(out);
}

/* from_bytes(bytes) must fail with -EINVAL. */
static void
check_rejected(const uint8_t *bytes, size_t len, const char *what)
{
    struct nlc_bitmap *bm = NULL;
    int rc = nlc_bitmap_from_bytes(&bm, bytes, len);

    if (rc != -EINVAL) {
        fprintf(stderr, "accepted bad bytes (%s): rc %d\n", what, rc);
        failures++;
    }
    if (bm)
        nlc_bitmap_free(bm);
}

static void
test_bad_bytes(void)
{
    /* last 4999: leaf 0 full, leaf 1 holds 4096..4999 with 4999 set */
    struct nlc_bitmap *bm = new_bitmap(4999);
    uint8_t *good, bad[8192];
    size_t len;
    uint64_t out[4096];

    CHECK_EQ(nlc_bitmap_alloc_many(bm, 4096, 0, 0, 4999, out), 0);
    CHECK_EQ(nlc_bitmap_set(bm, 4999), 0);
    good = serialize(bm, &len);
    /* header, leaf 0 (k, mask 0), leaf 1 (k, mask, word 14) */
    CHECK_EQ(len, 40 + 16 + 24);
    if (len != 80)
        exit(1);

#define MUTATE(what, stmt)                                                \
    do {                                                                  \
        memcpy(bad, good, len);                                           \
        stmt;                                                             \
        check_rejected(bad, len, what);                                   \
    } while (0)

    MUTATE("magic", bad[0] = 'X');
    MUTATE("version", bad[4] = 2);
    MUTATE("reserved", bad[6] = 1);
    MUTATE("cursor > last", put64(bad + 16, 5000));
    MUTATE("used too small", put64(bad + 24, 4096));
    MUTATE("used too large", put64(bad + 24, 4098));
    MUTATE("nleaves too large", put64(bad + 32, 3));
    MUTATE("leaf index repeated", put64(bad + 56, 0));
    MUTATE("leaf past last", put64(bad + 56, 2));
    MUTATE("zero word", (put64(bad + 64, 1ULL << 13), put64(bad + 72, 0)));
    MUTATE("bit past last", put64(bad + 72, 1ULL << 8));
    MUTATE("word past last", put64(bad + 64, 1ULL << 15));
    for (size_t n = 0; n < len; n++)
        check_rejected(good, n, "truncated");
    memcpy(bad, good, len);
    bad[len] = 0;
    check_rejected(bad, len + 1, "trailing byte");
    /* leaves out of order: swap the two records */
    memcpy(bad, good, 40);
    memcpy(bad + 40, good + 56, 24);
    memcpy(bad + 64, good + 40, 16);
    check_rejected(bad, len, "leaves out of order");
    /* leaf 0 written word by word although full (non-canonical) */
    memcpy(bad, good, 40);
    put64(bad + 40, 0);
    put64(bad + 48, ~0ULL);
    for (unsigned j = 0; j < 64; j++)
        put64(bad + 56 + 8 * j, ~0ULL);
    memcpy(bad + 56 + 512, good + 56, 24);
    check_rejected(bad, len + 512, "full leaf with a mask");
    /* leaf 1 written with mask 0 although not full */
    memcpy(bad, good, 40 + 16);
    put64(bad + 56, 1);
    put64(bad + 64, 0);
    put64(bad + 24, 5000);
    {
        struct nlc_bitmap *full = NULL;

        /* ... it means "full", so it is read as full and used must match */
        CHECK_EQ(nlc_bitmap_from_bytes(&full, bad, 72), 0);
        if (full)
            CHECK_EQ(nlc_bitmap_used(full), 5000);
        nlc_bitmap_free(full);
        put64(bad + 24, 4097);
        check_rejected(bad, 72, "full leaf, wrong used");
    }
    /* random corruption: never crashes; anything accepted is canonical */
    for (unsigned i = 0; i < 20000; i++) {
        struct nlc_bitmap *r = NULL;
        size_t n = len;

        memcpy(bad, good, len);
        for (unsigned f = 0; f <= below(3); f++)
            bad[below(len)] ^= (uint8_t)(1u << below(8));
        if (below(4) == 0)
            n = below(len + 1);
        if (nlc_bitmap_from_bytes(&r, bad, n) == 0) {
            size_t rlen;
            uint8_t *again = serialize(r, &rlen);

            CHECK(rlen == n && memcmp(again, bad, n) == 0);
            free(again);
            nlc_bitmap_free(r);
        }
    }
#undef MUTATE
    free(good);
    nlc_bitmap_free(bm);
}

int
main(void)
{
    static const uint64_t sizes[] = {
        1, 2, 63, 64, 65, 4095, 4096, 4097, 3 * 4096 + 5, (1 << 18) + 3,
    };

    test_errors();
    test_size_one();
    test_serial_wrap();
    test_alloc_many_all_or_nothing();
    test_full_range();
    test_bad_bytes();
    test_memory();
    test_hint_transitions();
    test_search_skips_full_runs();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        test_random_model(sizes[i] - 1, sizes[i] > 5000 ? 3000 : 2000);
    return check_done("test_bitmap");
}
