/*
 * The socket calls of a fake kernel that both fake-kernel tests share
 * (test_msg.c, test_nft.c): getsockopt reports the buffer sizes the test's
 * setsockopt kept, bind succeeds, getsockname gives port id FAKE_PID.
 * Included where the file has defined FAKE_PID and its state `fk` (with
 * int sndbuf, rcvbuf).
 */
#ifndef NLC_TESTS_FAKE_SOCK_H
#define NLC_TESTS_FAKE_SOCK_H

int
getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
    int v = optname == SO_SNDBUF ? fk.sndbuf
          : optname == SO_RCVBUF ? fk.rcvbuf : 0;

    (void)fd;
    if (level != SOL_SOCKET || *optlen < sizeof(int)) {
        errno = ENOPROTOOPT;
        return -1;
    }
    memcpy(optval, &v, sizeof(v));
    *optlen = sizeof(v);
    return 0;
}

int
bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    (void)fd;
    (void)addr;
    (void)len;
    return 0;
}

int
getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
#if defined(__USE_GNU) && !defined(__cplusplus)
    struct sockaddr *sa = addr.__sockaddr__;
#else
    struct sockaddr *sa = addr;
#endif
    struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = FAKE_PID };

    (void)fd;
    if (*len < sizeof(nl)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(sa, &nl, sizeof(nl));
    *len = sizeof(nl);
    return 0;
}

#endif
