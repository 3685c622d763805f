"""The CNM surface against the kernel: the seed's functional style, the
Python conveniences, configuration, and the accessors of Controller,
Network, Endpoint and Sandbox.

Every test runs once per backend (the ``backend`` fixture), with a
controller whose root is the test's own fresh namespace; what the kernel
holds is read back with the oracle (pyroute2 on a socket opened inside the
namespace), not with the backend under test.
"""

from __future__ import annotations

import ipaddress
import os
import re

import pytest

import libnetwork
from libnetwork import IpamConf, config, errors, netlabel, options

from cnm_util import *  # noqa: F401,F403  (fixtures and helpers)
from cnm_util import ns_addrs, ns_links, default_routes, mac_of_ipv4


# ------------------------------------------------------------------ seed

def test_seed_example_functional_options(backend, netns, nsdir, tmp_path,
                                         resolv_file):
    """The README seed, verbatim in shape: functional options, positional
    new_network(type, name, id), accessors as methods, driver_info keyed by
    netlabel constants -- and the kernel agrees with what it reports."""
    data = tmp_path / "seed-data"
    exec_root = os.path.join(nsdir, "seed-exec")
    controller = libnetwork.new(
        config.option_driver_config(
            "bridge", {netlabel.GENERIC_DATA: options.Generic()}),
        config.option_data_dir(str(data)),
        config.option_exec_root(exec_root),
        config.option_backend(backend.name),
        config.option_root_namespace(netns),
        config.option_host_resolv_conf(resolv_file))
    try:
        network = controller.new_network("bridge", "network1", "")
        ep = network.create_endpoint("Endpoint1")
        sbx = controller.new_sandbox(
            "container1", libnetwork.option_hostname("test"),
            libnetwork.option_domainname("docker.io"))
        ep.join(sbx)
        mac = ep.driver_info()[netlabel.MAC_ADDRESS]

        assert (data / "local.db").is_file()
        assert ep.name() == "Endpoint1"
        assert re.fullmatch(r"[0-9a-f]{64}", ep.id())
        assert re.fullmatch(r"[0-9a-f]{64}", network.id())
        assert network.name() == "network1" and network.type() == "bridge"
        assert ep.network() == "network1"
        assert sbx.container_id() == "container1"
        assert os.path.dirname(sbx.key()) == os.path.join(exec_root, "netns")
        assert is_netns(sbx.key())
        assert controller.backend.name == backend.name

        addr = ep.info().iface().address()
        assert isinstance(addr, ipaddress.IPv4Interface)
        assert mac == mac_of_ipv4(addr.ip) == ep.info().iface().mac_address()
        eth0 = ns_links(sbx.key())["eth0"]
        assert eth0.mac == mac and eth0.kind == "veth"
        assert ("eth0", addr) in ns_addrs(sbx.key())
        # the first automatic pool, gateway .1 on the bridge
        assert addr.network == ipaddress.ip_network("172.17.0.0/16")
        assert str(addr.ip) == "172.17.0.2"
        br = ns_links(netns)[f"br-{network.id()[:12]}"]
        assert br.kind == "bridge"
        assert ("br-" + network.id()[:12],
                ipaddress.ip_interface("172.17.0.1/16")) in ns_addrs(netns)
    finally:
        controller.stop()


def test_new_network_with_explicit_id(ctl, netns):
    nw = ctl.new_network("bridge", "n1", "0123456789abcdef0123")
    assert nw.id() == "0123456789abcdef0123"
    assert ctl.network_by_id("0123456789abcdef0123") is nw
    assert "br-0123456789ab" in ns_links(netns)


