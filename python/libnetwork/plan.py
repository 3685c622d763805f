"""Plans and their execution: steps with declared phases, one backend batch
per plan, the undo log of a change, and bulk link deletion.

A plan is a list of :class:`Step`.  Drivers declare each step's
:class:`Phase`; the executor orders the merged plans of a change by phase
(stable: each driver's order holds within a phase), puts each sandbox's
steps of a run together, sends everything as one backend batch and, when a
step fails, reverses the applied ones.  It sends every operation as given.
"""

from __future__ import annotations

import errno
from enum import IntEnum
from typing import Callable, NamedTuple, Optional

from .backends import ops as O
from .marks import temp_group

__all__ = ["Phase", "Step", "Plan", "Change", "execute", "undo",
           "bulk_delete", "group_sandbox_steps"]


class Phase(IntEnum):
    """When a step runs among the steps of one change.

    The order follows what the kernel needs and what it costs: namespaces
    first; links in the root namespace, then what uses them there; the same
    inside sandboxes; last, root links brought up (a veth's host end once
    its peer is up: an end up without carrier costs an RCU grace period in
    the kernel's link watch, under the RTNL lock); then the firewall, so
    that a change's nftables operations are one transaction."""
    NAMESPACE = 0
    ROOT_CREATE = 1
    ROOT_CONFIG = 2
    SANDBOX_CREATE = 3
    SANDBOX_CONFIG = 4
    ROOT_UP = 5
    FIREWALL = 6


class Step(NamedTuple):
    """One operation of a plan.

    ``undo`` reverses ``op`` (None: nothing to reverse, or reversed with
    something else); ``explain``, given the failed
    :class:`~libnetwork.backends.ops.Result`, may return a more telling
    typed error than the kernel's errno (or None to keep it)."""
    op: object
    undo: object = None
    phase: Phase = Phase.ROOT_CONFIG
    explain: Optional[Callable] = None


Plan = list


def group_sandbox_steps(plan: list, root) -> list:
    """``plan`` with, within each run of consecutive steps inside sandboxes,
    the steps of one sandbox together, in their order: each sandbox then is
    one batch on its socket rather than one per kind of step (``lo`` up of
    every new sandbox, then every join ...).  A run is left as it is when
    one of its steps moves a link between namespaces (``netns``,
    ``peer_ns``): only then could one sandbox's steps depend on another's."""
    out: list = []
    i, n = 0, len(plan)

    def in_sandbox(op):
        return not isinstance(op, O.NetnsCreate) and op.ns is not None \
            and op.ns != root
    while i < n:
        if not in_sandbox(plan[i][0]):
            out.append(plan[i])
            i += 1
            continue
        j = i
        while j < n and in_sandbox(plan[j][0]):
            j += 1
        run = plan[i:j]
        if any(getattr(s[0], "netns", None) is not None or
               getattr(s[0], "peer_ns", None) is not None for s in run):
            out += run
        else:
            by_ns: dict = {}
            for s in run:
                by_ns.setdefault(s[0].ns, []).append(s)
            for steps in by_ns.values():
                out += steps
        i = j
    return out


def _error(step, result):
    exc = result.exception()
    if step.explain is not None:
        better = step.explain(result)
        if better is not None:
            better.__cause__ = exc
            return better
    return exc


def execute(backend, plan: Plan, root, missing_ok: bool = False) -> list:
    """Run ``plan`` as one batch, phase-ordered.  Returns the undo ops of
    the applied steps; on failure undoes them and raises the first error
    (explained by its step).  ``missing_ok``: deleting a link that is
    already gone succeeds."""
    if not plan:
        return []
    plan = group_sandbox_steps(sorted(plan, key=lambda s: s.phase), root)
    results = backend.execute([s.op for s in plan], stop_on_error=True)
    undos = [s.undo for s, r in zip(plan, results)
             if r.ok and s.undo is not None]
    for s, r in zip(plan, results):
        if not r.ok and not (missing_ok and r.errno == errno.ENODEV and
                             isinstance(r.op, (O.LinkDel, O.LinkDelGroup))):
            try:
                undo(backend, undos)
            finally:
                raise _error(s, r)
    return undos


def undo(backend, undos) -> list:
    """Reverse applied steps: links in bulk (one kernel deletion per
    namespace), then everything else in reverse, namespaces last; the
    results."""
    dels: dict = {}
    rest, nsdel = [], []
    for op in reversed(undos):
        if isinstance(op, O.LinkDel):
            dels.setdefault(op.ns, []).append(op.link)
        elif isinstance(op, O.NetnsDelete):
            nsdel.append(op)
        else:
            rest.append(op)
    batch = []
    for ns, links in dels.items():
        batch += bulk_delete(links, ns)
    return backend.execute(batch + rest + nsdel)


def bulk_delete(links, ns=None) -> list:
    """Operations deleting ``links`` (names in ``ns``) with one RCU grace
    period, not one each: every link joins a short-lived link group of its
    own (:func:`~libnetwork.marks.temp_group`), and the group is deleted in
    one kernel call.  A link that cannot join the group (gone already:
    ENODEV) is simply not deleted by it."""
    if len(links) == 1:
        return [O.LinkDel(links[0], ns=ns)]
    group = temp_group()
    return ([O.LinkSet(link, group=group, ns=ns) for link in links]
            + [O.LinkDelGroup(group, ns=ns)])


class Change:
    """The undo log of one user-visible change: applied plans and object
    updates, reversed in order when the change fails."""

    def __init__(self, backend, root, intent=None):
        self._backend = backend
        self._root = root
        self._intent = intent
        self._undo: list = []
        #: what a change computes once (the index of held host ports)
        self.cache: dict = {}

    def apply(self, plan: Plan, missing_ok: bool = False) -> None:
        """Execute a plan (its creations recorded in the change's intent
        first); on failure undo its applied steps and raise."""
        if self._intent is not None:
            self._intent.created([s.op for s in plan])
        undos = execute(self._backend, plan, self._root, missing_ok)
        if undos:
            self._undo.append(("ops", undos))

    def on_undo(self, fn) -> None:
        self._undo.append(("fn", fn))

    def rollback(self) -> bool:
        """Undo everything, best effort (the original error wins); True
        when every undo went through."""
        clean = True
        for kind, item in reversed(self._undo):
            try:
                if kind == "ops":
                    results = undo(self._backend, item)
                    clean &= all(r.ok or r.errno in (errno.ENODEV,
                                                     errno.ENOENT)
                                 for r in results)
                else:
                    item()
            except Exception:
                clean = False
        return clean
