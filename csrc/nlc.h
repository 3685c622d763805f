/*
 * nlc.h - the one public header of libnetwork's C core.
 *
 * Four concerns live behind it:
 *
 *   batch  : netlink request builders that append messages to a
 *            caller-owned buffer (pure: no syscalls);
 *   sock   : netlink sockets, one sendmsg per batch (split only where the
 *            socket buffers force it), acks matched by sequence number
 *            into one result per request, dumps;
 *   netns  : network namespaces created, opened and deleted, and sockets
 *            opened inside them, without ever moving the calling thread
 *            (a short-lived helper thread does every setns/unshare and is
 *            the only thread that switches);
 *   bitmap : a sparse 64-ary bitmap over an ordinal range of up to 2^64.
 *
 * Error contract: every function returning int returns >= 0 on success and
 * -errno on failure; nothing prints, exits or relies on the global errno.
 *
 * The region between the cdef markers below is read verbatim by the cffi
 * generator (csrc/gen_ffi.py), so the binding can never drift from this
 * header: keep it free of preprocessor lines; NLC_WUR is stripped there.
 */
#ifndef NLC_H
#define NLC_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define NLC_WUR __attribute__((warn_unused_result))
#else
#define NLC_WUR
#endif

/* cdef-begin */

/* ---------------------------------------------------------------- batch */

#define NLC_ERRMSG_MAX 128

/*
 * A batch of netlink requests in a caller-owned buffer.  Fields are public
 * so that the caller can allocate the struct itself; treat them as
 * read-only and use the functions below.
 */
struct nlc_batch {
    uint8_t *buf;       /* caller-owned storage                       */
    size_t cap;         /* its size in bytes                          */
    size_t len;         /* bytes used by complete messages            */
    uint32_t count;     /* number of complete messages                */
    uint32_t flags;     /* NLC_BATCH_* (internal state)               */
};

/* One result per request of a batch, filled by nlc_sock_exec(). */
struct nlc_result {
    int32_t err;                  /* 0 or -errno from the kernel's ack     */
    int32_t value;                /* reply value (ifindex for link gets)    */
    char msg[NLC_ERRMSG_MAX];     /* extended-ack text, "" when none        */
};

/* buf must be 4-byte aligned (netlink alignment; cffi and malloc buffers
 * are). */
void nlc_batch_init(struct nlc_batch *b, void *buf, size_t cap);
void nlc_batch_reset(struct nlc_batch *b);

/*
 * Request builders.  Each appends exactly one message carrying
 * NLM_F_REQUEST | NLM_F_ACK and returns its index in the batch, or
 * -EMSGSIZE (nothing appended) when the buffer is too small, or -EINVAL for
 * an argument the kernel could never accept (NULL where a name is needed).
 *
 * Conventions: a link is named by ifindex (> 0) or, when index is 0, by
 * name; "unset" is 0 for mtu, NULL for pointers, -1 for tri-state ints
 * (up: -1 unset, 0 down, 1 up; master: -1 unset, 0 no master, > 0 ifindex;
 * nsfd: -1 unset) and < 0 for group.  MACs are 6 bytes.
 */

/* ip link add NAME [mtu M] [address MAC] [group G] [up] type bridge */
int nlc_link_add_bridge(struct nlc_batch *b, const char *name, uint32_t mtu,
                        const uint8_t *mac, int up, int64_t group) NLC_WUR;

/*
 * ip link add NAME [master M] [mtu M] [address MAC] [group G] [up]
 *     [numtxqueues Q numrxqueues Q]
 *     type veth peer name PEER [netns NSFD] [mtu M] [address MAC]
 *     [numtxqueues Q numrxqueues Q]
 * The peer is created directly in the namespace nsfd (-1: the socket's
 * namespace) with its final name, MAC and MTU.  It cannot be brought up in
 * the same request (the kernel opens a veth only once both ends are linked:
 * ENOTCONN); set it up in its own namespace's batch.  queues: 0 for the
 * kernel's default (one per possible CPU, all but one then switched off at
 * the cost of an RCU grace period per end), else 1..NLC_MAX_QUEUES.
 */
int nlc_link_add_veth(struct nlc_batch *b, const char *name, int master,
                      uint32_t mtu, const uint8_t *mac, int up, int64_t group,
                      const char *peer_name, int peer_nsfd, uint32_t peer_mtu,
                      const uint8_t *peer_mac, uint32_t queues) NLC_WUR;

