"""podman itself, with the reference CNI plugins (bridge, host-local,
portmap from containernetworking-plugins): proves the private podman set-up
of conftest.py on its own, so that a failure of test_podman.py points at
our plugin rather than at the harness.  Skipped (saying so) when the
reference plugins are not installed (`.ci/podman-deps --cni`)."""

from __future__ import annotations

import ipaddress
import os

import pytest

import podman_util as pu
from firewall_util import HOST4, call, client  # noqa: F401

pytestmark = pytest.mark.podman

SUBNET = ipaddress.ip_network("10.88.0.0/24")


@pytest.fixture
def net(cni_network, tmp_path):
    if pu.reference_plugins_missing():
        pytest.skip("reference CNI plugins not installed in /usr/lib/cni "
                    "(`.ci/podman-deps --cni`)")
    return cni_network("harness", [
        {"type": "bridge", "bridge": "brh0", "isGateway": True,
         "ipMasq": True,
         "ipam": {"type": "host-local", "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": str(SUBNET),
                               "gateway": "10.88.0.1"}]],
                  "routes": [{"dst": "0.0.0.0/0"}]}},
        {"type": "portmap", "capabilities": {"portMappings": True}}])


def test_two_containers_ping_and_go(podman, net, netns):
    for name in ("a", "b"):
        podman.run(name, pu.IMAGE, "sleep", "300", network=net)
    ips = {n: ipaddress.ip_address(podman.address(n, net)) for n in "ab"}
    assert all(ip in SUBNET for ip in ips.values()) and len(set(ips.values())) == 2, ips
    key = podman.inspect("a")["NetworkSettings"]["SandboxKey"]
    assert key.startswith("/run/netns/") and os.path.basename(key) in pu.netns_files()
    assert pu.run_is_private_tmpfs()
    assert len(pu.veths(netns)) == 2

    podman("exec", "a", "ping", "-c1", "-W5", ips["b"])
    podman("exec", "b", "ping", "-c1", "-W5", ips["a"])

    podman("rm", "-f", "-t", "0", "a", "b")
    assert pu.veths(netns) == []
    assert pu.netns_files() == []


def test_published_port(podman, net, client):
    podman.run("web", "-p", "8080:80", pu.IMAGE, "httpd", "-f", "-p", "80",
               "-h", "/www", network=net)
    page = pu.wait_until(lambda: pu.http_get(call, client, HOST4, 8080),
                         timeout=30, what=f"http://{HOST4}:8080/")
    assert page.startswith("HTTP/1.") and pu.INDEX in page
