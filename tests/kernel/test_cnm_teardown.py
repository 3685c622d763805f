"""Teardown is best-effort and honest: failures injected into every
teardown path (a backend wrapper fails chosen operations with chosen errno
values, without sending them), then, after each: one TeardownIncomplete
listing what failed, the store, the objects and the kernel in agreement
(and a restarted controller finding nothing to fix), and the same call
again finishing the job.
"""

from __future__ import annotations

import errno as E
import os
import time

import pytest

import libnetwork
from libnetwork.backends import ops as O
from libnetwork.errors import TeardownIncomplete

from cnm_util import *  # noqa: F401,F403
from cnm_util import Oracle, is_netns, make_ctl, ctl, normalized_store  # noqa: F401


class Faults:
    """A backend whose operations matching a rule fail with the rule's
    errno (not sent), each rule a limited number of times."""

    def __init__(self, inner):
        self.inner = inner
        self.rules: list = []
        self.injected: list = []

    def fail(self, match, err, times=1):
        self.rules.append([match, err, times])

    def execute(self, batch, stop_on_error=False):
        batch = list(batch)
        hit = {}
        for k, op in enumerate(batch):
            for rule in self.rules:
                if rule[2] > 0 and rule[0](op):
                    rule[2] -= 1
                    hit[k] = O.Result(op, rule[1], "injected by the test")
                    self.injected.append(op)
                    break
        if not hit:
            return self.inner.execute(batch, stop_on_error)
        if stop_on_error:
            first = min(hit)
            sent = self.inner.execute(batch[:first], True)
            return sent + [hit[first]] + [
                O.Result(op, E.ECANCELED, "not sent") for op in
                batch[first + 1:]]
        rest = [op for k, op in enumerate(batch) if k not in hit]
        out = iter(self.inner.execute(rest) if rest else ())
        return [hit[k] if k in hit else next(out) for k in range(len(batch))]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def faulty(c) -> Faults:
    c.backend = Faults(c.backend)
    return c.backend


def settle(check, timeout=10.0):
    """The kernel destroys a namespace (and the veths in it) after its
    last reference goes, asynchronously: wait for ``check`` to hold."""
    end = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def assert_agree(c, root):
    """The objects, the store and the kernel say the same thing."""
    store = {kind: dict(c.store.list(kind))
             for kind in ("network", "endpoint", "sandbox")}
    assert set(store["network"]) == {nw.id() for nw in c.networks()}
    eps = [ep for nw in c.networks() for ep in nw.endpoints()]
    assert set(store["endpoint"]) == {ep.id() for ep in eps}
    assert set(store["sandbox"]) == {sb.id() for sb in c.sandboxes()}
    for ep in eps:
        assert store["endpoint"][ep.id()] == ep.to_json()
    for sb in c.sandboxes():
        assert store["sandbox"][sb.id()] == sb.to_json()
        assert is_netns(sb.key()), f"sandbox {sb.container_id()} lost its ns"
    names = {os.path.join(c.netns_dir, f) for f in os.listdir(c.netns_dir)}
    assert names == {sb.key() for sb in c.sandboxes()}

    def kernel():
        links = Oracle(root).links()
        for nw in c.networks():
            br = links.get(nw.driver_state["bridge"])
            assert br is not None, f"bridge of {nw.name()} is gone"
            for ep in nw.endpoints():
                host = links.get(ep.host_ifname)
                if ep.sandbox_id is None:
                    assert host is None, f"{ep.name()} left, veth remains"
                else:
                    assert host is not None and host.master == br.index
                    inside = Oracle(ep.sandbox().key()).links()
                    assert ep.ifname in inside
        ours = {ep.host_ifname for ep in eps}
        veths = {n for n in links if n.startswith("veth")}
        assert veths <= ours, f"veths nobody records: {veths - ours}"
    settle(kernel)


def restart_changes_nothing(c, make_ctl):
    before = normalized_store(c)
    c.stop()
    return normalized_store(make_ctl()) == before


@pytest.fixture
def world(make_ctl, netns):
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[
        libnetwork.IpamConf(preferred_pool="10.77.0.0/24")])
    return c, nw, netns


def is_group_set(op):
    return isinstance(op, O.LinkSet) and op.group is not None


def test_detach_namespace_delete_fails(world, make_ctl):
    """The issue's case: the namespace cannot be deleted (EPERM).  The
    endpoints left and are deleted, their addresses free; the sandbox stays,
    empty, with its namespace; detach again finishes."""
    c, nw, root = world
    c.attach(nw, ["a", "b"])
    f = faulty(c)
    f.fail(lambda op: isinstance(op, O.NetnsDelete), E.EPERM)
    with pytest.raises(TeardownIncomplete) as ei:
        c.detach(["a", "b"])
    assert len(ei.value.errors) == 1
    what, exc = ei.value.errors[0]
    assert "namespace" in what and exc.errno == E.EPERM
    assert nw.endpoints() == []
    left = {sb.container_id(): sb for sb in c.sandboxes()}
    assert len(left) == 1 and left[next(iter(left))].endpoints() == []
    assert_agree(c, root)
    c.detach(list(left))
    assert c.sandboxes() == [] and nw.endpoints() == []
    assert_agree(c, root)
    # the addresses are free again: the same two come back
    eps = c.attach(nw, ["a", "b"])
    assert sorted(str(ep.addr.ip) for ep in eps) == ["10.77.0.2", "10.77.0.3"]
    assert restart_changes_nothing(c, make_ctl)