#define NLC_MAX_QUEUES 4096  /* the kernel's limit for numtx/rxqueues */

#define NLC_ADDRGEN_EUI64 0  /* IN6_ADDR_GEN_MODE_EUI64: the default */
#define NLC_ADDRGEN_NONE 1   /* IN6_ADDR_GEN_MODE_NONE: no link-local */

/*
 * ip link set {INDEX|NAME} [up|down] [master M|nomaster] [mtu M]
 *     [name NEW] [netns NSFD] [group G] [address MAC] [addrgenmode A]
 * addrgen: -1 unset, else NLC_ADDRGEN_*.  With NLC_ADDRGEN_NONE and up in
 * the same request the link comes up without an IPv6 link-local address:
 * no address, no DAD, no MLD (most of the kernel's cost of bringing a veth
 * up).  The kernel refuses it at creation (EAFNOSUPPORT), hence here.
 */
int nlc_link_set(struct nlc_batch *b, int index, const char *name, int up,
                 int master, uint32_t mtu, const char *new_name, int nsfd,
                 int64_t group, const uint8_t *mac, int addrgen) NLC_WUR;

/* ip link del {INDEX|NAME} */
int nlc_link_del(struct nlc_batch *b, int index, const char *name) NLC_WUR;

/* ip link del group G: the kernel's bulk path (one RCU grace period). */
int nlc_link_del_group(struct nlc_batch *b, uint32_t group) NLC_WUR;

/* ip link show NAME: the reply's ifindex lands in nlc_result.value. */
int nlc_link_get(struct nlc_batch *b, int index, const char *name) NLC_WUR;

#define NLC_ADDR_NODAD 0x02   /* IFA_F_NODAD */

/*
 * ip addr {add|del} ADDR/PLEN dev INDEX [nodad]
 * family is AF_INET (addr 4 bytes) or AF_INET6 (16 bytes).  For IPv4 with a
 * prefix shorter than /31 the broadcast address is set, as iproute2's
 * "brd +" and vishvananda/netlink do.
 */
int nlc_addr_add(struct nlc_batch *b, int index, int family,
                 const uint8_t *addr, uint8_t prefixlen,
                 uint32_t flags) NLC_WUR;
int nlc_addr_del(struct nlc_batch *b, int index, int family,
                 const uint8_t *addr, uint8_t prefixlen) NLC_WUR;

#define NLC_ROUTE_ONLINK 0x04 /* RTNH_F_ONLINK */

/*
 * ip route {add|del} {DST/LEN|default} [via GW] [dev OIF] [onlink]
 *     [metric P] [table T]
 * dst NULL means the default route (dst_len must be 0); gw NULL means a
 * directly connected (scope link) route, which needs oif; table 0 means
 * main.  On delete, unset fields are wildcards as in the kernel.
 */
int nlc_route_add(struct nlc_batch *b, int family, const uint8_t *dst,
                  uint8_t dst_len, const uint8_t *gw, int oif, uint32_t flags,
                  uint32_t priority, uint32_t table) NLC_WUR;
int nlc_route_del(struct nlc_batch *b, int family, const uint8_t *dst,
                  uint8_t dst_len, const uint8_t *gw, int oif,
                  uint32_t priority, uint32_t table) NLC_WUR;

/* ----------------------------------------------------------------- sock */

struct nlc_sock;

/* Opens a netlink socket (NETLINK_ROUTE = 0, NETLINK_NETFILTER = 12) in the
 * calling thread's namespace, with extended acks, capped acks and large
 * buffers.  -errno from socket/bind/getsockname. */
int nlc_sock_open(struct nlc_sock **out, int protocol) NLC_WUR;

void nlc_sock_close(struct nlc_sock *s);
int nlc_sock_fd(const struct nlc_sock *s);
uint32_t nlc_sock_portid(const struct nlc_sock *s);

/*
 * Sends every message of the batch (sequence numbers assigned here) and
 * collects one ack per message into res[0 .. b->count).  Returns the number
 * of failed requests (0: all succeeded), or -errno for a transport failure,
 * in which case every request without an ack has err set to that value:
 * -ENOBUFS (acks dropped by the kernel: state unknown), -EPROTO (a reply
 * with an unexpected sequence number), -ESRCH (a reply for another port),
 * -EBADMSG (a malformed reply), or the errno of sendmsg/recvmsg.
 */
