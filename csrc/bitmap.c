/*
 * bitmap.c - the sparse bitmap allocator over the ordinals [0, last],
 * last < 2^64: pure computation (its serialization is bitmap_codec.c).
 *
 * Tree.  A 64-ary tree of identical 528-byte nodes.  A leaf (level 0)
 * holds 64 words of 64 bits, 4096 ordinals; a node of level l >= 1 holds
 * 64 children, each covering 2^(6l + 6) ordinals.  The root is embedded
 * in struct nlc_bitmap and has the smallest level l >= 1 whose span
 * 2^(6l + 12) exceeds last: 1 up to 2^18 ordinals, 9 for 2^64.
 *
 *   root, level 2   [ full | nz | child 0 ... child 63 ]
 *                                    |          \
 *   level 1         [ full | nz | child 0 ... child 63 ]   NULL: 2^18
 *                                    |          \            free
 *   level 0 (leaf)  [ full | nz | word 0  ...  word 63 ]   NULL: 4096
 *                                    |                       free
 *                    bit b of word j of leaf k = ordinal 4096k + 64j + b
 *
 * Every node keeps two summaries of its 64 slots: `full` bit i is set
 * when slot i (a word, or a child subtree) has no free ordinal; `nz` bit i
 * of a leaf when word i is not zero, of a node when child i is linked.  A
 * NULL child is an entirely free subtree: nodes are allocated on first use
 * and freed when they become empty (but one chain, see "Kept"), so memory
 * is proportional to the ordinals in use.
 * An emptied node is all zeros; up to BM_SPARE of them are kept for
 * reuse, so that allocating and releasing one ordinal over and over does
 * not go to malloc each time.
 *
 * Kept.  The leaf emptied last is not dropped: it stays linked, with its
 * ancestors, until another leaf is emptied (then the nodes of its chain
 * that hold nothing are dropped) or the bitmap is freed.  So allocating
 * and releasing one ordinal of an otherwise empty /64 over and over does
 * not build and tear down a chain of nine nodes, nor walk it, each time.
 * A search sees the kept leaf as the free space it is; serialization
 * skips it (no allocated ordinal).  Memory is that of the nodes in use,
 * plus one chain, plus the spares.
 *
 * Hint.  The leaf last written to is remembered (dropping it forgets it).
 * A set or clear in that leaf that does not fill it up or make it not full
 * (most of them) changes nothing above it, so it needs no walk from the
 * root; and a search that starts in it looks there first.  Next-fit pairs
 * then cost the same in a /64 (9 levels) as in a /16 (1 level).
 *
 * Bits past `last` are never set, so the nodes on the path to `last` may
 * never look full.  That is harmless: a search can only enter them as
 * the slot holding hi (hi <= last), a boundary slot that is searched
 * clipped anyway.
 *
 * Searching the first free ordinal of [lo, hi] descends through the
 * candidate slots ~full & span(first, last slot): an interior candidate
 * always holds a free ordinal, only the two boundary slots can come back
 * empty-handed, so a search visits O(log64 size) nodes, each with a few
 * mask operations and __builtin_ctzll().
 */
#include <stdlib.h>

#include "bitmap_tree.h"

/* A zeroed node: a spare one, or a new one (NULL when out of memory). */
static struct __node *
__node_new(struct nlc_bitmap *bm)
{
    struct __node *n = bm->spare;

    if (!n)
        return calloc(1, sizeof(*n));
    bm->spare = n->u.child[0];
    bm->nspare--;
    n->u.child[0] = NULL;
    return n;
}

/* Takes back an empty node, hence all zeros. */
static void
__node_drop(struct nlc_bitmap *bm, struct __node *n)
{
    if (n == bm->hint)
        bm->hint = NULL;
    if (bm->nspare == BM_SPARE) {
        free(n);
        return;
    }
    n->u.child[0] = bm->spare;
    bm->spare = n;
    bm->nspare++;
}

/*
 * After the full bit of path->node[lvl] may have changed, brings its
 * ancestors' full bits up to date.  Stops as soon as a parent already
 * records the right state.  (Links, hence nz bits of nodes, change only
 * in __descend() and __drop_empty_up().)
 */
void
__nlc_bm_fixup(struct nlc_bitmap *bm, struct __path *path, unsigned lvl)
{
    for (; lvl < bm->height; lvl++) {
        struct __node *n = path->node[lvl], *parent = path->node[lvl + 1];
        uint64_t bit = 1ULL << path->slot[lvl + 1];
        uint64_t full = n->full == ~0ULL ? bit : 0;

        if ((parent->full & bit) == full)
            return;
        parent->full ^= bit;
    }
}

