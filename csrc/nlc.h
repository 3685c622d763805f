/*
 * nlc.h - the one public header of libnetwork's C core.
 *
 * Six concerns live behind it:
 *
 *   batch  : netlink request builders that append messages to a
 *            caller-owned buffer (pure: no syscalls);
 *   sock   : netlink sockets, one sendmsg per batch (split only where the
 *            socket buffers force it), acks matched by sequence number
 *            into one result per request, dumps;
 *   nft    : nftables builders (pure, as batch's) and transactions, each
 *            sent in one sendmsg and applied by the kernel whole or not
 *            at all;
 *   parse  : the pure parsers of the kernel's replies (dump records, acks)
 *            that the socket paths run on every message they receive,
 *            exported so that they can be tested without a socket;
 *   netns  : network namespaces created, opened and deleted, and sockets
 *            opened inside them, without ever moving the calling thread
 *            (a short-lived helper thread does every setns/unshare and is
 *            the only thread that switches);
 *   bitmap : a sparse 64-ary bitmap over an ordinal range of up to 2^64.
 *
 * Every exported function is documented here, once; the source files say
 * how, not what.
 *
 * Error contract: every function returning int returns >= 0 on success and
 * -errno on failure; nothing prints, exits or relies on the global errno.
 *
 * NULL contract, for every entry point: a NULL where a pointer is required
 * is never dereferenced.  A function returning int (or int64_t) returns
 * -EINVAL for it and does nothing; a function without an error return does
 * nothing (void) or returns 0 (the accessors); the bitmap's allocation fast
 * path returns UINT64_MAX (and nlc_bitmap_error(NULL) is -EINVAL).
 * Pointers that may be NULL say so ("or NULL") where they are documented.
 *
 * The region between the cdef markers below is read verbatim by the cffi
 * generator (csrc/gen_ffi.py), so the binding can never drift from this
 * header: keep it free of preprocessor lines but integer #defines; NLC_WUR
 * is stripped there.  libnetwork._native binds cdef-begin .. cdef-bitmap,
 * libnetwork._bitmap cdef-bitmap .. cdef-end.
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
    size_t last;        /* offset of the last message (when count > 0) */
    uint32_t count;     /* number of complete messages                */
};

/* One result per request of a batch, filled by nlc_sock_exec(). */
struct nlc_result {
    int32_t err;                  /* 0 or -errno from the kernel's ack     */
    int32_t value;                /* ifi_index of an RTM_NEWLINK reply (a
                                     link get, an echoed creation), else 0 */
    int32_t link;                 /* that reply's IFLA_LINK (a veth's peer
                                     ifindex, in the peer's namespace),
                                     0 when absent                         */
    char msg[NLC_ERRMSG_MAX];     /* extended-ack text, "" when none        */
};

/*
 * nlc_batch_init - an empty batch over buf[0 .. cap).  buf must be 4-byte
 * aligned (netlink alignment; cffi and malloc buffers are); NULL gives a
 * batch with no room (every builder then returns -EMSGSIZE).
 * nlc_batch_reset - empties the batch, keeping its buffer.
 */
void nlc_batch_init(struct nlc_batch *b, void *buf, size_t cap);
void nlc_batch_reset(struct nlc_batch *b);

/*
 * nlc_batch_echo - asks the kernel to echo the last message of the batch
 * (NLM_F_ECHO): for a link creation, nlc_sock_exec() then fills the
 * request's result with the new link's ifindex (value) and IFLA_LINK
 * (link) from the echoed RTM_NEWLINK.  The kernel echoes to the sending
 * socket only what it creates in that socket's namespace.
 * Returns 0, or -EINVAL when the batch is empty.
 */
int nlc_batch_echo(struct nlc_batch *b) NLC_WUR;

#define NLC_ALIAS_MAX 128    /* the longest alias kept (IFALIASZ is 256) */

/*
 * nlc_batch_alias - gives the link of the last message of the batch (an
 * RTM_NEWLINK or RTM_SETLINK) the alias `alias` (IFLA_IFALIAS, as
 * `ip link set LINK alias ALIAS`): 1 to NLC_ALIAS_MAX - 1 bytes, no NUL.
 * The kernel applies it only to an existing link (RTM_SETLINK, or
 * RTM_NEWLINK without NLM_F_CREATE); a creation ignores it.
 * Returns 0, -EINVAL (empty batch, another message type, a bad alias) or
 * -EMSGSIZE (no room: the batch is unchanged).
 */
int nlc_batch_alias(struct nlc_batch *b, const char *alias) NLC_WUR;

/*
 * Request builders.  Each appends exactly one message carrying
 * NLM_F_REQUEST | NLM_F_ACK (sequence number and port 0: nlc_sock_exec()
 * writes them) and returns its index in the batch, or -EMSGSIZE (nothing
 * appended) when the buffer is too small, or -EINVAL for an argument the
 * kernel could never accept (NULL where a name is needed, a bad length,
 * mode or range).
 *
 * Conventions: a link is named by ifindex (> 0) or, when index is 0, by
 * name; names are 1..15 bytes; "unset" is 0 for mtu, NULL for pointers,
 * -1 for tri-state ints (up: -1 unset, 0 down, 1 up; master: -1 unset, 0
 * no master, > 0 ifindex; nsfd: -1 unset) and < 0 for group (else a u32).
 * MACs are 6 bytes.
 */

