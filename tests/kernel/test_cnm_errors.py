"""Typed errors, and that a failing call changes nothing.

Each case builds the same small world (a bridge network with a joined and
an unjoined endpoint, a full /29 network, host and null networks, two
sandboxes), takes a snapshot of everything a change may touch (links and
addresses of the root namespace, the exec root's namespaces and what is in
them, every store kind with blobs, the object lists, the IPAM state),
makes one failing call, checks the exact exception type, and compares the
snapshot again.
"""

from __future__ import annotations

import subprocess

import pytest

import libnetwork
from libnetwork import IpamConf, errors, netlabel

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_links, ns_addrs


class World:
    pass


@pytest.fixture
def world(ctl, netns):
    w = World()
    w.c = ctl
    w.net = ctl.new_network("bridge", "net1", ipv4=[IpamConf("10.60.0.0/24")])
    w.joined = w.net.create_endpoint("joined")
    w.free = w.net.create_endpoint("free")
    w.sb = ctl.new_sandbox("c1", hostname="c1")
    w.sb2 = ctl.new_sandbox("c2")
    w.joined.join(w.sb)
    w.small = ctl.new_network("bridge", "small",
                              ipv4=[IpamConf("10.61.0.0/29")])
    # a /29: network .0, gateway .1, broadcast .7 -> .2 ... .6 for endpoints
    w.small_eps = w.small.create_endpoints([f"s{i}" for i in range(5)])
    w.host = ctl.new_network("host", "host")
    w.null = ctl.new_network("null", "none")
    w.host_ep = w.host.create_endpoint("h")
    w.netns = netns
    return w


def _kernel_bridge(w):
    subprocess.run(["nsenter", f"--net={w.netns}", "ip", "link", "add",
                    "brkernel", "type", "bridge"], check=True)


