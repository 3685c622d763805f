"""Teardown, best-effort and honest (netavark's model): leave, endpoint and
sandbox deletion, detach and network deletion try every step, collect every
error, record in the store exactly what was removed, and raise one
:class:`~libnetwork.errors.TeardownIncomplete` listing what failed.  The
store and the kernel never disagree, and the same call again finishes the
job.

Only checks made before any kernel work (not joined, active endpoints,
unknown objects) raise at once and change nothing.
"""

from __future__ import annotations

import contextlib
import errno

from . import allocation, osl
from .backends import ops as O
from .errors import (
    ActiveContainer, ActiveEndpoints, Conflict, Forbidden, NoSuchSandbox,
    NotFound, NotJoined, TeardownIncomplete)
from .join import record_leave
from .sync import count_change, refresh
from .plan import Phase, bulk_delete

__all__ = ["leave", "delete_endpoints", "delete_sandboxes",
           "delete_sandboxes_async", "delete_network"]

_LINK_OPS = (O.LinkSet, O.LinkDel, O.LinkDelGroup)


def _gone(r) -> bool:
    """Did the step fail only because its object is gone already?"""
    return (r.errno == errno.ENODEV and isinstance(r.op, _LINK_OPS)) or (
        r.errno == errno.ENOENT and isinstance(r.op, O.NetnsDelete))


@contextlib.contextmanager
def _teardown(c, kind, what):
    """Lock, intent and store transaction; the transaction commits what
    was done even when steps failed, then their errors are raised
    together.  The intent (``kind`` and ``what``: the ids asked for) lets
    the next start finish a teardown a crash cut short."""
    errors: list = []
    with c._lock:
        intent = c.intents.begin(kind, what)
        try:
            with c.store.transaction():
                refresh(c)          # other processes' changes first
                yield errors
                count_change(c)
        except (NotFound, Conflict, Forbidden):
            intent.done()           # refused before the kernel was touched
            raise
        intent.done()
    if errors:
        raise TeardownIncomplete(errors)


# ------------------------------------------------------------------ leave

def _leave(c, pairs, errors) -> None:
    for ep, sb in pairs:
        if sb is None or ep.sandbox_id != sb.id():
            where = "any sandbox" if sb is None else \
                f"sandbox {sb.container_id()!r}"
            raise NotJoined(f"endpoint {ep.name()!r} is not joined to "
                            f"{where}")
    # every step, with the endpoints it serves; a leave's link deletions
    # go in bulk, one kernel call per namespace
    batch, owners = [], []
    dels: dict = {}                       # ns -> [(link, endpoint)]
    for ep, sb in pairs:
        for step in c._drivers[ep._nw.type()].leave(ep._nw, ep, sb):
            if isinstance(step.op, O.LinkDel):
                dels.setdefault(step.op.ns, []).append((step.op.link, ep))
            else:
                batch.append(step.op)
                owners.append((ep,))
    for ns, items in dels.items():
        ops = bulk_delete([link for link, _ in items], ns)
        batch += ops
        if len(ops) == 1:
            owners.append((items[0][1],))
        else:
            owners += [(ep,) for _, ep in items]
            owners.append(tuple(ep for _, ep in items))
    failed: dict = {}                     # endpoint id -> first error
    deleted_by_group: dict = {}           # endpoint id -> in the group
    results = c.backend.execute(batch)
    for r, eps in zip(results, owners):
        if isinstance(r.op, O.LinkSet) and r.op.group is not None and \
                r.ok and len(eps) == 1:
            deleted_by_group[eps[0].id()] = True   # joined the group
        if r.ok or _gone(r):
            continue
        if isinstance(r.op, O.LinkDelGroup):
            # only the links that had joined the group stay behind
            eps = [ep for ep in eps if deleted_by_group.get(ep.id())]
        for ep in eps:
            failed.setdefault(ep.id(), r.exception())
    left = []
    for ep, sb in pairs:
        exc = failed.get(ep.id())
        if exc is not None:
            errors.append((f"leave of endpoint {ep.name()!r} from sandbox "
                           f"{sb.container_id()!r}", exc))
            continue
        gw = sb.gw_endpoint == ep.id()
        record_leave(c, ep, sb)
        left.append((sb, gw))
    _new_gateways(c, [sb for sb, gw in left if gw], errors)
    for sb in {id(sb): sb for sb, _ in left}.values():
        if c._sandboxes.get(sb.id()) is sb:
            c.store.put("sandbox", sb.id(), sb.to_json())
            osl.write_hosts(sb)


