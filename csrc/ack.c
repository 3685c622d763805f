/*
 * ack.c - the replies to a batch, pure: one received datagram's messages
 * matched by sequence number to their requests' results (no syscalls; the
 * exchange is sock.c).
 *
 *   datagram { msg | msg | ... }       each at a 4-byte aligned offset
 *
 *   NLMSG_ERROR (ack), seq = base + i  -> res[i].err, .msg
 *   +----------+-----------------+-------------------+-----------------+
 *   | nlmsghdr | error (s32)     | request's nlmsghdr| ext-ack TLVs    |
 *   |          |                 | [+ its payload    | (NLM_F_ACK_TLVS)|
 *   |          |                 |  unless CAPPED]   |                 |
 *   +----------+-----------------+-------------------+-----------------+
 *
 *   RTM_NEWLINK, seq = base + i        -> res[i].value (ifi_index),
 *   (a link get's reply, an echo)         res[i].link (IFLA_LINK)
 *
 * Every message is bounded by its nlmsg_len, and that by the datagram;
 * every TLV by its message.
 */
#include <linux/rtnetlink.h>

#include "internal.h"

/* The extended-ack text of the ack nlh (whole, at least an nlmsgerr long)
 * into r->msg; nothing when there is none or the TLVs are malformed. */
static void
__ext_ack(const struct nlmsghdr *nlh, struct nlc_result *r)
{
    const struct nlmsgerr *e = NLMSG_DATA(nlh);
    const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
    size_t off = sizeof(*e), qlen = e->msg.nlmsg_len;

    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return;
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += qlen > NLMSG_HDRLEN ? NLC_ALIGN(qlen) - NLMSG_HDRLEN : 0;
    if (nlh->nlmsg_len < NLMSG_HDRLEN + off)
        return;
    if (__nlc_attr_parse((const uint8_t *)e + off,
                         nlh->nlmsg_len - NLMSG_HDRLEN - off, tb,
                         NLMSGERR_ATTR_MAX) < 0)
        return;
    if (tb[NLMSGERR_ATTR_MSG])
        __nlc_attr_strcpy(r->msg, sizeof(r->msg), tb[NLMSGERR_ATTR_MSG]);
}

/* An RTM_NEWLINK reply to request r: its ifindex and IFLA_LINK. */
static int
__link_reply(const struct nlmsghdr *nlh, struct nlc_result *r)
{
    const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
    const struct nlattr *tb[IFLA_LINK + 1];

    if (__nlc_msg_parse(nlh, RTM_NEWLINK, sizeof(*ifi), tb, IFLA_LINK) < 0)
        return -EBADMSG;
    r->value = ifi->ifi_index;
    r->link = tb[IFLA_LINK] ? (int32_t)__nlc_attr_u32(tb[IFLA_LINK]) : 0;
    return 0;
}

NLC_EXPORT int
nlc_parse_acks(const uint8_t *buf, size_t len, uint32_t portid,
               uint32_t seq_base, uint32_t n, struct nlc_result *res)
{
    const uint8_t *p = buf;
    int acks = 0;

    if (!buf || (!res && n) || ((uintptr_t)buf & (NLMSG_ALIGNTO - 1)))
        return -EINVAL;
    while (len > 0) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
        struct nlc_result *r;
        size_t step;
        uint32_t idx;

        if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
            nlh->nlmsg_len > len)
            return -EBADMSG;
        if (nlh->nlmsg_pid != portid)
            return -ESRCH;
        idx = nlh->nlmsg_seq - seq_base;
        if (idx >= n)
            return -EPROTO;
        r = &res[idx];
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(nlh);

            if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
                return -EBADMSG;
            if (r->err != NLC_ACK_PENDING)
                return -EPROTO;      /* a second ack for one request */
            r->err = e->error > 0 ? -e->error : e->error;
            __ext_ack(nlh, r);
            if (r->err == 0)
                r->msg[0] = '\0';    /* a warning on success is not an error */
            if (acks == INT32_MAX)
                return -EPROTO;      /* 2^31 acks (a 32 GiB datagram) */
            acks++;
        } else if (nlh->nlmsg_type == RTM_NEWLINK &&
                   nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
            if (__link_reply(nlh, r) < 0)
                return -EBADMSG;
        }
        /* size_t: a u32 nlmsg_len near 2^32 must not align to 0 */
        step = NLC_ALIGN((size_t)nlh->nlmsg_len);
        if (step >= len)
            break;
        len -= step;
        p += step;
    }
    return acks;
}
