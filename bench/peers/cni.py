"""The reference CNI plugins, exec'd as a runtime execs them.

Per container, as containerd's CNI library calls them (podman 4's CNI mode
does the same minus loopback): a network namespace made in-process
(:mod:`.netns`), then ``loopback`` ADD for ``lo`` (the loopback network),
then the conflist's plugins in order, each its own process: ``bridge``
(which execs ``host-local`` for the address) and, for the portmap variant,
``portmap`` fed the bridge's result as ``prevResult`` and its port in
``runtimeConfig.portMappings`` (the ``portMappings`` capability).  DEL
runs the plugins in reverse order, each with the ADD's result as
``prevResult`` (libcni's cached result), then loopback DEL, then the
namespace goes.

Each plugin gets the environment a runtime sets (``CNI_COMMAND``,
``CNI_CONTAINERID``, ``CNI_NETNS``, ``CNI_IFNAME``, ``CNI_PATH``) and its
network configuration (cniVersion 1.0.0) on stdin; a non-zero exit is a
failure with the plugin's error JSON.

Variants: ``cni-bridge`` (bridge + host-local, ``isGateway``, no
``ipMasq``), ``cni-bridge-masq`` (``ipMasq: true``: a per-container
iptables chain), ``cni-bridge-portmap`` (bridge + host-local, then
portmap with one host port per container).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from wiring.peer import Unavailable

from . import netns

CNI_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
BRIDGE = "cnibench0"
SUBNET = "10.88.0.0/16"
GATEWAY = "10.88.0.1"
HOST_PORT0 = 30000
VARIANTS = ("cni-bridge", "cni-bridge-masq", "cni-bridge-portmap")
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def plugin_dir(needed=("bridge", "host-local", "portmap", "loopback")) -> str:
    for d in CNI_DIRS:
        if all(os.access(os.path.join(d, p), os.X_OK) for p in needed):
            return d
    raise Unavailable("the reference CNI plugins are not installed "
                      "(Debian: containernetworking-plugins; "
                      ".ci/bench-deps)")


def links_on(bridge: str) -> int:
    """Links enslaved to ``bridge`` in this namespace (untimed check)."""
    p = subprocess.run(["ip", "-j", "link", "show", "master", bridge],
                       capture_output=True, text=True)
    if p.returncode:
        return 0                 # no bridge (yet): nothing on it
    return len(json.loads(p.stdout or "[]"))


class OnBridge:
    """What the exec peers share: the untimed check of their state and the
    cleanup (a peer has ``label``, ``dir``, ``_ns(i)``, ``delete(i)`` and
    ``_live()``, the containers set up; ``bridge``, its bridge)."""

    bridge = BRIDGE

    def check(self, n: int) -> None:
        """``n`` veths on the bridge and ``n`` namespaces (untimed)."""
        got = links_on(self.bridge)
        assert got == n, f"{self.label}: {got} ports on {self.bridge}, want {n}"
        left = len(os.listdir(os.path.join(self.dir, "ns")))
        assert left == n, f"{self.label}: {left} namespaces, want {n}"

    def cleanup(self) -> None:
        for i in self._live():
            try:
                self.delete(i)
            except Exception:
                netns.delete(self._ns(i))
        for f in os.listdir(os.path.join(self.dir, "ns")):
            netns.delete(os.path.join(self.dir, "ns", f))
        subprocess.run(["ip", "link", "del", self.bridge],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


class CniPeer(OnBridge):
    """One variant of :data:`VARIANTS`.  ``prepare`` (untimed) makes the
    work directory; ``add(i)`` / ``delete(i)`` are one container's whole
    setup and teardown (timed by the runner)."""

    def __init__(self, label: str, workdir: str):
        if label not in VARIANTS:
            raise ValueError(f"unknown CNI variant {label!r}")
        self.label = label
        self.path = plugin_dir()
        if not shutil.which("iptables", path=_PATH) and label != "cni-bridge":
            raise Unavailable("iptables not installed (ipMasq, portmap)")
        self.dir = os.path.join(workdir, label)
        os.makedirs(os.path.join(self.dir, "ns"), exist_ok=True)
        bridge = {"type": "bridge", "bridge": BRIDGE, "isGateway": True,
                  "ipMasq": label == "cni-bridge-masq",
                  "ipam": {"type": "host-local",
                           "ranges": [[{"subnet": SUBNET,
                                        "gateway": GATEWAY}]],
                           "routes": [{"dst": "0.0.0.0/0"}],
                           "dataDir": os.path.join(self.dir, "ipam")}}
        self.plugins = [bridge]
        if label == "cni-bridge-portmap":
            self.plugins.append({"type": "portmap", "snat": True,
                                 "capabilities": {"portMappings": True}})
        self.results: dict = {}
        self.execs = 0

    def _ns(self, i: int) -> str:
        return os.path.join(self.dir, "ns", f"c{i}")

    def _cid(self, i: int) -> str:
        return f"{self.label}-{i:06d}"

    def _exec(self, plugin: str, cmd: str, i: int, ifname: str,
              conf: dict):
        env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=self._cid(i),
                   CNI_NETNS=self._ns(i), CNI_IFNAME=ifname,
                   CNI_PATH=self.path, PATH=_PATH)
        self.execs += 1
        p = subprocess.run([os.path.join(self.path, plugin)],
                           input=json.dumps(conf).encode(), env=env,
                           capture_output=True)
        if p.returncode:
            raise RuntimeError(f"{self.label}: {plugin} {cmd} container {i}:"
                               f" {p.stdout.decode(errors='replace')[:300]}"
                               f"{p.stderr.decode(errors='replace')[:200]}")
        return json.loads(p.stdout) if cmd == "ADD" and p.stdout else None

    def _conf(self, plugin: dict, i: int, prev) -> dict:
        """The plugin's configuration as libcni hands it over."""
        conf = {"cniVersion": "1.0.0", "name": "benchnet", **plugin}
        conf.pop("capabilities", None)
        if prev is not None:
            conf["prevResult"] = prev
        if plugin.get("capabilities", {}).get("portMappings"):
            conf["runtimeConfig"] = {"portMappings": [
                {"hostPort": HOST_PORT0 + i, "containerPort": 80,
                 "protocol": "tcp"}]}
        return conf

    def _loopback(self, cmd: str, i: int) -> None:
        self._exec("loopback", cmd, i, "lo",
                   {"cniVersion": "1.0.0", "name": "cni-loopback",
                    "type": "loopback"})

    def add(self, i: int) -> None:
        netns.create(self._ns(i))
        self._loopback("ADD", i)
        prev = None
        for plugin in self.plugins:
            prev = self._exec(plugin["type"], "ADD", i, "eth0",
                              self._conf(plugin, i, prev))
        self.results[i] = prev

    def delete(self, i: int) -> None:
        prev = self.results.pop(i, None)
        for plugin in reversed(self.plugins):
            self._exec(plugin["type"], "DEL", i, "eth0",
                       self._conf(plugin, i, prev))
        self._loopback("DEL", i)
        netns.delete(self._ns(i))

    def _live(self) -> list:
        return list(self.results)
