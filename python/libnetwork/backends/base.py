"""What every backend shares: runs, echoed indexes, name resolution.

A batch is executed with the sequential meaning of its list (operation i
sees the effect of 0..i-1), and as few kernel round trips as that meaning
allows:

* consecutive namespace creations (deletions) form one run, done in one
  call;
* consecutive netlink operations on one namespace form one run, sent as one
  batch on that namespace's socket; a run is cut early only where an
  operation refers by name to a link that an earlier operation of the same
  run creates, renames, moves or deletes (its ifindex is not known before);
* an :class:`~.ops.IndexOf` reference takes the index the kernel echoed
  for an earlier operation (``NLM_F_ECHO`` is asked for exactly the
  operations a later one refers to); a run is cut before an operation
  whose reference is produced in the same run;
* names are resolved to ifindexes once per run, in one batched lookup --
  only where the message needs an index: ``LinkSet`` (but a rename) and
  ``LinkDel`` name their link to the kernel (``IFLA_IFNAME``, index 0), so
  they need no lookup and never cut a run.  That also spares the kernel
  work: ``RTM_GETLINK`` first syncs the device's pending link-watch event,
  which for an up link without carrier waits for an RCU grace period.
  Plans that carry indexes (:class:`~.ops.IndexOf`) need no lookup at all.

Every operation is sent as exactly one message, as given.

A backend implements the primitives at the bottom of :class:`Backend`.
"""

from __future__ import annotations

import abc
import errno as E
import os
from typing import Iterable, Optional

from ..errors import InvalidParameter
from . import ops as O
from . import sysctl
from .validate import prepare

REF_FIELDS = {
    O.LinkAddVeth: ("master",),
    O.LinkAddMacvlan: ("parent",),
    O.LinkAddIpvlan: ("parent",),
    O.LinkAddVlan: ("parent",),
    O.LinkSet: ("link", "master"),
    O.BridgePortSet: ("link",),
    O.LinkDel: ("link",),
    O.AddrAdd: ("link",),
    O.AddrDel: ("link",),
    O.RouteAdd: ("oif",),
    O.RouteDel: ("oif",),
}
_ALL = object()   # "every name of the namespace may have changed"
_LOWER = (O.LinkAddMacvlan, O.LinkAddIpvlan, O.LinkAddVlan)
_NFT = frozenset(O.NFT_OPS)


def _touched(op, ns, root):
    """Names in ``ns`` whose ifindex ``op`` creates, changes or removes."""
    t = type(op)
    if t is O.LinkAddBridge:
        return (op.name,)
    if t is O.LinkAddVeth:
        if op.peer_ns is None or (op.peer_ns if op.peer_ns != root
                                  else None) == ns:
            return (op.name, op.peer_name)
        return (op.name,)
    if t in _LOWER:
        netns = getattr(op, "netns", None)
        if netns is None or (netns if netns != root else None) == ns:
            return (op.name,)
        return ()
    if t is O.LinkSet:
        if op.name is None and op.netns is None:
            return ()
        old = (op.link,) if isinstance(op.link, str) else _ALL
        if old is _ALL:
            return _ALL
        return old + ((op.name,) if op.name else ())
    if t is O.LinkDel:
        return (op.link,) if isinstance(op.link, str) else _ALL
    if t is O.LinkDelGroup:
        return _ALL
    return ()


def by_name(op) -> bool:
    """Is ``op``'s link named to the kernel (``IFLA_IFNAME``, index 0)
    rather than resolved to an ifindex first?  A rename needs the index."""
    t = type(op)
    return (t is O.LinkDel or (t is O.BridgePortSet and op.state is None)
            or (t is O.LinkSet and op.name is None)) and type(op.link) is str


def _refs(op):
    """The names ``op`` needs resolved to ifindexes before it is sent, and
    the :class:`~.ops.IndexOf` references it carries."""
    fields = REF_FIELDS.get(type(op))
    if not fields:
        return (), ()
    named = by_name(op)
    names, idx = [], []
    for f in fields:
        v = getattr(op, f)
        if type(v) is str:
            if not (named and f == "link"):
                names.append(v)
        elif type(v) is O.IndexOf:
            idx.append(v)
    return names, idx


