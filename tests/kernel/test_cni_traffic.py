"""The CNI plugin's published ports and concurrent invocations: real
subprocesses, real traffic."""

from __future__ import annotations

import ipaddress

from cni_util import *  # noqa: F401,F403
from firewall_util import *  # noqa: F401,F403
from firewall_util import HOST4, Listener, answers, silent
from cnm_util import ns_links


def test_port_mappings_are_published(cni, make_ns, client):
    ns = make_ns("web")
    conf = cni.stdin(runtimeConfig={"portMappings": [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp",
         "hostIP": HOST4}]})
    cni.ok("ADD", stdin=conf, cid="web", netns=ns)
    with Listener(ns, "tcp", 80, "web") as tcp, \
            Listener(ns, "udp", 53, "dns") as udp:
        answers(client, "tcp", HOST4, 8080, tcp)
        answers(client, "udp", HOST4, 5353, udp)
        # the same host port for another container: refused, nothing made
        other = make_ns("other")
        rc, err = cni.run("ADD", stdin=conf, cid="other", netns=other)
        assert rc != 0 and err["code"] == 101, err
        assert set(ns_links(other)) == {"lo"}
        assert cni.run("DEL", cid="web", netns=ns) == (0, None)
        silent(client, "tcp", HOST4, 8080, tcp)


def test_concurrent_adds_get_distinct_addresses(cni, make_ns):
    n = 6
    nss = [make_ns(f"k{i}") for i in range(n)]
    procs = [cni.start("ADD", cid=f"k{i}", netns=ns)
             for i, ns in enumerate(nss)]
    results = []
    for p, data in procs:
        out, err = p.communicate(data, timeout=120)
        assert p.returncode == 0, (out, err)
        results.append(cni.decode(out, err))
    addrs = [ipaddress.ip_interface(r["ips"][0]["address"]) for r in results]
    assert len(set(addrs)) == n
    for ns, a in zip(nss, addrs):
        assert "eth0" in ns_links(ns)
    # and concurrent DELs leave every namespace empty of ours
    procs = [cni.start("DEL", cid=f"k{i}", netns=ns)
             for i, ns in enumerate(nss)]
    for p, data in procs:
        out, err = p.communicate(data, timeout=120)
        assert p.returncode == 0 and not out.strip(), (out, err)
    for ns in nss:
        assert set(ns_links(ns)) == {"lo"}
