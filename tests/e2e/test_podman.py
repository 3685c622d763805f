"""Issue 10, end to end: podman with this package's CNI plugin
(``libnetwork-cni``, CNI spec 1.0.0) as its network.

podman runs as set up by conftest.py (private config, storage and mounts;
every command inside the test's podman host namespace).  The plugin is
found through a CNI plugin dir of the test's own that links the console
script installed next to this interpreter; its store and exec root are
the test's directories, so a controller opened on them afterwards sees
what the plugin left.  The plugin leaves the container's ``lo`` alone:
podman brings it up itself, so the conflist needs no ``loopback``
plugin."""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from pathlib import Path

import pytest

import podman_util as pu
from firewall_util import HOST4, call, client  # noqa: F401

pytestmark = pytest.mark.podman

SUBNET = ipaddress.ip_network("10.88.0.0/24")
BRIDGE = "brcni0"
PLUGIN = "libnetwork-cni"


@pytest.fixture
def state(nsdir, tmp_path):
    return {"data": str(tmp_path / "data"),
            "exec": os.path.join(nsdir, "exec")}


@pytest.fixture
def net(podman_world, cni_network, state):
    script = Path(sys.executable).parent / PLUGIN
    if not os.access(script, os.X_OK):
        pytest.fail(f"the CNI plugin {PLUGIN} is not installed ({script} "
                    "missing): install the package", pytrace=False)
    _install_plugin(podman_world.plugins / PLUGIN, script)
    return cni_network("lnw", [{
        "type": PLUGIN, "subnet": str(SUBNET), "gateway": "10.88.0.1",
        "bridge": BRIDGE, "ipMasq": True, "isDefaultGateway": True,
        "dataDir": state["data"], "execRoot": state["exec"],
        "capabilities": {"portMappings": True}}])


# what a sanitizer build of the C core needs in every process that loads
# it: podman calls the plugin from processes whose environment it makes
# itself (conmon's exit command, `podman container cleanup`, drops
# LD_PRELOAD), so the plugin's entry carries these along
_CARRIED = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")


def _install_plugin(entry: Path, script: Path) -> None:
    """``entry`` in podman's plugin dir runs ``script``: a link, or, when
    this process runs with a preloaded runtime (the ASan/UBSan suite), a
    wrapper that sets it for the plugin whoever calls it."""
    carried = {k: os.environ[k] for k in _CARRIED if os.environ.get(k)}
    if entry.exists() or entry.is_symlink():
        return
    if not carried:
        entry.symlink_to(script)
        return
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in carried.items())
    entry.write_text(f"#!/bin/sh\nexec env {env} {shlex.quote(str(script))}"
                     ' "$@"\n')
    entry.chmod(0o755)


def _controller(state, netns):
    import libnetwork
    return libnetwork.new(data_dir=state["data"], exec_root=state["exec"],
                          root_namespace=netns)


def test_two_containers_ping_then_nothing_left(podman, net, netns, state):
    ids = {name: podman.run(name, pu.IMAGE, "sleep", "300", network=net)
           for name in ("a", "b")}
    ips = {n: ipaddress.ip_address(podman.address(n, net)) for n in "ab"}
    assert all(ip in SUBNET for ip in ips.values()), ips
    assert ips["a"] != ips["b"]
    # podman's namespaces are in /run/netns, /run being isolate's tmpfs
    key = podman.inspect("a")["NetworkSettings"]["SandboxKey"]
    assert key.startswith("/run/netns/") and pu.run_is_private_tmpfs()
    on_bridge = [n for n, kind, master in pu.host_links(netns)
                 if kind == "veth" and master == BRIDGE]
    assert len(on_bridge) == 2, pu.host_links(netns)

    podman("exec", "a", "ping", "-c1", "-W5", ips["b"])
    podman("exec", "b", "ping", "-c1", "-W5", ips["a"])
    podman("exec", "a", "ping", "-c1", "-W5", "127.0.0.1")  # lo is up
    # the plugin made them: its store has one sandbox per container, on
    # the namespace podman made
    c = _controller(state, netns)
    try:
        keys = {sb.container_id(): sb.key() for sb in c.sandboxes()}
    finally:
        c.stop()
    assert keys == {ids[n]: podman.inspect(n)["NetworkSettings"]["SandboxKey"]
                    for n in "ab"}, keys

    podman("rm", "-f", "-t", "0", "a", "b")
    assert pu.veths(netns) == [], pu.host_links(netns)
    assert pu.netns_files() == []
    netns_dir = os.path.join(state["exec"], "netns")
    assert not os.path.isdir(netns_dir) or os.listdir(netns_dir) == []
    c = _controller(state, netns)
    try:
        assert c.sandboxes() == []
        assert [ep for nw in c.networks() for ep in nw.endpoints()] == []
        assert list(c.store.list("endpoint")) == []
        assert list(c.store.list("sandbox")) == []
        dump = repr(c.ipam.dump())
        assert not any(str(ip) in dump for ip in ips.values()), dump
    finally:
        c.stop()


def test_published_port_answers_from_a_client(podman, net, client):
    podman.run("web", "-p", "8080:80", pu.IMAGE, "httpd", "-f", "-p", "80",
               "-h", "/www", network=net)
    page = pu.wait_until(lambda: pu.http_get(call, client, HOST4, 8080),
                         timeout=30, what=f"http://{HOST4}:8080/")
    assert pu.INDEX in page
