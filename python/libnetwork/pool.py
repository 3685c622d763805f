"""Warm pools: sandboxes prepared ahead of time, so that attaching one
container costs what is the container's own (its addresses, its routes),
not a namespace and a veth.

    controller = libnetwork.new(..., warm_pool=8)     # or option_warm_pool

A pool of ``n`` holds namespaces made at their final path
(``<exec root>/netns/<id8>-<id12>``, the controller's mark in the name),
with ``lo`` up -- made by the same steps as a sandbox's
(:func:`libnetwork.osl.namespace_steps`).  When the network last attached
to is a bridge network, each also holds a veth into it (the driver's
``prewire``: host end in the bridge, marked, down; sandbox end ``eth0``,
down), so that the join only sets the MAC (and a name other than
``eth0``, if asked), addresses, routes and brings both ends up.

``attach`` takes what the pool has (entries wired for its network first,
then bare ones) and creates the rest as without a pool; a daemon thread
makes new entries after every take, a few at a time, each batch after the
change that woke it (it waits for the controller's lock, then lets it go)
and holding the backend only for that batch.  It also rewires the pool
when attaches move to another network (entries wired for a network that
is not the last one attached to, or is gone, are deleted).

Ownership and crashes (docs/pool.md): every entry is written, before the
kernel is asked for it, to the pool's own file among the intents
(``<exec root>/intents/<id8>-<id>.json``, kind ``"pool"``), locked by the
process for as long as it lives, so that reconcile in another process on
the same store leaves those objects alone.  A take costs no write: the
entry stays in the file until the change that took it has ended (the
thread lets it go then, under the controller's lock), and the next start
after a crash deletes what the file names that no record took over
(:func:`unclaimed`; ``reconciled.pool_removed``) -- a committed sandbox's
namespace and its endpoint's veth are recorded, the rest goes.
:meth:`Pool.stop` (``Controller.stop``) deletes the entries and the file;
what the kernel refuses to delete stays in the file for the next start.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
import threading
from typing import NamedTuple, Optional

from . import marks, osl
from .backends import ops as O
from .plan import bulk_delete, group_sandbox_steps, undo

__all__ = ["Pool", "Entry", "Wired", "unclaimed", "BATCH", "PEER"]

log = logging.getLogger("libnetwork")

BATCH = 2            # entries per refill batch: what an attach may wait for
PEER = "eth0"        # a pooled veth's sandbox end, as a first join names it
_COMPACT = 64        # drops before the pool's file is written anew
_BACKOFF = (0.05, 5.0)   # seconds between failed refills: first, most
_LOOK = 1.0          # seconds between looks when nothing wakes the thread


class Wired(NamedTuple):
    """A pooled namespace's veth into a network."""
    network: str         # the network's id
    host: str            # the host end's name (root namespace)
    host_index: int
    peer: str            # the sandbox end's name (PEER)
    peer_index: int      # ... and its index, in the namespace
    group: int           # the network's link group


class Entry:
    """One prepared sandbox namespace: the sandbox id it is named after,
    its path and its veth, if any."""

    __slots__ = ("sid", "path", "wired")

    def __init__(self, sid: str, path: str, wired: Optional[Wired] = None):
        self.sid = sid
        self.path = path
        self.wired = wired

    def creates(self) -> list:
        """The entry as intent entries (:func:`libnetwork.intents.creations`)."""
        out = [["netns", self.path]]
        if self.wired is not None:
            out.append(_link(self.wired))
        return out

    def __repr__(self):
        return f"<pool entry {self.path} {self.wired}>"


def _link(w: Wired) -> list:
    return ["link", None, w.host, w.group]