int nlc_sock_exec(struct nlc_sock *s, struct nlc_batch *b,
                  struct nlc_result *res) NLC_WUR;

struct nlc_link {
    int32_t index;
    int32_t master;         /* 0: none                                   */
    int32_t link;           /* IFLA_LINK (veth peer's ifindex), 0: none   */
    int32_t link_netnsid;   /* -1: same namespace                          */
    uint32_t mtu;
    uint32_t flags;         /* IFF_*                                       */
    uint32_t group;
    uint8_t mac_len;
    uint8_t mac[32];
    char name[16];
    char kind[16];          /* IFLA_INFO_KIND, "" when none               */
    /* IFLA_STATS64 (zero when absent), in rtnl_link_stats64 order */
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_errors, tx_errors, rx_dropped, tx_dropped;
};

struct nlc_addr {
    int32_t index;
    uint8_t family;
    uint8_t prefixlen;
    uint8_t scope;
    uint32_t flags;         /* IFA_FLAGS when present, else ifa_flags      */
    uint8_t addr[16];       /* IFA_ADDRESS (peer) or IFA_LOCAL            */
    uint8_t local[16];      /* IFA_LOCAL, or IFA_ADDRESS when absent       */
    char label[16];
};

struct nlc_route {
    uint8_t family;
    uint8_t dst_len;
    uint8_t protocol;
    uint8_t scope;
    uint8_t type;
    uint8_t has_gateway;
    uint32_t table;
    uint32_t flags;         /* rtm_flags (RTNH_F_ONLINK ...)               */
    int32_t oif;
    uint32_t priority;
    uint8_t dst[16];
    uint8_t gateway[16];
};

/*
 * Dumps.  Each fills out[0 .. min(total, cap)) and returns the total number
 * of objects the kernel reported (call again with a larger array when it
 * exceeds cap), or -errno: -EINTR when the dump was interrupted by a
 * concurrent change (NLM_F_DUMP_INTR; retry), -EPROTO/-ESRCH/-EBADMSG as
 * for nlc_sock_exec.  family: AF_UNSPEC (0), AF_INET or AF_INET6.
 * Routes are those of every table; filter in the caller.
 */
int nlc_link_dump(struct nlc_sock *s, struct nlc_link *out,
                  size_t cap) NLC_WUR;
int nlc_addr_dump(struct nlc_sock *s, int family, struct nlc_addr *out,
                  size_t cap) NLC_WUR;
int nlc_route_dump(struct nlc_sock *s, int family, struct nlc_route *out,
                   size_t cap) NLC_WUR;

/* ---------------------------------------------------------------- netns */

/*
 * Creates n network namespaces, each bound at paths[i] (a file that must
 * not exist, in an existing directory), on a helper thread (on one per
 * online CPU for a large batch of distinct paths).  When fds is
 * not NULL, fds[i] receives an O_CLOEXEC descriptor of the namespace; when
 * socks is not NULL, socks[i] receives a netlink socket of `protocol`
 * opened inside it.  errs[i] is 0 or -errno; a failed entry leaves no file,
 * mount, descriptor or socket behind.  Returns the number created, or
 * -errno when the helper thread could not run (nothing was created).
 * The calling thread's namespace never changes.
 */
int nlc_netns_create(const char *const *paths, size_t n, int protocol,
                     int *fds, struct nlc_sock **socks, int *errs) NLC_WUR;

/* Detaches (MNT_DETACH) and unlinks each path.  errs[i] is 0 or -errno.
 * Returns the number deleted. */
int nlc_netns_delete(const char *const *paths, size_t n, int *errs) NLC_WUR;

/* Opens a namespace file: an O_CLOEXEC fd, or -errno. */
int nlc_netns_open(const char *path) NLC_WUR;

/* Opens one socket inside each namespace nsfds[i], on a helper thread, so
 * the calling thread never changes namespace.  errs[i] is 0 or -errno and
 * socks[i] is NULL on failure.  Returns the number opened, or -errno when
 * the helper thread could not run (then nothing is opened). */
int nlc_sock_open_at(const int *nsfds, size_t n, int protocol,
                     struct nlc_sock **socks, int *errs) NLC_WUR;

