/*
 * dump.c - dumps: one request on a socket, every reply to it until
 * NLMSG_DONE, each parsed (rtnl_dump.c) into a record of the caller's
 * array.
 *
 *   sendmsg  nlmsghdr{NLM_F_REQUEST | NLM_F_DUMP, seq} | family header
 *   recv     datagram{ RTM_NEW* | RTM_NEW* | ... }   each -> out[total++]
 *   recv     ...                                     (stored while < cap)
 *   recv     datagram{ ... | NLMSG_DONE{error} }     -> total, or -errno
 *
 * Every reply is checked for the socket's port and the request's sequence
 * number; NLM_F_DUMP_INTR on any of them makes the dump -EINTR.
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "internal.h"

typedef int (*__parse_fn)(const struct nlmsghdr *nlh, void *out);

/* A dump into a caller array: counts everything, stores what fits. */
struct __dump_ctx {
    void *out;
    size_t cap, size, total;
    __parse_fn parse;
};

static int
__record(struct __dump_ctx *c, const struct nlmsghdr *nlh)
{
    if (c->total < c->cap) {
        int rc = c->parse(nlh, (uint8_t *)c->out + c->total * c->size);

        if (rc < 0)
            return rc;
    }
    c->total++;
    return 0;
}

/*
 * Sends the one dump request of req and records every reply message in c.
 * Returns 0, -EINTR when the kernel flagged the dump as interrupted, or
 * -errno.
 */
static int
__exchange(struct nlc_sock *s, struct nlc_batch *req, struct __dump_ctx *c)
{
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
    rc = __nlc_sock_send(s, req->buf, req->len);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t got = recv(s->fd, rx, NLC_RX_BUF, 0);
        const uint8_t *p = rx;
        size_t len;

        if (got < 0) {
            if (errno == EINTR)
                continue;
            s->dirty = true;
            return __nlc_sock_recv_error();
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
                /* an ack ends a plain (not dump) request */
                return e->error < 0 ? e->error : (c->total ? 0 : -EPROTO);
            }
            if (nlh->nlmsg_type != NLMSG_NOOP) {
                rc = __record(c, nlh);
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
__dump(struct nlc_sock *s, uint16_t type, int family, void *out, size_t cap,
       size_t size, __parse_fn parse)
{
    union {
        uint8_t b[256];
        uint32_t align;
    } buf;
    struct nlc_batch req;
    struct __dump_ctx c = { out, out ? cap : 0, size, 0, parse };
    int rc;

    if (!s)
        return -EINVAL;
    nlc_batch_init(&req, buf.b, sizeof(buf.b));
    rc = __nlc_dump_request(&req, type, family);
    if (rc < 0)
        return rc;
    rc = __exchange(s, &req, &c);
    if (rc < 0)
        return rc;
    return c.total > INT32_MAX ? -EOVERFLOW : (int)c.total;
}

/* The public parsers (rtnl_dump.c) on one whole reply message; a message
 * of another type in a dump is malformed. */
static int
__p_link(const struct nlmsghdr *nlh, void *out)
{
    int rc = nlc_parse_link((const uint8_t *)nlh, nlh->nlmsg_len, out);

    return rc == 1 ? -EBADMSG : rc;
}

static int
__p_addr(const struct nlmsghdr *nlh, void *out)
{
    int rc = nlc_parse_addr((const uint8_t *)nlh, nlh->nlmsg_len, out);

    return rc == 1 ? -EBADMSG : rc;
}

static int
__p_route(const struct nlmsghdr *nlh, void *out)
{
    int rc = nlc_parse_route((const uint8_t *)nlh, nlh->nlmsg_len, out);

    return rc == 1 ? -EBADMSG : rc;
}

NLC_EXPORT int
nlc_link_dump(struct nlc_sock *s, struct nlc_link *out, size_t cap)
{
    return __dump(s, RTM_GETLINK, AF_UNSPEC, out, cap, sizeof(*out),
                  __p_link);
}

NLC_EXPORT int
nlc_addr_dump(struct nlc_sock *s, int family, struct nlc_addr *out,
              size_t cap)
{
    return __dump(s, RTM_GETADDR, family, out, cap, sizeof(*out),
                  __p_addr);
}

NLC_EXPORT int
nlc_route_dump(struct nlc_sock *s, int family, struct nlc_route *out,
               size_t cap)
{
    return __dump(s, RTM_GETROUTE, family, out, cap, sizeof(*out),
                  __p_route);
}

NLC_EXPORT int
nlc_link_get_one(struct nlc_sock *s, const char *name, struct nlc_link *out)
{
    union {
        uint8_t b[256];
        uint32_t align;
    } buf;
    struct nlc_batch req;
    struct __dump_ctx c = { out, 1, sizeof(*out), 0, __p_link };
    int rc;

    if (!s || !out)
        return -EINVAL;
    nlc_batch_init(&req, buf.b, sizeof(buf.b));
    rc = nlc_link_get(&req, 0, name);
    if (rc < 0)
        return rc;
    rc = __exchange(s, &req, &c);
    if (rc < 0)
        return rc;
    return c.total == 1 ? 0 : -EPROTO;
}