class Backend(abc.ABC):
    """Executes batches of :mod:`~libnetwork.backends.ops` operations.

    ``root`` is the namespace that operations with ``ns=None`` act in: a
    bound namespace path, or ``None`` for the namespace the process is in.
    """

    name = "abstract"

    def __init__(self, root: Optional[str] = None):
        self.root = root
        self._stats = {"sendmsg": 0}

    # ------------------------------------------------------------ public

    def execute(self, batch: Iterable[O.Op],
                stop_on_error: bool = False) -> list[O.Result]:
        """Run ``batch``; one :class:`~.ops.Result` per operation.

        A malformed operation raises InvalidParameter before anything is
        sent.  Kernel errors do not stop the batch: each operation gets its
        own result, as the kernel processes each message of a netlink batch
        on its own.  With ``stop_on_error``, once a run has a failure the
        later runs are not sent (their results: ECANCELED) -- what a plan
        whose later steps build on earlier ones needs (a run never holds an
        operation that refers to a name an earlier one of it creates).
        """
        batch = list(batch)
        prepared = [prepare(op) for op in batch]
        n = len(batch)
        results: list = [None] * n
        refs_of: list = [()] * n       # names each op needs resolved
        idx_of: list = [()] * n        # IndexOf references each op carries
        producer: dict = {}            # id(IndexOf) -> position of its op
        echo: set = set()              # positions whose creation is echoed
        position = {id(op): k for k, op in enumerate(batch)}
        for k, op in enumerate(batch):
            names, idx = _refs(op)
            refs_of[k] = names
            if idx:
                idx_of[k] = idx
                for ref in idx:
                    p = position.get(id(ref.op))
                    if p is None or p >= k:
                        raise InvalidParameter(
                            f"{type(op).__name__}: {ref!r} names an "
                            "operation that does not come earlier in the "
                            "batch")
                    producer[id(ref)] = p
                    if type(batch[p]) is not O.LinkGet:
                        echo.add(p)
        i = checked = 0
        while i < n:
            # each result is looked at once: linear in the batch
            failed = stop_on_error and any(
                results[k].errno for k in range(checked, i))
            checked = i
            if failed:
                for k in range(i, n):
                    results[k] = O.Result(batch[k], E.ECANCELED,
                                          "not sent: an earlier operation "
                                          "of the batch failed")
                break
            op = batch[i]
            t = type(op)
            if t is O.NetnsCreate or t is O.NetnsDelete:
                j = i + 1
                while j < n and type(batch[j]) is t:
                    j += 1
                paths = [batch[k].path for k in range(i, j)]
                if t is O.NetnsCreate:
                    outs = self._netns_create(paths)
                else:
                    outs = self._netns_delete(paths)
                for k, (err, msg) in zip(range(i, j), outs):
                    results[k] = O.Result(batch[k], err, msg)
                i = j
                continue
            root = self.root
            ns = None if op.ns == root else op.ns   # None: the root
            if t in _NFT or t is O.Sysctl:
                # a run of nftables operations is one transaction; sysctls
                # are file writes: each kind runs apart from rtnetlink
                j = i + 1
                while j < n and (type(batch[j]) is t or t in _NFT and
                                 type(batch[j]) in _NFT) and (
                        None if batch[j].ns == root else batch[j].ns) == ns:
                    j += 1
                if t is O.Sysctl:
                    outs = sysctl.write(ns or root, [
                        (batch[k].key, batch[k].value, batch[k].missing_ok)
                        for k in range(i, j)])
                else:
                    outs = self._nft(ns, [(batch[k], prepared[k])
                                          for k in range(i, j)])
                for k, out in zip(range(i, j), outs):
                    results[k] = O.Result(batch[k], out[0], out[1],
                                          out[2] if len(out) > 2 else None)
                i = j
                continue
            j = i
            touched: set = set()
            dirty = False
            needed: set = set()
            while j < n:
                o = batch[j]
                to = type(o)
                if to is O.NetnsCreate or to is O.NetnsDelete or \
                        to in _NFT or to is O.Sysctl or (
                        None if o.ns == root else o.ns) != ns:
                    break
                if j > i and idx_of[j] and any(
                        producer[id(r)] >= i for r in idx_of[j]):
                    break               # its index comes back with this run
                refs = refs_of[j]
                if refs:
                    if j > i and (dirty or touched.intersection(refs)):
                        break
                    needed.update(refs)
                t2 = _touched(o, ns, root)
                if t2 is _ALL:
                    dirty = True
                else:
                    touched.update(t2)
                j += 1
            self._run(ns, batch, prepared, results, i, j, needed, refs_of,
                      idx_of, producer, echo)
            i = j
        return results

    def run(self, batch: Iterable[O.Op]) -> list[O.Result]:
        """Like :meth:`execute`, but raise the first failure's typed
        NetlinkError (with ``.results`` holding all results)."""
        results = self.execute(batch)
        for r in results:
            if r.errno:
                exc = r.exception()
                exc.results = results
                raise exc
        return results

    def link_index(self, name: str, ns: O.NS = None) -> int:
        """``ip link show NAME``: the ifindex, or NetlinkNotFound."""
        return self.run([O.LinkGet(name, ns=ns)])[0].value

    def close(self) -> None:
        """Release every socket and descriptor the backend holds."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -------------------------------------------------------- internals

    def stats(self) -> dict:
        """Counters since the backend was made: ``sendmsg`` (netlink
        ``sendmsg`` calls, dumps and lookups included)."""
        return dict(self._stats)

    def _run(self, ns, batch, prepared, results, i, j, needed, refs_of,
             idx_of, producer, echo):
        where = ns or self.root or "(root)"
        names: dict = {}
        if needed:
            try:
                names = self._lookup(ns, sorted(needed))
            except OSError as exc:
                err = exc.errno or E.EIO
                msg = f"namespace {where}: {os.strerror(err)}"
                for k in range(i, j):
                    results[k] = O.Result(batch[k], err, msg)
                return
        items = []
        for k in range(i, j):
            op = batch[k]
            missing = [r for r in refs_of[k] if r not in names]
            for ref in idx_of[k]:
                value = results[producer[id(ref)]].value
                if value is None:
                    missing.append(ref)
                elif type(value) is O.Created:
                    names[ref] = value.peer if ref.peer else value.index
                else:
                    names[ref] = value          # a LinkGet's ifindex
            if missing:
                what = missing[0]
                results[k] = O.Result(op, E.ENODEV, (
                    f"no link named {what!r} in namespace {where}"
                    if type(what) is str else
                    f"the link of {type(what.op).__name__} "
                    f"{getattr(what.op, 'name', None) or what.op.link!r} was not "
                    "created"))
            else:
                items.append((k, op, prepared[k], k in echo))
        if not items:
            return
        outs = self._exec(ns, items, names)
        for (k, op, _, echoed), (err, msg, value) in zip(items, outs):
            if err == E.ENODEV and by_name(op):
                # the kernel gives no text; say what a lookup would have
                msg = f"no link named {op.link!r} in namespace {where}"
            elif echoed and not err:
                value = O.Created(*value)
            results[k] = O.Result(op, err, msg, value)

    # ----------------------------------------------- backend primitives

    @abc.abstractmethod
    def _netns_create(self, paths: list[str]) -> list[tuple[int, str]]:
        """Create and bind each namespace: (errno, message) per path."""

    @abc.abstractmethod
    def _netns_delete(self, paths: list[str]) -> list[tuple[int, str]]:
        """Detach and unlink each namespace (closing what the backend holds
        in it first): (errno, message) per path."""

    @abc.abstractmethod
    def _lookup(self, ns: O.NS, names: list[str]) -> dict[str, int]:
        """ifindex of each existing name in ``ns`` (absent names omitted).
        Raises OSError when ``ns`` cannot be entered."""

    @abc.abstractmethod
    def _exec(self, ns: O.NS, items: list, names: dict) -> list[tuple]:
        """Run netlink items ``(index, op, prepared, echo)`` in ``ns`` in
        order, one message each; ``names`` maps every str and
        :class:`~.ops.IndexOf` link reference to its ifindex.  With
        ``echo`` the message asks for ``NLM_F_ECHO`` and the item's value
        is ``(ifindex, iflink)`` read from the echoed ``RTM_NEWLINK``
        (``iflink``: ``IFLA_LINK``, 0 when absent).  Returns ``(errno,
        message, value)`` per item.  A namespace that cannot be entered
        fails every item with its errno.  Adds its ``sendmsg`` calls to
        ``self._stats["sendmsg"]``."""

    @abc.abstractmethod
    def _nft(self, ns: O.NS, items: list) -> list[tuple]:
        """Run nftables items ``(op, prepared)`` in ``ns`` as ONE
        transaction on an nfnetlink socket (batch begin, one message per
        op with ``NLM_F_ACK``, batch end), in one ``sendmsg``.  Returns
        ``(errno, message)`` per item: all ``(0, "")`` when the kernel
        committed it; when it aborted, the refused messages' errno and
        extended-ack text and ECANCELED ("not applied: the transaction was
        aborted") for the rest.  A namespace that cannot be entered fails
        every item with its errno.  Adds to ``self._stats["sendmsg"]``."""

    @abc.abstractmethod
    def links(self, ns: O.NS = None) -> list[O.Link]:
        """``ip link show``: every link of ``ns``."""

    def link_names(self, ns: O.NS = None) -> set:
        """The names of every link of ``ns``, read from the namespace's
        ``/proc/net/dev``.  Unlike a link dump, this costs the kernel
        nothing per namespace on the host: a dump describes each veth with
        the id of its peer's namespace, and the kernel finds that id by a
        walk over every namespace id the host holds (``peernet2id``), so a
        dump of N veths costs O(N x namespaces)."""
        text = sysctl.read_proc(ns if ns is not None else self.root,
                                "net/dev")
        out = set()
        for line in text.splitlines()[2:]:
            name, sep, _ = line.partition(":")
            if sep:
                out.add(name.strip())
        return out

    def links_named(self, names, ns: O.NS = None) -> list[O.Link]:
        """``ip link show NAME`` for each of ``names``: the links of ``ns``
        that have one of these names (names with no link are left out).
        This one filters a dump; a backend that can ask for one link at a
        time does (the cost then follows len(names), not the namespace)."""
        names = set(names)
        if not names:
            return []
        return [link for link in self.links(ns) if link.name in names]

    @abc.abstractmethod
    def addresses(self, ns: O.NS = None, family: int = 0) -> list[O.Address]:
        """``ip addr show``: every address of ``ns``."""

    @abc.abstractmethod
    def link_stats(self, ns: O.NS = None) -> dict[str, tuple]:
        """``ip -s link``: ``{name: (rx_bytes, rx_packets, rx_errors,
        rx_dropped, tx_bytes, tx_packets, tx_errors, tx_dropped)}``."""

    @abc.abstractmethod
    def routes(self, ns: O.NS = None, family: int = 0) -> list[O.Route]:
        """``ip route show table all``: every route of ``ns``."""
