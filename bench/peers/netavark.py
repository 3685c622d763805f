"""netavark, podman's network tool, exec'd as podman 4 execs it: per
container one ``netavark --config DIR setup NETNS`` with the network
options JSON on stdin (the network definition, the container's
per-network options) and, at the end, ``netavark --config DIR teardown
NETNS`` with the same JSON.  podman allocates the address itself (in its
database) before calling netavark; the peer does the same with a counter
(free).  The namespace is made in-process as podman does (:mod:`.netns`).

``NETAVARK_FW=iptables``: the iptables driver (netavark 1.4 has no
nftables one; firewalld is not running here).  Every bridge network gets
masquerade from netavark.  Variants: ``netavark`` (no port) and
``netavark-portmap`` (one published port per container).

The binary: ``netavark`` on PATH, ``/usr/libexec/podman/netavark``,
``/usr/lib/podman/netavark`` (Debian), or ``bench/.tools/netavark/...``
(unpacked from Debian's .deb by ``.ci/bench-deps``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from wiring.peer import Unavailable

from . import netns
from .cni import OnBridge

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CANDIDATES = ("/usr/libexec/podman/netavark", "/usr/lib/podman/netavark",
              os.path.join(BENCH, ".tools/netavark/usr/lib/podman/netavark"),
              os.path.join(BENCH,
                           ".tools/netavark/usr/libexec/podman/netavark"))
BRIDGE = "navbench0"
NET_ID = "b" * 64
VARIANTS = ("netavark", "netavark-portmap")
HOST_PORT0 = 31000


def binary() -> str:
    exe = shutil.which("netavark")
    if exe:
        return exe
    for c in CANDIDATES:
        if os.access(c, os.X_OK):
            return c
    raise Unavailable("netavark not installed (Debian: netavark; "
                      ".ci/bench-deps fetches Debian's .deb into "
                      "bench/.tools)")


def address(i: int) -> str:
    o = i + 2
    return f"10.89.{o >> 8}.{o & 0xFF}"


class NetavarkPeer(OnBridge):
    bridge = BRIDGE

    def __init__(self, label: str, workdir: str):
        if label not in VARIANTS:
            raise ValueError(f"unknown netavark variant {label!r}")
        self.label = label
        self.exe = binary()
        self.dir = os.path.join(workdir, label)
        self.config = os.path.join(self.dir, "config")
        os.makedirs(os.path.join(self.dir, "ns"), exist_ok=True)
        os.makedirs(self.config, exist_ok=True)
        self.env = dict(os.environ, NETAVARK_FW="iptables")
        self.live: set = set()
        self.execs = 0

    def _ns(self, i: int) -> str:
        return os.path.join(self.dir, "ns", f"c{i}")

    def options(self, i: int) -> dict:
        """The JSON podman hands netavark for container ``i``."""
        ports = None
        if self.label == "netavark-portmap":
            ports = [{"host_ip": "", "container_port": 80,
                      "host_port": HOST_PORT0 + i, "range": 1,
                      "protocol": "tcp"}]
        return {
            "container_id": f"{i:064x}",
            "container_name": f"bench{i}",
            "port_mappings": ports,
            "networks": {"benchnet": {"static_ips": [address(i)],
                                      "interface_name": "eth0"}},
            "network_info": {"benchnet": {
                "name": "benchnet", "id": NET_ID, "driver": "bridge",
                "network_interface": BRIDGE,
                "created": "2024-01-01T00:00:00Z",
                "subnets": [{"subnet": "10.89.0.0/16",
                             "gateway": "10.89.0.1"}],
                "ipv6_enabled": False, "internal": False,
                "dns_enabled": False,
                "ipam_options": {"driver": "host-local"}}},
        }

    def _run(self, cmd: str, i: int) -> None:
        self.execs += 1
        p = subprocess.run([self.exe, "--config", self.config, cmd,
                            self._ns(i)],
                           input=json.dumps(self.options(i)).encode(),
                           env=self.env, capture_output=True)
        if p.returncode:
            raise RuntimeError(f"{self.label} {cmd} container {i}: "
                               f"{p.stderr.decode(errors='replace')[:300]}"
                               f"{p.stdout.decode(errors='replace')[:200]}")

    def add(self, i: int) -> None:
        netns.create(self._ns(i))
        self._run("setup", i)
        self.live.add(i)

    def delete(self, i: int) -> None:
        self._run("teardown", i)
        self.live.discard(i)
        netns.delete(self._ns(i))

    def _live(self) -> list:
        return list(self.live)
