"""Sandboxes on an external namespace (``option_netns_path``): the
controller adds and removes its interfaces in a namespace someone else
made, and never creates, marks or deletes that namespace."""

from __future__ import annotations

import ipaddress
import os

import pytest

import libnetwork
from libnetwork import IpamConf, errors

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_addrs, ns_links, nsexec, udp_exchange
from kernel_util import drop_netns, is_netns


def _net(c, name="ext", subnet="10.120.0.0/24"):
    return c.new_network("bridge", name, ipv4=[IpamConf(subnet)])


THEIRS = {"lo", "theirs0", "theirs1"}


def _theirs(make_ns, name):
    """A namespace the test (the 'runtime') made, with its own dummy link
    that must survive everything."""
    path = make_ns(name)
    assert nsexec(path, "ip", "link", "add", "theirs0", "type", "veth",
                  "peer", "name", "theirs1").returncode == 0
    return path


def test_join_into_external_namespace(make_ctl, make_ns):
    c = make_ctl()
    nw = _net(c)
    path = _theirs(make_ns, "runtime-a")
    before = set(os.listdir(c.netns_dir))
    sb = c.new_sandbox("ca", netns_path=path)
    assert sb.key() == path and sb.external()
    ep = nw.create_endpoint("ea", ifname="net1")
    ep.join(sb)
    assert set(os.listdir(c.netns_dir)) == before   # nothing made by us
    assert ("net1", ipaddress.ip_interface(ep.info().iface().address())) \
        in ns_addrs(path)
    assert "theirs0" in ns_links(path)
    # a second one through attach, talking to the first
    path_b = _theirs(make_ns, "runtime-b")
    (eb,) = c.attach(nw, ["cb"], libnetwork.option_netns_path(path_b),
                     libnetwork.create_option_ifname("eth7"))
    addr_b = eb.info().iface().address()
    assert ("eth7", ipaddress.ip_interface(addr_b)) in ns_addrs(path_b)
    data, _, reply = udp_exchange(path, path_b, addr_b.ip)
    assert data == b"ping" and reply == b"gnip"

    sb.delete()
    ep.delete()
    c.detach(["cb"])
    for p in (path, path_b):
        assert is_netns(p)
        assert set(ns_links(p)) == THEIRS
    assert c.sandboxes() == [] and nw.endpoints() == []


def test_restart_keeps_external_namespace(make_ctl, make_ns):
    c = make_ctl()
    nw = _net(c)
    path = _theirs(make_ns, "runtime")
    c.attach(nw, ["c1"], netns_path=path)
    c.stop()
    c2 = make_ctl()                     # a restart: reconcile runs
    sb = c2.sandbox_by_container("c1")
    assert sb.key() == path and sb.external()
    assert [e.name() for e in sb.endpoints()] == ["c1"]
    assert is_netns(path) and "eth0" in ns_links(path)
    c2.detach(["c1"])
    assert is_netns(path) and set(ns_links(path)) == THEIRS
    c2.stop()
    make_ctl().stop()                   # and once more without it
    assert is_netns(path)


def test_vanished_external_namespace_is_forgotten(make_ctl, make_ns):
    c = make_ctl()
    nw = _net(c)
    path = make_ns("gone")
    c.attach(nw, ["c1"], netns_path=path)
    c.stop()
    drop_netns(path)                    # the runtime removed it
    c2 = make_ctl()
    with pytest.raises(errors.NoSuchSandbox):
        c2.sandbox_by_container("c1")
    ep = c2.network_by_name("ext").endpoints()[0]
    assert ep.sandbox() is None
    ep.delete()


def test_external_namespace_checks(make_ctl, make_ns, tmp_path):
    c = make_ctl()
    path = make_ns("twice")
    c.new_sandbox("c1", netns_path=path)
    with pytest.raises(errors.SandboxExists):
        c.new_sandbox("c2", netns_path=path)
    plain = tmp_path / "plain"
    plain.write_text("")
    for bad in (str(plain), str(tmp_path / "missing")):
        with pytest.raises(errors.NoSuchSandbox):
            c.new_sandbox("c3", netns_path=bad)
    with pytest.raises(errors.InvalidParameter):
        c.new_sandbox("c4", netns_path=path, use_default_sandbox=True)
    assert [s.container_id() for s in c.sandboxes()] == ["c1"]
