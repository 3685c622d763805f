"""Default IPAM through the controller, and the sandbox files (hosts,
resolv.conf) checked byte for byte."""

from __future__ import annotations

import ipaddress
import os

import pytest

import libnetwork
from libnetwork import IpamConf, errors, netlabel

from cnm_util import *  # noqa: F401,F403  (fixtures: ctl, make_ctl)
from cnm_util import ns_addrs, nsexec

DEFAULT_HOSTS = ("127.0.0.1\tlocalhost\n"
                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\n"
                 "ff00::0\tip6-mcastprefix\n"
                 "ff02::1\tip6-allnodes\n"
                 "ff02::2\tip6-allrouters\n")


def _ips(eps):
    return [str(e.info().iface().address()) for e in eps]


# ------------------------------------------------------------------ IPAM

def test_gateway_first_then_endpoints(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.90.0.0/24")])
    assert str(nw.info().ipam_info()[0][0].gateway) == "10.90.0.1/24"
    eps = nw.create_endpoints(["a", "b", "c"])
    assert _ips(eps) == ["10.90.0.2/24", "10.90.0.3/24", "10.90.0.4/24"]


def test_network_and_broadcast_never_handed_out(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.91.0.0/30")])
    # .0 network, .1 gateway, .3 broadcast: one address left
    (ep,) = nw.create_endpoints(["a"])
    assert str(ep.info().iface().address()) == "10.91.0.2/30"
    with pytest.raises(errors.PoolExhausted):
        nw.create_endpoint("b")
    for ip in ("10.91.0.0", "10.91.0.3"):
        with pytest.raises(errors.AlreadyAllocated):
            nw.create_endpoint("b", ipv4=ip)
    assert nw.endpoints() == [ep]


def test_small_pool_exhausted_then_freed(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.92.0.0/29")])
    eps = nw.create_endpoints([f"e{i}" for i in range(5)])
    assert _ips(eps) == [f"10.92.0.{i}/29" for i in range(2, 7)]
    with pytest.raises(errors.PoolExhausted):
        nw.create_endpoint("x")
    eps[2].delete()
    assert str(nw.create_endpoint("x").info().iface().address()) == \
        "10.92.0.4/29"


def test_sub_pool_restricts_with_pool_mask(ctl, netns):
    nw = ctl.new_network("bridge", "n", ipv4=[
        IpamConf("10.93.0.0/24", sub_pool="10.93.0.64/27",
                 gateway="10.93.0.1")])
    eps = nw.create_endpoints(["a", "b"])
    assert _ips(eps) == ["10.93.0.64/24", "10.93.0.65/24"]
    sub = ipaddress.ip_network("10.93.0.64/27")
    many = nw.create_endpoints([f"m{i}" for i in range(30)])
    assert all(e.info().iface().address().ip in sub for e in many)
    assert all(e.info().iface().address().network.prefixlen == 24
               for e in many)
    with pytest.raises(errors.PoolExhausted):
        nw.create_endpoint("over")
    # an explicit address outside the sub-pool, inside the pool, is fine
    ep = nw.create_endpoint("x", ipv4="10.93.0.200")
    sb = ctl.new_sandbox("c")
    ep.join(sb)
    assert ("eth0", ipaddress.ip_interface("10.93.0.200/24")) in \
        ns_addrs(sb.key())


def test_sub_pool_without_gateway(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[
        IpamConf("10.94.0.0/24", sub_pool="10.94.0.128/25")])
    gw = nw.info().ipam_info()[0][0].gateway
    ep = nw.create_endpoint("a")
    addr = ep.info().iface().address()
    assert gw.network == addr.network == ipaddress.ip_network("10.94.0.0/24")
    assert addr.ip in ipaddress.ip_network("10.94.0.128/25")
    assert addr.ip != gw.ip


def test_serial_allocation_endpoint_option(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.95.0.0/24")])
    serial = {netlabel.IPAM_SERIAL: "true"}
    a, b, c = (nw.create_endpoint(n, ipam_options=serial)
               for n in ("a", "b", "c"))
    assert _ips([a, b, c]) == ["10.95.0.2/24", "10.95.0.3/24",
                               "10.95.0.4/24"]
    b.delete()
    d = nw.create_endpoint("d", ipam_options=serial)
    assert str(d.info().iface().address()) == "10.95.0.5/24"   # next-fit
    e = nw.create_endpoint("e")                                 # first-fit
    assert str(e.info().iface().address()) == "10.95.0.3/24"


def test_auto_pool_skips_host_route(ctl, netns):
    for argv in (["ip", "link", "add", "hostlink", "type", "bridge"],
                 ["ip", "link", "set", "hostlink", "up"],
                 ["ip", "route", "add", "172.17.0.0/16", "dev",
                  "hostlink"]):
        r = nsexec(netns, *argv)
        assert r.returncode == 0, r.stderr
    nw = ctl.new_network("bridge", "n")
    assert str(nw.info().ipam_info()[0][0].pool) == "172.18.0.0/16"
    assert (nw.driver_state["bridge"],
            ipaddress.ip_interface("172.18.0.1/16")) in ns_addrs(netns)
    nw2 = ctl.new_network("bridge", "n2")
    assert str(nw2.info().ipam_info()[0][0].pool) == "172.19.0.0/16"


def test_auto_pool_skips_host_address(ctl, netns):
    for argv in (["ip", "link", "add", "hostlink", "type", "bridge"],
                 ["ip", "addr", "add", "172.17.5.5/24", "dev",
                  "hostlink"]):
        assert nsexec(netns, *argv).returncode == 0
    nw = ctl.new_network("bridge", "n")
    assert str(nw.info().ipam_info()[0][0].pool) == "172.18.0.0/16"


def test_auto_pools_in_order(ctl):
    nets = [ctl.new_network("bridge", f"n{i}") for i in range(3)]
    assert [str(n.info().ipam_info()[0][0].pool) for n in nets] == [
        "172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"]
    nets[1].delete()
    assert str(ctl.new_network("bridge", "again").info().ipam_info()[0][0]
               .pool) == "172.18.0.0/16"


# ------------------------------------------------------------ hosts file

def test_hosts_file_before_and_after_join(ctl):
    nw = ctl.new_network("bridge", "n", ipv4=[IpamConf("10.97.0.0/24")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c", libnetwork.option_hostname("web"),
                         libnetwork.option_domainname("example.org"),
                         libnetwork.option_extra_host("db", "10.1.2.3"),
                         libnetwork.option_extra_host("cache", "fd00::9"))
    extra = "10.1.2.3\tdb\nfd00::9\tcache\n"
    with open(sb.hosts_path, "rb") as f:
        assert f.read() == (DEFAULT_HOSTS + extra).encode()
    ep.join(sb)
    with open(sb.hosts_path, "rb") as f:
        assert f.read() == (DEFAULT_HOSTS + extra +
                            "10.97.0.2\tweb.example.org web\n").encode()
    ep.leave(sb)
    with open(sb.hosts_path, "rb") as f:
        assert f.read() == (DEFAULT_HOSTS + extra).encode()


def test_hosts_file_ipv6_and_short_name(ctl):
    nw = ctl.new_network("bridge", "n", enable_ipv6=True,
                         ipv4=[IpamConf("10.98.0.0/24")],
                         ipv6=[IpamConf("fd98::/64")])
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c", hostname="solo")
    ep.join(sb)
    with open(sb.hosts_path) as f:
        assert f.read() == (DEFAULT_HOSTS + "10.98.0.2\tsolo\n"
                            "fd98::2\tsolo\n")


def test_hosts_and_resolv_paths_honoured(ctl, tmp_path, resolv_file):
    hp = tmp_path / "custom" / "hosts"
    rp = tmp_path / "custom" / "resolv.conf"
    sb = ctl.new_sandbox("c", libnetwork.option_hosts_path(str(hp)),
                         libnetwork.option_resolv_conf_path(str(rp)),
                         libnetwork.option_hostname("h"))
    assert sb.hosts_path == str(hp) and sb.resolv_conf_path == str(rp)
    assert hp.read_text() == DEFAULT_HOSTS
    assert rp.read_text() == ("# host resolv.conf written by the test\n"
                              "nameserver 192.0.2.53\n"
                              "search example.test\n"
                              "options ndots:2\n")


# ----------------------------------------------------------- resolv.conf

def test_resolv_conf_filters_loopback(ctl):
    sb = ctl.new_sandbox("c")
    with open(sb.resolv_conf_path, "rb") as f:
        assert f.read() == (b"# host resolv.conf written by the test\n"
                            b"nameserver 192.0.2.53\n"
                            b"search example.test\n"
                            b"options ndots:2\n")


def test_resolv_conf_fallback_when_only_loopback(make_ctl, tmp_path):
    host = tmp_path / "lo-resolv.conf"
    host.write_text("nameserver 127.0.0.1\nnameserver ::1\n")
    c = make_ctl(host_resolv_conf=str(host))
    sb = c.new_sandbox("c")
    with open(sb.resolv_conf_path) as f:
        text = f.read()
    assert "127.0.0.1" not in text and "::1" not in text
    assert text == "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"


def test_resolv_conf_missing_host_file(make_ctl, tmp_path):
    c = make_ctl(host_resolv_conf=str(tmp_path / "absent"))
    sb = c.new_sandbox("c")
    with open(sb.resolv_conf_path) as f:
        assert f.read() == "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"


def test_resolv_conf_explicit_dns(ctl):
    sb = ctl.new_sandbox("c", libnetwork.option_dns("198.51.100.7"),
                         libnetwork.option_dns("127.0.0.11"),
                         libnetwork.option_dns_search("corp.test"),
                         libnetwork.option_dns_options("ndots:5"),
                         libnetwork.option_dns_options("timeout:1"))
    with open(sb.resolv_conf_path) as f:
        assert f.read() == ("search corp.test\n"
                            "nameserver 198.51.100.7\n"
                            "nameserver 127.0.0.11\n"
                            "options ndots:5 timeout:1\n")


def test_resolv_conf_partial_explicit(ctl):
    """Only search given: nameservers (filtered) and options come from the
    host's file."""
    sb = ctl.new_sandbox("c", dns_search=["a.test", "b.test"])
    with open(sb.resolv_conf_path) as f:
        assert f.read() == ("search a.test b.test\n"
                            "nameserver 192.0.2.53\n"
                            "options ndots:2\n")


def test_sandbox_files_removed_with_sandbox(ctl):
    sb = ctl.new_sandbox("c", hostname="h")
    d = os.path.dirname(sb.hosts_path)
    assert os.path.isfile(sb.hosts_path)
    assert os.path.isfile(sb.resolv_conf_path)
    sb.delete()
    assert not os.path.exists(d)


def test_resolv_conf_follows_the_host_file_between_batches(make_ctl,
                                                           tmp_path):
    """The controller builds a resolv.conf once per host file, and reads
    the host's file again when it changed (same size included)."""
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 192.0.2.1\n")
    c = make_ctl(host_resolv_conf=str(host))
    a, b = c.new_sandboxes(["a", "b"])
    host.write_text("nameserver 192.0.2.2\n")       # same size, new text
    d = c.new_sandbox("d")
    host.unlink()
    e = c.new_sandbox("e")
    texts = []
    for sb in (a, b, d, e):
        with open(sb.resolv_conf_path) as f:
            texts.append(f.read())
    assert texts[:3] == ["nameserver 192.0.2.1\n"] * 2 + [
        "nameserver 192.0.2.2\n"]
    assert texts[3] == "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"
