/*
 * nft_exec.c - one nftables transaction on an nfnetlink socket.
 *
 *   batch  | BEGIN | m1 | ... | mN | END |   seq = base + i, ONE sendmsg
 *   replies: NLMSG_ERROR for each mi (NLM_F_ACK): 0 or -errno + ext-ack
 *            NLMSG_ERROR for BEGIN: the batch refused as a whole (or its
 *            commit failed), then possibly the mi's own acks
 *
 * The kernel (nfnetlink_rcv_batch) processes every message, collects the
 * acks, commits when none failed or aborts when one did, and only then
 * delivers them, all within the sendmsg: when it returns, every reply is
 * queued.  On abort it acknowledges the messages it accepted with 0 all
 * the same; those are reported here as -ECANCELED.
 */
#include <linux/netfilter/nfnetlink.h>

#include "internal.h"

static const char __aborted[] = "not applied: the transaction was aborted";

/*
 * A transaction: at least BEGIN and END, those two at the ends only, and
 * every message between them asking for an ack (so that the acks tell
 * when the answer is complete).  want: the number of those.
 */
static int
__nft_check(const struct nlc_batch *b, uint32_t *want)
{
    size_t off = 0;

    if (__nlc_batch_check(b) < 0 || b->count < 2)
        return -EINVAL;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b->buf + off);
        bool first = i == 0, last = i == b->count - 1;
        bool mark = nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
                    nlh->nlmsg_type == NFNL_MSG_BATCH_END;

        if ((first && nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN) ||
            (last && nlh->nlmsg_type != NFNL_MSG_BATCH_END) ||
            (!first && !last &&
             (mark || !(nlh->nlmsg_flags & NLM_F_ACK))))
            return -EINVAL;
        off += NLC_ALIGN((size_t)nlh->nlmsg_len);
    }
    *want = b->count - 2;
    return 0;
}

/* The kernel's verdict on a transaction whose replies are all in. */
static int
__outcome(struct nlc_result *res, uint32_t n)
{
    const struct nlc_result *whole = NULL;
    bool aborted = false;
    int failed = 0;

    if (res[0].err != NLC_ACK_PENDING && res[0].err)
        whole = &res[0];
    else if (res[n - 1].err != NLC_ACK_PENDING && res[n - 1].err)
        whole = &res[n - 1];
    for (uint32_t i = 1; i + 1 < n && !aborted; i++)
        aborted = res[i].err != NLC_ACK_PENDING && res[i].err;
    for (uint32_t i = 0; i < n; i++) {
        struct nlc_result *r = &res[i];
        bool ok = r->err == 0 || r->err == NLC_ACK_PENDING;

        if (i == 0 || i == n - 1) {
            if (r->err == NLC_ACK_PENDING)
                r->err = 0;
        } else if (ok && whole) {
            r->err = whole->err;
            memcpy(r->msg, whole->msg, sizeof(r->msg));
        } else if (ok && aborted) {
            r->err = -ECANCELED;
            memcpy(r->msg, __aborted, sizeof(__aborted));
        } else if (r->err == NLC_ACK_PENDING) {
            r->err = -EPROTO;            /* no ack, and no failure seen */
        }
        if (r->err)
            failed++;
    }
    return failed;
}

NLC_EXPORT int
nlc_nft_exec(struct nlc_sock *s, struct nlc_batch *b, struct nlc_result *res)
{
    uint8_t *rx = __nlc_sock_rx_buf();
    uint32_t want, n, base, acked = 0;
    uint8_t *at;
    int rc;

    if (!s || !b || !res || s->protocol != NETLINK_NETFILTER ||
        __nft_check(b, &want) < 0)
        return -EINVAL;
    n = b->count;
    if (__nlc_exchange_start(s, rx, res, n) < 0)
        return -ENOMEM;
    base = s->seq;
    at = b->buf;
    for (uint32_t i = 0; i < n; i++) {
        struct nlmsghdr *nlh = (struct nlmsghdr *)at;

        nlh->nlmsg_seq = base + i;
        nlh->nlmsg_pid = 0;
        at += NLC_ALIGN((size_t)nlh->nlmsg_len);
    }
    s->seq += n;
    rc = __nlc_sock_fit(s, b->len, (size_t)want + 1);
    if (rc == 0)
        rc = __nlc_sock_send(s, b->buf, b->len);
    /* until every ack is in, or the kernel answered for the whole batch */
    while (rc == 0 && res[0].err == NLC_ACK_PENDING) {
        uint32_t marks = res[n - 1].err != NLC_ACK_PENDING;
        int a;

        if (acked - marks >= want)
            break;
        a = __nlc_sock_recv_acks(s, rx, true, base, n, res);
        if (a < 0)
            rc = a;
        else
            acked += (uint32_t)a;
    }
    /* after an answer for the whole batch, take what else is queued */
    while (rc == 0 && res[0].err != NLC_ACK_PENDING) {
        int a = __nlc_sock_recv_acks(s, rx, false, base, n, res);

        if (a == -EAGAIN)
            break;
        if (a < 0)
            rc = a;
    }
    if (rc < 0) {
        s->dirty = true;
        for (uint32_t k = 0; k < n; k++)
            if (res[k].err == NLC_ACK_PENDING)
                res[k].err = rc;
        return rc;
    }
    return __outcome(res, n);
}
