/*
 * bitmap_codec.c - the bitmap's serialization: its state as compact,
 * canonical bytes for the store, and back (the tree is bitmap_tree.h).
 *
 * Serialization, format version 1, every integer a little-endian u64
 * unless noted:
 *
 *   0      4        5      8       16       24      32        40
 *   +------+--------+------+-------+--------+-------+---------+
 *   |"NLCB"|ver u8=1|3 x 0 | last  | cursor | used  | nleaves |
 *   +------+--------+------+-------+--------+-------+---------+
 *   then nleaves records, by strictly increasing leaf index k:
 *   +-----+------+----------------------------------+
 *   |  k  | mask | popcount(mask) words, j ascending |
 *   +-----+------+----------------------------------+
 *
 * Only leaves holding an allocated ordinal are written.  Mask bit j says
 * that word j (ordinals k * 4096 + 64 * j + 0..63) is non-zero and
 * follows.  mask == 0 means the leaf is full: every ordinal of it up to
 * `last` is allocated, and no word follows.  A full leaf is always
 * written that way, so equal states serialize to equal bytes; the reader
 * rejects anything else (see nlc_bitmap_from_bytes).
 */
#include <stdlib.h>

#include "bitmap_tree.h"

#define BM_HEADER_LEN 40
#define BM_VERSION 1

static inline void
__put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t
__get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Whether leaf k has every one of its ordinals up to last allocated. */
static int
__leaf_is_full(const struct __node *leaf, uint64_t k, uint64_t last)
{
    unsigned jl, bl;

    if (k != last >> BM_LEAF_SHIFT)
        return leaf->full == ~0ULL;
    jl = __slot(last, 0);
    bl = last & 63;
    if (jl && (~leaf->full & __span(0, jl - 1)))
        return 0;
    return (~leaf->u.word[jl] & __span(0, bl)) == 0;
}

/* Number of ordinals of leaf k that are <= last. */
static uint64_t
__leaf_capacity(uint64_t k, uint64_t last)
{
    if (k != last >> BM_LEAF_SHIFT)
        return 1ULL << BM_LEAF_SHIFT;
    return (last & ((1ULL << BM_LEAF_SHIFT) - 1)) + 1;
}

typedef void (*__leaf_fn)(const struct __node *leaf, uint64_t k, void *ctx);

/* Calls fn on every leaf under n (level lvl, first leaf k), k ascending. */
static void
__visit(const struct __node *n, unsigned lvl, uint64_t k, __leaf_fn fn,
        void *ctx)
{
    if (lvl == 0) {
        fn(n, k, ctx);
        return;
    }
    for (uint64_t m = n->nz; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctzll(m);

        __visit(n->u.child[i], lvl - 1, k + ((uint64_t)i << (6 * (lvl - 1))),
                fn, ctx);
    }
}

struct __writer {
    uint64_t last;
    size_t len;                 /* bytes counted or written so far */
    uint64_t nleaves;
    uint8_t *buf;               /* NULL: only count                */
};

static void
__write_leaf(const struct __node *leaf, uint64_t k, void *ctx)
{
    struct __writer *w = ctx;
    uint64_t mask = __leaf_is_full(leaf, k, w->last) ? 0 : leaf->nz;

    if (!leaf->nz)
        return;                     /* the kept leaf: nothing allocated */

    w->nleaves++;
    if (w->buf) {
        __put64(w->buf + w->len, k);
        __put64(w->buf + w->len + 8, mask);
    }
    w->len += 16;
    for (; mask; mask &= mask - 1) {
        if (w->buf)
            __put64(w->buf + w->len, leaf->u.word[__builtin_ctzll(mask)]);
        w->len += 8;
    }
}

NLC_EXPORT size_t
nlc_bitmap_size_bytes(const struct nlc_bitmap *bm)
{
    struct __writer w = { 0, BM_HEADER_LEN, 0, NULL };

    if (!bm)
        return 0;
    w.last = bm->last;
    __visit(&bm->root, bm->height, 0, __write_leaf, &w);
    return w.len;
}

