"""The CNI plugin driven as a runtime drives it: ``libnetwork-cni`` run as a
subprocess (environment + stdin), its stdout JSON and exit status, and
the kernel read back."""

from __future__ import annotations

import ipaddress
import os

import pytest

import libnetwork
from libnetwork import errors

from cni_util import *  # noqa: F401,F403
from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_addrs, ns_links, nsexec, udp_exchange
from kernel_util import drop_netns, is_netns


def _addr(result) -> ipaddress.IPv4Interface:
    return ipaddress.ip_interface(result["ips"][0]["address"])


def test_add_result_and_kernel(cni, make_ns, netns):
    ns = make_ns("c1")
    res = cni.ok("ADD", cid="c1", netns=ns)
    assert set(res) == {"cniVersion", "interfaces", "ips", "routes", "dns"}
    assert res["cniVersion"] == "1.0.0" and res["dns"] == {}
    br, veth, eth = res["interfaces"]
    assert br["name"] == "cni-br0" and "sandbox" not in veth
    assert eth == {"name": "eth0", "mac": eth["mac"], "sandbox": ns}
    (ip,) = res["ips"]
    assert ip["interface"] == 2 and ip["gateway"] == "10.88.0.1"
    assert "version" not in ip
    addr = _addr(res)
    assert addr in ipaddress.ip_network("10.88.0.0/24")
    assert res["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}]
    # the kernel: the interface in the container with that address and
    # MAC, the default route, the host end on the bridge
    links = ns_links(ns)
    assert links["eth0"].mac == eth["mac"]
    assert ("eth0", addr) in ns_addrs(ns)
    assert "default via 10.88.0.1 dev eth0" in nsexec(ns, "ip", "route").stdout
    root = ns_links(netns)
    assert root[veth["name"]].master == root["cni-br0"].index
    assert root[veth["name"]].mac == veth["mac"]


def test_two_containers_talk_and_del(cni, make_ns, netns):
    a, b = make_ns("a"), make_ns("b")
    ra = cni.ok("ADD", cid="a", netns=a)
    rb = cni.ok("ADD", cid="b", netns=b, ifname="net0")
    assert _addr(ra) != _addr(rb)
    assert rb["interfaces"][2]["name"] == "net0"
    data, _, reply = udp_exchange(a, b, _addr(rb).ip)
    assert (data, reply) == (b"ping", b"gnip")
    veth_a = ra["interfaces"][1]["name"]
    assert cni.run("DEL", cid="a", netns=a) == (0, None)
    assert is_netns(a) and set(ns_links(a)) == {"lo"}
    assert veth_a not in ns_links(netns)
    assert "net0" in ns_links(b)                 # the other one stays
    # again, and an unknown container, and without CNI_NETNS: all fine
    assert cni.run("DEL", cid="a", netns=a) == (0, None)
    assert cni.run("DEL", cid="never", netns=a) == (0, None)
    assert cni.run("DEL", cid="b", ifname="net0") == (0, None)
    assert set(ns_links(b)) == {"lo"} and is_netns(b)


def test_del_after_the_runtime_removed_the_namespace(cni, make_ns):
    ns = make_ns("gone")
    cni.ok("ADD", cid="g", netns=ns)
    drop_netns(ns)
    assert cni.run("DEL", cid="g", netns=ns) == (0, None)
    # its address is free again, the container unknown
    ns2 = make_ns("again")
    cni.ok("ADD", cid="g", netns=ns2)


def test_check(cni, make_ns):
    ns = make_ns("c")
    res = cni.ok("ADD", cid="c", netns=ns)
    prev = cni.stdin(prevResult=res)
    assert cni.run("CHECK", stdin=prev, cid="c", netns=ns) == (0, None)
    rc, err = cni.run("CHECK", stdin=prev, cid="other", netns=ns)
    assert rc != 0 and err["code"] == 3
    assert nsexec(ns, "ip", "link", "del", "eth0").returncode == 0
    rc, err = cni.run("CHECK", stdin=prev, cid="c", netns=ns)
    assert rc != 0 and err["code"] == 102 and "eth0" in err["msg"]
    assert cni.run("DEL", cid="c", netns=ns) == (0, None)


def test_add_again_and_second_network(cni, make_ns):
    ns = make_ns("c")
    first = cni.ok("ADD", cid="c", netns=ns)
    assert cni.ok("ADD", cid="c", netns=ns) == first       # the same
    other = cni.stdin(name="othernet", subnet="10.89.0.0/24",
                      bridge="cni-br1", isDefaultGateway=False)
    res = cni.ok("ADD", stdin=other, cid="c", netns=ns, ifname="eth1")
    assert res["routes"] == [] and _addr(res) in \
        ipaddress.ip_network("10.89.0.0/24")
    assert {"eth0", "eth1"} <= set(ns_links(ns))
    assert len(nsexec(ns, "ip", "route", "show", "default")
               .stdout.splitlines()) == 1
    assert cni.run("DEL", stdin=other, cid="c", netns=ns,
                   ifname="eth1") == (0, None)
    assert "eth0" in ns_links(ns) and "eth1" not in ns_links(ns)


def test_version(cni):
    for conf in (b'{"cniVersion": "0.4.0"}', b""):
        rc, out = cni.run("VERSION", stdin=conf)
        assert rc == 0 and "1.0.0" in out["supportedVersions"]
        assert "0.4.0" in out["supportedVersions"]
    assert cni.run("VERSION", stdin=b'{"cniVersion": "0.4.0"}')[1][
        "cniVersion"] == "0.4.0"


def test_old_version_result(cni, make_ns):
    ns = make_ns("old")
    res = cni.ok("ADD", stdin=cni.stdin(cniVersion="0.4.0"), cid="o",
                 netns=ns)
    assert res["cniVersion"] == "0.4.0" and res["ips"][0]["version"] == "4"


# (case, stdin fields or raw bytes, env changes, code)
ERRORS = [
    ("malformed JSON", b'{"cniVersion": ', {}, 6),
    ("not an object", b"[1, 2]", {}, 6),
    ("unknown cniVersion", {"cniVersion": "9.9.9"}, {}, 1),
    ("no cniVersion", {"cniVersion": None}, {}, 7),
    ("bad subnet", {"subnet": "10.88.0.0/33"}, {}, 7),
    ("bad mtu", {"mtu": "big"}, {}, 7),
    ("other type", {"type": "bridge"}, {}, 7),
    ("bad port mapping", {"runtimeConfig": {"portMappings": [
        {"hostPort": 8080, "containerPort": 0}]}}, {}, 7),
    ("no CNI_NETNS", {}, {"CNI_NETNS": None}, 4),
    ("no CNI_CONTAINERID", {}, {"CNI_CONTAINERID": None}, 4),
    ("bad CNI_IFNAME", {}, {"CNI_IFNAME": "a/b"}, 4),
    ("no CNI_COMMAND", {}, {"CNI_COMMAND": None}, 4),
    ("nonexistent netns", {}, {"CNI_NETNS": "/run/no-such-netns"}, 3),
    ("a file, not a netns", {}, {"CNI_NETNS": "/proc/self/status"}, 3),
]


@pytest.mark.parametrize("case,conf,env,code", ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_errors(cni, make_ns, case, conf, env, code):
    ns = make_ns("e")
    if isinstance(conf, bytes):
        stdin = conf
    else:
        base = dict(cni.conf)
        base.update(conf)
        stdin = cni.stdin({k: v for k, v in base.items() if v is not None})
    rc, err = cni.run("ADD", stdin=stdin, cid="e", netns=ns, **env)
    assert rc != 0, err
    assert set(err) == {"cniVersion", "code", "msg", "details"}
    assert err["code"] == code, err
    assert set(ns_links(ns)) == {"lo"}       # nothing was made


def test_visible_to_the_python_api(cni, make_ns, netns, backend):
    ns = make_ns("api")
    res = cni.ok("ADD", cid="api", netns=ns)
    c = libnetwork.new(data_dir=cni.conf["dataDir"],
                       exec_root=cni.conf["execRoot"], backend=backend.name,
                       root_namespace=netns)
    try:
        sb = c.sandbox_by_container("api")
        assert sb.key() == ns and sb.external()
        (ep,) = sb.endpoints()
        assert str(ep.info().iface().address()) == res["ips"][0]["address"]
        with pytest.raises(errors.ActiveEndpoints):
            c.network_by_name("cninet").delete()
    finally:
        c.stop()
    assert cni.run("DEL", cid="api", netns=ns) == (0, None)
    assert is_netns(ns)


def test_pool_exhausted(cni, make_ns):
    tiny = cni.stdin(name="tiny", subnet="10.90.0.0/30", bridge="cni-br2")
    cni.ok("ADD", stdin=tiny, cid="t1", netns=make_ns("t1"))
    ns = make_ns("t2")
    rc, err = cni.run("ADD", stdin=tiny, cid="t2", netns=ns)
    assert rc != 0 and err["code"] == 100, err
    assert set(ns_links(ns)) == {"lo"}