/*
 * From path->node[lvl] up, unlinks and drops the nodes that hold nothing
 * (an empty leaf; a node without children), up to the first one that
 * holds something.  Never the root.
 */
static void
__drop_empty_up(struct nlc_bitmap *bm, struct __path *path, unsigned lvl)
{
    for (; lvl < bm->height && !path->node[lvl]->nz; lvl++) {
        struct __node *parent = path->node[lvl + 1];
        unsigned i = path->slot[lvl + 1];

        parent->u.child[i] = NULL;
        parent->nz &= ~(1ULL << i);
        __node_drop(bm, path->node[lvl]);
    }
}

/*
 * The walk from the root to the leaf holding ord, filling path.  Without
 * create, NULL when that leaf is not allocated (all free); with create,
 * the missing nodes are allocated and linked on the way, and NULL means
 * out of memory (the new nodes, still empty, are dropped again).
 */
static inline struct __node *
__descend(struct nlc_bitmap *bm, uint64_t ord, struct __path *path,
          bool create)
{
    struct __node *n = &bm->root;

    for (unsigned l = bm->height; l > 0; l--) {
        unsigned i = __slot(ord, l);

        path->node[l] = n;
        path->slot[l] = i;
        if (!n->u.child[i]) {
            struct __node *c = create ? __node_new(bm) : NULL;

            if (!c) {
                if (create)
                    __drop_empty_up(bm, path, l);
                return NULL;
            }
            n->u.child[i] = c;
            n->nz |= 1ULL << i;
        }
        n = n->u.child[i];
    }
    path->node[0] = n;
    return n;
}

/* The leaf holding ord, or NULL when it is not allocated (all free). */
static struct __node *
__walk(struct nlc_bitmap *bm, uint64_t ord, struct __path *path)
{
    return __descend(bm, ord, path, false);
}

int
__nlc_bm_walk_create(struct nlc_bitmap *bm, uint64_t ord,
                     struct __path *path)
{
    return __descend(bm, ord, path, true) ? 0 : -ENOMEM;
}

/* Drops what is still empty of the kept chain (see "Kept"). */
static void
__prune_kept(struct nlc_bitmap *bm)
{
    struct __path path;

    if (!bm->kept)
        return;
    bm->kept = NULL;
    if (__walk(bm, bm->kept_k << BM_LEAF_SHIFT, &path))
        __drop_empty_up(bm, &path, 0);
}

/*
 * Stores the first free ordinal of [lo, hi] (both within the span of the
 * level-lvl node n) in *out; 0 when there is none.
 */
static int
__find(const struct __node *n, unsigned lvl, uint64_t lo, uint64_t hi,
       uint64_t *out)
{
    unsigned sh = __shift(lvl);
    unsigned a = __slot(lo, lvl), b = __slot(hi, lvl);
    uint64_t cand = ~n->full & __span(a, b);

    while (cand) {
        unsigned i = (unsigned)__builtin_ctzll(cand);
        uint64_t base = ((lo >> sh) - a + i) << sh;
        uint64_t clo = i == a ? lo : base;
        uint64_t chi = i == b ? hi : base + ((1ULL << sh) - 1);

        cand &= cand - 1;
        if (lvl == 0) {
            uint64_t room = ~n->u.word[i] & __span(clo & 63, chi & 63);

            if (room) {
                *out = base + (uint64_t)__builtin_ctzll(room);
                return 1;
            }
        } else if (!n->u.child[i]) {
            *out = clo;
            return 1;
        } else if (__find(n->u.child[i], lvl - 1, clo, chi, out)) {
            return 1;
        }
    }
    return 0;
}

/*
 * The first free ordinal for nlc_bitmap_alloc(): see nlc.h.  When the
 * search starts in the hint leaf, that leaf is tried first: a free ordinal
 * there, from the start on, is the first one of the whole search.
 */
static int
__search(const struct nlc_bitmap *bm, int serial, uint64_t lo, uint64_t hi,
         uint64_t *out)
{
    const struct __node *root = &bm->root;
    uint64_t c = bm->cursor;
    uint64_t from = !serial || c <= lo || c > hi ? lo : c;

    if (bm->hint && from >> BM_LEAF_SHIFT == bm->hint_k) {
        uint64_t end = from | ((1ULL << BM_LEAF_SHIFT) - 1);

        if (__find(bm->hint, 0, from, end < hi ? end : hi, out))
            return 1;
    }
    if (from == lo)
        return __find(root, bm->height, lo, hi, out);
    return __find(root, bm->height, c, hi, out) ||
           __find(root, bm->height, lo, c - 1, out);
}

/*
 * After the word of the leaf that holds ord changed: the leaf's summaries,
 * and, when it became full or stopped being full, its ancestors' full bits
 * (the path is walked for that only then, unless have_path).
 */
