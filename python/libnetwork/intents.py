"""Crash safety: every change records its intent before it touches the
kernel, so that a controller started after a SIGKILL at any point brings
every object to fully present or fully gone.

* A change that sets something up (a network, sandboxes, endpoints, joins)
  writes, before each plan is sent, the kernel objects the plan creates.
  If its store transaction commits, the same transaction leaves a marker
  (``("intent", id)``) and the file is removed after the commit.  At the
  next start, an intent without its marker belongs to a change that never
  committed: what it created is deleted (a link only when it still carries
  the group the intent names).
* A teardown (leave, deleting endpoints, sandboxes or a network, detach)
  writes what it was asked to do; at the next start it is done again, on
  the restored objects (teardown is idempotent: what is gone is done).

Intent files live in ``<exec root>/intents/`` -- like the kernel state
they describe, they do not survive a reboot -- named after the store's
identity, appended to (one JSON line per plan), locked by the process
that writes them for as long as it lives (so that a controller starting
meanwhile on the same store leaves them alone), never fsynced: a process
crash cannot lose what the kernel already holds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets

from .backends import ops as O
from .dirs import makedirs

__all__ = ["Intents", "creations", "replay"]

KIND = "intent"


def creations(ops) -> list:
    """What ``ops`` create in the kernel, as intent entries: ``["netns",
    path]`` and ``["link", ns, name, group]``."""
    out = []
    for op in ops:
        t = type(op)
        if t is O.NetnsCreate:
            out.append(["netns", op.path])
        elif t in (O.LinkAddBridge, O.LinkAddVeth, O.LinkAddVlan):
            out.append(["link", op.ns, op.name, op.group])
        elif t in (O.LinkAddMacvlan, O.LinkAddIpvlan):
            out.append(["link", op.netns or op.ns, op.name, op.group])
    return out


class Intent:
    """One change's record: a file of JSON lines, appended to (the first
    line says what the change is, each later one what a plan is about to
    create), and locked (``flock``) by the process making the change for as
    long as it lives: a controller starting meanwhile on the same store
    leaves it alone; one that starts after that process died takes it."""

    def __init__(self, log, kind, what):
        self.id = secrets.token_hex(8)
        self.kind = kind
        self.what = what
        self.path = os.path.join(log.dir, f"{log.prefix}-{self.id}.json")
        self._fd = None
        #: is the file there (a setup intent is written with its first
        #: creation; a teardown's at once)
        self.written = False
        if kind != "setup":
            self._append({})

    def created(self, ops) -> None:
        """Before a plan is sent: what it will create."""
        new = creations(ops)
        if new:
            self._append({"creates": new})

    def covers(self, entries: list) -> None:
        """What the change takes over that it did not create (a warm
        pool's namespaces, :mod:`~libnetwork.pool`): intent entries."""
        if entries:
            self._append({"creates": entries})

    def _append(self, rec: dict) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT
                               | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                               0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            head = {"id": self.id, "kind": self.kind, "what": self.what}
            os.write(self._fd, (json.dumps(head) + "\n").encode())
            self.written = True
        if rec:
            os.write(self._fd, (json.dumps(rec, separators=(",", ":"))
                                + "\n").encode())

    def done(self) -> None:
        if self._fd is not None:
            os.unlink(self.path)
            os.close(self._fd)          # and the lock with it
            self._fd = None
            self.written = False


class _Nothing:
    """The intent of a controller whose state does not persist."""
    id = None
    written = False

    def created(self, ops) -> None:
        pass

    def covers(self, entries) -> None:
        pass

    def done(self) -> None:
        pass


class Intents:
    """The intent files of one store under one exec root."""

    def __init__(self, exec_root: str, identity: str, enabled: bool = True):
        self.dir = os.path.join(exec_root, "intents")
        self.prefix = identity[:8]
        self.enabled = enabled
        #: what live processes' changes are creating (see :meth:`pending`)
        self.in_flight: set = set()
        if enabled:
            makedirs(self.dir, 0o700)

    def begin(self, kind: str, what=None):
        """A new intent: ``kind`` ``"setup"`` or a teardown's name, with
        what it was asked to do."""
        if not self.enabled:
            return _Nothing()
        return Intent(self, kind, what)

    def pending(self) -> list:
        """``(path, record, fd)`` of every intent whose process is gone,
        oldest first, each locked by ``fd`` until the caller closes it
        (an intent still locked belongs to a live process: skipped, and
        what it creates noted in :attr:`in_flight`, namespace paths and
        link names that reconcile must leave alone).  A last line cut
        short is a crash inside its write: that plan was
        never sent."""
        self.in_flight = set()
        if not self.enabled:
            return []
        out = []
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name)
            if not name.startswith(self.prefix + "-"):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue                    # done meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:         # its process is alive
                rec = _read(fd)
                if rec is not None:
                    for entry in rec["creates"]:
                        self.in_flight.add(entry[1] if entry[0] == "netns"
                                           else entry[2])
                os.close(fd)
                continue
            rec = _read(fd)
            if rec is None:                 # an empty head: never sent
                os.unlink(path)
                os.close(fd)
                continue
            out.append((os.fstat(fd).st_mtime, path, rec, fd))
        return [(p, r, fd) for _, p, r, fd in sorted(out, key=lambda x: x[:2])]


