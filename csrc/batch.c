/*
 * batch.c - the caller-owned batch buffer.
 *
 *   buf: | msg 0 | msg 1 | ... | msg count-1 |   free ...   |
 *        <------------ len ---------------->
 *        <------------------- cap ----------------------------->
 *                              ^ last: where msg count-1 starts
 *
 * Messages are appended whole by the builders (rtnl_*.c, through msg.c);
 * sequence numbers are written by nlc_sock_exec() just before sending.
 * The fields are public, so whoever walks a batch trusts none of them:
 * __nlc_batch_check() proves that count messages fill exactly [0, len).
 */
#include "internal.h"

NLC_EXPORT void
nlc_batch_init(struct nlc_batch *b, void *buf, size_t cap)
{
    if (!b)
        return;
    b->buf = buf;
    b->cap = buf ? cap : 0;
    nlc_batch_reset(b);
}

NLC_EXPORT void
nlc_batch_reset(struct nlc_batch *b)
{
    if (!b)
        return;
    b->len = 0;
    b->last = 0;
    b->count = 0;
}

NLC_EXPORT int
nlc_batch_echo(struct nlc_batch *b)
{
    struct nlmsghdr *nlh;

    if (!b || !b->buf || !b->count || b->last % NLMSG_ALIGNTO ||
        b->last >= b->len || b->len - b->last < NLMSG_HDRLEN)
        return -EINVAL;
    nlh = (struct nlmsghdr *)(b->buf + b->last);
    nlh->nlmsg_flags |= NLM_F_ECHO;
    return 0;
}

int
__nlc_batch_check(const struct nlc_batch *b)
{
    size_t off = 0, step;

    if (b->len > b->cap || (b->len && !b->buf))
        return -EINVAL;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct nlmsghdr *nlh;

        if (b->len - off < NLMSG_HDRLEN)
            return -EINVAL;
        nlh = (const struct nlmsghdr *)(b->buf + off);
        step = NLC_ALIGN((size_t)nlh->nlmsg_len);
        if (nlh->nlmsg_len < NLMSG_HDRLEN || step > b->len - off)
            return -EINVAL;
        off += step;
    }
    return off == b->len ? 0 : -EINVAL;
}
