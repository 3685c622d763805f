/*
 * sock.c - netlink sockets: open, batched send, acks collected (each
 * datagram demultiplexed by nlc_parse_acks, ack.c).
 *
 *   batch  | m0 | m1 | ... | mN-1 |      seq = base + i
 *            \____ chunk ____/        one sendmsg per chunk; a chunk is cut
 *                                     only where the socket's send buffer or
 *                                     the room for its replies in the
 *                                     receive buffer would overflow
 *   replies recvmmsg(MSG_WAITFORONE) -> NLMSG_ERROR{error, ext-ack TLVs}
 *                                       -> res[seq - base].err, .msg
 *                                    -> RTM_NEWLINK{ifi_index, IFLA_LINK}
 *                                       (a link get; an NLM_F_ECHO)
 *                                       -> res[seq - base].value, .link
 *
 * The kernel processes every message of a sendmsg synchronously, so when
 * sendmsg returns all replies of the chunk are queued and are drained
 * before the next chunk goes out.  A receive that waits longer than the
 * socket's timeout (SO_RCVTIMEO) fails the exchange with -ETIMEDOUT.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/rtnetlink.h>

#include "internal.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define NLC_SNDBUF (4u << 20)
#define NLC_RCVBUF (8u << 20)
#define NLC_SEND_MAX (256u << 10)
#define NLC_ACK_COST 4096           /* receive-buffer bytes per ack        */
#define NLC_REPLY_COST 8192         /* more for an RTM_NEWLINK reply/echo  */

/* ------------------------------------------------ per-thread rx buffer */

static pthread_key_t __rx_key;
static pthread_once_t __rx_once = PTHREAD_ONCE_INIT;
static int __rx_key_err;

static void
__rx_key_init(void)
{
    __rx_key_err = pthread_key_create(&__rx_key, free);
}

uint8_t *
__nlc_sock_rx_buf(void)
{
    uint8_t *buf;

    if (pthread_once(&__rx_once, __rx_key_init) != 0 || __rx_key_err)
        return NULL;
    buf = pthread_getspecific(__rx_key);
    if (!buf) {
        buf = malloc(NLC_RX_BUF);
        if (buf && pthread_setspecific(__rx_key, buf) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    return buf;
}

/* ----------------------------------------------------------- open/close */

static void
__set_buf(int fd, int force, int plain, unsigned int size)
{
    int v = (int)size;

    if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
}

static int
__get_int(int fd, int opt)
{
    int v = 0;
    socklen_t l = sizeof(v);

    if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0)
        return 0;
    return v;
}

static int
__set_timeout(int fd, uint32_t ms)
{
    struct timeval tv = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_usec = (suseconds_t)(ms % 1000) * 1000,
    };

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    return 0;
}

int
__nlc_sock_new_here(struct nlc_sock **out, int protocol)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    socklen_t salen = sizeof(sa);
    struct nlc_sock *s;
    int one = 1, err, snd, rcv;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (s->fd < 0) {
        err = -errno;
        free(s);
        return err;
    }
    /* best effort: older kernels lack these, and acks still work */
    (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    __set_buf(s->fd, SO_SNDBUFFORCE, SO_SNDBUF, NLC_SNDBUF);
    __set_buf(s->fd, SO_RCVBUFFORCE, SO_RCVBUF, NLC_RCVBUF);
    err = __set_timeout(s->fd, NLC_TIMEOUT_MS);
    if (!err && (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                 getsockname(s->fd, (struct sockaddr *)&sa, &salen) < 0))
        err = -errno;
    if (err) {
        close(s->fd);
        free(s);
        return err;
    }
    snd = __get_int(s->fd, SO_SNDBUF);
    rcv = __get_int(s->fd, SO_RCVBUF);
    s->send_max = snd > 4096 ? (size_t)snd - 1024 : 4096;
    if (s->send_max > NLC_SEND_MAX)
        s->send_max = NLC_SEND_MAX;
    s->rx_room = rcv > 0 ? (size_t)rcv : 0;
    s->protocol = protocol;
    s->portid = sa.nl_pid;
    s->seq = (uint32_t)getpid() << 12;  /* any start; distinct per process */
    *out = s;
    return 0;
}