/*
 * ip link add NAME [mtu M] [address MAC] [group G] [up] type bridge
 * up: 1 creates it up, anything else leaves it down.
 */
int nlc_link_add_bridge(struct nlc_batch *b, const char *name, uint32_t mtu,
                        const uint8_t *mac, int up, int64_t group) NLC_WUR;

/*
 * ip link add NAME [master M] [mtu M] [address MAC] [group G] [up]
 *     [numtxqueues Q numrxqueues Q]
 *     type veth peer name PEER [netns NSFD] [mtu M] [address MAC]
 *     [numtxqueues Q numrxqueues Q]
 * The peer is created directly in the namespace peer_nsfd (-1: beside the
 * host end) with its final name, MAC and MTU; master <= 0 means none.  The
 * peer cannot be brought up in the same request (the kernel opens a veth
 * only once both ends are linked: ENOTCONN); set it up in its own
 * namespace's batch.  queues: tx and rx queues of each end, 0 for the
 * kernel's default (one per possible CPU, all but one of which veth then
 * switches off again, waiting for an RCU grace period per end to do so),
 * else 1..NLC_MAX_QUEUES.
 */
int nlc_link_add_veth(struct nlc_batch *b, const char *name, int master,
                      uint32_t mtu, const uint8_t *mac, int up, int64_t group,
                      const char *peer_name, int peer_nsfd, uint32_t peer_mtu,
                      const uint8_t *peer_mac, uint32_t queues) NLC_WUR;

#define NLC_MAX_QUEUES 4096  /* the kernel's limit for numtx/rxqueues */

/*
 * Links stacked on a parent (IFLA_LINK = parent_index, > 0, resolved in
 * the namespace the request is sent in).  With nsfd >= 0 the link is born
 * in that namespace (IFLA_NET_NS_FD) under its final name; the kernel then
 * echoes nothing to the sender.  up: 1 creates it up, else down.
 *
 * ip link add NAME link PARENT [netns NSFD] [address MAC] [mtu M]
 *     [group G] [up] type macvlan mode MODE
 * mode: MACVLAN_MODE_* (1 private, 2 vepa, 4 bridge, 8 passthru,
 * 16 source); anything else is -EINVAL.
 */
int nlc_link_add_macvlan(struct nlc_batch *b, const char *name,
                         int parent_index, uint32_t mode, int nsfd,
                         const uint8_t *mac, uint32_t mtu, int64_t group,
                         int up) NLC_WUR;

/*
 * ip link add NAME link PARENT [netns NSFD] [mtu M] [group G] [up]
 *     type ipvlan mode MODE
 * mode: IPVLAN_MODE_* (0 l2, 1 l3, 2 l3s); anything else is -EINVAL.
 */
int nlc_link_add_ipvlan(struct nlc_batch *b, const char *name,
                        int parent_index, uint32_t mode, int nsfd,
                        uint32_t mtu, int64_t group, int up) NLC_WUR;

/*
 * ip link add NAME link PARENT [mtu M] [group G] [up] type vlan id VID
 * vid: 0..4094 (802.1Q); anything else is -EINVAL.
 */
int nlc_link_add_vlan(struct nlc_batch *b, const char *name,
                      int parent_index, uint32_t vid, uint32_t mtu,
                      int64_t group, int up) NLC_WUR;

#define NLC_ADDRGEN_EUI64 0  /* IN6_ADDR_GEN_MODE_EUI64: the default */
#define NLC_ADDRGEN_NONE 1   /* IN6_ADDR_GEN_MODE_NONE: no link-local */

/*
 * ip link set {INDEX|NAME} [up|down] [master M|nomaster] [mtu M]
 *     [name NEW] [netns NSFD] [group G] [address MAC] [addrgenmode A]
 * With index 0 the link is named by name, and new_name must be NULL (a
 * rename needs the index); with index > 0, name is ignored.  new_name:
 * rename, or NULL.  addrgen: -1 unset, else NLC_ADDRGEN_* (<= 255).  With
 * NLC_ADDRGEN_NONE and up in the same request the link comes up without
 * an IPv6 link-local address: no address, no DAD, no MLD (most of the
 * kernel's cost of bringing a veth up).  The kernel refuses it at creation
 * (EAFNOSUPPORT), hence here.
 */
int nlc_link_set(struct nlc_batch *b, int index, const char *name, int up,
                 int master, uint32_t mtu, const char *new_name, int nsfd,
                 int64_t group, const uint8_t *mac, int addrgen) NLC_WUR;