def _read(fd) -> "dict | None":
    with os.fdopen(os.dup(fd)) as f:
        lines = f.read().split("\n")
    try:
        rec = json.loads(lines[0])
    except ValueError:
        return None
    rec["creates"] = []
    drops = []            # a warm pool's: entries handed over or deleted
    for line in lines[1:]:
        try:
            d = json.loads(line)
            if "drops" in d:
                drops += d["drops"]
            else:
                rec["creates"] += d["creates"]
        except (ValueError, KeyError, TypeError):
            break                           # cut short, and the rest
    if drops:
        gone = {json.dumps(e) for e in drops}
        rec["creates"] = [e for e in rec["creates"]
                          if json.dumps(e) not in gone]
    return rec


# ------------------------------------------------------------ at start

log = logging.getLogger("libnetwork")


def replay(c) -> None:
    """Finish what a crash cut short (see :mod:`~libnetwork.intents`):
    undo the creations of setup changes that never committed, do again the
    teardowns that did not finish; then drop the markers of committed
    changes whose files are gone (another live process's stay)."""
    if not c.intents.enabled:
        return
    markers = {key for key, _ in c.store.list(KIND)}
    for path, rec, fd in c.intents.pending():
        try:
            if rec["kind"] == "setup":
                if rec["id"] not in markers:
                    _undo_creations(c, rec["creates"])
                    c.reconciled.changes_undone += 1
            elif rec["kind"] == "pool":     # a warm pool left behind
                from .pool import unclaimed
                gone = unclaimed(c, rec["creates"])
                _undo_creations(c, gone)
                c.reconciled.pool_removed += [e[1] for e in gone
                                              if e[0] == "netns"]
            elif not _redo_teardown(c, rec):
                continue                    # try again at the next start
            else:
                c.reconciled.teardowns_finished += 1
            os.unlink(path)
        finally:
            os.close(fd)
    present = {name.rsplit("-", 1)[-1].split(".")[0]
               for name in os.listdir(c.intents.dir)}
    for key in markers - present:
        c.store.delete(KIND, key)


def _undo_creations(c, creates) -> None:
    """Delete what an uncommitted change created: its namespaces, and the
    links it named that still carry the link group it gave them."""
    by_ns: dict = {}
    paths = []
    for entry in creates:
        if entry[0] == "netns":
            paths.append(entry[1])
        else:
            _, ns, name, group = entry
            by_ns.setdefault(ns, {})[name] = group
    batch = []
    for ns, want in by_ns.items():
        if ns is not None and (ns in paths or not os.path.exists(ns)):
            continue                        # goes with its namespace
        try:
            links = c.backend.links(ns)
        except OSError:
            continue
        batch += [O.LinkDel(link.name, ns=ns) for link in links
                  if link.name in want and want[link.name] is not None
                  and link.group == want[link.name]]
    batch += [O.NetnsDelete(p) for p in paths if os.path.exists(p)]
    if batch:
        c.backend.execute(batch)


def _redo_teardown(c, rec) -> bool:
    """A teardown again, on the restored objects; True when it finished
    (what it names may be gone already: that is done)."""
    from . import teardown
    what = rec["what"]
    eps = {ep.id(): ep for nw in c._networks.values()
           for ep in nw.endpoints()}
    saved, c.intents = c.intents, Intents(
        c.config.exec_root, c.identity, enabled=False)
    try:
        kind = rec["kind"]
        if kind == "leave":
            pairs = [(eps[e], c._sandboxes.get(s)) for e, s in what
                     if e in eps and eps[e].sandbox_id == s]
            if pairs:
                teardown.leave(c, pairs)
        elif kind == "delete_endpoints":
            mine = [eps[e] for e in what["ids"] if e in eps]
            if mine:
                teardown.delete_endpoints(c, mine, True)
        elif kind == "delete_sandboxes":
            sbs = [c._sandboxes[s] for s in what["ids"]
                   if s in c._sandboxes]
            if sbs:
                teardown.delete_sandboxes(c, sbs, what["endpoints"])
        elif kind == "delete_network":
            nw = c._networks.get(what)
            if nw is not None:
                teardown.delete_network(c, nw)
        return True
    except Exception as exc:               # noqa: BLE001 - logged, retried
        log.warning("libnetwork: finishing the interrupted %s: %s",
                    rec["kind"], exc)
        return False
    finally:
        c.intents = saved
