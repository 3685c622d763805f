/*
 * rtnl_link.c - RTM_{NEW,SET,DEL,GET}LINK request builders: bridge and
 * veth creation, link changes, deletion and lookup (links stacked on a
 * parent are rtnl_lower.c).
 *
 *   nlmsghdr | ifinfomsg | IFLA_IFNAME | IFLA_MTU | IFLA_ADDRESS | ...
 *            | IFLA_LINKINFO { IFLA_INFO_KIND "veth",
 *            |                 IFLA_INFO_DATA { VETH_INFO_PEER {
 *            |                     ifinfomsg | IFLA_IFNAME | IFLA_NET_NS_FD
 *            |                     | IFLA_MTU | IFLA_ADDRESS } } }
 *
 * The veth peer carries its own ifinfomsg and attributes, so the kernel
 * creates it directly in the target namespace with its final name, MAC and
 * MTU, in the same request as the host end (which is attached and up).  The
 * peer cannot be set up here: veth_open() needs both ends linked.
 */
#include <net/if.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>

#include "internal.h"

#define NLC_MAC_LEN 6

bool
__nlc_name_ok(const char *name)
{
    size_t n;

    if (!name)
        return false;
    n = strnlen(name, IFNAMSIZ);
    return n > 0 && n < IFNAMSIZ;
}

struct ifinfomsg *
__nlc_link_begin(struct nlc_mb *m, struct nlc_batch *b, uint16_t type,
                 uint16_t flags, int index, int up)
{
    struct ifinfomsg *ifi;

    ifi = __nlc_msg_begin(m, b, type, flags, sizeof(*ifi));
    if (!ifi)
        return NULL;
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index > 0 ? index : 0;
    if (up >= 0) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
    }
    return ifi;
}

void
__nlc_link_common(struct nlc_mb *m, uint32_t mtu, const uint8_t *mac,
                  int64_t group)
{
    if (mtu)
        __nlc_attr_put_u32(m, IFLA_MTU, mtu);
    if (mac)
        __nlc_attr_put(m, IFLA_ADDRESS, mac, NLC_MAC_LEN);
    if (group >= 0)
        __nlc_attr_put_u32(m, IFLA_GROUP, (uint32_t)group);
}

NLC_EXPORT int
nlc_link_add_bridge(struct nlc_batch *b, const char *name, uint32_t mtu,
                    const uint8_t *mac, int up, int64_t group)
{
    struct nlc_mb m;
    struct nlattr *info;

    if (!__nlc_name_ok(name) || group > UINT32_MAX)
        return -EINVAL;
    __nlc_link_begin(&m, b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0,
                     up > 0 ? 1 : -1);
    __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    __nlc_link_common(&m, mtu, mac, group);
    info = __nlc_nest_start(&m, IFLA_LINKINFO);
    __nlc_attr_put_str(&m, IFLA_INFO_KIND, "bridge");
    __nlc_nest_end(&m, info);
    return __nlc_msg_end(&m);
}

static void
__link_queues(struct nlc_mb *m, uint32_t queues)
{
    if (queues) {
        __nlc_attr_put_u32(m, IFLA_NUM_TX_QUEUES, queues);
        __nlc_attr_put_u32(m, IFLA_NUM_RX_QUEUES, queues);
    }
}