/*
 * ip link set {INDEX|NAME} type bridge_slave [hairpin {on|off}] [state S]:
 * the bridge port's options (IFLA_INFO_SLAVE_DATA, RTM_NEWLINK without
 * NLM_F_CREATE: a change of an existing link).  hairpin: 0 or 1
 * (IFLA_BRPORT_MODE): a frame may leave through the port it came in by,
 * which a connection from a container to its own published port needs.
 * state: 0 (disabled) .. 4 (blocking) (IFLA_BRPORT_STATE): a disabled
 * port forwards nothing, at once (setting a link down waits for an RCU
 * grace period).  -1: left as it is; one of the two must be given.
 * Index 0: by name, for the hairpin alone: a state is set by the bridge's
 * own setlink (RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO), which needs the
 * index (-EINVAL without).
 */
int nlc_link_set_brport(struct nlc_batch *b, int index, const char *name,
                        int hairpin, int state) NLC_WUR;

/* ip link del {INDEX|NAME} */
int nlc_link_del(struct nlc_batch *b, int index, const char *name) NLC_WUR;

/*
 * ip link del group G: the kernel's bulk path, one RCU grace period for
 * every member (and veth peers, wherever they are).  Group 0 is the
 * default group of every link and is refused (-EINVAL).
 */
int nlc_link_del_group(struct nlc_batch *b, uint32_t group) NLC_WUR;

/* ip link show {INDEX|NAME}: the reply's ifindex (and IFLA_LINK) land in
 * the request's nlc_result.  Statistics are not asked for. */
int nlc_link_get(struct nlc_batch *b, int index, const char *name) NLC_WUR;

#define NLC_ADDR_NODAD 0x02   /* IFA_F_NODAD */

/*
 * ip addr {add|del} ADDR/PLEN dev INDEX [nodad]
 * index > 0; family is AF_INET (addr 4 bytes) or AF_INET6 (16 bytes);
 * flags: NLC_ADDR_NODAD or 0.  For IPv4 with a prefix shorter than /31 the
 * broadcast address is set, as iproute2's "brd +" and vishvananda/netlink
 * do.
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
 * directly connected (scope link) route, which needs oif > 0; oif 0: none;
 * table 0 means main.  On delete, unset fields are wildcards as in the
 * kernel.
 */
int nlc_route_add(struct nlc_batch *b, int family, const uint8_t *dst,
                  uint8_t dst_len, const uint8_t *gw, int oif, uint32_t flags,
                  uint32_t priority, uint32_t table) NLC_WUR;
int nlc_route_del(struct nlc_batch *b, int family, const uint8_t *dst,
                  uint8_t dst_len, const uint8_t *gw, int oif,
                  uint32_t priority, uint32_t table) NLC_WUR;

/* ----------------------------------------------------------------- sock */

struct nlc_sock;

#define NLC_TIMEOUT_MS 30000  /* a new socket's receive timeout (pyroute2's) */

/*
 * nlc_sock_open - a netlink socket (NETLINK_ROUTE = 0, NETLINK_NETFILTER =
 * 12) in the calling thread's namespace, with extended acks, capped acks,
 * large buffers and a receive timeout of NLC_TIMEOUT_MS.  *out receives
 * the handle (NULL on failure).  Returns 0 or -errno from
 * socket/bind/getsockname.
 */
int nlc_sock_open(struct nlc_sock **out, int protocol) NLC_WUR;

/* nlc_sock_close - closes and frees the socket. */
void nlc_sock_close(struct nlc_sock *s);

/* nlc_sock_fd - the descriptor (for poll or getsockopt; do not read from
 * it), or -EINVAL. */
int nlc_sock_fd(const struct nlc_sock *s);

/* nlc_sock_portid - the port id the kernel bound the socket to. */
uint32_t nlc_sock_portid(const struct nlc_sock *s);

/*
 * nlc_sock_set_timeout - how long one receive waits for the kernel's
 * answer before the exchange fails with -ETIMEDOUT (SO_RCVTIMEO); 0 waits
 * forever.  Returns 0 or -errno from setsockopt.
 */
int nlc_sock_set_timeout(struct nlc_sock *s, uint32_t ms) NLC_WUR;

/* nlc_sock_sendmsg_count - the number of sendmsg calls made on the socket
 * so far: one per chunk of a batch, one per dump. */
uint64_t nlc_sock_sendmsg_count(const struct nlc_sock *s);

