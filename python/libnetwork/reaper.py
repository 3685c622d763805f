"""Asynchronous teardown: ``controller.detach(ids, wait=False)`` (see
``docs/teardown.md``).

The call unmounts the namespaces (the kernel destroys them, and their
veths, in the background), sets the host ends down, unpublishes the ports
and removes the records; a ``reaping`` record per host end still in the
kernel, written in the same transaction, holds its name, its ifindex, the
addresses and the host ports.  A reaper thread per controller looks at
the root's links and, once a host end's name and ifindex are gone,
releases what its record holds; it deletes in bulk what the kernel keeps
past :data:`GRACE`.  A gone reaper's records are finished at the next
start (:func:`at_start`); a network's deletion finishes its own first.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import logging
import os
import secrets
import threading
import time

from . import marks, osl, plan
from .backends import ops as O
from .dirs import makedirs
from .errors import InvalidParameter, NotFound
from .types import PortBinding

__all__ = ["KIND", "detach", "held", "port_holders", "at_start",
           "settle_network", "wait", "stop"]

KIND = "reaping"
#: seconds the kernel may take to destroy an unmounted namespace (and the
#: host ends of its veths with it) before the reaper deletes what remains
GRACE = 1.0
POLL_MIN = 0.005       # the first look after new work
POLL_MAX = 0.05        # looks at least this often while work is pending
IDLE = 2.0             # an idle reaper thread ends after this long
STOP_TIMEOUT = 60.0    # how long stop() waits for the reaper
LOCKS = "reapers"

log = logging.getLogger("libnetwork")


# ------------------------------------------------------------- detach

def detach(c, sbs, errors) -> None:
    """The body of ``detach(wait=False)`` (under the controller's lock, in
    the teardown's store transaction; ``sbs`` are live)."""
    from . import teardown        # it imports this module lazily
    owner = {ep.id(): sb for sb in sbs for ep in sb.endpoints()}
    eps = [ep for sb in sbs for ep in sb.endpoints()]
    reap = [ep for ep in eps
            if c._drivers[ep._nw.type()].endpoint_link(ep._nw, ep)]
    quick = {ep.id() for ep in reap}
    sync = [ep for ep in eps if ep.id() not in quick]
    if sync:        # endpoints without a host end: as synchronously
        teardown._leave(c, [(ep, owner[ep.id()]) for ep in sync], errors)
    private = [sb for sb in sbs if not sb.spec.use_default_sandbox
               and not sb.external()]
    # the namespaces first: the kernel starts destroying them (taking
    # their veths along) while the host ends are looked up and cut off
    # (one found gone already is released at once)
    batch = [O.NetnsDelete(sb.key()) for sb in private]
    batch += [O.LinkGet(ep.host_ifname) for ep in reap]
    batch += [c._drivers[ep._nw.type()].cut_off(ep._nw, ep) for ep in reap]
    published = [ep for ep in reap if ep.ports]
    by_nw: dict = {}
    for ep in published:
        by_nw.setdefault(id(ep._nw), (ep._nw, []))[1].append(ep)
    batch += [s.op for nw, some in by_nw.values()
              for s in c._drivers[nw.type()].unpublish(nw, some)]
    results = c.backend.execute(batch)
    n = len(private)
    kept = set()                          # sandboxes whose namespace stays
    for sb, r in zip(private, results):
        if not (r.ok or teardown._gone(r)):
            kept.add(sb.id())
            errors.append((f"namespace {sb.key()} of sandbox "
                           f"{sb.container_id()!r}", r.exception()))
    still: dict = {}                      # endpoint id -> ifindex or None
    for i, ep in enumerate(reap):
        get, down = results[n + i], results[n + len(reap) + i]
        if get.ok:
            still[ep.id()] = get.value
        elif get.errno != errno.ENODEV:
            still[ep.id()] = None         # there, as far as we know
        if not (down.ok or down.errno == errno.ENODEV):
            errors.append((f"host interface {ep.host_ifname} of endpoint "
                           f"{ep.name()!r}", down.exception()))
    fw_failed = [r for r in results[n + 2 * len(reap):] if not r.ok]
    stay = set()          # endpoints whose ports stay published: they stay
    if fw_failed:
        stay = {ep.id() for ep in published}
        errors.append((f"published ports of endpoint(s) "
                       f"{', '.join(repr(ep.name()) for ep in published)}",
                       fw_failed[0].exception()))
    for sb in sbs:
        if sb.id() in kept:               # its endpoints with a host end
            for ep in reap:               # leave; the sandbox stays
                if owner[ep.id()] is sb:
                    _unjoin(ep, sb)
            c.store.put("sandbox", sb.id(), sb.to_json())
            osl.write_hosts(sb)
            continue
        for ep in sb.endpoints():         # a failed leave: gone too
            _unjoin(ep, sb)
        osl.forget_sandbox(c, sb)
    teardown._drop_endpoints(c, sync, errors)
    pending: dict = {}
    r = _reaper(c) if still else None
    now = time.monotonic()
    for ep in reap:
        nw = ep._nw
        sb = owner[ep.id()]
        if ep.id() in still:
            at_once = sb.external() or sb.id() in kept
            rec = _record(r, ep, still[ep.id()], ep.id() not in stay,
                          at_once)
            c.store.put(KIND, ep.host_ifname, rec)
            pending[ep.host_ifname] = _Item(rec, now)
        elif ep.id() not in stay:
            _release(c, _record(None, ep, None, True, False))
        if ep.id() in stay:               # unjoined, as the sync path
            c.store.put("endpoint", ep.id(), ep.to_json())
            continue
        c._drivers[nw.type()].delete_endpoint(nw, ep)
        c.store.delete("endpoint", ep.id())
        nw._endpoints.pop(ep.id(), None)
    if pending:
        r.add(pending)


def _unjoin(ep, sb) -> None:
    """``join.record_leave`` without the endpoint's record (it goes)."""
    ep.sandbox_id = ep.ifname = None
    if ep.id() in sb.endpoint_ids:
        sb.endpoint_ids.remove(ep.id())
    if sb.gw_endpoint == ep.id():
        sb.gw_endpoint = None


def _record(r, ep, ifindex, holds: bool, at_once: bool) -> dict:
    """What a reaping record keeps of ``ep`` (``holds``: its addresses
    and ports, else only the host end)."""
    return {
        "owner": r.token if r is not None else None,
        "ifindex": ifindex, "group": ep._nw.driver_state.get("group"),
        "network": ep._nw.id(), "endpoint": ep.id(), "name": ep.name(),
        "addr": str(ep.addr) if holds and ep.addr is not None else None,
        "pool_v4": ep.pool_v4,
        "addr6": str(ep.addr6) if holds and ep.addr6 is not None else None,
        "pool_v6": ep.pool_v6,
        "ports": [b.to_dict() for b in ep.ports] if holds else [],
        "delete": at_once}


def _release(c, rec) -> None:
    """Give back the addresses a record holds (its ports are free once
    the record is gone).  An address whose pool is gone is logged."""
    for pool, addr in ((rec.get("pool_v4"), rec.get("addr")),
                       (rec.get("pool_v6"), rec.get("addr6"))):
        if not addr:
            continue
        try:
            c.ipam.release_address(pool, ipaddress.ip_interface(addr).ip)
        except (NotFound, InvalidParameter) as exc:
            log.warning("libnetwork: reaper: address %s of endpoint %r: "
                        "%s", addr, rec.get("name"), exc)


# --------------------------------------------- what the changes ask

def held(c, name: str) -> bool:
    """Is ``name`` a host interface the kernel may still hold (a reaping
    record's, of any process)?  Read once per change count."""
    cache = c.__dict__.get("_reaping_names")
    if cache is None or cache[0] != c._seen:
        cache = (c._seen, {k for k, _ in c.store.list(KIND)})
        c._reaping_names = cache
    return name in cache[1]


class _Holder:
    """A reaping record in the index of held host ports."""
    __slots__ = ("ports", "_name", "_network")

    def __init__(self, ports, name, network):
        self.ports, self._name, self._network = ports, name, network

    def name(self) -> str:
        return self._name

    def network(self) -> str:
        return self._network


def port_holders(c) -> list:
    """The host ports reaping records still hold, as endpoints to the
    port index (:class:`~libnetwork.firewall.ports.PortIndex`)."""
    out = []
    for _, rec in c.store.list(KIND):
        if rec.get("ports"):
            nw = c._networks.get(rec["network"])
            out.append(_Holder([PortBinding(**b) for b in rec["ports"]],
                               f"{rec['name']} (detached, being reaped)",
                               nw.name() if nw else rec["network"]))
    return out


# ------------------------------------------------- the kernel's view

def _links_of(c, recs) -> list:
    """The root's links named by ``recs`` (no dump: see link_names)."""
    there = c.backend.link_names(None) & {name for name, _ in recs}
    return c.backend.links_named(sorted(there), None) if there else []


def _present(c, recs, links) -> dict:
    """name -> Link of each record's host end still in ``links``: a link
    of that name and, when the record knows it, that ifindex."""
    by_name = {link.name: link for link in links}
    out = {}
    for name, rec in recs:
        link = by_name.get(name)
        if link is not None and rec.get("ifindex") in (None, link.index):
            out[name] = link
    return out


def _delete(c, recs, links) -> list:
    """Delete in bulk (one link group) the host ends of ``recs`` that are
    still there and carry our mark or the network's group; the results
    that failed."""
    groups = {name: rec.get("group") for name, rec in recs}
    mine = [link.index for name, link in links.items()
            if marks.is_mine(link, c.identity)
            or link.group == groups[name]]
    if not mine:
        return []
    return [r for r in c.backend.execute(plan.bulk_delete(mine))
            if not r.ok and r.errno != errno.ENODEV]


def finish(c, recs) -> list:
    """Finish reaping records now (under the controller's lock, in a
    store transaction): delete the host ends still there, look again,
    release what the gone ones held.  The names still there."""
    present = _present(c, recs, _links_of(c, recs))
    if present:
        for r in _delete(c, recs, present):
            log.warning("libnetwork: reaper: %s", r.exception())
        present = _present(c, recs, _links_of(c, recs))
    for name, rec in recs:
        if name not in present:
            _release(c, rec)
            c.store.delete(KIND, name)
    return sorted(present)


def settle_network(c, nw, errors) -> bool:
    """Before ``nw`` is deleted: finish its reaping records (any
    process's); False (with the error) when a host end stays."""
    recs = [(k, rec) for k, rec in c.store.list(KIND)
            if rec.get("network") == nw.id()]
    left = finish(c, recs) if recs else []
    if left:
        errors.append((f"network {nw.name()!r}: host interfaces not yet "
                       f"deleted: {', '.join(left)}",
                       NotFound(f"the kernel keeps {', '.join(left)}")))
    return not left


def at_start(c) -> set:
    """At start, inside reconcile: finish the records of reapers that are
    gone (a crash, or a stop that gave up); returns the host interface
    names that live reapers are still reaping (reconcile leaves them)."""
    _sweep(c)
    recs = c.store.list(KIND)
    alive: dict = {}
    live, orphans = set(), []
    for name, rec in recs:
        who = rec.get("owner")
        if who not in alive:
            alive[who] = _alive(c, who)
        (live.add(name) if alive[who] else orphans.append((name, rec)))
    if orphans:
        present = set(_present(c, orphans, _links_of(c, orphans)))
        left = finish(c, orphans)
        c.reconciled.links_removed += sorted(present - set(left))
        if left:                          # ours now: retried
            r = _reaper(c)
            recs = dict(orphans)
            for name in left:
                recs[name]["owner"] = r.token
                c.store.put(KIND, name, recs[name])
            r.add({name: _Item(recs[name], 0.0) for name in left})
    return live


# ---------------------------------------------- owners and their locks

def _lock_path(c, token) -> str:
    return os.path.join(c.config.exec_root, LOCKS,
                        f"{c.identity[:8]}-{token}")


def _alive(c, token) -> bool:
    """Is the reaper ``token`` alive (its lock file held)?"""
    r = c.__dict__.get("_reaper")
    if r is not None and r.token == token:
        return True
    if not token or not c.intents.enabled:
        return False
    try:
        fd = os.open(_lock_path(c, token), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _sweep(c) -> None:
    """Remove the lock files of this store's reapers that are gone."""
    d = os.path.join(c.config.exec_root, LOCKS)
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if name.startswith(c.identity[:8] + "-") and \
                not _alive(c, name.split("-", 1)[1]):
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass


# ---------------------------------------------------------- the reaper

class _Item:
    """A host end being reaped: its record and when it was handed over."""
    __slots__ = ("rec", "since")

    def __init__(self, rec, since):
        self.rec, self.since = rec, since


def _reaper(c) -> "Reaper":
    """The controller's reaper (made on first use, under its lock)."""
    r = c.__dict__.get("_reaper")
    if r is None:
        r = c._reaper = Reaper(c)
    return r


class Reaper:
    """The thread finishing one controller's asynchronous teardowns."""

    def __init__(self, c):
        self._c = c
        self.token = secrets.token_hex(8)
        self._cv = threading.Condition(threading.Lock())
        self._pending: dict = {}          # host ifname -> _Item
        self._thread = None
        self._fresh = False               # new work since the last look
        self._stopping = False
        #: counters: looks at the kernel, host ends it deleted itself,
        #: host ends released, looks that failed (logged, retried)
        self.stats = {"rounds": 0, "deleted": 0, "released": 0,
                      "failures": 0}
        self._fd = None
        if c.intents.enabled:
            # locked before it has its name: never seen unlocked (_sweep)
            d = os.path.join(c.config.exec_root, LOCKS)
            makedirs(d, 0o700)
            tmp = os.path.join(d, f".new-{self.token}")
            self._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL
                               | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(tmp, _lock_path(c, self.token))

    def add(self, items: dict) -> None:
        with self._cv:
            idle = not self._pending
            self._pending.update(items)
            self._fresh = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="libnetwork-reaper", daemon=True)
                self._thread.start()
            elif idle:
                self._cv.notify_all()

    def wait(self, timeout=None) -> bool:
        """Until nothing is pending; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending, timeout)

    def pending(self) -> list:
        with self._cv:
            return sorted(self._pending)

    def close(self, timeout=STOP_TIMEOUT) -> None:
        """Wait for the pending work, end the thread, drop the lock (what
        is left, if the wait gave up, the next start finishes)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            if not self._cv.wait_for(lambda: not self._pending, timeout):
                log.warning("libnetwork: reaper: gave up waiting for %s",
                            ", ".join(sorted(self._pending)))
                self._pending.clear()
                self._cv.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self._fd is not None:
            try:
                os.unlink(_lock_path(self._c, self.token))
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None

    def _run(self) -> None:
        delay = POLL_MIN
        while True:
            with self._cv:
                idle = time.monotonic()
                while not self._pending:
                    if self._stopping or time.monotonic() - idle >= IDLE:
                        self._thread = None
                        return
                    self._cv.wait(IDLE)
                if self._fresh:
                    self._fresh, delay = False, POLL_MIN
                self._cv.wait(delay)      # the kernel works meanwhile
                items = dict(self._pending)
            try:
                done = self._round(items)
            except Exception as exc:      # noqa: BLE001 - logged, retried
                log.warning("libnetwork: reaper: %s (retried)", exc)
                self.stats["failures"] += 1
                done, delay = (), POLL_MAX
            with self._cv:
                for name in done:
                    self._pending.pop(name, None)
                if done:
                    self._cv.notify_all()
            delay = min(delay * 2, POLL_MAX)

    def _round(self, items: dict):
        """One look: the host ends found gone are released; those overdue
        are deleted (confirmed at the next look)."""
        c = self._c
        recs = [(name, it.rec) for name, it in items.items()]
        present = _present(c, recs, _links_of(c, recs))
        self.stats["rounds"] += 1
        now = time.monotonic()
        due = {name: link for name, link in present.items()
               if items[name].rec.get("delete")
               or now - items[name].since >= GRACE}
        if due:
            self.stats["deleted"] += len(due)
            for r in _delete(c, recs, due):
                log.warning("libnetwork: reaper: %s (retried)",
                            r.exception())
            with self._cv:
                self._fresh = True
        gone = [name for name in items if name not in present]
        if not gone:
            return ()
        with c._lock, c.store.transaction():
            for name in gone:
                rec = c.store.get(KIND, name)
                if rec is not None and rec.get("owner") == self.token:
                    _release(c, rec)
                    c.store.delete(KIND, name)
                    self.stats["released"] += 1
        return gone


def wait(c, timeout=None) -> bool:
    """Wait until the controller's reaper has nothing pending."""
    r = c.__dict__.get("_reaper")
    return True if r is None else r.wait(timeout)


def stop(c, timeout=STOP_TIMEOUT) -> None:
    """``controller.stop()``'s first step: the reaper's work done."""
    r = c.__dict__.get("_reaper")
    if r is not None:
        r.close(timeout)
