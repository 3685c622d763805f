/*
 * test_lower.c - the builders of links stacked on a parent (rtnl_lower.c:
 * macvlan, ipvlan, vlan), without a kernel.
 *
 *   1. Each builder, everything set and nothing optional, is parsed back:
 *      the common fields with the dump parser (nlc_parse_link), the
 *      rest attribute by attribute (IFLA_LINK, IFLA_NET_NS_FD, the kind and
 *      its one IFLA_INFO_DATA attribute, of the kernel's size).
 *   2. Every mode the kernel knows is accepted, every other one refused
 *      (-EINVAL, batch untouched), as are bad names, parents and groups.
 *   3. Each message is built at every buffer size below the one it needs:
 *      -EMSGSIZE, nothing appended, no byte written at or past cap.
 *
 * Exits non-zero when any check fails.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>

#include "internal.h"
#include "check.h"

static const uint8_t MAC1[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };

union buf {
    uint8_t b[1024];
    uint32_t align;
};

/* What a lower link's message must say. */
struct want {
    const char *name, *kind;
    int parent, nsfd, up;
    const uint8_t *mac;
    uint32_t mtu;
    int64_t group;
    uint16_t data_type;     /* the one IFLA_INFO_DATA attribute */
    size_t data_len;        /* its payload: 2 or 4 bytes        */
    uint32_t data;
};