def test_leave_fails_for_one_endpoint(world, make_ctl):
    """Two endpoints leave; one's veth cannot join the deletion group
    (EBUSY): the other left (kernel and store), this one is still joined,
    with its veth, and leaving it again works."""
    c, nw, root = world
    a, b = c.attach(nw, ["a", "b"])
    sb_a, sb_b = a.sandbox(), b.sandbox()
    ep2 = nw.create_endpoint("x")
    ep2.join(sb_a)                     # a's sandbox: two endpoints
    f = faulty(c)
    f.fail(lambda op: is_group_set(op) and op.link == ep2.host_ifname,
           E.EBUSY)
    with pytest.raises(TeardownIncomplete) as ei:
        c._leave_many([(a, sb_a), (ep2, sb_a)])
    assert [exc.errno for _, exc in ei.value.errors] == [E.EBUSY]
    assert "'x'" in ei.value.errors[0][0]
    assert a.sandbox() is None and ep2.sandbox() is sb_a
    assert sb_a.endpoints() == [ep2]
    assert b.sandbox() is sb_b
    assert_agree(c, root)
    ep2.leave(sb_a)
    assert sb_a.endpoints() == []
    assert_agree(c, root)
    assert restart_changes_nothing(c, make_ctl)


def test_group_delete_fails(world, make_ctl):
    """The bulk deletion itself fails: every endpoint of it stays joined."""
    c, nw, root = world
    eps = c.attach(nw, ["a", "b", "c"])
    f = faulty(c)
    f.fail(lambda op: isinstance(op, O.LinkDelGroup), E.EIO)
    with pytest.raises(TeardownIncomplete) as ei:
        c._leave_many([(ep, ep.sandbox()) for ep in eps[:2]])
    assert len(ei.value.errors) == 2
    assert all(ep.sandbox() is not None for ep in eps)
    assert_agree(c, root)
    # a restart now keeps the two veths left in the deletion group
    assert restart_changes_nothing(c, make_ctl)
    c = make_ctl()
    nw = c.network_by_name("n")
    eps = sorted(nw.endpoints(), key=lambda ep: ep.name())
    assert_agree(c, root)
    c._leave_many([(ep, ep.sandbox()) for ep in eps[:2]])
    assert [ep.sandbox() is None for ep in eps] == [True, True, False]
    assert_agree(c, root)
    assert restart_changes_nothing(c, make_ctl)


def test_sandbox_delete_leave_fails_namespace_goes(world, make_ctl):
    """Deleting a sandbox whose endpoint cannot leave: the namespace is
    deleted anyway, and with it the interface, so the endpoint is recorded
    as left (the error is still reported)."""
    c, nw, root = world
    eps = c.attach(nw, ["a", "b"])
    f = faulty(c)
    f.fail(lambda op: is_group_set(op) and op.link == eps[0].host_ifname
           or isinstance(op, O.LinkDel) and op.link == eps[0].host_ifname,
           E.EBUSY)
    with pytest.raises(TeardownIncomplete):
        c._delete_sandboxes([eps[0].sandbox(), eps[1].sandbox()])
    assert c.sandboxes() == []
    assert all(ep.sandbox() is None for ep in eps)
    assert_agree(c, root)
    for ep in eps:
        ep.delete()
    assert_agree(c, root)
    assert restart_changes_nothing(c, make_ctl)


def test_endpoint_force_delete_leave_fails(world, make_ctl):
    """delete(force=True) of a joined endpoint whose leave fails: it stays,
    joined, with its address; the second call deletes it."""
    c, nw, root = world
    (ep,) = c.attach(nw, ["a"])
    addr = ep.addr
    f = faulty(c)
    f.fail(lambda op: isinstance(op, O.LinkDel), E.EBUSY)
    with pytest.raises(TeardownIncomplete):
        ep.delete(force=True)
    assert nw.endpoints() == [ep] and ep.sandbox() is not None
    assert ep.addr == addr
    assert_agree(c, root)
    ep.delete(force=True)
    assert nw.endpoints() == []
    assert_agree(c, root)
    assert restart_changes_nothing(c, make_ctl)


def test_network_delete_fails(world, make_ctl):
    """The bridge cannot be deleted: the network stays with its pools; the
    second delete works and frees the pool."""
    c, nw, root = world
    f = faulty(c)
    f.fail(lambda op: isinstance(op, O.LinkDel), E.EBUSY)
    with pytest.raises(TeardownIncomplete) as ei:
        nw.delete()
    assert ei.value.errors[0][1].errno == E.EBUSY
    assert c.networks() == [nw]
    assert_agree(c, root)
    nw.delete()
    assert c.networks() == []
    assert nw.driver_state["bridge"] not in Oracle(root).links()
    again = c.new_network("bridge", "n2", ipv4=[
        libnetwork.IpamConf(preferred_pool="10.77.0.0/24")])
    assert str(again.subnets()[0]) == "10.77.0.0/24"
    assert restart_changes_nothing(c, make_ctl)


def test_gone_already_is_done(world, make_ctl):
    """A veth deleted behind our back: leave succeeds (ENODEV is done)."""
    c, nw, root = world
    (ep,) = c.attach(nw, ["a"])
    c.backend.run([O.LinkDel(ep.host_ifname)])
    c.detach(["a"])
    assert c.sandboxes() == [] and nw.endpoints() == []
    assert_agree(c, root)
