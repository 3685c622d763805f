/*
 * bitmap_tree.h - the sparse bitmap's tree, shared by the allocator
 * (bitmap.c, which describes it) and its serialization (bitmap_codec.c).
 * Private to the C core; never seen by cffi.
 */
#ifndef NLC_BITMAP_TREE_H
#define NLC_BITMAP_TREE_H

#include <stdint.h>

#include "internal.h"

#define BM_LEAF_SHIFT 12            /* a leaf covers 2^12 ordinals      */
#define BM_MAX_HEIGHT 9             /* levels of nodes above the leaves */
#define BM_SPARE (BM_MAX_HEIGHT + 1) /* emptied nodes kept for reuse     */

struct __node {
    uint64_t full;                  /* slot i has no free ordinal        */
    uint64_t nz;                    /* leaf: word i != 0; node: linked   */
    union {
        uint64_t word[64];          /* level 0: the bits                 */
        struct __node *child[64];   /* level >= 1: NULL = all free       */
    } u;
};

struct nlc_bitmap {
    uint64_t last;
    uint64_t used;
    uint64_t cursor;
    unsigned height;                /* level of the root, 1 .. 9         */
    int err;                        /* of the last nlc_bitmap_alloc()    */
    unsigned nspare;
    struct __node *spare;           /* emptied nodes, linked by child[0] */
    struct __node *hint;            /* the leaf last set or cleared in,  */
    uint64_t hint_k;                /* leaf index k; NULL when dropped   */
    struct __node *kept;            /* the leaf emptied last, left linked */
    uint64_t kept_k;                /* with its emptied ancestors; or NULL */
    struct __node root;
};

/* The nodes from a leaf up to the root, and the slot taken in each. */
struct __path {
    struct __node *node[BM_MAX_HEIGHT + 1];  /* node[0] is the leaf    */
    unsigned slot[BM_MAX_HEIGHT + 1];        /* slot[l] within node[l] */
};

/* Bits a .. b (a <= b <= 63) set. */
static inline uint64_t
__span(unsigned a, unsigned b)
{
    return (~0ULL << a) & (~0ULL >> (63 - b));
}

/* log2 of the ordinals covered by one slot of a level-lvl node. */
static inline unsigned
__shift(unsigned lvl)
{
    return 6 * lvl + 6;
}

static inline unsigned
__slot(uint64_t ord, unsigned lvl)
{
    return (ord >> __shift(lvl)) & 63;
}

/* Re-derives the summary bits of word j of a leaf. */
static inline void
__leaf_word_changed(struct __node *leaf, unsigned j)
{
    uint64_t bit = 1ULL << j, w = leaf->u.word[j];

    leaf->full = w == ~0ULL ? leaf->full | bit : leaf->full & ~bit;
    leaf->nz = w ? leaf->nz | bit : leaf->nz & ~bit;
}

/*
 * The walk from the root to the leaf holding ord, allocating and linking
 * the missing nodes (bitmap.c); on -ENOMEM the new nodes, still empty,
 * are dropped again.  Returns 0 or -ENOMEM.
 */
int __nlc_bm_walk_create(struct nlc_bitmap *bm, uint64_t ord,
                         struct __path *path);

/*
 * After the full bit of path->node[lvl] may have changed, brings its
 * ancestors' full bits up to date (bitmap.c).
 */
void __nlc_bm_fixup(struct nlc_bitmap *bm, struct __path *path,
                    unsigned lvl);

#endif /* NLC_BITMAP_TREE_H */