NLC_EXPORT int
nlc_link_add_veth(struct nlc_batch *b, const char *name, int master,
                  uint32_t mtu, const uint8_t *mac, int up, int64_t group,
                  const char *peer_name, int peer_nsfd, uint32_t peer_mtu,
                  const uint8_t *peer_mac, uint32_t queues)
{
    struct nlc_mb m;
    struct nlattr *info, *data, *peer;

    if (!__nlc_name_ok(name) || !__nlc_name_ok(peer_name) ||
        group > UINT32_MAX || queues > NLC_MAX_QUEUES)
        return -EINVAL;
    __nlc_link_begin(&m, b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0,
                     up > 0 ? 1 : -1);
    __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    __nlc_link_common(&m, mtu, mac, group);
    if (master > 0)
        __nlc_attr_put_u32(&m, IFLA_MASTER, (uint32_t)master);
    __link_queues(&m, queues);
    info = __nlc_nest_start(&m, IFLA_LINKINFO);
    __nlc_attr_put_str(&m, IFLA_INFO_KIND, "veth");
    data = __nlc_nest_start(&m, IFLA_INFO_DATA);
    peer = __nlc_nest_start(&m, VETH_INFO_PEER);
    __nlc_put_raw(&m, sizeof(struct ifinfomsg));   /* zeroed: no flags */
    __nlc_attr_put_str(&m, IFLA_IFNAME, peer_name);
    if (peer_nsfd >= 0)
        __nlc_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
    __nlc_link_common(&m, peer_mtu, peer_mac, -1);
    __link_queues(&m, queues);
    __nlc_nest_end(&m, peer);
    __nlc_nest_end(&m, data);
    __nlc_nest_end(&m, info);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_link_set(struct nlc_batch *b, int index, const char *name, int up,
             int master, uint32_t mtu, const char *new_name, int nsfd,
             int64_t group, const uint8_t *mac, int addrgen)
{
    struct nlc_mb m;
    struct nlattr *spec, *in6;

    if (index <= 0 && (!__nlc_name_ok(name) || new_name))
        return -EINVAL;
    if (addrgen > 255)
        return -EINVAL;
    if ((new_name && !__nlc_name_ok(new_name)) || group > UINT32_MAX)
        return -EINVAL;
    __nlc_link_begin(&m, b, RTM_SETLINK, 0, index, up);
    if (index <= 0)
        __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    else if (new_name)
        __nlc_attr_put_str(&m, IFLA_IFNAME, new_name);
    if (master >= 0)
        __nlc_attr_put_u32(&m, IFLA_MASTER, (uint32_t)master);
    if (nsfd >= 0)
        __nlc_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)nsfd);
    __nlc_link_common(&m, mtu, mac, group);
    if (addrgen >= 0) {
        uint8_t mode = (uint8_t)addrgen;

        spec = __nlc_nest_start(&m, IFLA_AF_SPEC);
        in6 = __nlc_nest_start(&m, AF_INET6);
        __nlc_attr_put(&m, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof(mode));
        __nlc_nest_end(&m, in6);
        __nlc_nest_end(&m, spec);
    }
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_link_set_brport(struct nlc_batch *b, int index, const char *name,
                    int hairpin, int state)
{
    struct nlc_mb m;
    struct nlattr *info, *data;
    uint8_t mode = (uint8_t)hairpin, st = (uint8_t)state;

    if ((index <= 0 && !__nlc_name_ok(name)) || hairpin < -1 ||
        hairpin > 1 || state < -1 || state > 4 ||
        (hairpin < 0 && state < 0) || (state >= 0 && index <= 0))
        return -EINVAL;
    if (state >= 0) {
        /* the state sticks only through the bridge's own setlink
         * (AF_BRIDGE, IFLA_PROTINFO), which finds the port by index */
        struct ifinfomsg *ifi;
        struct nlattr *prot;

        ifi = __nlc_link_begin(&m, b, RTM_SETLINK, 0, index, -1);
        if (ifi)
            ifi->ifi_family = AF_BRIDGE;
        prot = __nlc_nest_start(&m, IFLA_PROTINFO);
        if (hairpin >= 0)
            __nlc_attr_put(&m, IFLA_BRPORT_MODE, &mode, sizeof(mode));
        __nlc_attr_put(&m, IFLA_BRPORT_STATE, &st, sizeof(st));
        __nlc_nest_end(&m, prot);
        return __nlc_msg_end(&m);
    }
    __nlc_link_begin(&m, b, RTM_NEWLINK, 0, index, -1);
    if (index <= 0)
        __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    info = __nlc_nest_start(&m, IFLA_LINKINFO);
    __nlc_attr_put_str(&m, IFLA_INFO_SLAVE_KIND, "bridge");
    data = __nlc_nest_start(&m, IFLA_INFO_SLAVE_DATA);
    __nlc_attr_put(&m, IFLA_BRPORT_MODE, &mode, sizeof(mode));
    __nlc_nest_end(&m, data);
    __nlc_nest_end(&m, info);
    return __nlc_msg_end(&m);
}

/* A request about one existing link, by index or (index 0) by name. */
static int
__link_by(struct nlc_batch *b, uint16_t type, int index, const char *name,
          bool get)
{
    struct nlc_mb m;

    if (index <= 0 && !__nlc_name_ok(name))
        return -EINVAL;
    __nlc_link_begin(&m, b, type, 0, index, -1);
    if (index <= 0)
        __nlc_attr_put_str(&m, IFLA_IFNAME, name);
    if (get)
        __nlc_attr_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return __nlc_msg_end(&m);
}

NLC_EXPORT int
nlc_link_del(struct nlc_batch *b, int index, const char *name)
{
    return __link_by(b, RTM_DELLINK, index, name, false);
}

NLC_EXPORT int
nlc_link_get(struct nlc_batch *b, int index, const char *name)
{
    return __link_by(b, RTM_GETLINK, index, name, true);
}

NLC_EXPORT int
nlc_link_del_group(struct nlc_batch *b, uint32_t group)
{
    struct nlc_mb m;

    if (group == 0)
        return -EINVAL;
    __nlc_link_begin(&m, b, RTM_DELLINK, 0, 0, -1);
    __nlc_attr_put_u32(&m, IFLA_GROUP, group);
    return __nlc_msg_end(&m);
}
