"""The native backend: batches go to the C core in one call per run.

Python never builds netlink bytes here: each operation becomes one call of
an ``nlc_*`` builder that appends its message to a reusable buffer
(``nlc_batch_echo`` then asks the kernel to echo a creation whose index a
later operation needs), and ``nlc_sock_exec`` sends the whole run on the
namespace's socket and fills one result per message.  Namespace sockets are
opened inside their namespace by the core (on a helper thread) once and
reused; every receive on them gives up after a timeout (see
:class:`NativeBackend`).  :meth:`NativeBackend.encode` returns the bytes of
one operation's message without sending it.

A run of nftables operations is one transaction on the namespace's
nfnetlink socket, built and sent by the core in one ``sendmsg``
(:mod:`.nft`).

This module holds the backend (sockets, namespaces, runs, dumps); the
builders are in :mod:`.build` and :mod:`.nft`, the dump records' decoding
in :mod:`.decode`.
"""

from __future__ import annotations

import errno as E
import os
import resource
import threading
from collections import OrderedDict
from typing import Optional

from ..._binding import check, ffi, lib
from ...errors import InvalidParameter
from .. import ops as O
from ..base import Backend
from . import build, decode, nft
from .build import BUILDERS

NETLINK_ROUTE = 0
NETLINK_NETFILTER = nft.NETLINK_NETFILTER
TIMEOUT_ENV = "LIBNETWORK_NETLINK_TIMEOUT"   # seconds; 0: wait forever
_BATCH_CAP = 256 * 1024
# namespace sockets and fds kept open (LRU): room for a batch of 1,000
# sandboxes; older ones are opened again when used
_CACHE_MAX = 1024


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


_raise_nofile()


def _timeout_ms(timeout) -> Optional[int]:
    """Milliseconds for ``nlc_sock_set_timeout``, or None for the core's
    default (``NLC_TIMEOUT_MS``, 30 s as pyroute2's)."""
    if timeout is None:
        env = os.environ.get(TIMEOUT_ENV)
        if not env:
            return None
        try:
            timeout = float(env)
        except ValueError:
            raise InvalidParameter(
                f"{TIMEOUT_ENV}={env!r}: expected seconds") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 <= timeout < 2**32 / 1000:
        raise InvalidParameter(f"netlink timeout {timeout!r}: expected "
                               "seconds >= 0 (0: wait forever)")
    ms = round(timeout * 1000)
    return 1 if timeout and not ms else ms