def _new_gateways(c, sbs, errors) -> None:
    """Sandboxes that lost their gateway endpoint get default routes
    through another of their endpoints, where one can give them."""
    plan, chosen = [], []
    for sb in sbs:
        for ep in sb.endpoints():
            if not ep.spec.default_route:
                continue
            routes = c._drivers[ep._nw.type()].default_routes(ep._nw, ep, sb)
            if routes:
                plan += routes
                chosen += [(sb, ep)] * len(routes)
                break
    if not plan:
        return
    failed = set()
    for (sb, ep), r in zip(chosen, c.backend.execute([s.op for s in plan])):
        if not r.ok:
            failed.add(sb.id())
            errors.append((f"default route of sandbox {sb.container_id()!r} "
                           f"through endpoint {ep.name()!r}", r.exception()))
    for sb, ep in dict.fromkeys(chosen):
        if sb.id() not in failed:
            sb.gw_endpoint = ep.id()


def leave(c, pairs) -> None:
    """``Endpoint.leave`` of many: host interfaces deleted in bulk, a new
    default route for sandboxes that lose their gateway endpoint."""
    with _teardown(c, "leave", [[ep.id(), sb.id() if sb else None]
                                for ep, sb in pairs]) as errors:
        _leave(c, pairs, errors)


# -------------------------------------------------------------- endpoints

def _drop_endpoints(c, eps, errors) -> None:
    """Forget endpoints that are not joined: their published ports go (one
    transaction for all), then driver fields, addresses back to IPAM,
    records.  When the ports cannot be removed, the endpoints stay."""
    eps = [ep for ep in eps if ep._nw._endpoints.get(ep.id()) is ep
           and ep.sandbox_id is None]
    by_nw: dict = {}
    for ep in eps:
        if ep.ports:
            by_nw.setdefault(id(ep._nw), (ep._nw, []))[1].append(ep)
    ops = [s.op for nw, some in by_nw.values()
           for s in c._drivers[nw.type()].unpublish(nw, some)]
    if ops:
        failed = [r for r in c.backend.execute(ops) if not r.ok]
        if failed:
            errors.append((f"published ports of endpoint(s) "
                           f"{', '.join(repr(ep.name()) for ep in eps)}",
                           failed[0].exception()))
            return
    for ep in eps:
        nw = ep._nw
        c._drivers[nw.type()].delete_endpoint(nw, ep)
        allocation.release_endpoint(c.ipam, ep)
        c.store.delete("endpoint", ep.id())
        del nw._endpoints[ep.id()]


def delete_endpoints(c, eps, force: bool) -> None:
    """``Endpoint.delete``: with ``force``, joined endpoints leave first;
    an endpoint whose leave failed stays (joined, with its addresses)."""
    with _teardown(c, "delete_endpoints",
                   {"ids": [ep.id() for ep in eps], "force": force}) \
            as errors:
        joined = [ep for ep in eps if ep.sandbox_id is not None]
        if joined and not force:
            raise ActiveContainer(
                f"endpoint {joined[0].name()!r} is attached to sandbox "
                f"{joined[0].sandbox().container_id()!r}; leave first "
                "or delete(force=True)")
        if joined:
            _leave(c, [(ep, ep.sandbox()) for ep in joined], errors)
        _drop_endpoints(c, eps, errors)


# -------------------------------------------------------------- sandboxes