NLC_EXPORT int
nlc_sock_open(struct nlc_sock **out, int protocol)
{
    if (!out)
        return -EINVAL;
    return __nlc_sock_new_here(out, protocol);
}

NLC_EXPORT void
nlc_sock_close(struct nlc_sock *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s);
}

NLC_EXPORT int
nlc_sock_fd(const struct nlc_sock *s)
{
    return s ? s->fd : -EINVAL;
}

NLC_EXPORT uint32_t
nlc_sock_portid(const struct nlc_sock *s)
{
    return s ? s->portid : 0;
}

NLC_EXPORT int
nlc_sock_set_timeout(struct nlc_sock *s, uint32_t ms)
{
    return s ? __set_timeout(s->fd, ms) : -EINVAL;
}

NLC_EXPORT uint64_t
nlc_sock_sendmsg_count(const struct nlc_sock *s)
{
    return s ? s->sends : 0;
}

/* ------------------------------------------------------------- exchange */

int
__nlc_exchange_start(struct nlc_sock *s, uint8_t *rx, struct nlc_result *res,
                     uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        res[k].err = rx ? NLC_ACK_PENDING : -ENOMEM;
        res[k].value = 0;
        res[k].link = 0;
        res[k].msg[0] = '\0';
    }
    if (!rx)
        return -ENOMEM;
    if (s->dirty)
        __nlc_sock_drain(s, rx);
    return 0;
}

void
__nlc_sock_drain(struct nlc_sock *s, uint8_t *buf)
{
    for (;;) {
        ssize_t r = recv(s->fd, buf, NLC_RX_BUF, MSG_DONTWAIT);

        if (r > 0 || (r < 0 && errno == EINTR))
            continue;
        break;
    }
    s->dirty = false;
}

int
__nlc_sock_send(struct nlc_sock *s, const void *buf, size_t len)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = {
        .msg_name = &kernel, .msg_namelen = sizeof(kernel),
        .msg_iov = &iov, .msg_iovlen = 1,
    };
    ssize_t sent;

    do {
        sent = sendmsg(s->fd, &mh, 0);
    } while (sent < 0 && errno == EINTR);
    s->sends++;
    if (sent < 0)
        return -errno;
    return (size_t)sent == len ? 0 : -EIO;
}

