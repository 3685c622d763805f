"""After a restart: the objects restored from the store, and the store and
the kernel made to agree (after :func:`libnetwork.intents.replay` has
finished what a crash cut short).

Kernel objects that carry this store's mark (:mod:`~libnetwork.marks`)
and that no record explains go (namespaces bound under a name of ours,
links with our alias); objects of other controllers, tools and users are
never touched, whatever the directories.  Records whose kernel objects
vanished are cleaned (a sandbox whose namespace is gone is forgotten -- an
external namespace, ``option_netns_path``, is only ever looked at, never
deleted --, an endpoint whose
interface is gone is no longer joined); a network whose kernel objects
vanished gets them back from its driver.  Addresses held by endpoint
records stay allocated in IPAM throughout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import marks, osl, plan, reaper, sync
from .backends import ops as O
from .endpoint import Endpoint
from .join import record_leave
from .network import Network
from .sandbox import Sandbox

__all__ = ["restore", "reconcile", "Report"]


@dataclass
class Report:
    """What a start did to make the store and the kernel agree
    (``Controller.reconciled``)."""
    namespaces_removed: list = field(default_factory=list)   # paths
    links_removed: list = field(default_factory=list)        # names
    sandboxes_forgotten: list = field(default_factory=list)  # container ids
    endpoints_left: list = field(default_factory=list)       # endpoint names
    networks_repaired: list = field(default_factory=list)    # network names
    changes_undone: int = 0       # setup changes a crash cut short
    teardowns_finished: int = 0   # teardowns a crash cut short
    pool_removed: list = field(default_factory=list)  # warm pool namespaces

    def to_json(self) -> dict:
        return dict(self.__dict__)


def restore(c) -> None:
    """The controller's objects from the store's records."""
    for _, d in c.store.list("network"):
        nw = Network.from_json(c, d)
        c._networks[nw.id()] = nw
    specs: list = []                        # endpoints share equal specs
    for _, d in c.store.list("endpoint"):
        nw = c._networks.get(d["network"])
        if nw is None:                       # orphan record
            c.store.delete("endpoint", d["id"])
            continue
        ep = Endpoint.from_json(nw, d, specs)
        nw._endpoints[ep.id()] = ep
    sb_specs: list = []                     # and sandboxes
    for _, d in c.store.list("sandbox"):
        sb = Sandbox.from_json(c, d, sb_specs)
        c._sandboxes[sb.id()] = sb
        c._by_container[sb.container_id()] = sb
    c._seen = sync.changes(c.store)


def _mounts() -> set:
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.add(line.split()[4].replace("\\040", " "))
    return out


def reconcile(c) -> None:
    """Make the records and the kernel agree (see the module's text)."""
    mounts = _mounts()
    # another live process's change, and what live reapers reap (the
    # records of reapers that are gone: finished here)
    busy = c.intents.in_flight | reaper.at_start(c)
    keep = {sb.key() for sb in c._sandboxes.values()} | busy
    batch = [O.NetnsDelete(path)
             for path in (os.path.join(c.netns_dir, f)
                          for f in sorted(os.listdir(c.netns_dir))
                          if marks.is_my_netns(f, c.identity))
             if path not in keep]
    report = c.reconciled
    for sb in list(c._sandboxes.values()):
        if sb.spec.use_default_sandbox or sb.key() in mounts or (
                sb.external() and osl.is_netns(sb.key())):
            continue
        for ep in sb.endpoints():
            record_leave(c, ep, None)
            report.endpoints_left.append(ep.name())
        osl.forget_sandbox(c, sb)
        report.sandboxes_forgotten.append(sb.container_id())
    # the names alone (a link dump costs the kernel O(namespaces) a veth:
    # see Backend.link_names); links are described only when a name is
    # not explained by the records
    names = c.backend.link_names(None)
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
    explained |= busy
    stale = [link.name for link in c.backend.links_named(
        sorted(names - explained - {"lo"}), None)
        if marks.is_mine(link, c.identity)]
    if stale:
        batch = plan.bulk_delete(stale) + batch
    if batch:
        c.backend.execute(batch)
    report.links_removed += stale
    report.namespaces_removed += [op.path for op in batch
                                  if isinstance(op, O.NetnsDelete)]
    for ep, link in proofs:
        if link not in names:
            sb = c._sandboxes.get(ep.sandbox_id)
            record_leave(c, ep, sb)
            report.endpoints_left.append(ep.name())
            if sb is not None:
                c.store.put("sandbox", sb.id(), sb.to_json())
    present = names - set(stale)
    for nw in c._networks.values():
        repair = c._drivers[nw.type()].repair_network(
            nw, present, joined.get(nw.id(), []))
        if repair:
            plan.execute(c.backend, repair, c.config.root_namespace)
            report.networks_repaired.append(nw.name())
    # what spans a driver's networks (the bridge's firewall), rebuilt from
    # the records in one transaction
    for t, driver in c._drivers.items():
        steps = driver.restore([nw for nw in c._networks.values()
                                if nw.type() == t])
        if steps:
            plan.execute(c.backend, steps, c.config.root_namespace)
