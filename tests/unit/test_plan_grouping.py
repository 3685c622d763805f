"""controller.group_sandbox_steps: each sandbox's steps of a run together.

Property test over random plans of steps in the root namespace and in a
few sandboxes: the output is a permutation of the input; steps outside
sandboxes keep their positions; every namespace's steps keep their order;
within a run of sandbox steps, each sandbox's steps are contiguous -- unless
a step of the run moves a link between namespaces, then the run is left
exactly as it was.
"""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from libnetwork.backends import ops as O  # noqa: E402
from libnetwork.plan import group_sandbox_steps  # noqa: E402

ROOT = "/run/test/root"
SANDBOXES = ["/run/test/s0", "/run/test/s1", "/run/test/s2"]


def step(kind, ns, k):
    """A distinct (op, undo) step; ``k`` makes it unique."""
    if kind == "netns":
        return (O.NetnsCreate(f"/run/test/n{k}"), None)
    if kind == "move":
        return (O.LinkSet(f"m{k}", netns=SANDBOXES[0], ns=ns), None)
    if kind == "veth":
        return (O.LinkAddVeth(f"h{k}", "eth0", peer_ns=SANDBOXES[1], ns=ns),
                None)
    return (O.LinkSet(f"l{k}", up=True, ns=ns), None)


kinds = st.sampled_from(["set", "set", "set", "netns", "move", "veth"])
spaces = st.sampled_from([None, ROOT] + SANDBOXES)
plans = st.lists(st.tuples(kinds, spaces), max_size=40).map(
    lambda raw: [step(kind, ns, k) for k, (kind, ns) in enumerate(raw)])


def in_sandbox(s):
    op = s[0]
    return not isinstance(op, O.NetnsCreate) and op.ns not in (None, ROOT)


def runs(plan):
    """(start, end) of each maximal run of sandbox steps."""
    out, i = [], 0
    while i < len(plan):
        if in_sandbox(plan[i]):
            j = i
            while j < len(plan) and in_sandbox(plan[j]):
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


@settings(max_examples=300, deadline=None)
@given(plans)
def test_grouping_properties(plan):
    out = group_sandbox_steps(plan, ROOT)
    assert sorted(map(id, out)) == sorted(map(id, plan))      # permutation
    for i, s in enumerate(plan):                               # fixed points
        if not in_sandbox(s):
            assert out[i] is s
    for ns in SANDBOXES:                                       # order kept
        assert [s for s in out if in_sandbox(s) and s[0].ns == ns] == \
            [s for s in plan if in_sandbox(s) and s[0].ns == ns]
    for a, b in runs(plan):
        run, got = plan[a:b], out[a:b]
        crossing = any(getattr(s[0], "netns", None) or
                       getattr(s[0], "peer_ns", None) for s in run)
        if crossing:
            assert got == run
            continue
        seen: list = []                                        # contiguous
        for s in got:
            if not seen or seen[-1] != s[0].ns:
                assert s[0].ns not in seen, (s[0].ns, [x[0].ns for x in got])
                seen.append(s[0].ns)


def test_interleaved_sandboxes_are_grouped():
    """The attach shape: ``lo`` up of every sandbox, then every join."""
    lo = [(O.LinkSet("lo", up=True, ns=p), None) for p in SANDBOXES]
    eth = [(O.LinkSet("eth0", up=True, ns=p), None) for p in SANDBOXES]
    out = group_sandbox_steps(lo + eth, ROOT)
    assert out == [lo[0], eth[0], lo[1], eth[1], lo[2], eth[2]]
