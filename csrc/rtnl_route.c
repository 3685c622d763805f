/*
 * rtnl_route.c - RTM_{NEW,DEL}ROUTE request builders.
 *
 *   nlmsghdr | rtmsg{family, dst_len, table, protocol, scope, type, flags}
 *            | RTA_TABLE | [RTA_DST] | [RTA_GATEWAY] | [RTA_OIF]
 *            | [RTA_PRIORITY]
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "internal.h"

static int
__route_msg(struct nlc_batch *b, bool add, int family, const uint8_t *dst,
            uint8_t dst_len, const uint8_t *gw, int oif, uint32_t flags,
            uint32_t priority, uint32_t table)
{
    struct nlc_mb m;
    struct rtmsg *rtm;
    int alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;

    if (alen < 0 || dst_len > alen * 8 || (!dst && dst_len) || oif < 0)
        return -EINVAL;
    if (add && !gw && oif == 0)
        return -EINVAL;
    if (table == 0)
        table = RT_TABLE_MAIN;
    rtm = __nlc_msg_begin(&m, b, add ? RTM_NEWROUTE : RTM_DELROUTE,
                          add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*rtm));
    if (rtm) {
        rtm->rtm_family = (uint8_t)family;
        rtm->rtm_dst_len = dst_len;
        rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
        if (add) {
            rtm->rtm_protocol = RTPROT_BOOT;
            rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
            rtm->rtm_type = RTN_UNICAST;
            rtm->rtm_flags = flags;
        } else {
            rtm->rtm_scope = RT_SCOPE_NOWHERE;   /* wildcards */
        }
    }
    __nlc_attr_put_u32(&m, RTA_TABLE, table);
    if (dst)
        __nlc_attr_put(&m, RTA_DST, dst, (size_t)alen);
    if (gw)
        __nlc_attr_put(&m, RTA_GATEWAY, gw, (size_t)alen);
    if (oif > 0)
        __nlc_attr_put_u32(&m, RTA_OIF, (uint32_t)oif);
    if (priority)
        __nlc_attr_put_u32(&m, RTA_PRIORITY, priority);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_route_add(struct nlc_batch *b, int family, const uint8_t *dst,
              uint8_t dst_len, const uint8_t *gw, int oif, uint32_t flags,
              uint32_t priority, uint32_t table)
{
    return __route_msg(b, true, family, dst, dst_len, gw, oif, flags,
                       priority, table);
}

NLC_EXPORT int
nlc_route_del(struct nlc_batch *b, int family, const uint8_t *dst,
              uint8_t dst_len, const uint8_t *gw, int oif, uint32_t priority,
              uint32_t table)
{
    return __route_msg(b, false, family, dst, dst_len, gw, oif, 0, priority,
                       table);
}