/*
 * nlc_sock_exec - sends every message of the batch (sequence numbers
 * assigned here) and collects one ack per message into
 * res[0 .. b->count) (res may be NULL for an empty batch).  The batch is
 * left intact and may be sent again.  Returns the number of failed
 * requests (0: all succeeded), or -errno: -EINVAL for a batch whose
 * messages do not fill exactly [0, len) (nothing is sent, res untouched),
 * or a failure, in which case every request without an ack has err set to
 * that value: -ENOMEM (nothing sent), -ENOBUFS (acks dropped by the kernel: state unknown), -ETIMEDOUT
 * (no answer within the socket's timeout), -EPROTO (a reply with an
 * unexpected sequence number), -ESRCH (a reply for another port), -EBADMSG
 * (a malformed reply), -EMSGSIZE (a truncated reply), or the errno of
 * sendmsg/recvmmsg.  What an interrupted exchange leaves queued is
 * discarded by the next one.
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
    char alias[NLC_ALIAS_MAX]; /* IFLA_IFALIAS ("" when none or longer)   */
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
 * Dumps: ip link show / ip addr show / ip route show table all, in the
 * socket's namespace.  Each fills out[0 .. min(total, cap)) (out may be
 * NULL to count only) and returns the total number of objects the kernel
 * reported (call again with a larger array when it exceeds cap), or
 * -errno: -EINTR when the dump was interrupted by a concurrent change
 * (NLM_F_DUMP_INTR; retry), -ETIMEDOUT/-EPROTO/-ESRCH/-EBADMSG as for
 * nlc_sock_exec, -EOVERFLOW past INT32_MAX objects.  family: AF_UNSPEC
 * (0), AF_INET or AF_INET6.  Routes are those of every table; filter in
 * the caller.
 */
int nlc_link_dump(struct nlc_sock *s, struct nlc_link *out,
                  size_t cap) NLC_WUR;
int nlc_addr_dump(struct nlc_sock *s, int family, struct nlc_addr *out,
                  size_t cap) NLC_WUR;
int nlc_route_dump(struct nlc_sock *s, int family, struct nlc_route *out,
                   size_t cap) NLC_WUR;

/*
 * nlc_link_get_one - ip link show NAME: the one link named name, in the
 * socket's namespace, into *out (a dump record).  0, -ENODEV when there is
 * none, -EINVAL for a bad name or NULL argument, or -errno as for a dump.
 * Unlike a dump, its cost does not grow with the links of the namespace.
 */
int nlc_link_get_one(struct nlc_sock *s, const char *name,
                     struct nlc_link *out) NLC_WUR;

/* ---------------------------------------------------------------- parse */

/*
 * The reply parsers of the dumps and of nlc_sock_exec(), as pure
 * functions over caller-owned bytes (no syscalls): the socket paths call
 * these very functions on what they receive.  They read nothing outside
 * the len bytes given, whatever those bytes say.  The bytes must start
 * 4-byte aligned (netlink alignment, as receive buffers and malloc's
 * blocks are): -EINVAL otherwise, nothing read.
 */

/*
 * nlc_parse_link / nlc_parse_addr / nlc_parse_route - one message
 * msg[0 .. len) (nlmsghdr, then the family header and attributes up to its
 * nlmsg_len; bytes past nlmsg_len are not read) into *out, as a dump
 * record: RTM_NEWLINK (ifinfomsg), RTM_NEWADDR (ifaddrmsg), RTM_NEWROUTE
 * (rtmsg) respectively.  Unknown attributes are skipped, short ones read
 * as absent or zero, long ones are cut to their field; strings are always
 * NUL-terminated inside their arrays; a malformed IFLA_LINKINFO nest only
 * leaves kind "".  Returns 0 (*out filled), 1 (a well-framed message of
 * another type: *out untouched), -EBADMSG (malformed: len shorter than a
 * header, nlmsg_len shorter than a header or longer than len, a family
 * header cut short, attributes overrunning the message; *out untouched)
 * or -EINVAL (NULL msg or out, msg misaligned).  The dumps count a 1 as
 * -EBADMSG.
 */
int nlc_parse_link(const uint8_t *msg, size_t len,
                   struct nlc_link *out) NLC_WUR;
int nlc_parse_addr(const uint8_t *msg, size_t len,
                   struct nlc_addr *out) NLC_WUR;
int nlc_parse_route(const uint8_t *msg, size_t len,
                    struct nlc_route *out) NLC_WUR;

/* nlc_result.err of a request whose ack has not been seen (a value no ack
 * can leave there: acks leave 0 or -errno) */
#define NLC_ACK_PENDING 0x7fffffff

/*
 * nlc_parse_acks - the messages of one received datagram buf[0 .. len),
 * replies to the n requests with sequence numbers seq_base ..
 * seq_base + n - 1 sent from port portid, into their results res[0 .. n)
 * (nlc_sock_exec's demultiplexer; the result of sequence number q is
 * res[q - seq_base], modulo 2^32).  Set every res[i].err to
 * NLC_ACK_PENDING before the first datagram of an exchange.  Messages are
 * taken in order, each at a 4-byte aligned offset:
 *   NLMSG_ERROR (an ack): err = its error as 0 or -errno, msg = its
 *     extended-ack text (NLMSGERR_ATTR_MSG; left "" when the TLVs are
 *     absent or malformed, cleared when err is 0);
 *   RTM_NEWLINK with at least an ifinfomsg (a link get's reply, an echo):
 *     value = ifi_index, link = IFLA_LINK or 0;
 *   anything else: skipped.
 * Returns the number of acks taken (>= 0), or at the first bad message
 * (the results of the messages before it are kept): -EBADMSG (shorter
 * than a header, nlmsg_len outside [header, rest of the datagram], an
 * NLMSG_ERROR too short for nlmsgerr, an RTM_NEWLINK whose attributes
 * overrun it), -ESRCH (nlmsg_pid is not portid), -EPROTO (a sequence
 * number outside the n, or a second ack for one request); -EINVAL for a
 * NULL buf, a NULL res with n > 0 or a misaligned buf.
 */
