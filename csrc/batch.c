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
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

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

NLC_EXPORT int
nlc_batch_alias(struct nlc_batch *b, const char *alias)
{
    struct nlmsghdr *nlh;
    struct nlattr *nla;
    size_t n, room;

    if (!b || !b->buf || !b->count || !alias || b->last % NLMSG_ALIGNTO ||
        b->last >= b->len || b->len - b->last < NLMSG_HDRLEN)
        return -EINVAL;
    n = strnlen(alias, NLC_ALIAS_MAX);
    if (n == 0 || n >= NLC_ALIAS_MAX)
        return -EINVAL;
    nlh = (struct nlmsghdr *)(b->buf + b->last);
    if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_SETLINK) ||
        b->last + NLC_ALIGN((size_t)nlh->nlmsg_len) != b->len)
        return -EINVAL;
    room = NLA_HDRLEN + NLA_ALIGN(n + 1);
    if (b->cap - b->len < room)
        return -EMSGSIZE;
    nla = (struct nlattr *)(b->buf + b->len);
    nla->nla_len = (uint16_t)(NLA_HDRLEN + n + 1);
    nla->nla_type = IFLA_IFALIAS;
    memcpy((uint8_t *)nla + NLA_HDRLEN, alias, n);
    memset((uint8_t *)nla + NLA_HDRLEN + n, 0, room - NLA_HDRLEN - n);
    nlh->nlmsg_len += (uint32_t)room;
    b->len += room;
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
