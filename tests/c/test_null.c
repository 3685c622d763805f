/*
 * test_null.c - the NULL contract of nlc.h, entry point by entry point: a
 * NULL where a pointer is required is never dereferenced; int-returning
 * functions answer -EINVAL and change nothing, void ones do nothing, the
 * accessors return 0 and the bitmap's allocation fast path UINT64_MAX.
 * The sanitizer build (-DNLC_SANITIZE=ON) turns any dereference into a
 * failure even where it would not crash.
 *
 * Exits non-zero when any check fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nlc.h"
#include "check.h"

#define EINV (-EINVAL)

static void
test_batch(void)
{
    static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
    static const uint8_t v4[4] = { 10, 0, 0, 1 };

    nlc_batch_init(NULL, NULL, 0);
    nlc_batch_reset(NULL);
    CHECK_EQ(nlc_batch_echo(NULL), EINV);
    CHECK_EQ(nlc_batch_alias(NULL, "a"), EINV);
    CHECK_EQ(nlc_link_add_bridge(NULL, "br0", 0, mac, 1, -1), EINV);
    CHECK_EQ(nlc_link_add_veth(NULL, "v0", -1, 0, NULL, 0, -1, "v1", -1, 0,
                               NULL, 0), EINV);
    CHECK_EQ(nlc_link_add_macvlan(NULL, "m0", 1, 4, -1, NULL, 0, -1, 0),
             EINV);
    CHECK_EQ(nlc_link_add_ipvlan(NULL, "i0", 1, 0, -1, 0, -1, 0), EINV);
    CHECK_EQ(nlc_link_add_vlan(NULL, "v0", 1, 5, 0, -1, 0), EINV);
    CHECK_EQ(nlc_link_set(NULL, 1, NULL, 1, -1, 0, NULL, -1, -1, NULL, -1),
             EINV);
    CHECK_EQ(nlc_link_del(NULL, 1, NULL), EINV);
    CHECK_EQ(nlc_link_del_group(NULL, 5), EINV);
    CHECK_EQ(nlc_link_get(NULL, 1, NULL), EINV);
    CHECK_EQ(nlc_addr_add(NULL, 1, AF_INET, v4, 24, 0), EINV);
    CHECK_EQ(nlc_addr_del(NULL, 1, AF_INET, v4, 24), EINV);
    CHECK_EQ(nlc_route_add(NULL, AF_INET, NULL, 0, v4, 1, 0, 0, 0), EINV);
    CHECK_EQ(nlc_route_del(NULL, AF_INET, NULL, 0, v4, 1, 0, 0), EINV);
}

static void
test_nft(void)
{
    static const uint8_t fields[2] = { 4, 16 };
    struct nlc_nft_expr e[1];
    struct nlc_nft_elem el = { .key_len = 4 };
    struct nlc_result res[2];
    union {
        uint8_t b[256];
        uint32_t align;
    } u;
    struct nlc_batch b;
    size_t taken = 7;

    memset(e, 0, sizeof(e));
    e[0].kind = NLC_NFT_MASQ;
    CHECK_EQ(nlc_nft_begin(NULL), EINV);
    CHECK_EQ(nlc_nft_end(NULL), EINV);
    CHECK_EQ(nlc_nft_table_add(NULL, 1, "t", "c"), EINV);
    CHECK_EQ(nlc_nft_table_del(NULL, 1, "t", 0), EINV);
    CHECK_EQ(nlc_nft_chain_add(NULL, 1, "t", "c", 2, 0, "filter", 1), EINV);
    CHECK_EQ(nlc_nft_set_add(NULL, 1, "t", "s", 1, 0x80, 7, 20, fields, 2,
                             0, 0, 0, 0), EINV);
    CHECK_EQ(nlc_nft_rule_add(NULL, 1, "t", "c", e, 1), EINV);
    CHECK_EQ(nlc_nft_elems(NULL, 0, 1, "t", "s", u.b, 4, &el, 1, &taken),
             EINV);
    CHECK_EQ(taken, 0);
    CHECK_EQ(nlc_nft_exec(NULL, NULL, res), EINV);

    /* NULL beside a real batch: names, arrays, the blob, taken */
    nlc_batch_init(&b, u.b, sizeof(u.b));
    CHECK_EQ(nlc_nft_table_add(&b, 1, NULL, NULL), EINV);
    CHECK_EQ(nlc_nft_table_del(&b, 1, NULL, 0), EINV);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, NULL, "c", -1, 0, NULL, -1), EINV);
    CHECK_EQ(nlc_nft_chain_add(&b, 1, "t", "c", 2, 0, NULL, 1), EINV);
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", NULL, 1, 0, 7, 4, NULL, 0, 0, 0, 0,
                             0), EINV);
    CHECK_EQ(nlc_nft_set_add(&b, 1, "t", "s", 1, 0x80, 7, 20, NULL, 2, 0, 0,
                             0, 0), EINV);
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", NULL, e, 1), EINV);
    CHECK_EQ(nlc_nft_rule_add(&b, 1, "t", "c", NULL, 1), EINV);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", NULL, 4, &el, 1, &taken),
             EINV);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", u.b, 4, NULL, 1, &taken),
             EINV);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, "t", "s", u.b, 4, &el, 1, NULL), EINV);
    CHECK_EQ(nlc_nft_elems(&b, 0, 1, NULL, "s", u.b, 4, &el, 1, &taken),
             EINV);
    CHECK_EQ(b.count, 0);
    CHECK_EQ(nlc_nft_begin(&b), 0);
    CHECK_EQ(nlc_nft_end(&b), 1);
    CHECK_EQ(nlc_nft_exec(NULL, &b, res), EINV);
}