NLC_EXPORT int64_t
nlc_bitmap_to_bytes(const struct nlc_bitmap *bm, uint8_t *buf, size_t cap)
{
    struct __writer w = { 0, BM_HEADER_LEN, 0, buf };

    if (!bm || !buf)
        return -EINVAL;
    w.last = bm->last;
    if (cap < nlc_bitmap_size_bytes(bm))
        return -EMSGSIZE;
    __visit(&bm->root, bm->height, 0, __write_leaf, &w);
    memcpy(buf, "NLCB", 4);
    buf[4] = BM_VERSION;
    memset(buf + 5, 0, 3);
    __put64(buf + 8, bm->last);
    __put64(buf + 16, bm->cursor);
    __put64(buf + 24, bm->used);
    __put64(buf + 32, w.nleaves);
    return (int64_t)w.len;
}

/*
 * Reads one leaf record at *off into bm (whose leaves so far all come
 * before leaf min_k).  Returns 0, -EINVAL or -ENOMEM.
 */
static int
__load_leaf(struct nlc_bitmap *bm, const uint8_t *buf, size_t len,
            size_t *off, uint64_t min_k, uint64_t *k_out)
{
    struct __path path;
    struct __node *leaf;
    uint64_t k, mask, last = bm->last;
    unsigned jl = __slot(last, 0);
    int rc;

    if (len - *off < 16)
        return -EINVAL;
    k = __get64(buf + *off);
    mask = __get64(buf + *off + 8);
    *off += 16;
    if (k < min_k || k > last >> BM_LEAF_SHIFT)
        return -EINVAL;
    if ((len - *off) / 8 < (size_t)__builtin_popcountll(mask))
        return -EINVAL;
    rc = __nlc_bm_walk_create(bm, k << BM_LEAF_SHIFT, &path);
    if (rc)
        return rc;
    leaf = path.node[0];
    if (mask == 0) {
        uint64_t cap = __leaf_capacity(k, last);

        for (unsigned j = 0; j < cap / 64; j++)
            leaf->u.word[j] = ~0ULL;
        if (cap % 64)
            leaf->u.word[cap / 64] = __span(0, (cap % 64) - 1);
    }
    for (uint64_t m = mask; m; m &= m - 1) {
        unsigned j = (unsigned)__builtin_ctzll(m);

        leaf->u.word[j] = __get64(buf + *off);
        *off += 8;
        if (!leaf->u.word[j])
            return -EINVAL;
    }
    for (unsigned j = 0; j < 64; j++) {
        __leaf_word_changed(leaf, j);
        bm->used += (uint64_t)__builtin_popcountll(leaf->u.word[j]);
    }
    if (k == last >> BM_LEAF_SHIFT &&
        ((jl < 63 && (leaf->nz & __span(jl + 1, 63))) ||
         (leaf->u.word[jl] & ~__span(0, last & 63))))
        return -EINVAL;                 /* bits past last */
    if (mask && __leaf_is_full(leaf, k, last))
        return -EINVAL;                 /* a full leaf must have mask 0 */
    __nlc_bm_fixup(bm, &path, 0);
    *k_out = k;
    return 0;
}

NLC_EXPORT int
nlc_bitmap_from_bytes(struct nlc_bitmap **out, const uint8_t *buf,
                      size_t len)
{
    struct nlc_bitmap *bm;
    uint64_t last, cursor, used, nleaves, k = 0;
    size_t off = BM_HEADER_LEN;
    int rc;

    if (!out || !buf)
        return -EINVAL;
    if (len < BM_HEADER_LEN || memcmp(buf, "NLCB", 4) != 0 ||
        buf[4] != BM_VERSION || buf[5] || buf[6] || buf[7])
        return -EINVAL;
    last = __get64(buf + 8);
    cursor = __get64(buf + 16);
    used = __get64(buf + 24);
    nleaves = __get64(buf + 32);
    if (cursor > last)
        return -EINVAL;
    rc = nlc_bitmap_new(&bm, last);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < nleaves && !rc; i++)
        rc = __load_leaf(bm, buf, len, &off, i ? k + 1 : 0, &k);
    if (!rc && (off != len || bm->used != used))
        rc = -EINVAL;
    if (rc) {
        nlc_bitmap_free(bm);
        return rc;
    }
    bm->cursor = cursor;
    *out = bm;
    return 0;
}