def test_pythonic_conveniences_tear_down(make_ctl, netns, backend):
    """Keyword arguments for every option; context managers that remove
    what they made from the kernel; iteration."""
    with make_ctl() as c:
        with c.new_network("bridge", "net1", labels={"team": "a"},
                           ipv4=[IpamConf(preferred_pool="10.7.0.0/24")]) as net:
            br = net.driver_state["bridge"]
            assert br in ns_links(netns)
            with net.create_endpoint("web", mac="02:00:00:00:00:07") as ep, \
                    c.new_sandbox("c1", hostname="web",
                                  labels={"x": "1"}) as sbx:
                ep.join(sbx)
                key = sbx.key()
                veth = ep.host_ifname
                assert str(ep.info().iface().address()) == "10.7.0.2/24"
                assert [e.name() for e in net] == ["web"]
                assert list(sbx) == [ep] and len(net) == 1
                assert list(c) == c.networks() == [net]
                assert ns_links(key)["eth0"].mac == "02:00:00:00:00:07"
                assert ns_links(netns)[veth].master == \
                    ns_links(netns)[br].index
            # the sandbox's exit deleted its namespace (and so the veth);
            # the endpoint's exit deleted the endpoint
            assert not os.path.exists(key)
            assert veth not in ns_links(netns)
            assert net.endpoints() == [] and c.sandboxes() == []
            assert c.store.list("endpoint") == []
            assert c.store.list("sandbox") == []
            # many at once
            eps = c.attach(net, [f"job{i}" for i in range(5)])
            assert sorted(str(e.info().iface().address().ip) for e in eps) \
                == [f"10.7.0.{i}" for i in range(2, 7)]
            assert len(os.listdir(c.netns_dir)) == 5
            c.detach([f"job{i}" for i in range(5)])
            assert os.listdir(c.netns_dir) == [] and len(net) == 0
        # the network's exit deleted the bridge and the record
        assert br not in ns_links(netns)
        assert c.networks() == [] and c.store.list("network") == []
        assert c.store.list("ipam_pool") == []


def test_network_exit_force_deletes_joined_endpoints(ctl, netns):
    with ctl.new_network("bridge", "n") as net:
        ep = net.create_endpoint("e")
        sb = ctl.new_sandbox("c")
        ep.join(sb)
        veth = ep.host_ifname
        assert veth in ns_links(netns)
    assert veth not in ns_links(netns)
    assert "eth0" not in ns_links(sb.key())
    assert ctl.networks() == [] and sb.endpoints() == []


# ---------------------------------------------------------------- config

def test_config_default_address_pools(make_ctl, netns):
    c = make_ctl(config.option_default_address_pools(
        [{"base": "10.10.0.0/16", "size": 24}]))
    n1 = c.new_network("bridge", "a")
    n2 = c.new_network("bridge", "b")
    pools = [[str(i.pool) for i in n.info().ipam_info()[0]] for n in (n1, n2)]
    assert pools == [["10.10.0.0/24"], ["10.10.1.0/24"]]
    addrs = ns_addrs(netns)
    assert (n1.driver_state["bridge"],
            ipaddress.ip_interface("10.10.0.1/24")) in addrs
    assert (n2.driver_state["bridge"],
            ipaddress.ip_interface("10.10.1.1/24")) in addrs


def test_config_keyword_default_address_pools(make_ctl):
    c = make_ctl(default_address_pools=[{"base": "10.11.0.0/16",
                                         "size": 26}])
    n = c.new_network("bridge", "a")
    assert str(n.info().ipam_info()[0][0].pool) == "10.11.0.0/26"


def test_config_data_dir_and_exec_root_keywords(tmp_path, nsdir, netns,
                                               backend, resolv_file):
    data = tmp_path / "elsewhere"
    ex = os.path.join(nsdir, "other-exec")
    c = libnetwork.new(data_dir=str(data), exec_root=ex, backend=backend.name,
                       root_namespace=netns, host_resolv_conf=resolv_file)
    try:
        assert (data / "local.db").is_file()
        sb = c.new_sandbox("c")
        assert sb.key().startswith(os.path.join(ex, "netns") + os.sep)
        assert os.path.isfile(os.path.join(ex, "sandboxes", sb.id(),
                                           "hosts"))
    finally:
        c.stop()