def delete_sandboxes(c, sbs, delete_endpoints: bool = False) -> None:
    """``Sandbox.delete`` and ``detach``: every endpoint leaves, then the
    namespaces go (and, for detach, the endpoints).  A sandbox whose
    namespace could not be deleted stays, without the endpoints that left;
    when the namespace went, so did every interface in it."""
    sbs = list({id(sb): sb for sb in sbs}.values())   # a mention twice
    with _teardown(c, "delete_sandboxes",
                   {"ids": [sb.id() for sb in sbs],
                    "endpoints": delete_endpoints}) as errors:
        for sb in sbs:
            if c._sandboxes.get(sb.id()) is not sb:
                raise NoSuchSandbox(f"sandbox {sb.container_id()!r} "
                                    "was deleted")
        eps = [ep for sb in sbs for ep in sb.endpoints()]
        if eps:
            _leave(c, [(ep, ep.sandbox()) for ep in eps], errors)
        # the namespaces we made go; the host's and external ones stay
        private = [sb for sb in sbs if not sb.spec.use_default_sandbox
                   and not sb.external()]
        results = c.backend.execute([O.NetnsDelete(sb.key())
                                     for sb in private])
        kept = set()
        for sb, r in zip(private, results):
            if not (r.ok or _gone(r)):
                kept.add(sb.id())
                errors.append((f"namespace {sb.key()} of sandbox "
                               f"{sb.container_id()!r}", r.exception()))
        for sb in sbs:
            if sb.id() in kept:
                continue
            for ep in sb.endpoints():     # their leave failed: gone too
                record_leave(c, ep, sb)
            osl.forget_sandbox(c, sb)
        if delete_endpoints:
            _drop_endpoints(c, eps, errors)


def delete_sandboxes_async(c, container_ids) -> None:
    """``detach(wait=False)``: the namespaces unmounted, the host ends
    down, the records gone; the kernel's slow part is left to the reaper
    (:mod:`~libnetwork.reaper`), which gives addresses and ports back once
    the host ends are gone.  The containers are looked up in the same
    transaction (an unknown one: NoSuchSandbox, nothing written), then the
    intent of :func:`delete_sandboxes` is written (a crash before the
    records commit: the next start does it again, synchronously)."""
    from . import reaper
    errors: list = []
    with c._lock:
        with c.store.transaction():
            refresh(c)              # other processes' changes first
            sbs: dict = {}
            for cid in container_ids:
                sb = c._by_container.get(cid)
                if sb is None:
                    raise NoSuchSandbox(f"no sandbox for container "
                                        f"{cid!r}")
                sbs[sb.id()] = sb
            intent = c.intents.begin("delete_sandboxes",
                                     {"ids": list(sbs), "endpoints": True})
            reaper.detach(c, list(sbs.values()), errors)
            count_change(c)
        intent.done()
    if errors:
        raise TeardownIncomplete(errors)


# --------------------------------------------------------------- networks

def delete_network(c, nw) -> None:
    """``Network.delete``: the driver's kernel objects, then the pools and
    the record; when the kernel refuses, the network stays as it was."""
    driver = c._drivers[nw.type()]
    with _teardown(c, "delete_network", nw.id()) as errors:
        c._live_network(nw)
        if driver.singleton:
            raise Forbidden(f"{nw.type()!r} network {nw.name()!r} cannot "
                            "be deleted")
        if nw._endpoints:
            raise ActiveEndpoints(
                f"network {nw.name()!r} has active endpoints: "
                f"{', '.join(ep.name() for ep in nw.endpoints())}")
        from . import reaper        # host ends of detached endpoints
        if not reaper.settle_network(c, nw, errors):
            return
        others = [o for o in c._networks.values() if o is not nw]
        plan = driver.delete_network(nw, others)
        # the firewall's part only once the rest is gone: a network the
        # kernel keeps keeps its rules
        for phase in (False, True):
            ops = [s.op for s in plan if (s.phase == Phase.FIREWALL) == phase]
            for r in c.backend.execute(ops) if ops else ():
                if not (r.ok or _gone(r)):
                    errors.append((f"network {nw.name()!r}", r.exception()))
            if errors:
                return
        allocation.release_network(c.ipam, nw)
        c.store.delete("network", nw.id())
        c._networks.pop(nw.id())