int nlc_parse_acks(const uint8_t *buf, size_t len, uint32_t portid,
                   uint32_t seq_base, uint32_t n,
                   struct nlc_result *res) NLC_WUR;

/* ---------------------------------------------------------------- netns */

/*
 * nlc_netns_create - creates n network namespaces, each bound at paths[i]
 * (a file that must not exist, in an existing directory), on a helper
 * thread (on one per online CPU, up to 8, for a large batch of distinct
 * paths).  When fds is not NULL, fds[i] receives an O_CLOEXEC descriptor
 * of the namespace; when socks is not NULL, socks[i] receives a netlink
 * socket of `protocol` opened inside it (as nlc_sock_open).  errs[i] is 0
 * or -errno; a failed entry leaves no file, mount, descriptor or socket
 * behind.  Returns the number created, or -errno when the helper thread
 * could not run (nothing was created).  The calling thread's namespace
 * never changes.
 */
int nlc_netns_create(const char *const *paths, size_t n, int protocol,
                     int *fds, struct nlc_sock **socks, int *errs) NLC_WUR;

/*
 * nlc_netns_delete - detaches (MNT_DETACH) and unlinks each path; a path
 * that is a plain file (a namespace whose bind mount is already gone) is
 * unlinked too.  Each detach waits for an RCU grace period; a large batch
 * of distinct paths is shared by helpers as for creation, so that the
 * waits overlap (when no helper can start, the calling thread does it
 * all: nothing here changes namespace).  errs[i] is 0 or -errno.  Returns
 * the number deleted.
 */
int nlc_netns_delete(const char *const *paths, size_t n, int *errs) NLC_WUR;

/* nlc_netns_open - an O_CLOEXEC descriptor of the namespace file at path,
 * or -errno. */
int nlc_netns_open(const char *path) NLC_WUR;

/*
 * nlc_sock_open_at - opens one netlink socket (as nlc_sock_open) inside
 * each namespace nsfds[i], on a helper thread, so the calling thread never
 * changes namespace.  errs[i] is 0 or -errno and socks[i] is NULL on
 * failure.  Returns the number opened, or -errno when the helper thread
 * could not run (then nothing is opened).
 */
int nlc_sock_open_at(const int *nsfds, size_t n, int protocol,
                     struct nlc_sock **socks, int *errs) NLC_WUR;

/* ------------------------------------------------------------------ nft */

/*
 * nftables over nfnetlink (NETLINK_NETFILTER sockets): a transaction is
 * one batch holding nlc_nft_begin(), the messages of the builders below,
 * and nlc_nft_end(), sent with nlc_nft_exec() in one sendmsg; the kernel
 * applies all of it or none of it.
 *
 * The builders follow the conventions of the request builders above: each
 * appends one message (NLM_F_REQUEST | NLM_F_ACK; sequence number and port
 * 0) and returns its index, or -EMSGSIZE (nothing appended) or -EINVAL.
 * family is an NFPROTO_* value (1 inet, 2 ip, 3 arp, 5 netdev, 7 bridge,
 * 10 ip6); names (tables, chains, sets) are 1..NLC_NFT_NAME_MAX - 1 bytes.
 * Numbers are written in network byte order where the kernel wants them.
 */

#define NLC_NFT_NAME_MAX 256     /* NFT_NAME_MAXLEN, with the NUL          */
#define NLC_NFT_COMMENT_MAX 128  /* nft's comment limit, with the NUL      */
#define NLC_NFT_DATA_MAX 64      /* NFT_DATA_VALUE_MAXLEN: a value's bytes */
#define NLC_NFT_FIELDS_MAX 16    /* NFT_REG32_COUNT: concatenated fields   */
#define NLC_NFT_EXPRS_MAX 128    /* NFT_RULE_MAXEXPRS: a rule's expressions */

/*
 * nlc_nft_begin / nlc_nft_end - NFNL_MSG_BATCH_BEGIN / _END of the
 * nftables subsystem (nfgenmsg res_id NFNL_SUBSYS_NFTABLES, network byte
 * order; NLM_F_REQUEST only: the kernel acknowledges neither).
 */
int nlc_nft_begin(struct nlc_batch *b) NLC_WUR;
int nlc_nft_end(struct nlc_batch *b) NLC_WUR;

/*
 * nft add table FAMILY NAME [{ comment "COMMENT" }]
 * NLM_F_CREATE without NLM_F_EXCL: adding an existing table is no error.
 * comment: NULL or "" for none, else up to NLC_NFT_COMMENT_MAX - 1 bytes,
 * kept as the table's user data in nft's TLV form (so that nft shows it).
 */
int nlc_nft_table_add(struct nlc_batch *b, uint8_t family, const char *name,
                      const char *comment) NLC_WUR;

