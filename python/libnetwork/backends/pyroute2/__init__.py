"""The pyroute2 backend: the Backend contract in pure Python.

Every request is built, and every dump decoded, by pyroute2's rtnetlink
message classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``, ``nlmsgerr``), so
this backend is an encoder independent of the C core: the parametrized
kernel tests hold the two to the same results, and the parity unit test to
the same messages.  This module ties the parts together:

* :mod:`.netns` -- namespaces made and sockets opened inside them without
  moving any thread that matters;
* :mod:`.transport` -- one socket per namespace, a run sent in as few
  ``send`` calls as the buffers allow, acks matched by sequence;
* :mod:`.encode` -- one encoder per operation type;
* :mod:`.decode` -- dumps and link replies into the contract's records;
* :mod:`.nft` (with the classes of :mod:`.nft_msgs`) -- the nftables
  operations, one transaction per run on an nfnetlink socket per
  namespace.

Why not ``pyroute2.IPRoute(use_socket=...)``: in 0.9.7 its synchronous API
drives an asyncio event loop per call and does one round trip per message
(about 350 us for a ``link('set')``, 1.5 ms for a veth here); its
``nlm_request_batch`` stops at the first error or, with ``noraise``, drops
the errors; and it refuses a ``use_socket`` socket from any thread but the
one that built it.
"""

from __future__ import annotations

import errno as E
import os
import threading
from typing import Optional

from pyroute2.netlink.rtnl import (
    RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK,
    RTM_NEWROUTE)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .. import ops as O
from ..base import Backend
from ..validate import prepare
from . import decode, encode as enc, netns, nft, transport
from .netns import NamespaceSwitchError

__all__ = ["Pyroute2Backend", "NamespaceSwitchError"]

_LINKS = enc.dump_request(ifinfmsg, RTM_GETLINK, attrs=[
    ("IFLA_EXT_MASK", enc.RTEXT_FILTER_SKIP_STATS)])
_LINKS_STATS = enc.dump_request(ifinfmsg, RTM_GETLINK)


def _outcome(item, err, msg, reply):
    """``(errno, message, value)`` of a sent item: an echoed creation's
    value is ``(ifindex, IFLA_LINK)``, a LinkGet's the ifindex."""
    _, op, _, echo = item
    if err:
        return (err, msg, None)
    if echo:
        if reply is None:
            return (E.EPROTO, "created, but the kernel sent no echo of it "
                    "(NLM_F_ECHO)", None)
        return (0, "", decode.created(reply))
    if type(op) is O.LinkGet and reply is not None:
        return (0, "", decode.created(reply)[0])
    return (0, "", None)


