"""Peer ``ip-batch`` (and ``ip-batch-jJ``): iproute2, the C reference,
driven the fastest correct way we found (``bench/README.md`` lists the
rejected ones).

A batch file cannot switch namespace (``-n`` is a global option), so:
one ``ip -batch`` in the root namespace creates every sandbox (``netns
add``) and every veth (``link add ... type veth peer name eth0 ... netns
s<i>``) and sets the host ends' ``addrgenmode none``; then one ``ip -n
s<i> -batch -`` per sandbox, ``jobs`` at a time, configures it; last one
``ip -batch`` brings the host ends up.  Teardown is one ``ip -batch`` of
``link del group G`` and ``netns del s<i>`` lines.

Sandboxes are bound where ``ip netns add`` binds them (``/run/netns``, a
tmpfs inside ``isolate``); the work directory holds only the batch file.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .peer import Peer, Unavailable
from .workload import BRIDGE, GATEWAY, GROUP, endpoint

IP_NETNS_DIR = "/run/netns"       # where `ip netns add` binds, fixed


class IpBatchPeer(Peer):
    """iproute2; ``jobs`` per-sandbox ``ip`` processes at a time (1: one
    after another, like the single-threaded backends)."""

    def __init__(self, workdir: str, group: int = GROUP, jobs: int = 1):
        self.ip = shutil.which("ip")
        if self.ip is None:
            raise Unavailable("iproute2 'ip' not found")
        self.group = group
        self.jobs = max(1, jobs)
        self.label = "ip-batch" + (f"-j{jobs}" if jobs > 1 else "")
        self._batch = os.path.join(workdir, "batch")

    def prepare(self, n):
        paths = [os.path.join(IP_NETNS_DIR, f"s{i}") for i in range(n)]
        clash = [p for p in paths if os.path.exists(p)]
        if clash:
            raise RuntimeError(f"{self.label}: {clash[0]} exists already")
        return paths

    def _batch_run(self, lines, what):
        """One ``ip -batch`` of ``lines`` in the root namespace."""
        with open(self._batch, "w") as f:
            f.writelines(lines)
        rc = subprocess.run([self.ip, "-batch", self._batch]).returncode
        if rc:
            raise RuntimeError(f"{self.label}: {what} failed (exit {rc})")

    def _spawn(self, i, addr):
        """``ip -n s<i> -batch -`` fed the sandbox's commands (they fit in
        the pipe buffer: the write never blocks)."""
        p = subprocess.Popen([self.ip, "-n", f"s{i}", "-batch", "-"],
                             stdin=subprocess.PIPE)
        p.stdin.write(f"link set lo up\nlink set eth0 addrgenmode none\n"
                      f"link set eth0 up\naddr add {addr} dev eth0\n"
                      f"route add default via {GATEWAY}\n".encode())
        p.stdin.close()
        return p

    def _reap(self, p):
        if p.wait():
            raise RuntimeError(f"{self.label}: ip -n {p.args[2]} -batch "
                               f"failed (exit {p.returncode})")

    def wire(self, paths):
        n = len(paths)
        lines = [f"netns add s{i}\n" for i in range(n)]
        eps = [endpoint(i) for i in range(n)]
        lines += [f"link add {host} group {self.group} master {BRIDGE} "
                  f"numtxqueues 1 numrxqueues 1 "
                  f"type veth peer name eth0 address {mac} mtu 1500 "
                  f"numtxqueues 1 numrxqueues 1 netns s{i}\n"
                  for i, (host, _, mac) in enumerate(eps)]
        lines += [f"link set {host} addrgenmode none\n" for host, _, _ in eps]
        self._batch_run(lines, "root batch")
        running: list = []
        try:
            for i, (_, addr, _) in enumerate(eps):
                if len(running) >= self.jobs:
                    self._reap(running.pop(0))
                running.append(self._spawn(i, addr))
            while running:
                self._reap(running.pop(0))
        finally:
            for p in running:
                p.wait()
        # host ends up last, with carrier (as every peer)
        self._batch_run([f"link set {host} up\n" for host, _, _ in eps],
                        "root up batch")

    def unwire(self, paths):
        lines = [f"link del group {self.group}\n"]
        lines += [f"netns del s{i}\n" for i in range(len(paths))]
        self._batch_run(lines, "teardown batch")

    def check(self, phase):
        pass                    # every ip exit status is checked in place

    def sendmsg(self):
        return None

    def close(self):
        pass

    def cleanup(self, paths):
        subprocess.run([self.ip, "link", "del", "group", str(self.group)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i, path in enumerate(paths):
            if os.path.exists(path):
                subprocess.run([self.ip, "netns", "del", f"s{i}"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
