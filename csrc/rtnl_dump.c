/*
 * rtnl_dump.c - the pure half of link, address and route dumps: the request
 * and the parsers that turn one RTM_NEW{LINK,ADDR,ROUTE} message into one
 * fixed record (no syscalls; the exchange is dump.c).
 *
 *   request:  nlmsghdr{NLM_F_REQUEST | NLM_F_DUMP} | rtgenmsg-sized header
 *   replies:  datagram{ msg | msg | ... } ... NLMSG_DONE
 *   one msg:  nlmsghdr | family header | pad | nlattr | ... (<= nlmsg_len)
 *
 * A parser first frames the message (__nlc_msg_frame: a header, nlmsg_len
 * within the bytes given, the type), then parses the family header and
 * the attributes, every one bounded by nlmsg_len (__nlc_msg_parse).
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>

#include "internal.h"

int
__nlc_dump_request(struct nlc_batch *b, uint16_t type, int family)
{
    struct nlc_mb m;
    size_t famlen = type == RTM_GETLINK ? sizeof(struct ifinfomsg)
                  : type == RTM_GETADDR ? sizeof(struct ifaddrmsg)
                  : sizeof(struct rtmsg);
    uint8_t *hdr = __nlc_msg_begin(&m, b, type, NLM_F_DUMP, famlen);

    if (!hdr)
        return m.err;
    m.nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;  /* dumps end with DONE */
    hdr[0] = (uint8_t)family;   /* every family header starts with it */
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_parse_link(const uint8_t *msg, size_t len, struct nlc_link *out)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)msg;
    const struct ifinfomsg *ifi;
    const struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
    int rc = out ? __nlc_msg_frame(msg, len, RTM_NEWLINK) : -EINVAL;

    if (rc)
        return rc;
    ifi = NLMSG_DATA(nlh);
    if (__nlc_msg_parse(nlh, RTM_NEWLINK, sizeof(*ifi), tb, IFLA_MAX) < 0)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->index = ifi->ifi_index;
    out->flags = ifi->ifi_flags;
    out->link_netnsid = -1;
    if (tb[IFLA_IFNAME])
        __nlc_attr_strcpy(out->name, sizeof(out->name), tb[IFLA_IFNAME]);
    if (tb[IFLA_MTU])
        out->mtu = __nlc_attr_u32(tb[IFLA_MTU]);
    if (tb[IFLA_MASTER])
        out->master = (int32_t)__nlc_attr_u32(tb[IFLA_MASTER]);
    if (tb[IFLA_LINK])
        out->link = (int32_t)__nlc_attr_u32(tb[IFLA_LINK]);
    if (tb[IFLA_LINK_NETNSID])
        out->link_netnsid = (int32_t)__nlc_attr_u32(tb[IFLA_LINK_NETNSID]);
    if (tb[IFLA_GROUP])
        out->group = __nlc_attr_u32(tb[IFLA_GROUP]);
    if (tb[IFLA_IFALIAS] &&
        __nlc_attr_len(tb[IFLA_IFALIAS]) < sizeof(out->alias))
        __nlc_attr_strcpy(out->alias, sizeof(out->alias), tb[IFLA_IFALIAS]);
    if (tb[IFLA_ADDRESS]) {
        size_t n = __nlc_attr_len(tb[IFLA_ADDRESS]);

        if (n > sizeof(out->mac))
            n = sizeof(out->mac);
        memcpy(out->mac, __nlc_attr_data(tb[IFLA_ADDRESS]), n);
        out->mac_len = (uint8_t)n;
    }
    if (tb[IFLA_STATS64] &&
        __nlc_attr_len(tb[IFLA_STATS64]) >= 8 * sizeof(uint64_t)) {
        uint64_t st[8];

        memcpy(st, __nlc_attr_data(tb[IFLA_STATS64]), sizeof(st));
        out->rx_packets = st[0];
        out->tx_packets = st[1];
        out->rx_bytes = st[2];
        out->tx_bytes = st[3];
        out->rx_errors = st[4];
        out->tx_errors = st[5];
        out->rx_dropped = st[6];
        out->tx_dropped = st[7];
    }
    if (tb[IFLA_LINKINFO] &&
        __nlc_attr_parse(__nlc_attr_data(tb[IFLA_LINKINFO]),
                         __nlc_attr_len(tb[IFLA_LINKINFO]), li,
                         IFLA_INFO_MAX) == 0 && li[IFLA_INFO_KIND])
        __nlc_attr_strcpy(out->kind, sizeof(out->kind), li[IFLA_INFO_KIND]);
    return 0;
}