/*
 * nft delete table FAMILY NAME (with everything in it); destroy 1: nft
 * destroy table (NFT_MSG_DESTROYTABLE, Linux 6.3: no error when absent)
 */
int nlc_nft_table_del(struct nlc_batch *b, uint8_t family,
                      const char *name, int destroy) NLC_WUR;

/*
 * nft add chain FAMILY TABLE NAME
 *     [{ type TYPE hook HOOK priority PRIORITY; [policy POLICY;] }]
 * hook: -1 for a regular chain (type, priority and policy are then not
 * sent: type may be NULL, policy must be -1), else NF_INET_* 0..4
 * (prerouting, input, forward, output, postrouting) with type "filter",
 * "nat" or "route" (1..15 bytes; the kernel knows which exist); policy:
 * -1 unset (accept), 0 drop, 1 accept.  NLM_F_CREATE without NLM_F_EXCL.
 */
int nlc_nft_chain_add(struct nlc_batch *b, uint8_t family, const char *table,
                      const char *name, int hook, int32_t priority,
                      const char *type, int policy) NLC_WUR;

/*
 * nft add {set|map} FAMILY TABLE NAME { type KEY [: DATA]; flags ...; }
 * flags: NFT_SET_* (0x4 interval, 0x8 map, 0x80 concat, ...; up to 0x1ff).
 * key_type, data_type: nft's type ids (a concatenation's combined id);
 * key_len: 1..NLC_NFT_DATA_MAX bytes.  fields[0 .. nfields): the byte
 * length of each field of a concatenated key (NFTA_SET_DESC_CONCAT), 2 to
 * NLC_NFT_FIELDS_MAX of them, each 1..NLC_NFT_DATA_MAX, whose lengths
 * rounded up to 4 add up to key_len; exactly then flags has 0x80 (concat).
 * nfields 0 (fields may be NULL) or 1: a single-field key.  A map (flags
 * 0x8) has data_type NFT_DATA_VERDICT (0xffffff00; data_len 0) or another
 * with data_len 1..NLC_NFT_DATA_MAX; a set has data_type and data_len 0.
 * id: NFTA_SET_ID, which the kernel requires (unique in a transaction).
 * key_order, data_order: the byte order of a single-field key and of a
 * map's value, kept in the set's user data as nft does, so that nft shows
 * the elements right (the kernel ignores it): 0 not recorded, 1 host
 * (strings such as ifname, marks), 2 big endian (addresses, ports).
 * NLM_F_CREATE without NLM_F_EXCL.
 */
#define NLC_NFT_ORDER_HOST 1     /* nft's BYTEORDER_HOST_ENDIAN */
#define NLC_NFT_ORDER_BIG 2      /* nft's BYTEORDER_BIG_ENDIAN  */
int nlc_nft_set_add(struct nlc_batch *b, uint8_t family, const char *table,
                    const char *name, uint32_t id, uint32_t flags,
                    uint32_t key_type, uint32_t key_len,
                    const uint8_t *fields, size_t nfields,
                    uint32_t data_type, uint32_t data_len,
                    uint8_t key_order, uint8_t data_order) NLC_WUR;

/* Expression kinds of struct nlc_nft_expr */
#define NLC_NFT_META 1
#define NLC_NFT_CMP 2
#define NLC_NFT_PAYLOAD 3
#define NLC_NFT_BITWISE 4
#define NLC_NFT_CT 5
#define NLC_NFT_FIB 6
#define NLC_NFT_LOOKUP 7
#define NLC_NFT_VERDICT 8
#define NLC_NFT_NAT 9
#define NLC_NFT_MASQ 10

/*
 * One expression of a rule, as nft --debug=netlink prints it.  Registers
 * are NFT_REG_1..4 (1..4) or NFT_REG32_00..15 (8..23); only a lookup's
 * dreg may be NFT_REG_VERDICT (0), or -1 for none (a set, not a map).
 * Values are len bytes (1..NLC_NFT_DATA_MAX) in the kernel's layout;
 * names are NUL-terminated inside their arrays.
 */
struct nlc_nft_expr {
    uint32_t kind;                                  /* NLC_NFT_*        */
    union {
        struct { uint32_t key, dreg; } meta;        /* meta load KEY    */
        struct { uint32_t op, sreg, len;            /* cmp OP reg DATA  */
                 uint8_t data[NLC_NFT_DATA_MAX]; } cmp;
        struct { uint32_t base, offset, len, dreg; } payload;
        struct { uint32_t sreg, dreg, len;          /* (sreg & mask) ^ xor */
                 uint8_t mask[NLC_NFT_DATA_MAX];
                 uint8_t xor[NLC_NFT_DATA_MAX]; } bitwise;
        struct { uint32_t key, dreg; } ct;          /* ct load KEY      */
        struct { uint32_t flags, result, dreg; } fib;
        struct { uint32_t sreg; int32_t dreg;       /* dreg -1: none    */
                 uint32_t invert;                   /* 1: != @set       */
                 char set[NLC_NFT_NAME_MAX]; } lookup;
        struct { int32_t code;                      /* NF_ACCEPT, NFT_JUMP.. */
                 char chain[NLC_NFT_NAME_MAX]; } verdict;  /* "" unless
                                                       jump or goto    */
        struct { uint32_t type, family;             /* NFT_NAT_*, 2 / 10 */
                 uint32_t addr_reg, proto_reg;      /* proto_reg 0: none */
                 uint32_t flags; } nat;             /* NF_NAT_RANGE_*   */
        struct { uint32_t flags; } masq;
    } u;
};

