/*
 * internal.h - private to the C core; never seen by cffi.
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
 * first overflow makes the builder sticky-failed (err = -EMSGSIZE): later
 * puts do nothing and __nlc_msg_end() returns the error without touching
 * the batch, so a message is either appended whole or not at all.
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
 * Attribute parsing: tb[type] points at the last attribute of each type
 * <= maxtype found in [data, data + len); malformed trailing bytes make it
 * return -EBADMSG.
 */
int __nlc_attr_parse(const void *data, size_t len, const struct nlattr **tb,
                     unsigned int maxtype);
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

/* Batch walking (batch.c). */
#define NLC_BATCH_FOR_EACH(b, nlh)                                          \
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)(b)->buf;                \
         (uint8_t *)nlh < (b)->buf + (b)->len;                              \
         nlh = (struct nlmsghdr *)((uint8_t *)nlh +                         \
                                   NLMSG_ALIGN(nlh->nlmsg_len)))

/* Dump parsing (rtnl_dump.c): one message into one record. */
int __nlc_parse_link(const struct nlmsghdr *nlh, struct nlc_link *out);
int __nlc_parse_addr(const struct nlmsghdr *nlh, struct nlc_addr *out);
int __nlc_parse_route(const struct nlmsghdr *nlh, struct nlc_route *out);

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
    size_t send_max;    /* bytes per sendmsg                       */
    uint32_t msgs_max;  /* messages per sendmsg (room for the acks) */
    bool dirty;         /* a previous exchange was cut short        */
};

/* A socket in the calling thread's namespace (nlc_sock_open's work). */
int __nlc_sock_new_here(struct nlc_sock **out, int protocol);
/* This thread's receive buffer of NLC_RX_BUF bytes, or NULL (no memory). */
uint8_t *__nlc_sock_rx_buf(void);
/* Throws away whatever an interrupted exchange left queued. */
void __nlc_sock_drain(struct nlc_sock *s, uint8_t *buf);

#endif /* NLC_INTERNAL_H */