def test_config_functional_options_apply(tmp_path):
    """config functions fill the Config the controller is built from."""
    cfg = config.Config()
    for opt in (config.option_data_dir("/d"), config.option_exec_root("/e"),
                config.option_backend("pyroute2"),
                config.option_default_address_pools(
                    [{"base": "10.10.0.0/16", "size": 24}])):
        opt(cfg)
    assert (cfg.data_dir, cfg.exec_root, cfg.backend) == ("/d", "/e",
                                                          "pyroute2")
    assert cfg.default_address_pools == [{"base": "10.10.0.0/16",
                                          "size": 24}]


def test_config_unknown_keyword_and_backend(make_ctl):
    with pytest.raises(errors.InvalidParameter):
        make_ctl(no_such_option=1)
    with pytest.raises(errors.InvalidParameter):
        make_ctl(backend="no-such-backend")


# ------------------------------------------------------------ controller

def test_controller_lookups_and_walks(ctl):
    assert {"bridge", "host", "null"} <= set(ctl.drivers())
    a = ctl.new_network("bridge", "a")
    b = ctl.new_network("bridge", "b")
    h = ctl.new_network("host", "host")
    n = ctl.new_network("null", "none")
    assert [x.name() for x in ctl.networks()] == ["a", "b", "host", "none"]
    assert ctl.network_by_name("b") is b
    assert ctl.network_by_id(a.id()) is a
    assert (h.type(), n.type()) == ("host", "null")
    seen = []
    ctl.walk_networks(lambda nw: seen.append(nw.name()) or nw is b)
    assert seen == ["a", "b"]

    s1 = ctl.new_sandbox("c1")
    s2 = ctl.new_sandbox("c2")
    assert ctl.sandboxes() == [s1, s2]
    assert ctl.sandbox_by_id(s2.id()) is s2
    assert ctl.sandbox_by_container("c1") is s1
    key = s1.key()
    assert is_netns(key)
    ctl.sandbox_destroy(s1.id())
    assert not os.path.exists(key)
    assert ctl.sandboxes() == [s2]
    with pytest.raises(errors.NoSuchSandbox):
        ctl.sandbox_by_id(s1.id())
    assert [k for k, _ in ctl.store.list("sandbox")] == [s2.id()]


@pytest.mark.parametrize("call, exc", [
    (lambda c: c.network_by_name("nope"), errors.NoSuchNetwork),
    (lambda c: c.network_by_id("f" * 64), errors.NoSuchNetwork),
    (lambda c: c.sandbox_by_id("f" * 64), errors.NoSuchSandbox),
    (lambda c: c.sandbox_by_container("nope"), errors.NoSuchSandbox),
    (lambda c: c.sandbox_destroy("f" * 64), errors.NoSuchSandbox),
    (lambda c: c.detach(["nope"]), errors.NoSuchSandbox),
    (lambda c: c.networks()[0].endpoint_by_name("nope"),
     errors.NoSuchEndpoint),
    (lambda c: c.networks()[0].endpoint_by_id("f" * 64),
     errors.NoSuchEndpoint),
    (lambda c: c.new_network("nosuchdriver", "m"), errors.UnknownDriver),
])
def test_lookups_raise_not_found(ctl, backend, call, exc):
    ctl.new_network("bridge", "n").create_endpoint("e")
    before = snapshot(ctl, backend)
    with pytest.raises(exc) as ei:
        call(ctl)
    assert ei.type is exc
    assert isinstance(ei.value, errors.NotFound)
    assert isinstance(ei.value, LookupError)
    assert_unchanged(before, ctl, backend)


# --------------------------------------------------------------- network

