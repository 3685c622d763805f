/*
 * dump.c - dumps: one request on a socket, every reply of it until
 * NLMSG_DONE, each parsed (rtnl_dump.c) into a record of the caller's array.
 *
 *   sendto  nlmsghdr{NLM_F_REQUEST | NLM_F_DUMP, seq} | family header
 *   recv    datagram{ RTM_NEW* | RTM_NEW* | ... }   each -> out[total++]
 *   recv    ...                                     (while total < cap)
 *   recv    datagram{ ... | NLMSG_DONE{error} }     -> total, or -errno
 *
 * Every reply is checked for the socket's port and the request's sequence
 * number; NLM_F_DUMP_INTR on any of them makes the dump -EINTR.
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "internal.h"

typedef int (*__dump_cb_fn)(const struct nlmsghdr *nlh, void *ctx);

/*
 * Sends the one dump request of req and feeds every reply message to cb.
 * Returns 0, a negative cb return, -EINTR when the kernel flagged the dump
 * as interrupted, or -errno.
 */
static int
__exchange(struct nlc_sock *s, struct nlc_batch *req, __dump_cb_fn cb,
           void *ctx)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct nlmsghdr *q = (struct nlmsghdr *)req->buf;
    uint8_t *rx = __nlc_sock_rx_buf();
    bool intr = false;
    int rc = 0;

    if (!rx)
        return -ENOMEM;
    if (s->dirty)
        __nlc_sock_drain(s, rx);
    q->nlmsg_seq = s->seq++;
    q->nlmsg_pid = 0;
    if (sendto(s->fd, req->buf, req->len, 0, (struct sockaddr *)&kernel,
               sizeof(kernel)) < 0)
        return -errno;
    for (;;) {
        ssize_t got = recv(s->fd, rx, NLC_RX_BUF, 0);
        const uint8_t *p = rx;
        size_t len;

        if (got < 0) {
            if (errno == EINTR)
                continue;
            s->dirty = true;
            return -errno;
        }
        len = (size_t)got;
        while (len > 0) {
            const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;

            if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
                nlh->nlmsg_len > len)
                rc = -EBADMSG;
            else if (nlh->nlmsg_pid != s->portid)
                rc = -ESRCH;
            else if (nlh->nlmsg_seq != q->nlmsg_seq)
                rc = -EPROTO;
            if (rc < 0) {
                s->dirty = true;
                return rc;
            }
            if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                intr = true;
            if (nlh->nlmsg_type == NLMSG_DONE) {
                int derr = 0;

                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
                    memcpy(&derr, NLMSG_DATA(nlh), sizeof(derr));
                if (derr < 0)
                    return derr;
                return intr ? -EINTR : 0;
            }
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(nlh);

                if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
                    return -EBADMSG;
                return e->error < 0 ? e->error : -EPROTO;
            }
            if (nlh->nlmsg_type != NLMSG_NOOP) {
                rc = cb(nlh, ctx);
                if (rc < 0) {
                    s->dirty = true;   /* the rest of the dump is queued */
                    return rc;
                }
            }
            if (NLMSG_ALIGN(nlh->nlmsg_len) >= len)
                break;
            len -= NLMSG_ALIGN(nlh->nlmsg_len);
            p += NLMSG_ALIGN(nlh->nlmsg_len);
        }
    }
}

static int
__p_link(const struct nlmsghdr *nlh, void *out)
{
    return __nlc_parse_link(nlh, out);
}

static int
__p_addr(const struct nlmsghdr *nlh, void *out)
{
    return __nlc_parse_addr(nlh, out);
}

static int
__p_route(const struct nlmsghdr *nlh, void *out)
{
    return __nlc_parse_route(nlh, out);
}

/* A dump into a caller array: counts everything, stores what fits. */
struct __dump_ctx {
    void *out;
    size_t cap, size, total;
    int (*parse)(const struct nlmsghdr *, void *);
};

static int
__dump_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct __dump_ctx *c = arg;
    int rc;

    if (c->total < c->cap) {
        rc = c->parse(nlh, (uint8_t *)c->out + c->total * c->size);
        if (rc < 0)
            return rc;
    }
    c->total++;
    return 0;
}

static int
__dump(struct nlc_sock *s, uint16_t type, int family, void *out, size_t cap,
       size_t size, int (*parse)(const struct nlmsghdr *, void *))
{
    uint8_t buf[256];
    struct nlc_batch req;
    struct __dump_ctx c = { out, out ? cap : 0, size, 0, parse };
    int rc;

    if (!s)
        return -EINVAL;
    nlc_batch_init(&req, buf, sizeof(buf));
    rc = __nlc_dump_request(&req, type, family);
    if (rc < 0)
        return rc;
    rc = __exchange(s, &req, __dump_cb, &c);
    if (rc < 0)
        return rc;
    return c.total > INT32_MAX ? -EOVERFLOW : (int)c.total;
}

/**
 * nlc_link_dump - ip link show: every link of the socket's namespace.
 * Returns the total count (fills at most @cap records) or -errno.
 */
NLC_EXPORT int
nlc_link_dump(struct nlc_sock *s, struct nlc_link *out, size_t cap)
{
    return __dump(s, RTM_GETLINK, AF_UNSPEC, out, cap, sizeof(*out),
                  __p_link);
}

/** nlc_addr_dump - ip addr show, for @family (AF_UNSPEC: all). */
NLC_EXPORT int
nlc_addr_dump(struct nlc_sock *s, int family, struct nlc_addr *out,
              size_t cap)
{
    return __dump(s, RTM_GETADDR, family, out, cap, sizeof(*out),
                  __p_addr);
}

/** nlc_route_dump - ip route show table all, for @family. */
NLC_EXPORT int
nlc_route_dump(struct nlc_sock *s, int family, struct nlc_route *out,
               size_t cap)
{
    return __dump(s, RTM_GETROUTE, family, out, cap, sizeof(*out),
                  __p_route);
}
