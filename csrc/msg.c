/*
 * msg.c - netlink messages and attributes, pure: no syscalls.
 *
 *   <------------------ nlmsg_len ------------------>
 *   +----------+-----+-----------+-----+---------+-----+
 *   | nlmsghdr | pad | family hdr| pad | nlattr  | ... |
 *   +----------+-----+-----------+-----+---------+-----+
 *                                      <- TLVs, each NLA_ALIGNed ->
 *
 *   nlattr: | nla_len (u16) | nla_type (u16) | payload | pad to 4 |
 *
 * Every put is bounded by the room left in the caller's batch buffer; a
 * message is committed whole by __nlc_msg_end() or not at all.
 */
#include "internal.h"

void *
__nlc_msg_begin(struct nlc_mb *m, struct nlc_batch *b, uint16_t type,
                uint16_t flags, size_t famlen)
{
    size_t need = NLMSG_HDRLEN + NLMSG_ALIGN(famlen);

    m->b = b;
    m->nlh = NULL;
    m->err = 0;
    m->room = 0;
    if (!b) {
        m->err = -EINVAL;
        return NULL;
    }
    m->room = b->cap > b->len ? b->cap - b->len : 0;
    if (b->len % NLMSG_ALIGNTO != 0 || m->room < need) {
        m->err = -EMSGSIZE;
        return NULL;
    }
    m->nlh = (struct nlmsghdr *)(b->buf + b->len);
    memset(m->nlh, 0, need);
    m->nlh->nlmsg_len = (uint32_t)need;
    m->nlh->nlmsg_type = type;
    m->nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    return (uint8_t *)m->nlh + NLMSG_HDRLEN;
}

void *
__nlc_put_raw(struct nlc_mb *m, size_t len)
{
    size_t at, need;
    void *p;

    if (m->err)
        return NULL;
    at = m->nlh->nlmsg_len;
    need = NLC_ALIGN(len);
    if (need < len || m->room - at < need) {
        m->err = -EMSGSIZE;
        return NULL;
    }
    p = (uint8_t *)m->nlh + at;
    memset(p, 0, need);
    m->nlh->nlmsg_len = (uint32_t)(at + need);
    return p;
}

void
__nlc_attr_put(struct nlc_mb *m, uint16_t type, const void *data, size_t len)
{
    struct nlattr *a;

    if (len > UINT16_MAX - NLA_HDRLEN) {
        m->err = m->err ? m->err : -EMSGSIZE;
        return;
    }
    a = __nlc_put_raw(m, NLA_HDRLEN + len);
    if (!a)
        return;
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    if (len)
        memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

void
__nlc_attr_put_u32(struct nlc_mb *m, uint16_t type, uint32_t v)
{
    __nlc_attr_put(m, type, &v, sizeof(v));
}

void
__nlc_attr_put_str(struct nlc_mb *m, uint16_t type, const char *s)
{
    __nlc_attr_put(m, type, s, strlen(s) + 1);
}

struct nlattr *
__nlc_nest_start(struct nlc_mb *m, uint16_t type)
{
    struct nlattr *a = __nlc_put_raw(m, NLA_HDRLEN);

    if (a)
        a->nla_type = (uint16_t)(type | NLA_F_NESTED);
    return a;
}

void
__nlc_nest_end(struct nlc_mb *m, struct nlattr *nest)
{
    size_t len;

    if (m->err || !nest)
        return;
    len = (size_t)((uint8_t *)m->nlh + m->nlh->nlmsg_len - (uint8_t *)nest);
    if (len > UINT16_MAX) {
        m->err = -EMSGSIZE;
        return;
    }
    nest->nla_len = (uint16_t)len;
}

int
__nlc_msg_end(struct nlc_mb *m)
{
    struct nlc_batch *b = m->b;

    if (m->err)
        return m->err;
    b->last = b->len;
    b->len += NLMSG_ALIGN(m->nlh->nlmsg_len);
    return (int)b->count++;
}

int
__nlc_attr_parse(const void *data, size_t len, const struct nlattr **tb,
                 unsigned int maxtype)
{
    const uint8_t *p = data;

    memset(tb, 0, sizeof(*tb) * (maxtype + 1));
    while (len >= NLA_HDRLEN) {
        const struct nlattr *a = (const struct nlattr *)p;
        size_t alen = NLC_ALIGN(a->nla_len);
        unsigned int type = a->nla_type & NLA_TYPE_MASK;

        if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
            return -EBADMSG;
        if (type <= maxtype)
            tb[type] = a;
        if (alen >= len)
            return 0;
        p += alen;
        len -= alen;
    }
    return len == 0 ? 0 : -EBADMSG;
}

int
__nlc_msg_parse(const struct nlmsghdr *nlh, uint16_t type, size_t famlen,
                const struct nlattr **tb, unsigned int maxtype)
{
    size_t hl = NLMSG_HDRLEN + famlen, at = NLMSG_HDRLEN + NLC_ALIGN(famlen);

    if (nlh->nlmsg_type != type || nlh->nlmsg_len < hl)
        return -EBADMSG;
    if (nlh->nlmsg_len <= at)
        return __nlc_attr_parse(NULL, 0, tb, maxtype);
    return __nlc_attr_parse((const uint8_t *)nlh + at, nlh->nlmsg_len - at,
                            tb, maxtype);
}

int
__nlc_msg_frame(const uint8_t *msg, size_t len, uint16_t type)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)msg;

    if (!msg || ((uintptr_t)msg & (NLMSG_ALIGNTO - 1)))
        return -EINVAL;
    if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
        nlh->nlmsg_len > len)
        return -EBADMSG;
    return nlh->nlmsg_type == type ? 0 : 1;
}

uint32_t
__nlc_attr_u32(const struct nlattr *a)
{
    uint32_t v = 0;

    if (__nlc_attr_len(a) >= sizeof(v))
        memcpy(&v, __nlc_attr_data(a), sizeof(v));
    return v;
}

void
__nlc_attr_strcpy(char *dst, size_t cap, const struct nlattr *a)
{
    size_t n = __nlc_attr_len(a);

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, __nlc_attr_data(a), n);
    dst[n] = '\0';
    /* payloads carry their own NUL; cut at the first one */
    dst[strnlen(dst, n)] = '\0';
}
