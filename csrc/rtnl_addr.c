/*
 * rtnl_addr.c - RTM_{NEW,DEL}ADDR request builders.
 *
 *   nlmsghdr | ifaddrmsg{family, prefixlen, flags, scope, index}
 *            | IFA_LOCAL | IFA_ADDRESS | [IFA_BROADCAST] | [IFA_FLAGS]
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>

#include "internal.h"

static int
__addr_len(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
}

static int
__addr_msg(struct nlc_batch *b, uint16_t type, uint16_t flags, int index,
           int family, const uint8_t *addr, uint8_t prefixlen,
           uint32_t aflags)
{
    struct nlc_mb m;
    struct ifaddrmsg *ifa;
    int alen = __addr_len(family);

    if (alen < 0 || !addr || index <= 0 || prefixlen > alen * 8)
        return -EINVAL;
    ifa = __nlc_msg_begin(&m, b, type, flags, sizeof(*ifa));
    if (ifa) {
        ifa->ifa_family = (uint8_t)family;
        ifa->ifa_prefixlen = prefixlen;
        ifa->ifa_flags = (uint8_t)(aflags & 0xff);
        ifa->ifa_index = (uint32_t)index;
    }
    if (family == AF_INET) {
        __nlc_attr_put(&m, IFA_LOCAL, addr, 4);
        __nlc_attr_put(&m, IFA_ADDRESS, addr, 4);
        if (type == RTM_NEWADDR && prefixlen < 31) {
            uint32_t host = 0xffffffffu >> prefixlen;   /* prefixlen < 31 */
            uint8_t brd[4];

            memcpy(brd, addr, 4);
            for (int i = 0; i < 4; i++)
                brd[i] |= (uint8_t)(host >> (24 - 8 * i));
            __nlc_attr_put(&m, IFA_BROADCAST, brd, 4);
        }
    } else {
        __nlc_attr_put(&m, IFA_ADDRESS, addr, 16);
    }
    if (aflags)
        __nlc_attr_put_u32(&m, IFA_FLAGS, aflags);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_addr_add(struct nlc_batch *b, int index, int family, const uint8_t *addr,
             uint8_t prefixlen, uint32_t flags)
{
    return __addr_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index,
                      family, addr, prefixlen, flags);
}

NLC_EXPORT int
nlc_addr_del(struct nlc_batch *b, int index, int family, const uint8_t *addr,
             uint8_t prefixlen)
{
    return __addr_msg(b, RTM_DELADDR, 0, index, family, addr, prefixlen, 0);
}
