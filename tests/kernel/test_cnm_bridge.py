"""The bridge, host and null drivers as the kernel sees them.

Everything is read back with the oracle in the test's root namespace (the
controller's "host") and inside each sandbox's namespace.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

import libnetwork
from libnetwork import IpamConf, errors, netlabel
from libnetwork.backends import ops as O

from cnm_util import *  # noqa: F401,F403
from cnm_util import (default_routes, eui64, mac_of_ipv4, ns_addrs, nsexec,
                      ns_links)

EUI64_OPT = "com.docker.network.bridge.ipv6_eui64"


def test_bridge_network_shape(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.70.0.0/24")])
    name = f"br-{nw.id()[:12]}"
    assert nw.driver_state["bridge"] == name
    br = ns_links(netns)[name]
    assert br.kind == "bridge" and br.flags & IFF_UP
    assert br.mtu == 1500
    assert br.group == nw.driver_state["group"] != 0
    assert (name, ipaddress.ip_interface("10.70.0.1/24")) in ns_addrs(netns)
    # the iproute2 view agrees (an independent decoder)
    info = Oracle(netns).ip("-d", "link", "show", name)[0]
    assert info["linkinfo"]["info_kind"] == "bridge"


def test_named_bridge_and_mtu(ctl, netns):
    nw = ctl.new_network("bridge", "n", generic={
        netlabel.BRIDGE_NAME: "brnamed0", netlabel.DRIVER_MTU: "1400"})
    links = ns_links(netns)
    assert links["brnamed0"].mtu == 1400
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    links = ns_links(netns)
    assert links[ep.host_ifname].mtu == 1400
    assert links[ep.host_ifname].master == links["brnamed0"].index
    assert ns_links(sb.key())["eth0"].mtu == 1400


def test_network_option_driver_opts(ctl, netns):
    nw = ctl.new_network("bridge", "n", "",
                         libnetwork.network_option_driver_opts(
                             {netlabel.BRIDGE_NAME: "brdrvopt",
                              netlabel.DRIVER_MTU: "1300"}))
    assert nw.driver_state["bridge"] == "brdrvopt"
    assert ns_links(netns)["brdrvopt"].mtu == 1300


def test_driver_config_generic_applies(make_ctl, netns):
    """option_driver_config("bridge", {GENERIC_DATA: {...}}) is the
    default for every bridge network."""
    c = make_ctl(libnetwork.config.option_driver_config(
        "bridge", {netlabel.GENERIC_DATA: libnetwork.options.Generic(
            {netlabel.DRIVER_MTU: 1280})}))
    nw = c.new_network("bridge", "n")
    assert ns_links(netns)[nw.driver_state["bridge"]].mtu == 1280


def test_join_wires_veth_into_sandbox(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.71.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    root = ns_links(netns)
    br = root[nw.driver_state["bridge"]]
    host = root[ep.host_ifname]
    assert ep.host_ifname.startswith("veth")
    assert host.kind == "veth" and host.flags & IFF_UP
    assert host.master == br.index
    assert host.group == nw.driver_state["group"]
    inside = ns_links(sb.key())
    assert set(inside) == {"lo", "eth0"}
    assert inside["lo"].flags & IFF_UP
    eth0 = inside["eth0"]
    assert eth0.kind == "veth" and eth0.flags & IFF_UP
    # the two ends are peers of each other
    assert eth0.link == host.index and host.link == eth0.index
    addr = ipaddress.ip_interface("10.71.0.2/24")
    assert ep.info().iface().address() == addr
    assert eth0.mac == mac_of_ipv4(addr.ip) == "02:42:0a:47:00:02"
    assert ("eth0", addr) in ns_addrs(sb.key())
    assert default_routes(sb.key()) == [("10.71.0.1", "eth0")]
    # iproute2's view of the sandbox
    j = Oracle(sb.key()).ip("-4", "route", "show", "default")
    assert j[0]["gateway"] == "10.71.0.1" and j[0]["dev"] == "eth0"


IFF_LOWER_UP = 0x10000       # <linux/if.h>: carrier


def _queues(path, name):
    j = Oracle(path).ip("-d", "link", "show", name)[0]
    return j["num_tx_queues"], j["num_rx_queues"]


def test_join_veth_queues_and_no_ipv6_link_local(ctl, netns):
    """Both ends have one tx and one rx queue (the driver's default), the
    host end is up with carrier, and on an IPv4-only network neither end
    has an IPv6 address.  veth_queues=0 gives the kernel's default."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.72.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert _queues(netns, ep.host_ifname) == (1, 1)
    assert _queues(sb.key(), "eth0") == (1, 1)
    host = ns_links(netns)[ep.host_ifname]
    assert host.flags & IFF_UP and host.flags & IFF_LOWER_UP
    v6 = [a for a in Oracle(netns).addresses(socket.AF_INET6)
          if a.index == host.index]
    v6 += Oracle(sb.key()).addresses(socket.AF_INET6)
    assert [a for a in v6 if a.address.ip != ipaddress.ip_address("::1")] \
        == []

    nw2 = ctl.new_network("bridge", "k", ipv4=[IpamConf("10.73.0.0/24")],
                          generic={"com.docker.network.bridge.veth_queues":
                                   "0"})
    ep2 = nw2.create_endpoint("e2")
    sb2 = ctl.new_sandbox("c2")
    ep2.join(sb2)
    tx, rx = _queues(netns, ep2.host_ifname)
    assert tx == rx == os.sysconf("SC_NPROCESSORS_CONF")
    assert _queues(sb2.key(), "eth0") == (tx, rx)
    for bad in ("-1", "4097", "two"):
        with pytest.raises(errors.InvalidParameter):
            ctl.new_network("bridge", f"bad{bad}", generic={
                "com.docker.network.bridge.veth_queues": bad})
    assert {n.name() for n in ctl.networks()} >= {"n", "k"}
    assert not any(n.name().startswith("bad") for n in ctl.networks())


def test_second_network_is_eth1_and_gateway_moves(ctl, netns):
    n1 = ctl.new_network("bridge", "n1", ipv4=[IpamConf("10.72.0.0/24")])
    n2 = ctl.new_network("bridge", "n2", ipv4=[IpamConf("10.73.0.0/24")])
    e1 = n1.create_endpoint("a")
    e2 = n2.create_endpoint("b")
    sb = ctl.new_sandbox("c")
    e1.join(sb)
    e2.join(sb)
    inside = ns_links(sb.key())
    assert set(inside) == {"lo", "eth0", "eth1"}
    assert e2.info().iface().srcname() == "eth1"
    root = ns_links(netns)
    assert root[e2.host_ifname].master == root[n2.driver_state["bridge"]].index
    assert root[e1.host_ifname].master == root[n1.driver_state["bridge"]].index
    addrs = ns_addrs(sb.key())
    assert ("eth0", ipaddress.ip_interface("10.72.0.2/24")) in addrs
    assert ("eth1", ipaddress.ip_interface("10.73.0.2/24")) in addrs
    # one default route, through the first network
    assert default_routes(sb.key()) == [("10.72.0.1", "eth0")]
    # leaving the first moves the default route to the second
    e1.leave(sb)
    assert set(ns_links(sb.key())) == {"lo", "eth1"}
    assert default_routes(sb.key()) == [("10.73.0.1", "eth1")]
    # a new join takes the free eth0 again
    e3 = n1.create_endpoint("c")
    e3.join(sb)
    assert set(ns_links(sb.key())) == {"lo", "eth0", "eth1"}
    assert e3.info().iface().srcname() == "eth0"


def test_ipv6_from_pool(ctl, netns):
    nw = ctl.new_network("bridge", "n", enable_ipv6=True,
                         ipv4=[IpamConf("10.74.0.0/24")],
                         ipv6=[IpamConf("fd74::/64")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    a6 = ep.info().iface().address_ipv6()
    assert isinstance(a6, ipaddress.IPv6Interface)
    assert a6 == ipaddress.ip_interface("fd74::2/64")
    assert (nw.driver_state["bridge"],
            ipaddress.ip_interface("fd74::1/64")) in ns_addrs(netns)
    assert ("eth0", a6) in ns_addrs(sb.key(), socket.AF_INET6)
    assert default_routes(sb.key(), socket.AF_INET6) == [("fd74::1", "eth0")]
    assert ep.info().gateway_ipv6() == ipaddress.ip_address("fd74::1")


def test_ipv6_eui64(ctl, netns):
    nw = ctl.new_network("bridge", "n", enable_ipv6=True,
                         generic={EUI64_OPT: "true"},
                         ipv4=[IpamConf("10.75.0.0/24")],
                         ipv6=[IpamConf("fd75::/64")])
    ep = nw.create_endpoint("e")
    mac = ep.info().iface().mac_address()
    assert mac == "02:42:0a:4b:00:02"
    want = eui64("fd75::/64", mac)
    assert str(want) == "fd75::42:aff:fe4b:2"
    assert ep.info().iface().address_ipv6() == \
        ipaddress.ip_interface(f"{want}/64")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert ("eth0", ipaddress.ip_interface(f"{want}/64")) in \
        ns_addrs(sb.key(), socket.AF_INET6)
    # with a MAC given, the address follows that MAC
    ep2 = nw.create_endpoint("f", mac="02:00:5e:10:00:01")
    assert ep2.info().iface().address_ipv6().ip == \
        eui64("fd75::/64", "02:00:5e:10:00:01")


def test_bridge_overlap_refused_in_other_space(ctl, backend):
    ctl.new_network("bridge", "n", ipv4=[IpamConf("10.76.0.0/24")])
    before = snapshot(ctl, backend)
    with pytest.raises(errors.PoolOverlap):
        ctl.new_network("bridge", "o", "", libnetwork.network_option_ipam(
            "default", "GlobalDefault", ipv4=[IpamConf("10.76.0.0/25")]))
    assert_unchanged(before, ctl, backend)
    # a non-overlapping one in the global space is fine
    g = ctl.new_network("bridge", "o", "", libnetwork.network_option_ipam(
        "default", "GlobalDefault", ipv4=[IpamConf("10.77.0.0/24")]))
    assert g.info().ipam_info()[0][0].pool_id.startswith("GlobalDefault/")


def test_bridge_name_conflicts(ctl, backend, netns):
    ctl.new_network("bridge", "n", generic={netlabel.BRIDGE_NAME: "brsame"})
    before = snapshot(ctl, backend)
    with pytest.raises(errors.Conflict):
        ctl.new_network("bridge", "o",
                        generic={netlabel.BRIDGE_NAME: "brsame"})
    assert_unchanged(before, ctl, backend)


# ------------------------------------------------------------ host, null

def test_host_network_shares_root_namespace(ctl, netns, backend):
    host = ctl.new_network("host", "host")
    ep = host.create_endpoint("h")
    assert ep.info().iface() is None or \
        ep.info().iface().address() is None
    links_before = ns_links(netns)
    ns_before = os.listdir(ctl.netns_dir)
    sb = ctl.new_sandbox("c", libnetwork.option_use_default_sandbox())
    assert sb.key() == netns
    assert os.listdir(ctl.netns_dir) == ns_before == []
    ep.join(sb)
    assert ep.sandbox() is sb and sb.endpoints() == [ep]
    assert ns_links(netns) == links_before
    ep.leave(sb)
    sb.delete()
    # deleting a host sandbox must not delete the root namespace
    assert is_netns(netns)
    assert ns_links(netns) == links_before
    # a keyword sandbox shares it too
    sb2 = ctl.new_sandbox("d", use_default_sandbox=True)
    assert sb2.key() == netns


def test_null_network_sandbox_has_only_lo(ctl):
    null = ctl.new_network("null", "none")
    ep = null.create_endpoint("n")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert sb.endpoints() == [ep]
    links = ns_links(sb.key())
    assert set(links) == {"lo"} and links["lo"].flags & IFF_UP
    assert default_routes(sb.key()) == []
    ep.leave(sb)
    ep.delete()


def test_host_and_null_are_single_and_undeletable(ctl, backend):
    host = ctl.new_network("host", "host")
    null = ctl.new_network("null", "none")
    before = snapshot(ctl, backend)
    for call in (lambda: ctl.new_network("host", "h2"),
                 lambda: ctl.new_network("null", "n2"),
                 host.delete, null.delete):
        with pytest.raises(errors.Forbidden) as ei:
            call()
        assert ei.type is errors.Forbidden
        assert_unchanged(before, ctl, backend)


# ------------------------------------------------------- the port limit

def _fill_bridge(backend, bridge, count, start=0):
    """``count`` veths enslaved to ``bridge``, made in one batch without
    libnetwork's controller."""
    ops = [O.LinkAddVeth(f"pf{i}", f"pp{i}", master=bridge)
           for i in range(start, start + count)]
    for k in range(0, len(ops), 256):
        res = backend.execute(ops[k:k + 256])
        bad = [r for r in res if not r.ok]
        assert not bad, bad[:3]


def test_bridge_full_translated_and_rolled_back(ctl, backend, netns):
    """A bridge with 1021 foreign ports: two more joins fit (1023 ports),
    the next gets BridgeFull (EXFULL from the kernel) and changes
    nothing; after a port is freed a join works again."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.78.0.0/24")])
    br = nw.driver_state["bridge"]
    _fill_bridge(backend, br, 1021)
    ctl.attach(nw, ["a", "b"])
    links = backend.links(None)
    br_index = next(l.index for l in links if l.name == br)
    assert sum(1 for l in links if l.master == br_index) == 1023
    before = snapshot(ctl, backend)
    with pytest.raises(errors.BridgeFull) as ei:
        ctl.attach(nw, ["c"])
    assert isinstance(ei.value.__cause__, errors.NetlinkError)
    assert ei.value.__cause__.errno == 54          # EXFULL
    assert_unchanged(before, ctl, backend)
    # and a plain join too
    ep = nw.create_endpoint("x")
    sb = ctl.new_sandbox("x")
    before = snapshot(ctl, backend)
    with pytest.raises(errors.BridgeFull):
        ep.join(sb)
    assert_unchanged(before, ctl, backend)
    backend.run([O.LinkDel("pf0")])
    ep.join(sb)
    assert "eth0" in ns_links(sb.key())


FULL_BACKENDS = os.environ.get("LIBNETWORK_FULL_BRIDGE_BACKENDS",
                               "native").split()


def test_bridge_full_after_1023_real_joins(ctl, backend, netns):
    """1023 endpoints joined through the controller (attach in batches),
    the 1024th gets BridgeFull.  Runs on the backends named in
    $LIBNETWORK_FULL_BRIDGE_BACKENDS (default: native; about 15 s)."""
    if backend.name not in FULL_BACKENDS:
        pytest.skip(f"1023 real joins run on {FULL_BACKENDS} only "
                    "(LIBNETWORK_FULL_BRIDGE_BACKENDS)")
    nw = ctl.new_network("bridge", "big", ipv4=[IpamConf("10.80.0.0/21")])
    br = nw.driver_state["bridge"]
    for k in range(0, 1023, 256):
        ctl.attach(nw, [f"c{i}" for i in range(k, min(k + 256, 1023))])
    links = ns_links(netns)
    assert sum(1 for l in links.values()
               if l.master == links[br].index) == 1023
    with pytest.raises(errors.BridgeFull):
        ctl.attach(nw, ["last"])
    assert len(os.listdir(ctl.netns_dir)) == 1023
    assert len(nw.endpoints()) == 1023


def test_delete_network_whose_bridge_vanished(ctl, netns):
    """The bridge was deleted behind the controller's back: deleting the
    network still works (libnetwork's bridge driver only warns when the
    link is gone) and frees its record and pool."""
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.79.0.0/24")])
    br = nw.driver_state["bridge"]
    assert nsexec(netns, "ip", "link", "del", br).returncode == 0
    nw.delete()
    assert ctl.networks() == [] and ctl.store.list("network") == []
    assert ctl.store.list("ipam_pool") == []
    assert br not in ns_links(netns)
    again = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.79.0.0/24")])
    assert again.driver_state["bridge"] in ns_links(netns)