def test_network_options_and_info(ctl, netns):
    nw = ctl.new_network(
        "bridge", "n", "",
        libnetwork.network_option_generic({
            netlabel.BRIDGE_NAME: "br-opts", netlabel.DRIVER_MTU: 1400,
            netlabel.ENABLE_IPV6: True}),
        libnetwork.network_option_internal_network(),
        libnetwork.network_option_labels({"a": "1", "b": "2"}),
        libnetwork.network_option_ipam(
            "default", "",
            ipv4=[IpamConf("10.44.0.0/24", "10.44.0.128/25", "10.44.0.254",
                           {"router": "10.44.0.253"})],
            ipv6=[IpamConf("fd44::/64")]))
    info = nw.info()
    drv, opts, v4, v6 = info.ipam_config()
    assert drv == "default"
    assert v4 == [IpamConf("10.44.0.0/24", "10.44.0.128/25", "10.44.0.254",
                           {"router": "10.44.0.253"})]
    assert v6 == [IpamConf("fd44::/64")]
    i4, i6 = info.ipam_info()
    assert str(i4[0].pool) == "10.44.0.0/24"
    assert str(i4[0].gateway) == "10.44.0.254/24"
    assert {k: str(v) for k, v in i4[0].aux_addresses.items()} == {
        "router": "10.44.0.253/24"}
    assert str(i6[0].pool) == "fd44::/64"
    assert str(i6[0].gateway) == "fd44::1/64"
    assert info.scope() == "local"
    assert info.ipv6_enabled() is True
    assert info.internal() is True
    assert info.labels() == {"a": "1", "b": "2"}
    assert info.driver_options()[netlabel.BRIDGE_NAME] == "br-opts"

    links = ns_links(netns)
    assert links["br-opts"].mtu == 1400
    addrs = ns_addrs(netns)
    assert ("br-opts", ipaddress.ip_interface("10.44.0.254/24")) in addrs
    assert ("br-opts", ipaddress.ip_interface("fd44::1/64")) in addrs

    # the aux address is never handed out; the sub-pool holds the others
    ep = nw.create_endpoint("e")
    assert str(ep.info().iface().address()) == "10.44.0.128/24"
    assert ep.info().gateway() == ipaddress.ip_address("10.44.0.254")
    assert ep.info().gateway_ipv6() == ipaddress.ip_address("fd44::1")
    with pytest.raises(errors.AlreadyAllocated):
        nw.create_endpoint("f", ipv4="10.44.0.253")

    # internal: no default route in a sandbox joined to it
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert default_routes(sb.key()) == []
    assert ("eth0", ipaddress.ip_interface("10.44.0.128/24")) in \
        ns_addrs(sb.key())


def test_network_keyword_options(ctl):
    nw = ctl.new_network("bridge", "n", enable_ipv6=True, internal=True,
                         labels={"k": "v"}, options={"x": "y"},
                         ipv4=[IpamConf(preferred_pool="10.45.0.0/24")],
                         ipv6=[IpamConf(preferred_pool="fd45::/64")])
    info = nw.info()
    assert info.ipv6_enabled() and info.internal()
    assert info.labels() == {"k": "v"}
    assert info.driver_options()["x"] == "y"
    assert [str(i.pool) for i in info.ipam_info()[0] + info.ipam_info()[1]] \
        == ["10.45.0.0/24", "fd45::/64"]


def test_network_endpoint_accessors(ctl):
    nw = ctl.new_network("bridge", "n")
    a = nw.create_endpoint("a")
    b = nw.create_endpoint("b")
    c = nw.create_endpoint("c")
    assert nw.endpoints() == [a, b, c]
    assert nw.endpoint_by_name("b") is b
    assert nw.endpoint_by_id(c.id()) is c
    seen = []
    nw.walk_endpoints(lambda e: seen.append(e.name()) or e is b)
    assert seen == ["a", "b"]
    b.delete()
    assert nw.endpoints() == [a, c]
    assert sorted(k for k, _ in ctl.store.list("endpoint")) == \
        sorted([a.id(), c.id()])
    with pytest.raises(errors.NoSuchEndpoint):
        nw.endpoint_by_name("b")


def test_network_delete_removes_bridge_and_pool(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.46.0.0/24")])
    br = nw.driver_state["bridge"]
    assert br in ns_links(netns)
    nw.delete()
    assert br not in ns_links(netns)
    assert ctl.networks() == [] and ctl.store.list("network") == []
    assert ctl.store.list("ipam_pool") == []
    # the pool is free again
    again = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.46.0.0/24")])
    assert str(again.info().ipam_info()[0][0].gateway) == "10.46.0.1/24"