CASES = {
    # invalid names
    "network-name-empty": (lambda w: w.c.new_network("bridge", ""),
                           errors.InvalidName),
    "network-name-space": (lambda w: w.c.new_network("bridge", "a b"),
                           errors.InvalidName),
    "network-name-dash": (lambda w: w.c.new_network("bridge", "-x"),
                          errors.InvalidName),
    "network-name-slash": (lambda w: w.c.new_network("bridge", "a/b"),
                           errors.InvalidName),
    "endpoint-name": (lambda w: w.net.create_endpoint("bad/name"),
                      errors.InvalidName),
    "endpoint-name-none": (lambda w: w.net.create_endpoint(None),
                           errors.InvalidName),
    "batch-endpoint-name": (lambda w: w.net.create_endpoints(
        ["ok1", "ok2", ""]), errors.InvalidName),
    "container-id": (lambda w: w.c.new_sandbox(""), errors.InvalidName),
    # duplicates
    "network-name-exists": (lambda w: w.c.new_network("bridge", "net1"),
                            errors.NetworkNameExists),
    "endpoint-name-exists": (lambda w: w.net.create_endpoint("free"),
                             errors.EndpointNameExists),
    "batch-endpoint-dup": (lambda w: w.net.create_endpoints(["x", "x"]),
                           errors.EndpointNameExists),
    "sandbox-exists": (lambda w: w.c.new_sandbox("c1"),
                       errors.SandboxExists),
    "batch-sandbox-exists": (lambda w: w.c.new_sandboxes(["n1", "c2"]),
                             errors.SandboxExists),
    "attach-sandbox-exists": (lambda w: w.c.attach(w.net, ["n1", "c1"]),
                              errors.SandboxExists),
    # state
    "delete-network-active": (lambda w: w.net.delete(),
                              errors.ActiveEndpoints),
    "second-join": (lambda w: w.joined.join(w.sb2), errors.AlreadyJoined),
    "second-join-same": (lambda w: w.joined.join(w.sb),
                         errors.AlreadyJoined),
    "leave-not-joined": (lambda w: w.free.leave(w.sb), errors.NotJoined),
    "leave-none": (lambda w: w.free.leave(None), errors.InvalidParameter),
    "leave-other-sandbox": (lambda w: w.joined.leave(w.sb2),
                            errors.NotJoined),
    "delete-endpoint-joined": (lambda w: w.joined.delete(),
                               errors.ActiveContainer),
    "host-endpoint-private-sandbox": (lambda w: w.host_ep.join(w.sb2),
                                      errors.Forbidden),
    # unknowns
    "unknown-driver": (lambda w: w.c.new_network("overlay", "o"),
                       errors.UnknownDriver),
    "unknown-ipam-driver": (lambda w: w.c.new_network(
        "bridge", "o", ipam_driver="nope"), errors.UnknownDriver),
    "unknown-network": (lambda w: w.c.network_by_name("zzz"),
                        errors.NoSuchNetwork),
    "unknown-endpoint": (lambda w: w.net.endpoint_by_id("0" * 64),
                         errors.NoSuchEndpoint),
    "unknown-sandbox": (lambda w: w.c.sandbox_destroy("0" * 64),
                        errors.NoSuchSandbox),
    # IPAM
    "overlapping-pool": (lambda w: w.c.new_network(
        "bridge", "o", ipv4=[IpamConf("10.60.0.128/25")]),
        errors.PoolOverlap),
    "same-pool": (lambda w: w.c.new_network(
        "bridge", "o", ipv4=[IpamConf("10.60.0.0/24")]), errors.PoolOverlap),
    "address-in-use": (lambda w: w.net.create_endpoint(
        "x", ipv4=str(w.free.info().iface().address().ip)),
        errors.AlreadyAllocated),
    "address-of-gateway": (lambda w: w.net.create_endpoint(
        "x", ipv4="10.60.0.1"), errors.AlreadyAllocated),
    "address-out-of-range": (lambda w: w.net.create_endpoint(
        "x", ipv4="10.99.0.5"), errors.AddressOutOfRange),
    "pool-exhausted": (lambda w: w.small.create_endpoint("s5"),
                       errors.PoolExhausted),
    "pool-exhausted-batch": (lambda w: w.small.create_endpoints(
        ["y1", "y2"]), errors.PoolExhausted),
    "attach-exhausted": (lambda w: w.c.attach(w.small, ["n1", "n2"]),
                         errors.PoolExhausted),
    "bad-mac": (lambda w: w.net.create_endpoint("x", mac="01:00:5e:00:00:01"),
                errors.InvalidParameter),
    "bad-mac-text": (lambda w: w.net.create_endpoint("x", mac="nope"),
                     errors.InvalidParameter),
    "ipv6-without-pool": (lambda w: w.c.new_network("bridge", "o",
                                                    enable_ipv6=True),
                          errors.InvalidParameter),
    "unknown-network-option": (lambda w: w.c.new_network("bridge", "o",
                                                         colour="red"),
                               errors.InvalidParameter),
    "unknown-endpoint-option": (lambda w: w.net.create_endpoint(
        "x", colour="red"), errors.InvalidParameter),
    "unknown-sandbox-option": (lambda w: w.c.new_sandbox("n", colour="red"),
                               errors.InvalidParameter),
    "bad-mtu": (lambda w: w.c.new_network("bridge", "o", generic={
        netlabel.DRIVER_MTU: 10}), errors.InvalidParameter),
    "bad-bridge-name": (lambda w: w.c.new_network("bridge", "o", generic={
        netlabel.BRIDGE_NAME: "x" * 16}), errors.InvalidParameter),
    "network-id-not-str": (lambda w: w.c.new_network("bridge", "o", 123),
                           errors.InvalidParameter),
    # failing after the namespaces were made: they must go again
    "sandbox-bad-hostname": (lambda w: w.c.new_sandbox(
        "n", hostname="bad host"), errors.InvalidParameter),
    "sandbox-bad-extra-host": (lambda w: w.c.new_sandbox(
        "n", extra_hosts=[("x", "not-an-ip")]), errors.InvalidParameter),
    "sandbox-bad-dns": (lambda w: w.c.new_sandbox("n", dns=["nope"]),
                        errors.InvalidParameter),
    "batch-sandbox-bad-hostname": (lambda w: w.c.new_sandboxes(
        ["n1", "n2"], hostname="a b"), errors.InvalidParameter),
    "attach-bad-hostname": (lambda w: w.c.attach(w.net, ["n1", "n2"],
                                                 hostname="a b"),
                            errors.InvalidParameter),
    # singletons
    "second-host": (lambda w: w.c.new_network("host", "host2"),
                    errors.Forbidden),
    "second-null": (lambda w: w.c.new_network("null", "none2"),
                    errors.Forbidden),
    "delete-host": (lambda w: w.c.network_by_name("host").delete(),
                    errors.Forbidden),
    "delete-null": (lambda w: w.null.delete(), errors.Forbidden),
    # bridges
    "bridge-name-of-other-network": (lambda w: w.c.new_network(
        "bridge", "o", generic={netlabel.BRIDGE_NAME:
                                w.net.driver_state["bridge"]}),
        errors.Conflict),
    "bridge-overlap-other-space": (lambda w: w.c.new_network(
        "bridge", "o", "", libnetwork.network_option_ipam(
            "default", "GlobalDefault", ipv4=[IpamConf("10.60.0.0/24")])),
        errors.PoolOverlap),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_changes_nothing(world, backend, case):
    call, exc = CASES[case]
    before = snapshot(world.c, backend)
    with pytest.raises(exc) as ei:
        call(world)
    assert ei.type is exc, f"{ei.type.__name__} is not {exc.__name__}"
    assert isinstance(ei.value, errors.LibnetworkError)
    assert_unchanged(before, world.c, backend)
    # and the world still works: the next endpoint gets the next address
    nxt = world.net.create_endpoint("after-error")
    assert str(nxt.info().iface().address()) == "10.60.0.4/24"


def test_error_categories():
    """Category classes inherit the matching builtin."""
    assert issubclass(errors.NotFound, LookupError)
    for cls in (errors.NoSuchNetwork, errors.NoSuchEndpoint,
                errors.NoSuchSandbox, errors.UnknownDriver):
        assert issubclass(cls, errors.NotFound)
    assert issubclass(errors.InvalidName, ValueError)
    assert issubclass(errors.Forbidden, PermissionError)
    assert issubclass(errors.ActiveEndpoints, errors.Forbidden)
    assert issubclass(errors.BridgeFull, errors.Conflict)


def test_bridge_existing_in_kernel_only(world, backend):
    """A bridge that exists in the kernel but not in the store: Conflict,
    the kernel's bridge untouched, and nothing of the attempt left."""
    _kernel_bridge(world)
    before = snapshot(world.c, backend)
    idx = ns_links(world.netns)["brkernel"].index
    with pytest.raises(errors.Conflict) as ei:
        world.c.new_network("bridge", "o", ipv4=[IpamConf("10.62.0.0/24")],
                            generic={netlabel.BRIDGE_NAME: "brkernel"})
    assert isinstance(ei.value, errors.Conflict)
    assert_unchanged(before, world.c, backend)
    assert ns_links(world.netns)["brkernel"].index == idx
    assert not any(a.startswith("10.62.") for _, a in
                   ((n, str(x)) for n, x in ns_addrs(world.netns)))
    # the pool was released: it can be used now
    world.c.new_network("bridge", "o", ipv4=[IpamConf("10.62.0.0/24")])


def test_join_failure_in_kernel_rolls_back(world, backend):
    """A join whose veth collides with an interface inside the sandbox
    (a bridge named eth0): NetlinkConflict, nothing half-made."""
    r = nsexec(world.sb2.key(), "ip", "link", "add", "eth0", "type",
               "bridge")
    assert r.returncode == 0, r.stderr
    before = snapshot(world.c, backend)
    with pytest.raises(errors.NetlinkConflict):
        world.free.join(world.sb2)
    assert_unchanged(before, world.c, backend)
    assert world.free.sandbox() is None and world.sb2.endpoints() == []


def test_join_failure_after_veth_rolls_back(world, backend):
    """The veth is made, then the default route fails (the sandbox already
    has one): the veth must be deleted again and nothing recorded."""
    key = world.sb2.key()
    for argv in (["ip", "link", "add", "d0", "type", "bridge"],
                 ["ip", "link", "set", "d0", "up"],
                 ["ip", "addr", "add", "192.0.2.2/24", "dev", "d0"],
                 ["ip", "route", "add", "default", "via", "192.0.2.1"]):
        r = nsexec(key, *argv)
        assert r.returncode == 0, r.stderr
    before = snapshot(world.c, backend)
    with pytest.raises(errors.NetlinkConflict):
        world.free.join(world.sb2)
    assert_unchanged(before, world.c, backend)
    assert set(ns_links(key)) == {"lo", "d0"}
    assert world.free.host_ifname not in ns_links(world.netns)
    # after removing the obstacle the join works
    assert nsexec(key, "ip", "route", "del", "default").returncode == 0
    world.free.join(world.sb2)
    assert "eth0" in ns_links(key)


def test_join_sandbox_whose_namespace_vanished(world, backend):
    """The sandbox's namespace was removed behind the controller's back
    (umount + unlink): a join must fail with NotFound -- not wire a veth
    into an unreachable, orphaned namespace -- and change nothing.  Both
    backends must agree."""
    key = world.sb2.key()
    drop_netns(key)
    before = snapshot(world.c, backend)
    with pytest.raises(errors.NotFound):
        world.free.join(world.sb2)
    assert_unchanged(before, world.c, backend)
    assert world.free.sandbox() is None
    assert world.free.host_ifname not in ns_links(world.netns)
