/*
 * rtnl_lower.c - RTM_NEWLINK builders for links stacked on a parent
 * device: macvlan, ipvlan and 802.1Q vlan.
 *
 *   nlmsghdr | ifinfomsg{flags: IFF_UP?} | IFLA_IFNAME | IFLA_LINK parent
 *            | [IFLA_NET_NS_FD] | [IFLA_MTU] | [IFLA_ADDRESS] | [IFLA_GROUP]
 *            | IFLA_LINKINFO { IFLA_INFO_KIND "macvlan" | "ipvlan" | "vlan",
 *            |                 IFLA_INFO_DATA { IFLA_MACVLAN_MODE u32
 *            |                                | IFLA_IPVLAN_MODE u16
 *            |                                | IFLA_VLAN_ID u16 } }
 *
 * The kernel resolves IFLA_LINK in the namespace the request is sent in
 * and, with IFLA_NET_NS_FD, creates the link in that other namespace under
 * its final name: it is never visible beside its parent.
 */
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>

#include "internal.h"

#define NLC_VLAN_VID_MAX 4094   /* VLAN_VID_MASK - 1 */

/*
 * One lower link: kind, and its one IFLA_INFO_DATA attribute (type and
 * value, len 2 or 4 bytes).  Checks what every kind shares.
 */
static int
__lower_add(struct nlc_batch *b, const char *name, int parent_index,
            int nsfd, const uint8_t *mac, uint32_t mtu, int64_t group, int up,
            const char *kind, uint16_t data_type, uint32_t value, size_t len)
{
    struct nlc_mb m;
    struct nlattr *info, *data;
    uint16_t v16 = (uint16_t)value;

    if (!__nlc_name_ok(name) || parent_index <= 0 || group > UINT32_MAX)
        return -EINVAL;
    __nlc_link_begin(&m, b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0,
                     up > 0 ? 1 : -1);
    __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    __nlc_attr_put_u32(&m, IFLA_LINK, (uint32_t)parent_index);
    if (nsfd >= 0)
        __nlc_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)nsfd);
    __nlc_link_common(&m, mtu, mac, group);
    info = __nlc_nest_start(&m, IFLA_LINKINFO);
    __nlc_attr_put_str(&m, IFLA_INFO_KIND, kind);
    data = __nlc_nest_start(&m, IFLA_INFO_DATA);
    if (len == sizeof(v16))
        __nlc_attr_put(&m, data_type, &v16, sizeof(v16));
    else
        __nlc_attr_put_u32(&m, data_type, value);
    __nlc_nest_end(&m, data);
    __nlc_nest_end(&m, info);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_link_add_macvlan(struct nlc_batch *b, const char *name, int parent_index,
                     uint32_t mode, int nsfd, const uint8_t *mac,
                     uint32_t mtu, int64_t group, int up)
{
    switch (mode) {
    case MACVLAN_MODE_PRIVATE:
    case MACVLAN_MODE_VEPA:
    case MACVLAN_MODE_BRIDGE:
    case MACVLAN_MODE_PASSTHRU:
    case MACVLAN_MODE_SOURCE:
        break;
    default:
        return -EINVAL;
    }
    return __lower_add(b, name, parent_index, nsfd, mac, mtu, group, up,
                       "macvlan", IFLA_MACVLAN_MODE, mode, sizeof(uint32_t));
}

NLC_EXPORT int
nlc_link_add_ipvlan(struct nlc_batch *b, const char *name, int parent_index,
                    uint32_t mode, int nsfd, uint32_t mtu, int64_t group,
                    int up)
{
    if (mode >= IPVLAN_MODE_MAX)
        return -EINVAL;
    return __lower_add(b, name, parent_index, nsfd, NULL, mtu, group, up,
                       "ipvlan", IFLA_IPVLAN_MODE, mode, sizeof(uint16_t));
}

NLC_EXPORT int
nlc_link_add_vlan(struct nlc_batch *b, const char *name, int parent_index,
                  uint32_t vid, uint32_t mtu, int64_t group, int up)
{
    if (vid > NLC_VLAN_VID_MAX)
        return -EINVAL;
    return __lower_add(b, name, parent_index, -1, NULL, mtu, group, up,
                       "vlan", IFLA_VLAN_ID, vid, sizeof(uint16_t));
}