class Pyroute2Backend(Backend):
    """The Backend contract over pyroute2's rtnetlink message classes."""

    name = "pyroute2"

    def __init__(self, root: Optional[str] = None):
        super().__init__(root)
        netns.raise_nofile()
        self._lock = threading.RLock()
        self._conns: dict = {}          # rtnetlink, per namespace
        self._nft_conns: dict = {}      # nfnetlink, per namespace
        if root is None:
            # the namespace the process is in now, whatever happens later
            self._conns[None] = self._new_conn(netns.raw_socket(), None)
            try:
                self._nft_conns[None] = self._new_conn(
                    netns.raw_socket(nft.NETLINK_NETFILTER), None, True)
            except OSError:
                pass       # no nfnetlink here (yet): opened on first use

    # --------------------------------------------------------- sockets

    def _new_conn(self, sock, ident, nfnl=False) -> transport.Conn:
        sock = (transport.setup_nfnl if nfnl else transport.setup)(sock)
        return transport.Conn(sock, ident, self._stats)

    def _conn(self, ns, nfnl=False) -> transport.Conn:
        """The rtnetlink (``nfnl``: nfnetlink) socket of namespace ``ns``,
        opened on first use and again when its path names another
        namespace."""
        conns = self._nft_conns if nfnl else self._conns
        proto = nft.NETLINK_NETFILTER if nfnl else netns.NETLINK_ROUTE
        key = self.root if ns is None else ns
        c = conns.get(key)
        if key is None:
            if c is None:
                if self._conns.get(None) is None:
                    raise OSError(E.EBADF, "backend closed")
                c = self._new_conn(netns.raw_socket(proto), None, nfnl)
                conns[None] = c
            return c
        ident = netns.ident(key)
        if c is not None:
            if c.ident == ident:
                return c
            # the path now names another namespace: forget the old one
            del conns[key]
            c.close()
        c = self._new_conn(netns.socket_in(key, proto), ident, nfnl)
        conns[key] = c
        return c

    def _drop(self, path):
        for conns in (self._conns, self._nft_conns):
            c = conns.pop(path, None)
            if c is not None:
                c.close()

    def close(self) -> None:
        """Close every namespace socket the backend holds."""
        with self._lock:
            for conns in (self._conns, self._nft_conns):
                for c in conns.values():
                    c.close()
                conns.clear()

    # ------------------------------------------------------ namespaces

    def _netns_create(self, paths):
        """``ip netns add`` for each path; the socket each helper thread
        opened inside is kept (no later ``setns`` needed)."""
        out = netns.create(paths)
        res = []
        with self._lock:
            for path, (err, msg, sock) in zip(paths, out):
                if sock is not None:
                    self._drop(path)
                    try:
                        self._conns[path] = self._new_conn(
                            sock, netns.ident(path))
                    except OSError:
                        pass       # opened again on first use
                res.append((err, msg))
        return res

    def _netns_delete(self, paths):
        """``ip netns del``: close our socket inside, detach, unlink."""
        with self._lock:
            for path in paths:
                self._drop(path)
            return netns.delete(paths)

    # ----------------------------------------------------------- links

    def _lookup(self, ns, names):
        reqs = [enc.lookup(name) for name in names]
        with self._lock:
            outs = transport.transact(self._conn(ns), reqs)
        return {name: decode.created(reply)[0]
                for name, (err, _, reply) in zip(names, outs)
                if err == 0 and reply is not None}

    def _nft(self, ns, items):
        """One transaction of nftables items ``(op, prepared)`` on ``ns``'s
        nfnetlink socket (see :mod:`.nft`)."""
        msgs = [nft.messages(op, prep) for op, prep in items]
        with self._lock:
            try:
                conn = self._conn(ns, nfnl=True)
            except OSError as exc:
                err = exc.errno or E.EIO
                msg = (f"namespace {ns or self.root or '(root)'}: "
                       f"{os.strerror(err)}")
                return [(err, msg)] * len(items)
            return nft.transaction(conn, msgs)

    def _exec(self, ns, items, names):
        with self._lock:
            try:
                conn = self._conn(ns)
            except OSError as exc:
                err = exc.errno or E.EIO
                msg = (f"namespace {ns or self.root or '(root)'}: "
                       f"{os.strerror(err)}")
                return [(err, msg, None)] * len(items)
            out: list = [None] * len(items)
            reqs, where = [], []
            with netns.Fds() as nsfd:
                for n, (_, op, prep, echo) in enumerate(items):
                    try:
                        reqs.append(enc.request(op, prep, names, nsfd, echo))
                    except OSError as exc:
                        out[n] = (exc.errno or E.EIO,
                                  str(exc.strerror or ""), None)
                        continue
                    where.append(n)
                replies = transport.transact(conn, reqs)
            for n, (err, msg, reply) in zip(where, replies):
                out[n] = _outcome(items[n], err, msg, reply)
            return out

    def encode(self, op: O.Op, names: Optional[dict] = None,
               echo: bool = False) -> bytes:
        """The one message ``op`` is sent as (sequence 0, port 0), with
        ``NLM_F_ECHO`` when ``echo``: validated as :meth:`execute` does,
        ``names`` giving the ifindex of each link reference that is not an
        int.  Namespace descriptors in it are closed before it returns.

        An nftables operation gives its message without the transaction's
        batch begin and end (an element list too large for one message:
        its messages, concatenated; see :mod:`.nft`); ``names`` and
        ``echo`` do not apply to it."""
        prep = prepare(op)
        if type(op) in nft.ENCODERS:
            return nft.encode(op, prep)
        if type(op) not in enc.ENCODERS:
            raise TypeError(f"not a netlink operation: {op!r}")
        with netns.Fds() as nsfd:
            return enc.encode(op, prep, names or {}, nsfd, echo)

    # ----------------------------------------------------------- dumps

    def _dump(self, ns, request, want):
        with self._lock:
            return transport.dump(self._conn(ns), request, want)

    def links(self, ns=None):
        return [decode.link(buf, off)
                for buf, off in self._dump(ns, _LINKS, RTM_NEWLINK)]

    def link_stats(self, ns=None):
        """``ip -s link``: {name: (rx_bytes, rx_packets, rx_errors,
        rx_dropped, tx_bytes, tx_packets, tx_errors, tx_dropped)}."""
        return dict(decode.link_stats(buf, off)
                    for buf, off in self._dump(ns, _LINKS_STATS, RTM_NEWLINK))

    def _by_family(self, ns, cls, get, new, family, record):
        req = enc.dump_request(cls, get, family)
        found = (record(buf, off, family)
                 for buf, off in self._dump(ns, req, new))
        return [r for r in found if r is not None]

    def addresses(self, ns=None, family=0):
        return self._by_family(ns, ifaddrmsg, RTM_GETADDR, RTM_NEWADDR,
                               family, decode.address)

    def routes(self, ns=None, family=0):
        return self._by_family(ns, rtmsg, RTM_GETROUTE, RTM_NEWROUTE, family,
                               decode.route)