int
__nlc_sock_recv_error(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

int
__nlc_sock_recv_acks(struct nlc_sock *s, uint8_t *rx, bool wait,
                     uint32_t base, uint32_t n, struct nlc_result *res)
{
    struct mmsghdr mm[NLC_RX_SLOTS];
    struct iovec riov[NLC_RX_SLOTS];
    int got, acks = 0;

    for (int i = 0; i < NLC_RX_SLOTS; i++) {
        riov[i].iov_base = rx + (size_t)i * NLC_RX_SLOT;
        riov[i].iov_len = NLC_RX_SLOT;
        memset(&mm[i], 0, sizeof(mm[i]));
        mm[i].msg_hdr.msg_iov = &riov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    do {
        got = recvmmsg(s->fd, mm, NLC_RX_SLOTS,
                       wait ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -EAGAIN;
        return __nlc_sock_recv_error();   /* ENOBUFS: acks dropped */
    }
    for (int i = 0; i < got; i++) {
        int a;

        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
            return -EMSGSIZE;
        a = nlc_parse_acks(riov[i].iov_base, mm[i].msg_len, s->portid,
                           base, n, res);
        if (a < 0)
            return a;
        if (a > INT32_MAX - acks)
            return -EPROTO;
        acks += a;
    }
    return acks;
}

int
__nlc_sock_fit(struct nlc_sock *s, size_t bytes, size_t acks)
{
    size_t rcv;

    /* netlink_sendmsg refuses a datagram over the send buffer - 32 */
    if (bytes > INT32_MAX / 2 - 4096)
        return -EMSGSIZE;
    if ((size_t)__get_int(s->fd, SO_SNDBUF) < bytes + 32) {
        /* the kernel doubles what it is given */
        __set_buf(s->fd, SO_SNDBUFFORCE, SO_SNDBUF,
                  (unsigned int)(bytes / 2 + 4096));
        if ((size_t)__get_int(s->fd, SO_SNDBUF) < bytes + 32)
            return -EMSGSIZE;
    }
    rcv = acks < (INT32_MAX / 2) / NLC_ACK_COST ? acks * NLC_ACK_COST
                                                 : INT32_MAX / 2;
    if ((size_t)__get_int(s->fd, SO_RCVBUF) < rcv)
        __set_buf(s->fd, SO_RCVBUFFORCE, SO_RCVBUF, (unsigned int)(rcv / 2));
    rcv = (size_t)__get_int(s->fd, SO_RCVBUF);
    s->rx_room = rcv;
    return 0;
}

/*
 * Sends the n messages in [at, at + bytes), whose sequence numbers are
 * base .. base + n - 1, in one sendmsg, and collects their replies into
 * res[0 .. n), receiving into rx.  Returns 0 or -errno.
 */
static int
__chunk(struct nlc_sock *s, uint8_t *at, size_t bytes, uint32_t base,
        uint32_t n, struct nlc_result *res, uint8_t *rx)
{
    uint32_t acked = 0;
    int rc;

    rc = __nlc_sock_send(s, at, bytes);
    if (rc < 0)
        return rc;
    while (acked < n) {
        int a = __nlc_sock_recv_acks(s, rx, true, base, n, res);

        if (a < 0)
            return a;
        acked += (uint32_t)a;
    }
    return 0;
}

/* Receive-buffer bytes the replies to one request may take. */
static size_t
__reply_cost(const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_type == RTM_GETLINK || (nlh->nlmsg_flags & NLM_F_ECHO))
        return NLC_ACK_COST + NLC_REPLY_COST;
    return NLC_ACK_COST;
}

NLC_EXPORT int
nlc_sock_exec(struct nlc_sock *s, struct nlc_batch *b, struct nlc_result *res)
{
    uint8_t *rx = __nlc_sock_rx_buf();
    uint8_t *start, *at;
    uint32_t first = 0, failed = 0;
    size_t bytes = 0, cost = 0;
    int rc = 0;

    if (!s || !b || (!res && b->count) || __nlc_batch_check(b) < 0)
        return -EINVAL;
    if (__nlc_exchange_start(s, rx, res, b->count) < 0)
        return -ENOMEM;
    start = at = b->buf;
    for (uint32_t i = 0; i < b->count; i++) {
        struct nlmsghdr *nlh = (struct nlmsghdr *)at;
        size_t l = NLMSG_ALIGN(nlh->nlmsg_len), c = __reply_cost(nlh);

        if (i > first && (bytes + l > s->send_max ||
                          cost + c > s->rx_room)) {
            rc = __chunk(s, start, bytes, s->seq + first, i - first,
                         res + first, rx);
            if (rc < 0)
                break;
            first = i;
            start = at;
            bytes = cost = 0;
        }
        nlh->nlmsg_seq = s->seq + i;
        nlh->nlmsg_pid = 0;
        bytes += l;
        cost += c;
        at += l;
    }
    if (rc == 0 && b->count > first)
        rc = __chunk(s, start, bytes, s->seq + first, b->count - first,
                     res + first, rx);
    s->seq += b->count;
    if (rc < 0)
        s->dirty = true;
    for (uint32_t k = 0; k < b->count; k++) {
        if (res[k].err == NLC_ACK_PENDING)
            res[k].err = rc < 0 ? rc : -EPROTO;
        if (res[k].err)
            failed++;
    }
    return rc < 0 ? rc : (int)failed;
}
