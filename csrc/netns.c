/*
 * netns.c - network namespaces, and sockets opened inside them, without
 * ever moving the calling thread.
 *
 *   caller thread ──pthread_create──▶ helper thread (signals blocked)
 *        │ (waits in join)              for each path:
 *        │                                create file (O_EXCL)
 *        │                                unshare(CLONE_NEWNET)
 *        │                                bind /proc/thread-self/ns/net → path
 *        │                                open fd, open netlink socket (inside)
 *        ◀───────────── join ───────────  exits: its namespace ends with it
 *
 * Only the helper thread ever changes namespace, and it dies afterwards, so
 * the caller is in its own namespace whatever happens (the CNI ns package
 * warns that switching a pooled thread is unsafe; here nothing is pooled).
 * One helper serves a whole batch, so N namespaces cost one thread; a
 * large batch of distinct paths is shared by up to one helper per online
 * CPU, taking paths from a common counter: the kernel builds namespaces
 * in parallel (bench/README.md, "Numbers behind the C core's choices").
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "internal.h"

#define NS_PER_HELPER 32         /* fewer paths a helper: not worth it  */
#define NS_MAX_HELPERS 8

struct __ns_job {
    const char *const *paths;   /* create: where to bind                */
    const int *nsfds;           /* open_at: namespaces to enter         */
    size_t n;
    int protocol;
    int *fds;
    struct nlc_sock **socks;
    int *errs;
    size_t done;                /* open_at                              */
    size_t next;                /* create: the next index to take       */
};

static int
__create_one(const char *path, int protocol, int *fdp, struct nlc_sock **sp)
{
    int fd, err, nsfd = -1;

    fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    close(fd);
    if (unshare(CLONE_NEWNET) < 0 ||
        mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
        err = -errno;
        unlink(path);
        return err;
    }
    if (fdp) {
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
            err = -errno;
            goto undo;
        }
    }
    if (sp) {
        err = __nlc_sock_new_here(sp, protocol);
        if (err < 0)
            goto undo;
    }
    if (fdp)
        *fdp = nsfd;
    return 0;
undo:
    if (nsfd >= 0)
        close(nsfd);
    umount2(path, MNT_DETACH);
    unlink(path);
    return err;
}

static void *
__create_main(void *arg)
{
    struct __ns_job *j = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n) {
        if (j->fds)
            j->fds[i] = -1;
        if (j->socks)
            j->socks[i] = NULL;
        if (!j->paths[i]) {
            j->errs[i] = -EINVAL;
            continue;
        }
        j->errs[i] = __create_one(j->paths[i], j->protocol,
                                  j->fds ? &j->fds[i] : NULL,
                                  j->socks ? &j->socks[i] : NULL);
    }
    return NULL;
}

static int
__cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * How many helpers may share the work on paths[0..n): one per online
 * CPU and per NS_PER_HELPER paths, and one only when two entries name the
 * same path (then the first must win and the second see EEXIST, as in
 * order) or the check cannot be made.
 */
static unsigned
__helpers_for(const char *const *paths, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t h = n / NS_PER_HELPER;
    const char **sorted;
    int dup = 0;

    if (cpus < 2 || h < 2)
        return 1;
    if (h > (size_t)cpus)
        h = (size_t)cpus;
    if (h > NS_MAX_HELPERS)
        h = NS_MAX_HELPERS;
    sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (!paths[i]) {
            free(sorted);
            return 1;
        }
        sorted[i] = paths[i];
    }
    qsort(sorted, n, sizeof(*sorted), __cmp_str);
    for (size_t i = 1; i < n && !dup; i++)
        dup = strcmp(sorted[i - 1], sorted[i]) == 0;
    free(sorted);
    return dup ? 1 : (unsigned)h;
}

static void *
__open_at_main(void *arg)
{
    struct __ns_job *j = arg;

    for (size_t i = 0; i < j->n; i++) {
        j->socks[i] = NULL;
        if (setns(j->nsfds[i], CLONE_NEWNET) < 0) {
            j->errs[i] = -errno;
            continue;
        }
        j->errs[i] = __nlc_sock_new_here(&j->socks[i], j->protocol);
        if (j->errs[i] == 0)
            j->done++;
    }
    return NULL;
}

/*
 * Runs fn on up to `helpers` fresh threads with every signal blocked and
 * waits for them.  -errno only when not one could start; fewer than asked
 * do all the work (fn takes its items from a shared counter).
 */
static int
__on_helpers(void *(*fn)(void *), struct __ns_job *j, unsigned helpers)
{
    sigset_t all, old;
    pthread_t t[NS_MAX_HELPERS];
    unsigned started = 0;
    int err = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* inherited by helpers */
    for (; started < helpers; started++) {
        err = pthread_create(&t[started], NULL, fn, j);
        if (err)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started)
        return -err;
    for (unsigned k = 0; k < started; k++)
        pthread_join(t[k], NULL);
    return 0;
}

static int
__on_helper(void *(*fn)(void *), struct __ns_job *j)
{
    return __on_helpers(fn, j, 1);
}

NLC_EXPORT int
nlc_netns_create(const char *const *paths, size_t n, int protocol, int *fds,
                 struct nlc_sock **socks, int *errs)
{
    struct __ns_job j = {
        .paths = paths, .n = n, .protocol = protocol,
        .fds = fds, .socks = socks, .errs = errs,
    };
    int rc;

    if ((!paths || !errs) && n)
        return -EINVAL;
    if (n == 0)
        return 0;
    rc = __on_helpers(__create_main, &j, __helpers_for(paths, n));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        j.done += errs[i] == 0;
    return (int)j.done;
}

static int
__delete_one(const char *path)
{
    if (!path)
        return -EINVAL;
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
        return -errno;
    if (unlink(path) < 0)
        return -errno;
    return 0;
}

static void *
__delete_main(void *arg)
{
    struct __ns_job *j = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n)
        j->errs[i] = __delete_one(j->paths[i]);
    return NULL;
}

NLC_EXPORT int
nlc_netns_delete(const char *const *paths, size_t n, int *errs)
{
    struct __ns_job j = { .paths = paths, .n = n, .errs = errs };
    unsigned helpers;
    int done = 0;

    if ((!paths || !errs) && n)
        return -EINVAL;
    helpers = n ? __helpers_for(paths, n) : 1;
    if (helpers < 2 || __on_helpers(__delete_main, &j, helpers) < 0)
        __delete_main(&j);          /* what no helper took, here */
    for (size_t i = 0; i < n; i++)
        done += errs[i] == 0;
    return done;
}

NLC_EXPORT int
nlc_netns_open(const char *path)
{
    int fd;

    if (!path)
        return -EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

NLC_EXPORT int
nlc_sock_open_at(const int *nsfds, size_t n, int protocol,
                 struct nlc_sock **socks, int *errs)
{
    struct __ns_job j = {
        .nsfds = nsfds, .n = n, .protocol = protocol,
        .socks = socks, .errs = errs,
    };
    int rc;

    if ((!nsfds || !socks || !errs) && n)
        return -EINVAL;
    if (n == 0)
        return 0;
    rc = __on_helper(__open_at_main, &j);
    return rc < 0 ? rc : (int)j.done;
}