static void
test_sock_and_netns(void)
{
    struct nlc_result res[1];
    struct nlc_link links[1];
    struct nlc_addr addrs[1];
    struct nlc_route routes[1];
    struct nlc_sock *socks[1];
    const char *paths[1] = { "/nonexistent/x" };
    int fds[1] = { 0 }, errs[1];
    union {
        uint8_t b[64];
        uint32_t align;
    } parse_buf = { { 0 } };

    CHECK_EQ(nlc_sock_open(NULL, 0), EINV);
    nlc_sock_close(NULL);
    CHECK_EQ(nlc_sock_fd(NULL), EINV);
    CHECK_EQ(nlc_sock_portid(NULL), 0);
    CHECK_EQ(nlc_sock_set_timeout(NULL, 1000), EINV);
    CHECK_EQ(nlc_sock_sendmsg_count(NULL), 0);
    CHECK_EQ(nlc_sock_exec(NULL, NULL, res), EINV);
    CHECK_EQ(nlc_link_dump(NULL, links, 1), EINV);
    CHECK_EQ(nlc_addr_dump(NULL, 0, addrs, 1), EINV);
    CHECK_EQ(nlc_route_dump(NULL, 0, routes, 1), EINV);
    CHECK_EQ(nlc_parse_link(NULL, 64, links), EINV);
    CHECK_EQ(nlc_parse_link(parse_buf.b, sizeof(parse_buf.b), NULL), EINV);
    CHECK_EQ(nlc_parse_addr(NULL, 64, addrs), EINV);
    CHECK_EQ(nlc_parse_addr(parse_buf.b, sizeof(parse_buf.b), NULL), EINV);
    CHECK_EQ(nlc_parse_route(NULL, 64, routes), EINV);
    CHECK_EQ(nlc_parse_route(parse_buf.b, sizeof(parse_buf.b), NULL), EINV);
    CHECK_EQ(nlc_parse_acks(NULL, 0, 0, 0, 1, res), EINV);
    CHECK_EQ(nlc_parse_acks(parse_buf.b, sizeof(parse_buf.b), 0, 0, 1, NULL),
             EINV);
    CHECK_EQ(nlc_parse_acks(parse_buf.b, 0, 0, 0, 0, NULL), 0);
    CHECK_EQ(nlc_netns_create(NULL, 1, 0, NULL, NULL, errs), EINV);
    CHECK_EQ(nlc_netns_create(paths, 1, 0, NULL, NULL, NULL), EINV);
    CHECK_EQ(nlc_netns_delete(NULL, 1, errs), EINV);
    CHECK_EQ(nlc_netns_delete(paths, 1, NULL), EINV);
    CHECK_EQ(nlc_netns_open(NULL), EINV);
    CHECK_EQ(nlc_sock_open_at(NULL, 1, 0, socks, errs), EINV);
    CHECK_EQ(nlc_sock_open_at(fds, 1, 0, NULL, errs), EINV);
    CHECK_EQ(nlc_sock_open_at(fds, 1, 0, socks, NULL), EINV);
}

static void
test_bitmap(void)
{
    struct nlc_bitmap *bm = NULL;
    struct nlc_bitmap_req req = { NULL, 0, 0, 0 };
    uint64_t out[1];
    uint8_t buf[64];

    CHECK_EQ(nlc_bitmap_new(NULL, 10), EINV);
    nlc_bitmap_free(NULL);
    CHECK_EQ(nlc_bitmap_last(NULL), 0);
    CHECK_EQ(nlc_bitmap_used(NULL), 0);
    CHECK_EQ(nlc_bitmap_cursor(NULL), 0);
    CHECK_EQ(nlc_bitmap_alloc(NULL, 0, 0, 0), (long long)UINT64_MAX);
    CHECK_EQ(nlc_bitmap_alloc_req(NULL), (long long)UINT64_MAX);
    CHECK_EQ(nlc_bitmap_alloc_req(&req), (long long)UINT64_MAX);
    CHECK_EQ(nlc_bitmap_error(NULL), EINV);
    CHECK_EQ(nlc_bitmap_alloc_many(NULL, 1, 0, 0, 0, out), EINV);
    CHECK_EQ(nlc_bitmap_set(NULL, 0), EINV);
    CHECK_EQ(nlc_bitmap_release(NULL, 0), EINV);
    CHECK_EQ(nlc_bitmap_test(NULL, 0), EINV);
    CHECK_EQ(nlc_bitmap_size_bytes(NULL), 0);
    CHECK_EQ(nlc_bitmap_to_bytes(NULL, buf, sizeof(buf)), EINV);
    CHECK_EQ(nlc_bitmap_from_bytes(NULL, buf, sizeof(buf)), EINV);
    CHECK_EQ(nlc_bitmap_from_bytes(&bm, NULL, 0), EINV);

    /* NULL beside a real bitmap: out for a count, buf for bytes */
    CHECK_EQ(nlc_bitmap_new(&bm, 63), 0);
    if (!bm)
        return;
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 1, 0, 0, 63, NULL), EINV);
    CHECK_EQ(nlc_bitmap_alloc_many(bm, 0, 0, 0, 63, NULL), 0);
    CHECK_EQ(nlc_bitmap_used(bm), 0);
    CHECK_EQ(nlc_bitmap_to_bytes(bm, NULL, 4096), EINV);
    nlc_bitmap_free(bm);
}

int
main(void)
{
    test_batch();
    test_nft();
    test_sock_and_netns();
    test_bitmap();
    return check_done("test_null");
}
