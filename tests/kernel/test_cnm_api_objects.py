"""The CNM API of endpoints and sandboxes: info and driver info, keyword
and generic options, join/leave/delete, sandbox accessors, labels, rename
and refresh (which leaves an edited resolv.conf alone)."""

from __future__ import annotations

import ipaddress
import os
import re

import pytest

import libnetwork
from libnetwork import IpamConf
from libnetwork import errors, netlabel
from libnetwork.types import PortBinding

from cnm_util import *  # noqa: F401,F403  (fixtures and helpers)
from cnm_util import ns_addrs, ns_links, default_routes


# -------------------------------------------------------------- endpoint

def test_endpoint_info_and_driver_info(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.47.0.0/24")])
    ports = [("tcp", 80), ("udp", 53)]
    mapping = [PortBinding("tcp", 80, host_port=8080, host_ip="0.0.0.0")]
    ep = nw.create_endpoint(
        "e",
        libnetwork.create_option_ipam(ipv4="10.47.0.9"),
        libnetwork.create_option_mac_address("02:11:22:33:44:55"),
        libnetwork.create_option_exposed_ports(ports),
        libnetwork.create_option_port_mapping(mapping),
        libnetwork.create_option_alias("db", "database"))
    iface = ep.info().iface()
    assert iface.address() == ipaddress.ip_interface("10.47.0.9/24")
    assert iface.address_ipv6() is None
    assert iface.mac_address() == "02:11:22:33:44:55"
    assert ep.info().gateway() == ipaddress.ip_address("10.47.0.1")
    assert ep.info().gateway_ipv6() is None
    assert ep.info().static_routes() == []
    assert ep.info().sandbox() is None and ep.sandbox() is None
    di = ep.driver_info()
    assert di[netlabel.MAC_ADDRESS] == "02:11:22:33:44:55"
    assert di[netlabel.EXPOSED_PORTS] == ports
    assert di[netlabel.PORT_MAP] == mapping
    # recorded in the store as well
    rec = ctl.store.get("endpoint", ep.id())
    assert rec["spec"]["aliases"] == {"db": "database"}
    assert rec["spec"]["port_mapping"] == [b.to_dict() for b in mapping]
    assert rec["ports"] == [b.to_dict() for b in mapping]

    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert ep.sandbox() is sb and ep.info().sandbox() is sb
    assert iface.srcname() == "eth0"
    eth0 = ns_links(sb.key())["eth0"]
    assert eth0.mac == "02:11:22:33:44:55"
    assert ("eth0", ipaddress.ip_interface("10.47.0.9/24")) in \
        ns_addrs(sb.key())


def test_endpoint_keyword_options(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.48.0.0/24")])
    ep = nw.create_endpoint("e", ipv4="10.48.0.77", mac="02:aa:bb:cc:dd:ee",
                            exposed_ports=[("tcp", 22)],
                            port_mapping=[{"proto": "tcp", "port": 22,
                                           "host_port": 2222}],
                            aliases={"a": "b"},
                            generic={"k": "v"})
    assert str(ep.info().iface().address()) == "10.48.0.77/24"
    assert ep.info().iface().mac_address() == "02:aa:bb:cc:dd:ee"
    assert ep.driver_info()[netlabel.EXPOSED_PORTS] == [("tcp", 22)]
    assert ep.driver_info()[netlabel.PORT_MAP] == [
        PortBinding("tcp", 22, 2222, "0.0.0.0")]


def test_endpoint_generic_mac_option(ctl, netns):
    nw = ctl.new_network("bridge", "n")
    ep = nw.create_endpoint("e", libnetwork.endpoint_option_generic(
        {netlabel.MAC_ADDRESS: "02:01:02:03:04:05"}))
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert ns_links(sb.key())["eth0"].mac == "02:01:02:03:04:05"


def test_endpoint_join_leave_delete(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.49.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    veth = ep.host_ifname
    assert veth in ns_links(netns) and "eth0" in ns_links(sb.key())
    assert sb.endpoints() == [ep]
    ep.leave(sb)
    assert veth not in ns_links(netns)
    assert set(ns_links(sb.key())) == {"lo"}
    assert ep.sandbox() is None and sb.endpoints() == []
    assert ctl.store.get("endpoint", ep.id())["sandbox"] is None
    assert ctl.store.get("sandbox", sb.id())["endpoints"] == []
    # join again works, same address
    ep.join(sb)
    assert ("eth0", ipaddress.ip_interface("10.49.0.2/24")) in \
        ns_addrs(sb.key())
    # force delete leaves first and releases the address
    ep.delete(force=True)
    assert veth not in ns_links(netns)
    assert set(ns_links(sb.key())) == {"lo"}
    assert nw.endpoints() == [] and sb.endpoints() == []
    assert ctl.store.list("endpoint") == []
    again = nw.create_endpoint("f")
    assert str(again.info().iface().address()) == "10.49.0.2/24"


# --------------------------------------------------------------- sandbox

def test_sandbox_accessors_and_labels(ctl):
    sb = ctl.new_sandbox("c", libnetwork.option_labels({"l": "v"}),
                         libnetwork.option_hostname("h"))
    assert re.fullmatch(r"[0-9a-f]{64}", sb.id())
    assert sb.container_id() == "c"
    assert sb.labels() == {"l": "v"}
    assert is_netns(sb.key())
    assert set(ns_links(sb.key())) == {"lo"}
    assert ns_links(sb.key())["lo"].flags & IFF_UP
    assert sb.endpoints() == [] and list(sb) == []
    assert sb.statistics() == {}
    key = sb.key()
    sb.delete()
    assert not os.path.exists(key)
    assert ctl.sandboxes() == [] and ctl.store.list("sandbox") == []
    assert not os.path.exists(os.path.join(ctl.files_dir, sb.id()))


def test_sandbox_rename(ctl):
    n1 = ctl.new_network("bridge", "n1")
    n2 = ctl.new_network("bridge", "n2")
    a = n1.create_endpoint("a")
    b = n2.create_endpoint("b")
    n1.create_endpoint("taken")
    sb = ctl.new_sandbox("c")
    a.join(sb)
    b.join(sb)
    sb.rename("renamed")
    assert (a.name(), b.name()) == ("renamed", "renamed")
    assert n1.endpoint_by_name("renamed") is a
    assert ctl.store.get("endpoint", b.id())["name"] == "renamed"
    before = (a.name(), b.name(), ctl.store.list("endpoint"))
    with pytest.raises(errors.EndpointNameExists):
        sb.rename("taken")
    with pytest.raises(errors.InvalidName):
        sb.rename("bad name")
    assert (a.name(), b.name(), ctl.store.list("endpoint")) == before


def test_sandbox_refresh_rebuilds(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.50.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c", hostname="old", extra_hosts=[("x", "10.9.9.9")])
    ep.join(sb)
    old_index = ns_links(sb.key())["eth0"].index
    sb.refresh(hostname="new", domainname="example.org",
               dns=["198.51.100.1"])
    hosts = open(sb.hosts_path).read()
    assert "10.50.0.2\tnew.example.org new\n" in hosts
    assert "old" not in hosts and "10.9.9.9" not in hosts
    assert "nameserver 198.51.100.1\n" in open(sb.resolv_conf_path).read()
    links = ns_links(sb.key())
    assert links["eth0"].index != old_index          # re-joined
    assert ("eth0", ipaddress.ip_interface("10.50.0.2/24")) in \
        ns_addrs(sb.key())
    assert default_routes(sb.key()) == [("10.50.0.1", "eth0")]
    assert sb.endpoints() == [ep] and ep.sandbox() is sb


def test_sandbox_refresh_leaves_an_edited_resolv_conf_alone(ctl):
    """libnetwork: a resolv.conf the user changed is not rewritten (its
    recorded hash no longer matches); the hosts file is."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.51.0.0/24")])
    sb = ctl.new_sandbox("c", hostname="old")
    nw.create_endpoint("e").join(sb)
    with open(sb.resolv_conf_path, "a") as f:
        f.write("# mine\nnameserver 192.0.2.53\n")
    edited = open(sb.resolv_conf_path).read()
    sb.refresh(hostname="new", dns=["198.51.100.1"])
    assert open(sb.resolv_conf_path).read() == edited
    assert "10.51.0.2\tnew\n" in open(sb.hosts_path).read()
