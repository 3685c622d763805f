"""After a restart: the objects restored from the store, and the store and
the kernel made to agree.

Kernel objects that carry this store's mark (:mod:`~libnetwork.marks`)
and that no record explains go (namespaces bound under a name of ours,
links with our alias); objects of other controllers, tools and users are
never touched, whatever the directories.  Records whose kernel objects vanished are
cleaned (a sandbox whose namespace is gone is forgotten, an endpoint whose
interface is gone is no longer joined); a network whose kernel objects
vanished gets them back from its driver.  Addresses held by endpoint
records stay allocated in IPAM throughout.
"""

from __future__ import annotations

import logging
import os

from . import osl, plan
from .backends import ops as O
from .endpoint import Endpoint
from .join import record_leave
from . import intents, marks
from .network import Network
from .sandbox import Sandbox

__all__ = ["restore", "replay_intents", "reconcile", "refresh",
           "count_change", "changes"]


def restore(c) -> None:
    """The controller's objects from the store's records."""
    for _, d in c.store.list("network"):
        nw = Network.from_json(c, d)
        c._networks[nw.id()] = nw
    for _, d in c.store.list("endpoint"):
        nw = c._networks.get(d["network"])
        if nw is None:                       # orphan record
            c.store.delete("endpoint", d["id"])
            continue
        ep = Endpoint.from_json(nw, d)
        nw._endpoints[ep.id()] = ep
    for _, d in c.store.list("sandbox"):
        sb = Sandbox.from_json(c, d)
        c._sandboxes[sb.id()] = sb
        c._by_container[sb.container_id()] = sb
    c._seen = changes(c.store)


# ------------------------------------------- other processes' changes

COUNTER = ("meta", "changes")


def changes(store) -> int:
    """How many changes the store has seen (every process's)."""
    rec = store.get(*COUNTER)
    return rec["n"] if rec else 0


def count_change(c) -> None:
    """Inside a change's transaction: one more change, seen by us."""
    c._seen = changes(c.store) + 1
    c.store.put(*COUNTER, {"n": c._seen})


def refresh(c) -> None:
    """If another process changed the store since we last looked, bring the
    objects in line with the records (in place: objects the caller holds
    stay the ones the controller uses; those whose records went are
    dropped).  Called at the start of every change, under the store's
    write lock, so every decision sees every process's state."""
    n = changes(c.store)
    if n == c._seen:
        return
    nets = dict(c.store.list("network"))
    for nid in list(c._networks):
        if nid not in nets:
            del c._networks[nid]
    for nid, d in nets.items():
        fresh = Network.from_json(c, d)
        nw = c._networks.get(nid)
        if nw is None:
            c._networks[nid] = fresh
        else:
            kept = nw._endpoints
            nw.__dict__.update(fresh.__dict__)
            nw._endpoints = kept
    eps: dict = {}
    for eid, d in c.store.list("endpoint"):
        eps.setdefault(d["network"], {})[eid] = d
    for nid, nw in c._networks.items():
        recs = eps.get(nid, {})
        for eid in list(nw._endpoints):
            if eid not in recs:
                del nw._endpoints[eid]
        for eid, d in recs.items():
            fresh = Endpoint.from_json(nw, d)
            ep = nw._endpoints.get(eid)
            if ep is None:
                nw._endpoints[eid] = fresh
            else:
                ep.__dict__.update(fresh.__dict__)
    sbs = dict(c.store.list("sandbox"))
    for sid in list(c._sandboxes):
        if sid not in sbs:
            del c._sandboxes[sid]
    for sid, d in sbs.items():
        fresh = Sandbox.from_json(c, d)
        sb = c._sandboxes.get(sid)
        if sb is None:
            c._sandboxes[sid] = fresh
        else:
            sb.__dict__.update(fresh.__dict__)
    c._by_container = {sb.container_id(): sb for sb in c._sandboxes.values()}
    c._seen = n


log = logging.getLogger("libnetwork")


def replay_intents(c) -> None:
    """Finish what a crash cut short (see :mod:`~libnetwork.intents`):
    undo the creations of setup changes that never committed, do again the
    teardowns that did not finish; then drop the committed changes'
    markers."""
    markers = {key for key, _ in c.store.list(intents.KIND)}
    for path, rec in c.intents.pending():
        if rec["kind"] == "setup":
            if rec["id"] not in markers:
                _undo_creations(c, rec["creates"])
        elif not _redo_teardown(c, rec):
            continue                        # try again at the next start
        os.unlink(path)
    for key in markers:
        c.store.delete(intents.KIND, key)


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
    saved, c.intents = c.intents, intents.Intents(
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


def _mounts() -> set:
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.add(line.split()[4].replace("\\040", " "))
    return out


def reconcile(c) -> None:
    """Make the records and the kernel agree (see the module's text)."""
    mounts = _mounts()
    keys = {sb.key() for sb in c._sandboxes.values()}
    batch = [O.NetnsDelete(os.path.join(c.netns_dir, f))
             for f in sorted(os.listdir(c.netns_dir))
             if marks.is_my_netns(f, c.identity)
             and os.path.join(c.netns_dir, f) not in keys]
    for sb in list(c._sandboxes.values()):
        if sb.spec.use_default_sandbox or sb.key() in mounts:
            continue
        for ep in sb.endpoints():
            record_leave(c, ep, None)
        osl.forget_sandbox(c, sb)
    links = {link.name: link for link in c.backend.links(None)}
    explained = set()
    joined: dict = {}                  # network id -> its joined endpoints
    proofs = []                        # (endpoint, its root link)
    for nw in c._networks.values():
        driver = c._drivers[nw.type()]
        explained.update(driver.network_links(nw))
        for ep in nw.endpoints():
            if ep.sandbox_id is None:
                continue
            joined.setdefault(nw.id(), []).append(ep)
            link = driver.endpoint_link(nw, ep)
            if link is not None:
                proofs.append((ep, link))
                explained.add(link)
    # a link of ours is explained by its name alone: one that a failed
    # teardown left in a deletion group is still an endpoint's
    stale = [link.name for link in links.values()
             if marks.is_mine(link, c.identity)
             and link.name not in explained]
    if stale:
        batch = plan.bulk_delete(stale) + batch
    if batch:
        c.backend.execute(batch)
    for ep, link in proofs:
        if link not in links:
            sb = c._sandboxes.get(ep.sandbox_id)
            record_leave(c, ep, sb)
            if sb is not None:
                c.store.put("sandbox", sb.id(), sb.to_json())
    present = set(links)
    for nw in c._networks.values():
        repair = c._drivers[nw.type()].repair_network(
            nw, present, joined.get(nw.id(), []))
        if repair:
            plan.execute(c.backend, repair, c.config.root_namespace)