/*
 * nft add rule FAMILY TABLE CHAIN EXPRS: the n (1..NLC_NFT_EXPRS_MAX)
 * expressions in order.  NLM_F_CREATE | NLM_F_APPEND.
 */
int nlc_nft_rule_add(struct nlc_batch *b, uint8_t family, const char *table,
                     const char *chain, const struct nlc_nft_expr *exprs,
                     size_t n) NLC_WUR;

#define NLC_NFT_ELEM_INTERVAL_END 0x1   /* NFT_SET_ELEM_INTERVAL_END */

/*
 * One set element, its bytes in a caller-owned blob given beside the
 * array: key = blob[key_off .. key_off + key_len) (1..NLC_NFT_DATA_MAX
 * bytes); key_end the inclusive end of a range of a concatenated interval
 * set (len 0: none); data a map's value (len 0: none) or, with
 * has_verdict, the verdict `verdict` (NF_ACCEPT, NFT_JUMP ...) whose
 * chain (jump and goto only; len 0: none) is chain_len bytes, no NUL.
 * flags: 0 or NLC_NFT_ELEM_INTERVAL_END.
 */
struct nlc_nft_elem {
    uint32_t key_off, key_len;
    uint32_t key_end_off, key_end_len;
    uint32_t data_off, data_len;
    uint32_t chain_off, chain_len;
    int32_t verdict;
    uint32_t has_verdict;
    uint32_t flags;
};

/*
 * nft {add|delete|destroy} element FAMILY TABLE SET { ... } (del 0: add,
 * with NLM_F_CREATE: an existing element is no error; 1: delete; 2:
 * destroy, NFT_MSG_DESTROYSETELEM, Linux 6.3: absent elements are no
 * error; else -EINVAL): one
 * message holding elems[0 .. *taken), as many of the n (>= 1) as one
 * message can carry (its element list is a netlink attribute, at most
 * 64 KiB); the caller sends the rest in further messages.  The count
 * depends on the elements alone, never on the room left in the batch:
 * -EMSGSIZE when that message does not fit (nothing appended).  Every
 * offset and length is checked against blob_len.  *taken is 0 on error.
 */
int nlc_nft_elems(struct nlc_batch *b, int del, uint8_t family,
                  const char *table, const char *set, const uint8_t *blob,
                  size_t blob_len, const struct nlc_nft_elem *elems,
                  size_t n, size_t *taken) NLC_WUR;

/*
 * nlc_nft_exec - sends a transaction on a NETLINK_NETFILTER socket: the
 * batch must be nlc_nft_begin(), messages with NLM_F_ACK, nlc_nft_end()
 * (else -EINVAL, nothing sent).  It goes in ONE sendmsg (a batch cannot
 * span datagrams): the socket's send buffer is raised to fit it
 * (SO_SNDBUFFORCE, else SO_SNDBUF; -EMSGSIZE when it still cannot) and its
 * receive buffer to hold every ack.  res[0 .. b->count) gets one result
 * per message, begin and end included (their err is 0 unless the kernel
 * refused the batch as a whole).  When the kernel committed, every err is
 * 0.  When it aborted: the refused messages have their errno and
 * extended-ack text; the others -ECANCELED with "not applied: the
 * transaction was aborted"; when it refused the whole batch (an error
 * acknowledging the begin message: the commit failed, or the batch was
 * not taken at all) every message has that error.  Returns 0 (committed),
 * the number of failed results (aborted), or -errno for a failed exchange
 * (every result without an ack then has that error), as nlc_sock_exec.
 */
int nlc_nft_exec(struct nlc_sock *s, struct nlc_batch *b,
                 struct nlc_result *res) NLC_WUR;

/* ---------------------------------------------------------------- bitmap */
/* cdef-bitmap: libnetwork._bitmap binds from here to cdef-end */

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

/* nlc_bitmap_new - an empty bitmap over [0, last] (any uint64_t) into
 * *out, to be freed with nlc_bitmap_free().  Returns 0 or -ENOMEM. */
int nlc_bitmap_new(struct nlc_bitmap **out, uint64_t last) NLC_WUR;

/* nlc_bitmap_free - frees the bitmap and every node. */
void nlc_bitmap_free(struct nlc_bitmap *bm);

/* nlc_bitmap_last - the largest ordinal, size - 1. */
uint64_t nlc_bitmap_last(const struct nlc_bitmap *bm);

/* nlc_bitmap_used - the number of allocated ordinals (a free count is
 * last + 1 - used). */
