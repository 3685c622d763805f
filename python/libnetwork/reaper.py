"""Asynchronous teardown: ``controller.detach(ids, wait=False)`` (see
``docs/teardown.md``).

The call unmounts the namespaces (the kernel destroys them, and their
veths, in the background), cuts the host ends off (bridge ports disabled),
unpublishes the ports and removes the records; a ``reaping`` record per
host end still in the kernel, written in the same transaction, holds its
name, its ifindex, the addresses and the host ports.  The controller's
reaper thread (:mod:`.reaper_thread`) releases what a record holds once
the kernel let go of its host end, by the functions here.  A gone
reaper's records are finished at the next start (:func:`at_start`); a
network's deletion finishes its own first.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import time

from . import marks, osl, plan, reaper_thread
from .backends import ops as O
from .errors import InvalidParameter, NotFound
from .types import PortBinding

__all__ = ["KIND", "detach", "held", "port_holders", "at_start",
           "settle_network", "wait", "stop"]

KIND = "reaping"

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
    r = reaper_thread.get(c) if still else None
    now = time.monotonic()
    for ep in reap:
        nw = ep._nw
        sb = owner[ep.id()]
        if ep.id() in still:
            at_once = sb.external() or sb.id() in kept
            rec = _record(r, ep, still[ep.id()], ep.id() not in stay,
                          at_once)
            c.store.put(KIND, ep.host_ifname, rec)
            pending[ep.host_ifname] = reaper_thread.Item(rec, now)
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
    reaper_thread.sweep(c)
    recs = c.store.list(KIND)
    alive: dict = {}
    live, orphans = set(), []
    for name, rec in recs:
        who = rec.get("owner")
        if who not in alive:
            alive[who] = reaper_thread.alive(c, who)
        (live.add(name) if alive[who] else orphans.append((name, rec)))
    if orphans:
        present = set(_present(c, orphans, _links_of(c, orphans)))
        left = finish(c, orphans)
        c.reconciled.links_removed += sorted(present - set(left))
        if left:                          # ours now: retried
            r = reaper_thread.get(c)
            recs = dict(orphans)
            for name in left:
                recs[name]["owner"] = r.token
                c.store.put(KIND, name, recs[name])
            r.add({name: reaper_thread.Item(recs[name], 0.0)
                   for name in left})
    return live


# the thread's side, named here too (the controller, the tests)
GRACE = reaper_thread.GRACE
IDLE = reaper_thread.IDLE
STOP_TIMEOUT = reaper_thread.STOP_TIMEOUT
wait = reaper_thread.wait
stop = reaper_thread.stop