/* ---------------------------------------------------------------- bitmap */
/* cdef-bitmap: gen_ffi.py --bitmap binds from here to cdef-end */

/*
 * A sparse bitmap over the ordinals [0, size) with size up to 2^64, stored
 * as `last` = size - 1.  Memory is proportional to the ordinals in use;
 * every operation is O(log64 size).  Not thread-safe: one caller at a time.
 *
 * Ranges are inclusive: [lo, hi] with lo <= hi <= last.
 * Errors: -EINVAL (bad range or ordinal), -ENOSPC (no free ordinal in the
 * range: "exhausted"), -EEXIST (ordinal already allocated), -ENOENT
 * (release of a free ordinal), -ENOMEM.
 */
struct nlc_bitmap;

int nlc_bitmap_new(struct nlc_bitmap **out, uint64_t last) NLC_WUR;
void nlc_bitmap_free(struct nlc_bitmap *bm);
uint64_t nlc_bitmap_last(const struct nlc_bitmap *bm);
/* Number of allocated ordinals (a free count is last + 1 - used). */
uint64_t nlc_bitmap_used(const struct nlc_bitmap *bm);
/* The next-fit cursor: where the next serial search starts. */
uint64_t nlc_bitmap_cursor(const struct nlc_bitmap *bm);

/*
 * Allocates the first free ordinal in [lo, hi] (serial = 0), or the first
 * free at or after the cursor, wrapping to lo (serial = 1; the cursor is
 * used only when lo <= cursor <= hi, else the search starts at lo).  Every
 * successful allocate or allocate_many (either mode) sets the cursor to the
 * ordinal after the last one handed out (0 after `last`).
 * Returns the ordinal; on failure returns UINT64_MAX and the error is
 * readable with nlc_bitmap_error() (UINT64_MAX is also a valid ordinal of a
 * 2^64 bitmap, so check the error only when UINT64_MAX comes back).
 * This shape keeps the Python fast path at one foreign call.
 */
uint64_t nlc_bitmap_alloc(struct nlc_bitmap *bm, int serial, uint64_t lo,
                          uint64_t hi);
/* 0 after a successful nlc_bitmap_alloc, else its -errno. */
int nlc_bitmap_error(const struct nlc_bitmap *bm);

/*
 * One allocation request, to be repeated: nlc_bitmap_alloc_req(req) is
 * nlc_bitmap_alloc(req->bm, req->serial, req->lo, req->hi).  An IPAM pool
 * asks with the same arguments every time, and a binding passes one
 * pointer much faster than four arguments (cffi: one argument avoids the
 * argument tuple), so the fast path builds the request once and keeps it.
 * The request is the caller's memory and only read.
 */
struct nlc_bitmap_req {
    struct nlc_bitmap *bm;
    int serial;
    uint64_t lo;
    uint64_t hi;
};
uint64_t nlc_bitmap_alloc_req(const struct nlc_bitmap_req *req);

/* Allocates count ordinals into out[] exactly as count calls of
 * nlc_bitmap_alloc would, or none at all (-ENOSPC, state unchanged). */
int nlc_bitmap_alloc_many(struct nlc_bitmap *bm, uint64_t count, int serial,
                          uint64_t lo, uint64_t hi, uint64_t *out) NLC_WUR;
int nlc_bitmap_set(struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;
int nlc_bitmap_release(struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;
/* 1 if allocated, 0 if free, -EINVAL out of range. */
int nlc_bitmap_test(const struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;

/*
 * Serialization (format in bitmap_codec.c; identical to the pure-Python
 * twin).
 * nlc_bitmap_size_bytes() gives the exact length nlc_bitmap_to_bytes()
 * writes; to_bytes returns that length or -EMSGSIZE if cap is smaller.
 * from_bytes validates everything and returns -EINVAL for bad data.
 */
size_t nlc_bitmap_size_bytes(const struct nlc_bitmap *bm);
int64_t nlc_bitmap_to_bytes(const struct nlc_bitmap *bm, uint8_t *buf,
                            size_t cap) NLC_WUR;
int nlc_bitmap_from_bytes(struct nlc_bitmap **out, const uint8_t *buf,
                          size_t len) NLC_WUR;

/* cdef-end */

#endif /* NLC_H */