class _Record:
    """The pool's file among the intents: a head, ``{"creates": [...]}``
    lines before entries are made, ``{"drops": [...]}`` lines once they
    are deleted or their taker has ended (:func:`libnetwork.intents._read`
    subtracts them), locked while the process lives."""

    def __init__(self, intents):
        self.enabled = intents.enabled
        self.id = secrets.token_hex(8)
        self.dir = intents.dir
        self.prefix = intents.prefix
        self.path = os.path.join(self.dir, f"{self.prefix}-{self.id}.json")
        self._fd = None
        self._drops = 0
        self.lock = threading.Lock()

    def _head(self) -> bytes:
        return (json.dumps({"id": self.id, "kind": "pool", "what": None})
                + "\n").encode()

    def _write(self, rec: dict) -> None:
        if not self.enabled:
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT
                               | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                               0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.write(self._fd, self._head())
        os.write(self._fd, (json.dumps(rec, separators=(",", ":"))
                            + "\n").encode())

    def add(self, entries: list) -> None:
        if entries:
            with self.lock:
                self._write({"creates": entries})

    def drop(self, entries: list) -> None:
        if entries:
            with self.lock:
                self._write({"drops": entries})
                self._drops += 1

    def compact(self, live) -> None:
        """Write the file anew with only what ``live()`` returns (intent
        entries; asked under the file's lock, so that no drop falls
        between), once enough drops piled up: a temporary file (a name
        reconcile does not read), locked, renamed over the old one, then
        the old one's lock let go -- at every moment the entries are in a
        locked file."""
        with self.lock:
            if self.enabled and self._fd is not None and \
                    self._drops >= _COMPACT:
                self._compact(live())

    def _compact(self, live: list) -> None:
        tmp = os.path.join(self.dir, f".{self.prefix}-{self.id}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                     | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, self._head())
            if live:
                os.write(fd, (json.dumps({"creates": live},
                                         separators=(",", ":"))
                              + "\n").encode())
            os.rename(tmp, self.path)
        except BaseException:
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd = fd
        self._drops = 0

    def close(self, remove: bool) -> None:
        """Let the file go: removed when the pool left nothing, else kept
        (unlocked) for the next start to delete what it names."""
        with self.lock:
            if self._fd is None:
                return
            if remove:
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None


class Pool:
    """The warm pool of one controller (``Controller.pool``)."""

    def __init__(self, c, size: int):
        self.size = size
        self._c = c
        self._lock = threading.Lock()
        self._ready: list = []           # Entry, oldest first
        self._taken: list = []           # ... taken, still in the file
        self._kept: list = []            # ... the kernel would not delete
        self._making = 0                 # entries the thread is making
        self._hot: Optional[str] = None  # the network to wire veths for
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._record = _Record(c.intents)
        #: counters: entries made, wired, taken, deleted; failed batches
        self.stats = {"made": 0, "wired": 0, "taken": 0, "deleted": 0,
                      "failures": 0}
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="libnetwork-pool")
        self._thread.start()
        self._wake.set()

    # ---------------------------------------------------------- state

    def ready(self) -> int:
        """How many prepared sandboxes the pool holds now."""
        return len(self._ready)

    def state(self) -> dict:
        """What the pool holds: ``{"size", "ready", "wired" (network id ->
        count), "making" (entries being made or changed), "hot" (the
        network it wires for), "paths" (namespaces), "hosts" (veths' host
        ends)}``."""
        with self._lock:
            entries = list(self._ready)
            making = self._making
        wired: dict = {}
        for e in entries:
            if e.wired is not None:
                wired[e.wired.network] = wired.get(e.wired.network, 0) + 1
        return {"size": self.size, "ready": len(entries), "wired": wired,
                "making": making, "hot": self._hot,
                "paths": [e.path for e in entries],
                "hosts": [e.wired.host for e in entries
                          if e.wired is not None]}

    # ---------------------------------------------------------- take

    def take(self, ch, nw, spec, n: int) -> list:
        """Inside ``attach``'s change ``ch`` (under the controller's lock):
        up to ``n`` entries for sandboxes of ``spec`` joining ``nw`` (wired
        for it first, then bare).  They stay in the pool's file until the
        change has ended; its rollback deletes them.  The caller wakes the
        thread (:meth:`refill`) after the change."""
        if (n <= 0 or spec.use_default_sandbox
                or spec.netns_path is not None or self._stopping.is_set()):
            return []
        wires = hasattr(self._c._drivers[nw.type()], "prewire")
        with self._lock:
            if wires:
                self._hot = nw.id()
            got = [e for e in self._ready
                   if e.wired is not None and e.wired.network == nw.id()]
            if len(got) < n:
                got += [e for e in self._ready if e.wired is None]
            del got[n:]
            if got:
                taken = set(map(id, got))
                self._ready = [e for e in self._ready if id(e) not in taken]
                self._taken += got
        if not got:
            return []
        self.stats["taken"] += len(got)
        backend = self._c.backend

        def rollback():
            self._wake.set()
            if self._delete(backend, got):
                raise OSError(errno.EBUSY, "pooled namespaces stay")
        ch.on_undo(rollback)
        return got

    def refill(self) -> None:
        """Wake the thread (``attach`` calls it once its change has ended:
        the thread then does not contend with the change)."""
        self._wake.set()

    # ---------------------------------------------------------- stop

    def stop(self) -> None:
        """Stop the thread (after its batch), delete the entries; what the
        kernel keeps stays in the pool's file for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._settle()
        with self._lock:
            entries, self._ready = self._ready + self._kept, []
            self._kept = []
        left = self._delete(self._c.backend, entries) if entries else []
        self._forget(entries, left)
        self._record.close(remove=not left)

    # ------------------------------------------------------- refill

    def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            # a look now and then: the network wired for may be deleted
            self._wake.wait(_LOOK)
            self._wake.clear()
            while not self._stopping.is_set():
                try:
                    self._settle()      # after the change that woke us
                    if self._stopping.is_set() or not self._step():
                        backoff = 0.0
                        break
                except Exception as exc:    # noqa: BLE001 - logged, retried
                    self.stats["failures"] += 1
                    log.warning("libnetwork: warm pool refill: %s", exc)
                    backoff = min(max(backoff * 2, _BACKOFF[0]), _BACKOFF[1])
                    if self._stopping.wait(backoff):
                        return

    def _settle(self) -> None:
        """Let the file forget the entries taken by changes that have
        ended (committed: their records own them; rolled back: deleted).
        Every take happens under the controller's lock: whatever was
        taken before we hold it was taken by a change that has ended."""
        with self._c._lock:
            with self._lock:
                done, self._taken = self._taken, []
        self._record.drop([x for e in done for x in e.creates()])

    def _step(self) -> bool:
        """One batch of work: delete entries wired for a network that is
        not the one last attached to, wire bare ones for it, or make new
        ones; False when there is none."""
        c = self._c
        with self._lock:
            nw = c._networks.get(self._hot) if self._hot else None
            if nw is None:
                self._hot = None
            hot = nw.id() if nw is not None else None
            stale = [e for e in self._ready if e.wired is not None
                     and e.wired.network != hot][:BATCH]
            bare = [] if stale or hot is None else \
                [e for e in self._ready if e.wired is None][:BATCH]
            work = stale or bare
            if work:
                ids = set(map(id, work))
                self._ready = [e for e in self._ready if id(e) not in ids]
            else:
                k = min(BATCH, self.size - len(self._ready) - self._making)
                if k <= 0:
                    return False
                work = [self._new() for _ in range(k)]
            self._making += len(work)
        try:
            if stale:
                self._forget(work, self._delete(c.backend, work))
            else:
                self._make(work, nw, fresh=not bare)
                with self._lock:
                    self._ready += work
                self.stats["wired" if bare else "made"] += len(work)
        finally:
            with self._lock:
                self._making -= len(work)
        self._record.compact(self._live)
        return True

    def _live(self) -> list:
        with self._lock:
            return [x for e in self._ready + self._taken + self._kept
                    for x in e.creates()]

    def _new(self) -> Entry:
        sid = osl.new_id()
        return Entry(sid, os.path.join(self._c.netns_dir,
                                       marks.netns_name(self._c.identity,
                                                        sid)))

    def _make(self, entries: list, nw, fresh: bool) -> None:
        """Make ``entries`` (``fresh``: their namespaces too) and, with a
        network, their veths into it (``entry.wired``).  Written to the
        pool's file first; on failure what was made is undone, the
        entries are deleted (bare ones that were there too) and the error
        raised."""
        c = self._c
        steps, veths = [], []
        for e in entries:
            if fresh:
                steps += osl.namespace_steps(e.path)
            if nw is not None:
                host = "veth" + secrets.token_hex(6)[:11]   # as any
                plan = c._drivers[nw.type()].prewire(nw, e.path, host, PEER)
                veths.append((e, Wired(nw.id(), host, 0, PEER, 0,
                                       nw.driver_state["group"]),
                              plan[0].op))
                steps += plan
        self._record.add([x for e in entries if fresh for x in e.creates()]
                         + [_link(w) for _, w, _ in veths])
        try:
            results = _apply(c.backend, steps, c.config.root_namespace)
        except BaseException:
            for e, w, _ in veths:
                e.wired = w             # deleted with the entry
            self._forget(entries, self._delete(c.backend, entries))
            raise
        for e, w, op in veths:
            made = results[id(op)]
            e.wired = w._replace(host_index=made.index,
                                 peer_index=made.peer)

    def _delete(self, backend, entries: list) -> list:
        """Delete entries (host ends in bulk, then namespaces); returns
        those the kernel kept."""
        hosts = [e.wired.host for e in entries if e.wired is not None]
        ops = bulk_delete(hosts) if hosts else []
        ops += [O.NetnsDelete(e.path) for e in entries]
        results = backend.execute(ops)
        left = []
        for e, r in zip(entries, results[len(results) - len(entries):]):
            if not r.ok and r.errno != errno.ENOENT:
                left.append(e)
                log.warning("libnetwork: warm pool: %s stays: %s", e.path,
                            os.strerror(r.errno))
        self.stats["deleted"] += len(entries) - len(left)
        return left

    def _forget(self, entries: list, left: list) -> None:
        """The pool's file lets deleted entries go; those the kernel kept
        stay in it (and are tried again at stop)."""
        with self._lock:
            self._kept += [e for e in left if e not in self._kept]
        self._record.drop([x for e in entries if e not in left
                           for x in e.creates()])


def unclaimed(c, creates: list) -> list:
    """At start, of a pool's file left behind (``creates``: its intent
    entries): those no record took over -- a namespace no sandbox record
    has as its key, a link no endpoint record names as its host end."""
    keys = {sb.key() for sb in c._sandboxes.values()}
    hosts = {getattr(ep, "host_ifname", None)
             for nw in c._networks.values() for ep in nw.endpoints()}
    return [e for e in creates
            if (e[0] == "netns" and e[1] not in keys)
            or (e[0] == "link" and e[2] not in hosts)]


def _apply(backend, steps: list, root) -> dict:
    """Run steps as :func:`libnetwork.plan.execute` does (phase order, one
    batch, undone on failure), returning ``{id(op): value}`` of the link
    creations (their echoed indexes)."""
    steps = group_sandbox_steps(sorted(steps, key=lambda s: s.phase), root)
    results = backend.execute([s.op for s in steps], stop_on_error=True)
    undos = [s.undo for s, r in zip(steps, results)
             if r.ok and s.undo is not None]
    for r in results:
        if not r.ok:
            try:
                undo(backend, undos)
            finally:
                raise r.exception()
    return {id(r.op): r.value for r in results
            if isinstance(r.op, O.LinkAddVeth)}