uint64_t nlc_bitmap_used(const struct nlc_bitmap *bm);

/* nlc_bitmap_cursor - the next-fit cursor: where the next serial search
 * starts. */
uint64_t nlc_bitmap_cursor(const struct nlc_bitmap *bm);

/*
 * The allocation fast path: the only entry points that report errors
 * through the bitmap (its last error, read with nlc_bitmap_error()) rather
 * than by return value.  They return the ordinal itself, and every uint64_t
 * is a valid ordinal of a 2^64 bitmap, so no value is left over for an
 * error; and an IPAM pool calls them once per address, so a binding must
 * manage with one foreign call on success.  UINT64_MAX is returned on
 * failure: check the error only when UINT64_MAX comes back.
 *
 * nlc_bitmap_alloc - allocates the first free ordinal in [lo, hi]
 * (serial = 0), or the first free at or after the cursor, wrapping to lo
 * (serial = 1; the cursor is used only when lo <= cursor <= hi, else the
 * search starts at lo).  Every successful allocate or allocate_many
 * (either mode) sets the cursor to the ordinal after the last one handed
 * out (0 after `last`).  Returns the ordinal, or UINT64_MAX with the error
 * set to -EINVAL (bad range), -ENOSPC (no free ordinal in the range) or
 * -ENOMEM.
 */
uint64_t nlc_bitmap_alloc(struct nlc_bitmap *bm, int serial, uint64_t lo,
                          uint64_t hi);

/*
 * nlc_bitmap_alloc_req - nlc_bitmap_alloc(req->bm, req->serial, req->lo,
 * req->hi).  An IPAM pool asks with the same arguments every time, and a
 * binding passes one pointer faster than four arguments (cffi: one
 * argument avoids the argument tuple), so the fast path builds the request
 * once and keeps it.  The request is the caller's memory and only read.
 */
struct nlc_bitmap_req {
    struct nlc_bitmap *bm;
    int serial;
    uint64_t lo;
    uint64_t hi;
};
uint64_t nlc_bitmap_alloc_req(const struct nlc_bitmap_req *req);

/* nlc_bitmap_error - 0 after a successful nlc_bitmap_alloc(_req), else
 * its -errno. */
int nlc_bitmap_error(const struct nlc_bitmap *bm);

/* (end of the fast path: the rest return their errors) */

/*
 * nlc_bitmap_alloc_many - allocates count ordinals into out[] exactly as
 * count calls of nlc_bitmap_alloc would, a leaf at a time: first-fit takes
 * the free ordinals of [lo, hi] in increasing order; next-fit those of
 * [cursor, hi], then of [lo, cursor - 1].  count 0 allocates nothing (out
 * may then be NULL).  Returns 0 (the cursor is then past out[count - 1]),
 * or -EINVAL (bad range), -ENOSPC (fewer than count free in the range) or
 * -ENOMEM, with the bitmap and the cursor unchanged.
 */
int nlc_bitmap_alloc_many(struct nlc_bitmap *bm, uint64_t count, int serial,
                          uint64_t lo, uint64_t hi, uint64_t *out) NLC_WUR;

/* nlc_bitmap_set - allocates one given ordinal; the cursor does not move.
 * Returns 0, -EINVAL (ordinal > last), -EEXIST or -ENOMEM. */
int nlc_bitmap_set(struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;

/* nlc_bitmap_release - frees one ordinal; the cursor does not move.
 * Returns 0, -EINVAL (ordinal > last) or -ENOENT (it was free). */
int nlc_bitmap_release(struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;

/* nlc_bitmap_test - 1 if allocated, 0 if free, -EINVAL out of range. */
int nlc_bitmap_test(const struct nlc_bitmap *bm, uint64_t ordinal) NLC_WUR;

/*
 * Serialization (format in bitmap_codec.c; identical to the pure-Python
 * twin's).
 * nlc_bitmap_size_bytes - the exact length nlc_bitmap_to_bytes() writes;
 * O(leaves).
 * nlc_bitmap_to_bytes - writes the state into buf; returns that length,
 * or -EMSGSIZE (nothing written) when cap is smaller.
 * nlc_bitmap_from_bytes - rebuilds a bitmap into *out, to be freed with
 * nlc_bitmap_free().  Returns 0, or -EINVAL when the bytes are not exactly
 * one canonical version-1 bitmap (bad magic, version or reserved bytes;
 * truncated or trailing data; leaves out of order or past last; a zero
 * word listed in a mask; a full leaf not written as mask 0; bits past
 * last; used not the number of bits set; cursor > last), or -ENOMEM.
 */
size_t nlc_bitmap_size_bytes(const struct nlc_bitmap *bm);
int64_t nlc_bitmap_to_bytes(const struct nlc_bitmap *bm, uint8_t *buf,
                            size_t cap) NLC_WUR;
int nlc_bitmap_from_bytes(struct nlc_bitmap **out, const uint8_t *buf,
                          size_t len) NLC_WUR;

/* cdef-end */

#endif /* NLC_H */