static void
__word_changed(struct nlc_bitmap *bm, struct __node *leaf, uint64_t ord,
               struct __path *path, int have_path)
{
    int was_full = leaf->full == ~0ULL;

    __leaf_word_changed(leaf, __slot(ord, 0));
    if ((leaf->full == ~0ULL) != was_full) {
        if (!have_path)
            __walk(bm, ord, path);
        __nlc_bm_fixup(bm, path, 0);
    }
}

static int
__set(struct nlc_bitmap *bm, uint64_t ord)
{
    struct __path path;
    unsigned j = __slot(ord, 0);
    uint64_t bit = 1ULL << (ord & 63);
    struct __node *leaf = bm->hint;
    int known = leaf && ord >> BM_LEAF_SHIFT == bm->hint_k;

    if (!known) {
        int rc = __nlc_bm_walk_create(bm, ord, &path);

        if (rc)
            return rc;
        leaf = path.node[0];
        bm->hint = leaf;
        bm->hint_k = ord >> BM_LEAF_SHIFT;
    }
    if (leaf->u.word[j] & bit)
        return -EEXIST;
    leaf->u.word[j] |= bit;
    __word_changed(bm, leaf, ord, &path, !known);
    bm->used++;
    return 0;
}

/*
 * An emptied leaf stays linked, as the kept chain; the chain kept before
 * goes (see "Kept").
 */
static int
__clear(struct nlc_bitmap *bm, uint64_t ord)
{
    struct __path path;
    unsigned j = __slot(ord, 0);
    uint64_t bit = 1ULL << (ord & 63), k = ord >> BM_LEAF_SHIFT;
    struct __node *leaf = bm->hint;
    int known = leaf && k == bm->hint_k;

    if (!known) {
        leaf = __walk(bm, ord, &path);
        if (!leaf)
            return -ENOENT;
    }
    if (!(leaf->u.word[j] & bit))
        return -ENOENT;
    leaf->u.word[j] &= ~bit;
    __word_changed(bm, leaf, ord, &path, !known);
    bm->used--;
    bm->hint = leaf;
    bm->hint_k = k;
    if (!leaf->nz && bm->kept != leaf) {
        __prune_kept(bm);           /* never this leaf's ancestors: they */
        bm->kept = leaf;            /* link it                           */
        bm->kept_k = k;
    }
    return 0;
}

/*
 * Takes the free ordinals of [first, end] (one leaf; first is free) in
 * increasing order into out[*n ..] until *n reaches count.
 */
static void
__take(struct nlc_bitmap *bm, struct __node *leaf, uint64_t first,
       uint64_t end, uint64_t count, uint64_t *out, uint64_t *n)
{
    unsigned a = __slot(first, 0), b = __slot(end, 0);
    uint64_t cand = ~leaf->full & __span(a, b);
    uint64_t k = *n;

    while (cand && k < count) {
        unsigned j = (unsigned)__builtin_ctzll(cand);
        uint64_t base = (first & ~4095ULL) | ((uint64_t)j << 6);
        uint64_t room = ~leaf->u.word[j] &
                        __span(j == a ? first & 63 : 0,
                               j == b ? end & 63 : 63);
        uint64_t took = 0;

        cand &= cand - 1;
        for (; room && k < count; room &= room - 1) {
            out[k++] = base + (uint64_t)__builtin_ctzll(room);
            took |= room & -room;
        }
        leaf->u.word[j] |= took;
        __leaf_word_changed(leaf, j);
    }
    bm->used += k - *n;
    *n = k;
}

/*
 * Allocates the free ordinals of [lo, hi] in increasing order into
 * out[*n ..] until *n reaches count, a leaf at a time.
 */
static int
__fill(struct nlc_bitmap *bm, uint64_t lo, uint64_t hi, uint64_t count,
       uint64_t *out, uint64_t *n)
{
    struct __path path;
    uint64_t ord;

    while (*n < count && __find(&bm->root, bm->height, lo, hi, &ord)) {
        uint64_t end = ord | ((1ULL << BM_LEAF_SHIFT) - 1);
        int rc;

        if (end > hi)
            end = hi;
        rc = __nlc_bm_walk_create(bm, ord, &path);
        if (rc)
            return rc;
        __take(bm, path.node[0], ord, end, count, out, n);
        __nlc_bm_fixup(bm, &path, 0);
        if (end == hi)
            break;
        lo = end + 1;
    }
    return 0;
}


/* Frees every node under n: by the links, which the kept chain has too. */
static void
__free_tree(struct __node *n, unsigned lvl)
{
    for (unsigned i = 0; lvl > 0 && i < 64; i++) {
        struct __node *c = n->u.child[i];

        if (c) {
            __free_tree(c, lvl - 1);
            free(c);
        }
    }
}