class NativeBackend(Backend):
    """Backend over the C core (``libnetwork._native``).

    ``timeout``: how long, in seconds, one receive on a netlink socket
    waits for the kernel before the exchange fails with ETIMEDOUT (every
    operation not yet acknowledged gets that error); 0 waits forever.
    ``None`` takes ``$LIBNETWORK_NETLINK_TIMEOUT``, else the core's
    default of 30 s (pyroute2's).
    """

    name = "native"

    def __init__(self, root: Optional[str] = None,
                 timeout: Optional[float] = None):
        super().__init__(root)
        self._timeout_ms = _timeout_ms(timeout)
        self._lock = threading.RLock()
        self._socks: OrderedDict = OrderedDict()   # ns path -> nlc_sock*
        self._nft_socks: OrderedDict = OrderedDict()  # ... nfnetlink ones
        self._root_nft = None                      # opened on first use
        self._nft_scratch = None                   # nft.Scratch
        self._fds: OrderedDict = OrderedDict()     # ns path -> fd
        self._idents: dict = {}                    # ns path -> (dev, ino)
        self._checked: Optional[set] = None        # during execute()
        self._buf = ffi.new("uint8_t[]", _BATCH_CAP)
        self._batch = ffi.new("struct nlc_batch *")
        lib.nlc_batch_init(self._batch, self._buf, _BATCH_CAP)
        self._res = ffi.new("struct nlc_result[]", 1024)
        self._res_cap = 1024
        self._root_sock = None
        self._root_sock = self._open_sock(root) if root else self._open_here()

    # ------------------------------------------------------- resources

    def _adopt(self, sock):
        """``sock``, with the backend's receive timeout when it has one
        (the core gives every socket its default)."""
        if self._timeout_ms is not None:
            rc = lib.nlc_sock_set_timeout(sock, self._timeout_ms)
            if rc < 0:
                lib.nlc_sock_close(sock)
                raise OSError(-rc, f"{os.strerror(-rc)}: SO_RCVTIMEO")
        return sock

    def _open_here(self, protocol=NETLINK_ROUTE):
        p = ffi.new("struct nlc_sock **")
        check(lib.nlc_sock_open(p, protocol))
        return self._adopt(p[0])

    def _open_sock(self, path, protocol=NETLINK_ROUTE):
        fd = self._nsfd(path)
        socks = ffi.new("struct nlc_sock *[1]")
        errs = ffi.new("int[1]")
        fds = ffi.new("int[1]", [fd])
        rc = lib.nlc_sock_open_at(fds, 1, protocol, socks, errs)
        err = -rc if rc < 0 else -errs[0]
        if err:
            raise OSError(err, f"{os.strerror(err)}: netlink socket in {path}")
        return self._adopt(socks[0])

    def _fresh(self, path):
        """Drop what the caches hold for ``path`` if the namespace bound
        there is no longer the one they were opened in (rebound behind our
        back): a namespace's identity is its nsfs inode."""
        ident = self._idents.get(path)
        if ident is None:
            return
        checked = self._checked
        if checked is not None:
            # once per execute(): within it, only our own deletions and
            # creations rebind a path, and those forget it themselves
            if path in checked:
                return
            checked.add(path)
        try:
            st = os.stat(path)
            same = (st.st_dev, st.st_ino) == ident
        except OSError:
            same = False
        if not same:
            self._forget(path)

    def _sock(self, ns):
        if ns is None or ns == self.root:
            return self._root_sock
        self._fresh(ns)
        s = self._socks.get(ns)
        if s is not None:
            self._socks.move_to_end(ns)
            return s
        s = self._open_sock(ns)
        self._remember(self._socks, ns, s, lib.nlc_sock_close)
        return s

    def _nft_sock(self, ns):
        """The nfnetlink socket of ``ns`` (None: the root), opened on
        first use and kept like the rtnetlink ones."""
        if ns is None or ns == self.root:
            if self._root_nft is None:
                self._root_nft = (self._open_sock(self.root, NETLINK_NETFILTER)
                                  if self.root else
                                  self._open_here(NETLINK_NETFILTER))
            return self._root_nft
        self._fresh(ns)
        s = self._nft_socks.get(ns)
        if s is not None:
            self._nft_socks.move_to_end(ns)
            return s
        s = self._open_sock(ns, NETLINK_NETFILTER)
        self._remember(self._nft_socks, ns, s, lib.nlc_sock_close)
        return s

    def _nsfd(self, path):
        self._fresh(path)
        fd = self._fds.get(path)
        if fd is not None:
            self._fds.move_to_end(path)
            return fd
        fd = lib.nlc_netns_open(path.encode())
        if fd < 0:
            raise OSError(-fd, f"{os.strerror(-fd)}: {path}")
        st = os.fstat(fd)
        self._idents[path] = (st.st_dev, st.st_ino)
        self._remember(self._fds, path, fd, os.close)
        return fd

    def _remember(self, cache, key, value, close):
        cache[key] = value
        while len(cache) > _CACHE_MAX:
            gone, old = cache.popitem(last=False)
            close(old)
            if gone not in self._socks and gone not in self._nft_socks \
                    and gone not in self._fds:
                self._idents.pop(gone, None)   # nothing of it kept

    def _forget(self, path):
        self._idents.pop(path, None)
        for cache in (self._socks, self._nft_socks):
            s = cache.pop(path, None)
            if s is not None:
                lib.nlc_sock_close(s)
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def close(self):
        with self._lock:
            for path in list(self._socks) + list(self._nft_socks) + \
                    list(self._fds):
                self._forget(path)
            for attr in ("_root_sock", "_root_nft"):
                s = getattr(self, attr, None)
                if s is not None:
                    lib.nlc_sock_close(s)
                    setattr(self, attr, None)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------ namespaces

    def execute(self, batch, stop_on_error=False):
        with self._lock:
            self._checked = set()
            try:
                return super().execute(batch, stop_on_error)
            finally:
                self._checked = None

    def _netns_create(self, paths):
        n = len(paths)
        keep = [ffi.new("char[]", p.encode()) for p in paths]
        cpaths = ffi.new("char *[]", keep)
        fds = ffi.new("int[]", n)
        socks = ffi.new("struct nlc_sock *[]", n)
        errs = ffi.new("int[]", n)
        rc = lib.nlc_netns_create(cpaths, n, NETLINK_ROUTE, fds, socks, errs)
        if rc < 0:
            return [(-rc, "")] * n
        out = []
        for i, p in enumerate(paths):
            if errs[i]:
                out.append((-errs[i], ""))
                continue
            self._forget(p)
            st = os.fstat(fds[i])
            self._idents[p] = (st.st_dev, st.st_ino)
            self._remember(self._fds, p, fds[i], os.close)
            if self._timeout_ms is not None and lib.nlc_sock_set_timeout(
                    socks[i], self._timeout_ms) < 0:
                lib.nlc_sock_close(socks[i])   # opened again on first use
            else:
                self._remember(self._socks, p, socks[i], lib.nlc_sock_close)
            out.append((0, ""))
        return out

    def _netns_delete(self, paths):
        for p in paths:
            self._forget(p)
        n = len(paths)
        keep = [ffi.new("char[]", p.encode()) for p in paths]
        errs = ffi.new("int[]", n)
        lib.nlc_netns_delete(ffi.new("char *[]", keep), n, errs)
        return [(-errs[i], "") for i in range(n)]

    # -------------------------------------------------------- netlink

    def _exchange(self, sock, b, res):
        """``nlc_sock_exec``, its sendmsg calls counted."""
        before = lib.nlc_sock_sendmsg_count(sock)
        rc = lib.nlc_sock_exec(sock, b, res)
        self._stats["sendmsg"] += lib.nlc_sock_sendmsg_count(sock) - before
        return rc

    def _lookup(self, ns, names):
        sock = self._sock(ns)
        b = self._batch
        lib.nlc_batch_reset(b)
        for name in names:
            if lib.nlc_link_get(b, 0, name.encode()) < 0:
                raise OSError(E.EMSGSIZE, "too many names in one lookup")
        res = self._results(b.count)
        check(self._exchange(sock, b, res))
        return {name: res[i].value for i, name in enumerate(names)
                if res[i].err == 0}

    def _results(self, n):
        if n > self._res_cap:
            self._res_cap = max(n, 2 * self._res_cap)
            self._res = ffi.new("struct nlc_result[]", self._res_cap)
        return self._res

    def _flush(self, sock, pending, outs):
        """Send the batch; pending holds (position, echo) per message."""
        b = self._batch
        if not b.count:
            return
        res = self._results(b.count)
        if self._exchange(sock, b, res) == -E.EINVAL:   # refused, unsent
            for pos, _ in pending:
                outs[pos] = (E.EINVAL, os.strerror(E.EINVAL), None)
        else:
            for i, (pos, echo) in enumerate(pending):
                r = res[i]
                if r.err:
                    outs[pos] = (-r.err,
                                 ffi.string(r.msg).decode(errors="replace"),
                                 None)
                elif echo:
                    outs[pos] = (0, "", (r.value, r.link))
                else:
                    outs[pos] = (0, "", r.value or None)
        lib.nlc_batch_reset(b)
        pending.clear()

    def _nft(self, ns, items):
        try:
            sock = self._nft_sock(ns)
        except OSError as exc:
            err = exc.errno or E.EIO
            msg = (f"namespace {ns or self.root or '(root)'}: "
                   f"{os.strerror(err)}")
            return [(err, msg)] * len(items)
        if self._nft_scratch is None:
            self._nft_scratch = nft.Scratch()
        try:
            outs, sent = nft.run(sock, self._nft_scratch, self._results,
                                 items)
        finally:
            if self._nft_scratch.cap > nft.KEEP_CAP:
                self._nft_scratch = None
        self._stats["sendmsg"] += sent
        return outs

    def _exec(self, ns, items, names):
        outs = [None] * len(items)
        try:
            sock = self._sock(ns)
        except OSError as exc:
            return [(exc.errno, str(exc.strerror), None)] * len(items)
        b = self._batch
        lib.nlc_batch_reset(b)
        pending = []
        build, nsfd = BUILDERS, self._nsfd
        for pos, (_, op, prep, echo) in enumerate(items):
            fn = build[type(op)]
            try:
                rc = fn(b, op, prep, names, nsfd)
                if rc == -E.EMSGSIZE and b.count:
                    self._flush(sock, pending, outs)
                    rc = fn(b, op, prep, names, nsfd)
            except OSError as exc:     # a namespace named by the op is gone
                outs[pos] = (exc.errno, str(exc.strerror), None)
                continue
            except KeyError as exc:    # a reference the caller left out
                outs[pos] = (E.ENODEV, f"no ifindex for {exc.args[0]!r}",
                             None)
                continue
            if rc < 0:
                outs[pos] = (-rc, os.strerror(-rc), None)
                continue
            if echo:
                check(lib.nlc_batch_echo(b))   # the message just added
            pending.append((pos, echo))
        self._flush(sock, pending, outs)
        return outs

    def encode(self, op: O.Op, names: Optional[dict] = None,
               echo: bool = False) -> bytes:
        """The netlink message :meth:`execute` sends for ``op``, without
        sending it (:func:`.build.encode`: the same builder call)."""
        return build.encode(op, names, echo)

    # ----------------------------------------------------------- dumps

    def _dump(self, ns, ctype, fn, *args):
        with self._lock:
            sock = self._sock(ns)
            cap = 64
            before = lib.nlc_sock_sendmsg_count(sock)
            try:
                while True:
                    out = ffi.new(f"struct {ctype}[]", cap)
                    for _ in range(5):
                        n = fn(sock, *args, out, cap)
                        if n != -E.EINTR:
                            break
                    if check(n) <= cap:
                        return out, n
                    cap = n + 16
            finally:
                self._stats["sendmsg"] += (lib.nlc_sock_sendmsg_count(sock)
                                           - before)

    def links(self, ns=None):
        return decode.links(*self._dump(ns, "nlc_link", lib.nlc_link_dump))

    def links_named(self, names, ns=None):
        out = []
        with self._lock:
            sock = self._sock(ns)
            rec = ffi.new("struct nlc_link[]", 1)
            for name in names:
                if len(name.encode()) >= 16:
                    continue                    # no link has that name
                before = lib.nlc_sock_sendmsg_count(sock)
                rc = lib.nlc_link_get_one(sock, name.encode(), rec)
                self._stats["sendmsg"] += (lib.nlc_sock_sendmsg_count(sock)
                                           - before)
                if rc == -E.ENODEV:
                    continue
                check(rc)
                out += decode.links(rec, 1)
        return out

    def link_stats(self, ns=None):
        return decode.link_stats(*self._dump(ns, "nlc_link",
                                             lib.nlc_link_dump))

    def addresses(self, ns=None, family=0):
        return decode.addresses(*self._dump(ns, "nlc_addr",
                                            lib.nlc_addr_dump, family))

    def routes(self, ns=None, family=0):
        return decode.routes(*self._dump(ns, "nlc_route", lib.nlc_route_dump,
                                         family))
