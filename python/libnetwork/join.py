"""Joining endpoints to sandboxes: the rules a join must meet, the plan
each endpoint's driver gives for it, and the bookkeeping once the kernel
has it (interface names, the sandbox's gateway endpoint, records, the
sandbox's hosts file).

Leaving is teardown and lives in :mod:`libnetwork.teardown`.
"""

from __future__ import annotations

import sys

from . import osl
from .backends import ops as O
from .errors import (AlreadyJoined, Conflict, Forbidden, NoSuchEndpoint,
                     NoSuchSandbox)

__all__ = ["plan_joins", "record_join", "record_leave"]


def plan_joins(c, pairs, fresh=False):
    """Validate the joins of ``pairs`` (``[(endpoint, sandbox)]``) and plan
    them; returns ``(plan, commit)`` where ``commit(ch)`` records them once
    the plan is applied.  ``fresh``: the endpoints and sandboxes are being
    created by the same change (attach), so they are not registered yet."""
    plan, staged = [], []
    taken: dict = {}                       # sandbox id -> ifnames
    gw_new: dict = {}                      # sandbox id -> endpoint
    seen = set()
    for ep, sb in pairs:
        nw = ep._nw
        c._live_network(nw)
        if not fresh and nw._endpoints.get(ep.id()) is not ep:
            raise NoSuchEndpoint(f"endpoint {ep.name()!r} was deleted")
        if not fresh and c._sandboxes.get(sb.id()) is not sb:
            raise NoSuchSandbox(f"sandbox {sb.container_id()!r} was "
                                "deleted")
        if ep.sandbox_id is not None or ep.id() in seen:
            raise AlreadyJoined(f"endpoint {ep.name()!r} is already "
                                "joined to a sandbox")
        seen.add(ep.id())
        driver = c._drivers[nw.type()]
        if driver.joins_host != sb.spec.use_default_sandbox:
            raise Forbidden(
                f"endpoint {ep.name()!r} of {nw.type()!r} network cannot "
                f"join {'the host' if sb.spec.use_default_sandbox else 'a private'}"
                " sandbox: host endpoints join sandboxes made with "
                "option_use_default_sandbox(), others private ones")
        ifname = None
        if driver.has_interface:
            names = taken.setdefault(sb.id(), {
                e.ifname for e in sb.endpoints() if e.ifname})
            ifname = ep.spec.ifname
            if ifname is not None and ifname in names:
                raise Conflict(f"endpoint {ep.name()!r}: sandbox "
                               f"{sb.container_id()!r} has an interface "
                               f"{ifname!r}")
            n = 0
            while ifname is None:
                if f"eth{n}" not in names:
                    ifname = sys.intern(f"eth{n}")   # one str for all
                n += 1
            names.add(ifname)
        gateway = (ep.spec.default_route and sb.gw_endpoint is None
                   and sb.id() not in gw_new)
        steps = driver.join(nw, ep, sb, ifname, gateway)
        if gateway and any(isinstance(s.op, O.RouteAdd) for s in steps):
            gw_new[sb.id()] = ep
        plan += steps
        staged.append((ep, sb, ifname))

    def commit(ch, hosts=True):
        records = []
        for ep, sb, ifname in staged:
            record_join(c, ch, ep, sb, ifname, gw_new.get(sb.id()) is ep,
                        records)
        c.store.put_many("endpoint", records)
        sbs = list({id(sb): sb for _, sb, _ in staged}.values())
        c.store.put_many("sandbox", [(sb.id(), sb.to_json()) for sb in sbs])
        if hosts:
            for sb in sbs:
                osl.write_hosts(sb)
    return plan, commit


def record_join(c, ch, ep, sb, ifname, gateway, records=None) -> None:
    """The objects and the endpoint's record say ``ep`` is joined to
    ``sb`` as ``ifname`` (undone with the change).  The record is
    appended to ``records`` as ``(id, value)`` when given (the caller
    writes them together), else written."""
    old = (ep.sandbox_id, ep.ifname, list(sb.endpoint_ids), sb.gw_endpoint)
    ep.sandbox_id, ep.ifname = sb.id(), ifname
    sb.endpoint_ids.append(ep.id())
    if gateway:
        sb.gw_endpoint = ep.id()

    def undo():
        ep.sandbox_id, ep.ifname = old[0], old[1]
        sb.endpoint_ids[:] = old[2]
        sb.gw_endpoint = old[3]
    ch.on_undo(undo)
    if records is None:
        c.store.put("endpoint", ep.id(), ep.to_json())
    else:
        records.append((ep.id(), ep.to_json()))


def record_leave(c, ep, sb) -> None:
    """The objects and the endpoint's record say ``ep`` is not joined
    (teardown: recorded at once, never undone)."""
    ep.sandbox_id = ep.ifname = None
    if sb is not None:
        if ep.id() in sb.endpoint_ids:
            sb.endpoint_ids.remove(ep.id())
        if sb.gw_endpoint == ep.id():
            sb.gw_endpoint = None
    c.store.put("endpoint", ep.id(), ep.to_json())