static void
__copy_addr(uint8_t *dst, const struct nlattr *a)
{
    size_t n = __nlc_attr_len(a);

    memcpy(dst, __nlc_attr_data(a), n > 16 ? 16 : n);
}

NLC_EXPORT int
nlc_parse_addr(const uint8_t *msg, size_t len, struct nlc_addr *out)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)msg;
    const struct ifaddrmsg *ifa;
    const struct nlattr *tb[IFA_MAX + 1];
    int rc = out ? __nlc_msg_frame(msg, len, RTM_NEWADDR) : -EINVAL;

    if (rc)
        return rc;
    ifa = NLMSG_DATA(nlh);
    if (__nlc_msg_parse(nlh, RTM_NEWADDR, sizeof(*ifa), tb, IFA_MAX) < 0)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->index = (int32_t)ifa->ifa_index;
    out->family = ifa->ifa_family;
    out->prefixlen = ifa->ifa_prefixlen;
    out->scope = ifa->ifa_scope;
    out->flags = tb[IFA_FLAGS] ? __nlc_attr_u32(tb[IFA_FLAGS])
                               : ifa->ifa_flags;
    if (tb[IFA_ADDRESS])
        __copy_addr(out->addr, tb[IFA_ADDRESS]);
    if (tb[IFA_LOCAL])
        __copy_addr(out->local, tb[IFA_LOCAL]);
    else
        memcpy(out->local, out->addr, sizeof(out->local));
    if (!tb[IFA_ADDRESS])
        memcpy(out->addr, out->local, sizeof(out->addr));
    if (tb[IFA_LABEL])
        __nlc_attr_strcpy(out->label, sizeof(out->label), tb[IFA_LABEL]);
    return 0;
}

NLC_EXPORT int
nlc_parse_route(const uint8_t *msg, size_t len, struct nlc_route *out)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)msg;
    const struct rtmsg *rtm;
    const struct nlattr *tb[RTA_MAX + 1];
    int rc = out ? __nlc_msg_frame(msg, len, RTM_NEWROUTE) : -EINVAL;

    if (rc)
        return rc;
    rtm = NLMSG_DATA(nlh);
    if (__nlc_msg_parse(nlh, RTM_NEWROUTE, sizeof(*rtm), tb, RTA_MAX) < 0)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->family = rtm->rtm_family;
    out->dst_len = rtm->rtm_dst_len;
    out->protocol = rtm->rtm_protocol;
    out->scope = rtm->rtm_scope;
    out->type = rtm->rtm_type;
    out->flags = rtm->rtm_flags;
    out->table = tb[RTA_TABLE] ? __nlc_attr_u32(tb[RTA_TABLE])
                               : rtm->rtm_table;
    if (tb[RTA_OIF])
        out->oif = (int32_t)__nlc_attr_u32(tb[RTA_OIF]);
    if (tb[RTA_PRIORITY])
        out->priority = __nlc_attr_u32(tb[RTA_PRIORITY]);
    if (tb[RTA_DST])
        __copy_addr(out->dst, tb[RTA_DST]);
    if (tb[RTA_GATEWAY]) {
        __copy_addr(out->gateway, tb[RTA_GATEWAY]);
        out->has_gateway = 1;
    }
    return 0;
}
