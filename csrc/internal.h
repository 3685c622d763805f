/*
 * internal.h - what the C core's files share with each other (message
 * construction and parsing, batch checking, sockets); never seen by cffi.
 */
#ifndef NLC_INTERNAL_H
#define NLC_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <linux/netlink.h>

#include "nlc.h"

#define NLC_EXPORT __attribute__((visibility("default")))
#define NLC_ALIGN(len) (((len) + 3u) & ~(size_t)3u)

/*
 * Message construction (msg.c).  A builder starts a message at the tail of
 * the batch, appends attributes, and commits it with __nlc_msg_end().  The
 * first failure makes the builder sticky-failed (err = -EMSGSIZE on
 * overflow, -EINVAL for a NULL batch): later puts do nothing and
 * __nlc_msg_end() returns the error without touching the batch, so a
 * message is either appended whole or not at all.
 */
struct nlc_mb {
    struct nlc_batch *b;
    struct nlmsghdr *nlh;   /* message under construction                */
    size_t room;            /* bytes available for this message          */
    int err;                /* 0 or the first error                      */
};

void *__nlc_msg_begin(struct nlc_mb *m, struct nlc_batch *b, uint16_t type,
                      uint16_t flags, size_t famlen);
void __nlc_attr_put(struct nlc_mb *m, uint16_t type, const void *data,
                    size_t len);
void __nlc_attr_put_u32(struct nlc_mb *m, uint16_t type, uint32_t v);
void __nlc_attr_put_str(struct nlc_mb *m, uint16_t type, const char *s);
struct nlattr *__nlc_nest_start(struct nlc_mb *m, uint16_t type);
void __nlc_nest_end(struct nlc_mb *m, struct nlattr *nest);
/* Raw bytes (a nested header such as the veth peer's ifinfomsg). */
void *__nlc_put_raw(struct nlc_mb *m, size_t len);
int __nlc_msg_end(struct nlc_mb *m);

/*
 * Link request pieces shared by rtnl_link.c and rtnl_lower.c (defined in
 * rtnl_link.c): a valid interface name (1..15 bytes); the ifinfomsg of a
 * request (index > 0 or 0; up -1 unset, 0 down, 1 up); the attributes of
 * mtu (0 unset), MAC (6 bytes or NULL) and group (< 0 unset).
 */
struct ifinfomsg;
bool __nlc_name_ok(const char *name);
struct ifinfomsg *__nlc_link_begin(struct nlc_mb *m, struct nlc_batch *b,
                                   uint16_t type, uint16_t flags, int index,
                                   int up);
void __nlc_link_common(struct nlc_mb *m, uint32_t mtu, const uint8_t *mac,
                       int64_t group);

/*
 * Attribute parsing: tb[type] points at the last attribute of each type
 * <= maxtype found in [data, data + len); malformed trailing bytes make it
 * return -EBADMSG.
 */
int __nlc_attr_parse(const void *data, size_t len, const struct nlattr **tb,
                     unsigned int maxtype);
/*
 * The same for the attributes of one message, which must be of `type` and
 * hold its famlen-byte family header: -EBADMSG otherwise.
 */
int __nlc_msg_parse(const struct nlmsghdr *nlh, uint16_t type, size_t famlen,
                    const struct nlattr **tb, unsigned int maxtype);
/*
 * The framing of one message at msg[0 .. len) for the public parsers: 0
 * when it is whole (a header, nlmsg_len within len) and of `type`, 1 when
 * it is whole and of another type, -EBADMSG when it is not whole, -EINVAL
 * for a NULL or misaligned msg.
 */
int __nlc_msg_frame(const uint8_t *msg, size_t len, uint16_t type);
static inline const void *
__nlc_attr_data(const struct nlattr *a)
{
    return (const char *)a + NLA_HDRLEN;
}
static inline size_t
__nlc_attr_len(const struct nlattr *a)
{
    return a->nla_len - NLA_HDRLEN;
}
uint32_t __nlc_attr_u32(const struct nlattr *a);
void __nlc_attr_strcpy(char *dst, size_t cap, const struct nlattr *a);

/*
 * Batch checking (batch.c): 0 when b->count messages, each at least a
 * header long, fill exactly [0, b->len) within b->cap, else -EINVAL.  A
 * walk over a checked batch is bounded by count and stays inside len.
 */
int __nlc_batch_check(const struct nlc_batch *b);

/* Dump requests (rtnl_dump.c). */
int __nlc_dump_request(struct nlc_batch *b, uint16_t type, int family);

/* Sockets (sock.c; dump.c and netns.c use them too). */
#define NLC_RX_SLOTS 32
#define NLC_RX_SLOT 8192                     /* one ack or one reply     */
#define NLC_RX_BUF (NLC_RX_SLOTS * NLC_RX_SLOT) /* also >= a dump datagram */

struct nlc_sock {
    int fd;
    int protocol;
    uint32_t portid;
    uint32_t seq;
    size_t send_max;    /* bytes per sendmsg                          */
    size_t rx_room;     /* receive-buffer bytes for one send's replies */
    uint64_t sends;     /* sendmsg calls made                         */
    bool dirty;         /* a previous exchange was cut short           */
};

/* A socket in the calling thread's namespace (nlc_sock_open's work). */
int __nlc_sock_new_here(struct nlc_sock **out, int protocol);
/* This thread's receive buffer of NLC_RX_BUF bytes, or NULL (no memory). */
uint8_t *__nlc_sock_rx_buf(void);
/* Throws away whatever an interrupted exchange left queued. */
void __nlc_sock_drain(struct nlc_sock *s, uint8_t *buf);
/*
 * The start of an exchange of n results: each pending (-ENOMEM without a
 * receive buffer rx), and the socket drained of what an interrupted one
 * left.  0, or -ENOMEM when rx is NULL.
 */
int __nlc_exchange_start(struct nlc_sock *s, uint8_t *rx,
                         struct nlc_result *res, uint32_t n);
/* One sendmsg of buf[0 .. len) to the kernel, counted: 0 or -errno. */
int __nlc_sock_send(struct nlc_sock *s, const void *buf, size_t len);
/* -errno for the errno of a failed blocking receive: the socket's
 * timeout (EAGAIN) is -ETIMEDOUT. */
int __nlc_sock_recv_error(void);
/*
 * One recvmmsg of up to NLC_RX_SLOTS datagrams into rx (the thread's
 * receive buffer), each matched by nlc_parse_acks into res[0 .. n)
 * (sequence numbers base ..).  Returns the number of acks taken, or
 * -errno (as nlc_sock_exec); without wait, -EAGAIN when nothing is queued.
 */
int __nlc_sock_recv_acks(struct nlc_sock *s, uint8_t *rx, bool wait,
                         uint32_t base, uint32_t n, struct nlc_result *res);
/*
 * Raises the socket's buffers so that one datagram of `bytes` can be sent
 * (-EMSGSIZE when the send buffer cannot be made large enough) and the
 * receive buffer holds `acks` acks (best effort).  Returns 0 or -EMSGSIZE.
 */
int __nlc_sock_fit(struct nlc_sock *s, size_t bytes, size_t acks);

#endif /* NLC_INTERNAL_H */