NLC_EXPORT int
nlc_bitmap_new(struct nlc_bitmap **out, uint64_t last)
{
    struct nlc_bitmap *bm;

    if (!out)
        return -EINVAL;
    bm = calloc(1, sizeof(*bm));
    if (!bm)
        return -ENOMEM;
    bm->last = last;
    bm->height = 1;
    while (bm->height < BM_MAX_HEIGHT &&
           last >> (__shift(bm->height) + 6) != 0)
        bm->height++;
    *out = bm;
    return 0;
}

NLC_EXPORT void
nlc_bitmap_free(struct nlc_bitmap *bm)
{
    if (!bm)
        return;
    __free_tree(&bm->root, bm->height);
    while (bm->spare) {
        struct __node *n = bm->spare;

        bm->spare = n->u.child[0];
        free(n);
    }
    free(bm);
}

NLC_EXPORT uint64_t
nlc_bitmap_last(const struct nlc_bitmap *bm)
{
    return bm ? bm->last : 0;
}

NLC_EXPORT uint64_t
nlc_bitmap_used(const struct nlc_bitmap *bm)
{
    return bm ? bm->used : 0;
}

NLC_EXPORT uint64_t
nlc_bitmap_cursor(const struct nlc_bitmap *bm)
{
    return bm ? bm->cursor : 0;
}

/* ------------------------------------------------- the fast path (nlc.h) */

NLC_EXPORT uint64_t
nlc_bitmap_alloc(struct nlc_bitmap *bm, int serial, uint64_t lo, uint64_t hi)
{
    uint64_t ord;

    if (!bm)
        return UINT64_MAX;
    if (lo > hi || hi > bm->last) {
        bm->err = -EINVAL;
        return UINT64_MAX;
    }
    if (!__search(bm, serial, lo, hi, &ord)) {
        bm->err = -ENOSPC;
        return UINT64_MAX;
    }
    bm->err = __set(bm, ord);
    if (bm->err)
        return UINT64_MAX;
    bm->cursor = ord == bm->last ? 0 : ord + 1;
    return ord;
}

NLC_EXPORT uint64_t
nlc_bitmap_alloc_req(const struct nlc_bitmap_req *req)
{
    if (!req)
        return UINT64_MAX;
    return nlc_bitmap_alloc(req->bm, req->serial, req->lo, req->hi);
}

NLC_EXPORT int
nlc_bitmap_error(const struct nlc_bitmap *bm)
{
    return bm ? bm->err : -EINVAL;
}

/* ------------------------------------------------------------------------ */

NLC_EXPORT int
nlc_bitmap_alloc_many(struct nlc_bitmap *bm, uint64_t count, int serial,
                      uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t n = 0, c, last_out;
    int rc;

    if (!bm || (!out && count))
        return -EINVAL;
    if (lo > hi || hi > bm->last)
        return -EINVAL;
    if (count == 0)
        return 0;
    if (count - 1 > hi - lo || bm->used > bm->last ||
        count - 1 > bm->last - bm->used)
        return -ENOSPC;             /* more than the range or the free */
    c = bm->cursor;
    if (serial && c > lo && c <= hi) {
        rc = __fill(bm, c, hi, count, out, &n);
        if (!rc)
            rc = __fill(bm, lo, c - 1, count, out, &n);
    } else {
        rc = __fill(bm, lo, hi, count, out, &n);
    }
    if (!rc && n < count)
        rc = -ENOSPC;
    if (rc) {
        while (n)
            (void)__clear(bm, out[--n]);
        return rc;
    }
    last_out = out[count - 1];
    bm->cursor = last_out == bm->last ? 0 : last_out + 1;
    return 0;
}

NLC_EXPORT int
nlc_bitmap_set(struct nlc_bitmap *bm, uint64_t ordinal)
{
    if (!bm || ordinal > bm->last)
        return -EINVAL;
    return __set(bm, ordinal);
}

NLC_EXPORT int
nlc_bitmap_release(struct nlc_bitmap *bm, uint64_t ordinal)
{
    if (!bm || ordinal > bm->last)
        return -EINVAL;
    return __clear(bm, ordinal);
}

NLC_EXPORT int
nlc_bitmap_test(const struct nlc_bitmap *bm, uint64_t ordinal)
{
    const struct __node *n;

    if (!bm || ordinal > bm->last)
        return -EINVAL;
    n = &bm->root;
    for (unsigned l = bm->height; n && l > 0; l--)
        n = n->u.child[__slot(ordinal, l)];
    return n && (n->u.word[__slot(ordinal, 0)] >> (ordinal & 63)) & 1;
}
