"""Several processes on one store: every change starts, under the store's
write lock, by taking in what the others changed (a change counter in the
store tells whether they did), so that every decision -- a name's
uniqueness, a network's active endpoints -- sees every process's state;
and counts itself when it commits."""

from __future__ import annotations

from .endpoint import Endpoint
from .network import Network
from .sandbox import Sandbox

__all__ = ["changes", "count_change", "refresh"]


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
    _merge(c._networks, dict(c.store.list("network")),
           lambda d: Network.from_json(c, d), keep=("_endpoints",))
    eps: dict = {}
    for eid, d in c.store.list("endpoint"):
        eps.setdefault(d["network"], {})[eid] = d
    specs: list = []                # equal specs shared, as at restore
    for nid, nw in c._networks.items():
        _merge(nw._endpoints, eps.get(nid, {}),
               lambda d, nw=nw: Endpoint.from_json(nw, d, specs))
    sb_specs: list = []
    _merge(c._sandboxes, dict(c.store.list("sandbox")),
           lambda d: Sandbox.from_json(c, d, sb_specs))
    c._by_container = {sb.container_id(): sb for sb in c._sandboxes.values()}
    c._seen = n


def _merge(objects: dict, records: dict, make, keep=()) -> None:
    """Bring ``objects`` (id -> object) in line with ``records`` (id ->
    record): objects whose records went are dropped, new ones made, the
    others updated in place (but for the attributes in ``keep``)."""
    for oid in list(objects):
        if oid not in records:
            del objects[oid]
    for oid, d in records.items():
        fresh = make(d)
        obj = objects.get(oid)
        if obj is None:
            objects[oid] = fresh
        else:
            _update(obj, fresh, keep)


def _update(obj, fresh, keep) -> None:
    """``obj`` takes the state of ``fresh`` but for the attributes in
    ``keep`` (objects with a ``__dict__`` or ``__slots__``)."""
    if hasattr(obj, "__dict__"):
        saved = {k: getattr(obj, k) for k in keep}
        obj.__dict__.update(fresh.__dict__)
        obj.__dict__.update(saved)
        return
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name in keep or name == "__weakref__":
                continue
            try:
                setattr(obj, name, getattr(fresh, name))
            except AttributeError:      # never set on fresh
                pass