static void
check_lower(const struct nlmsghdr *nlh, const struct want *w)
{
    const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
    const struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
    const struct nlattr *data[8];
    struct nlc_link l;
    uint32_t v = 0;

    CHECK_EQ(nlh->nlmsg_type, RTM_NEWLINK);
    CHECK_EQ(nlh->nlmsg_flags,
             NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    CHECK_EQ(nlh->nlmsg_seq, 0);
    CHECK_EQ(nlh->nlmsg_pid, 0);
    CHECK_EQ(ifi->ifi_index, 0);
    CHECK_EQ(ifi->ifi_change, w->up > 0 ? IFF_UP : 0);
    CHECK_EQ(ifi->ifi_flags, w->up > 0 ? IFF_UP : 0);
    CHECK_EQ(nlc_parse_link((const uint8_t *)nlh, nlh->nlmsg_len, &l), 0);
    CHECK_STR(l.name, w->name);
    CHECK_STR(l.kind, w->kind);
    CHECK_EQ(l.link, w->parent);
    CHECK_EQ(l.mtu, w->mtu);
    CHECK_EQ(l.mac_len, w->mac ? 6 : 0);
    if (w->mac)
        CHECK(memcmp(l.mac, w->mac, 6) == 0);
    CHECK_EQ(l.master, 0);

    CHECK_EQ(__nlc_msg_parse(nlh, RTM_NEWLINK, sizeof(*ifi), tb, IFLA_MAX),
             0);
    CHECK(tb[IFLA_IFNAME] && tb[IFLA_LINK] && tb[IFLA_LINKINFO]);
    CHECK_EQ(tb[IFLA_MTU] != NULL, w->mtu != 0);
    CHECK_EQ(tb[IFLA_ADDRESS] != NULL, w->mac != NULL);
    CHECK_EQ(tb[IFLA_GROUP] != NULL, w->group >= 0);
    if (tb[IFLA_GROUP])
        CHECK_EQ(__nlc_attr_u32(tb[IFLA_GROUP]), w->group);
    CHECK_EQ(tb[IFLA_NET_NS_FD] != NULL, w->nsfd >= 0);
    if (tb[IFLA_NET_NS_FD])
        CHECK_EQ(__nlc_attr_u32(tb[IFLA_NET_NS_FD]), w->nsfd);
    CHECK(!tb[IFLA_MASTER] && !tb[IFLA_NUM_TX_QUEUES]);
    if (!tb[IFLA_LINKINFO])
        return;
    CHECK_NESTED(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
    CHECK(li[IFLA_INFO_KIND] && li[IFLA_INFO_DATA]);
    if (!li[IFLA_INFO_DATA])
        return;
    CHECK_NESTED(li[IFLA_INFO_DATA], data, 7);
    for (unsigned int t = 0; t < 8; t++)
        CHECK_EQ(data[t] != NULL, t == w->data_type);
    if (!data[w->data_type])
        return;
    CHECK_EQ(__nlc_attr_len(data[w->data_type]), w->data_len);
    memcpy(&v, __nlc_attr_data(data[w->data_type]), w->data_len);
    CHECK_EQ(v, w->data);
}

static void
test_round_trips(void)
{
    union buf u;
    struct nlc_batch b;

    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_link_add_macvlan(&b, "mv-0123456789a", 7, MACVLAN_MODE_VEPA,
                                  5, MAC1, 1400, 9, 1), 0);
    CHECK_EQ(nlc_link_add_macvlan(&b, "mv1", 2, MACVLAN_MODE_BRIDGE, -1,
                                  NULL, 0, -1, 0), 1);
    CHECK_EQ(nlc_link_add_ipvlan(&b, "ipv0", 3, IPVLAN_MODE_L3S, 0, 9000, 0,
                                 1), 2);
    CHECK_EQ(nlc_link_add_ipvlan(&b, "ipv1", 3, IPVLAN_MODE_L2, -1, 0, -1,
                                 -1), 3);
    CHECK_EQ(nlc_link_add_vlan(&b, "eth0.4094", 4, 4094, 1496, 3, 1), 4);
    CHECK_EQ(nlc_link_add_vlan(&b, "eth0.0", 4, 0, 0, -1, 0), 5);
    CHECK_EQ(__nlc_batch_check(&b), 0);
    CHECK_EQ(b.count, 6);

    {
        const struct want w[] = {
            { "mv-0123456789a", "macvlan", 7, 5, 1, MAC1, 1400, 9,
              IFLA_MACVLAN_MODE, 4, MACVLAN_MODE_VEPA },
            { "mv1", "macvlan", 2, -1, 0, NULL, 0, -1,
              IFLA_MACVLAN_MODE, 4, MACVLAN_MODE_BRIDGE },
            { "ipv0", "ipvlan", 3, 0, 1, NULL, 9000, 0,
              IFLA_IPVLAN_MODE, 2, IPVLAN_MODE_L3S },
            { "ipv1", "ipvlan", 3, -1, -1, NULL, 0, -1,
              IFLA_IPVLAN_MODE, 2, IPVLAN_MODE_L2 },
            { "eth0.4094", "vlan", 4, -1, 1, NULL, 1496, 3,
              IFLA_VLAN_ID, 2, 4094 },
            { "eth0.0", "vlan", 4, -1, 0, NULL, 0, -1, IFLA_VLAN_ID, 2, 0 },
        };
        const uint8_t *p = b.buf;

        for (unsigned int i = 0; i < 6; i++) {
            const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;

            check_lower(nlh, &w[i]);
            p += NLMSG_ALIGN(nlh->nlmsg_len);
        }
    }
}

static void
test_modes_and_refusals(void)
{
    static const uint32_t macvlan_ok[] = { 1, 2, 4, 8, 16 };
    union buf u;
    struct nlc_batch b;
    size_t len;

    nlc_batch_init(&b, u.b, sizeof(u.b));
    for (unsigned int i = 0; i < 5; i++)
        CHECK_EQ(nlc_link_add_macvlan(&b, "m", 1, macvlan_ok[i], -1, NULL,
                                      0, -1, 0), (int)i);
    for (uint32_t mode = 0; mode < 3; mode++)
        CHECK(nlc_link_add_ipvlan(&b, "i", 1, mode, -1, 0, -1, 0) >= 0);
    CHECK(nlc_link_add_vlan(&b, "v", 1, 1, 0, -1, 0) >= 0);
    len = b.len;

    for (uint32_t mode = 0; mode < 64; mode++) {
        if (mode && !(mode & (mode - 1)) && mode <= 16)
            continue;
        CHECK_EQ(nlc_link_add_macvlan(&b, "m", 1, mode, -1, NULL, 0, -1, 0),
                 -EINVAL);
    }
    CHECK_EQ(nlc_link_add_macvlan(&b, "m", 1, UINT32_MAX, -1, NULL, 0, -1,
                                  0), -EINVAL);
    CHECK_EQ(nlc_link_add_ipvlan(&b, "i", 1, 3, -1, 0, -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_ipvlan(&b, "i", 1, 65536, -1, 0, -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_vlan(&b, "v", 1, 4095, 0, -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_vlan(&b, "v", 1, 65536 + 5, 0, -1, 0), -EINVAL);
    /* what every kind shares: name, parent, group */
    CHECK_EQ(nlc_link_add_macvlan(&b, NULL, 1, 4, -1, NULL, 0, -1, 0),
             -EINVAL);
    CHECK_EQ(nlc_link_add_macvlan(&b, "", 1, 4, -1, NULL, 0, -1, 0),
             -EINVAL);
    CHECK_EQ(nlc_link_add_macvlan(&b, "0123456789abcdef", 1, 4, -1, NULL, 0,
                                  -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_macvlan(&b, "m", 0, 4, -1, NULL, 0, -1, 0),
             -EINVAL);
    CHECK_EQ(nlc_link_add_ipvlan(&b, "i", -3, 0, -1, 0, -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_vlan(&b, "v", 0, 1, 0, -1, 0), -EINVAL);
    CHECK_EQ(nlc_link_add_vlan(&b, "v", 1, 1, 0, (int64_t)UINT32_MAX + 1, 0),
             -EINVAL);
    CHECK_EQ(nlc_link_add_ipvlan(NULL, "i", 1, 0, -1, 0, -1, 0), -EINVAL);
    CHECK_EQ(b.len, len);                   /* nothing appended */
    CHECK_EQ(b.count, 9);
    CHECK_EQ(__nlc_batch_check(&b), 0);
}

typedef int (*build_fn)(struct nlc_batch *b);

static int
build_macvlan(struct nlc_batch *b)
{
    return nlc_link_add_macvlan(b, "mv-0123456789a", 7, MACVLAN_MODE_BRIDGE,
                                5, MAC1, 1400, 9, 1);
}

static int
build_ipvlan(struct nlc_batch *b)
{
    return nlc_link_add_ipvlan(b, "ipv-0123456789", 3, IPVLAN_MODE_L3, 4,
                               9000, 2, 1);
}

static int
build_vlan(struct nlc_batch *b)
{
    return nlc_link_add_vlan(b, "eth0.100", 4, 100, 1496, 3, 1);
}

static void
test_short_buffers(void)
{
    static const build_fn builds[] = { build_macvlan, build_ipvlan,
                                       build_vlan };

    for (unsigned int k = 0; k < 3; k++) {
        union buf ref, u;
        struct nlc_batch b;
        size_t need;

        nlc_batch_init(&b, ref.b, sizeof(ref.b));
        CHECK_EQ(builds[k](&b), 0);
        need = b.len;
        for (size_t cap = 0; cap <= need; cap++) {
            memset(u.b, 0xa5, sizeof(u.b));
            nlc_batch_init(&b, u.b, cap);
            if (cap < need) {
                CHECK_EQ(builds[k](&b), -EMSGSIZE);
                CHECK_EQ(b.len, 0);
                CHECK_EQ(b.count, 0);
            } else {
                CHECK_EQ(builds[k](&b), 0);
                CHECK(memcmp(u.b, ref.b, need) == 0);
            }
            for (size_t i = cap; i < sizeof(u.b); i++) {
                if (u.b[i] != 0xa5) {
                    CHECK(!"a byte written at or past cap");
                    break;
                }
            }
        }
    }
}

int
main(void)
{
    test_round_trips();
    test_modes_and_refusals();
    test_short_buffers();
    return check_done("test_lower");
}
