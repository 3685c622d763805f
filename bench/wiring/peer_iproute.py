"""Peer ``pyroute2-iproute``: the workload written the way pyroute2's users
write it, against its public ``IPRoute`` API (0.9.7), as fast as that API
allows: one request per call, each call waiting for its answer.

* Sandboxes: one short-lived thread ``unshare(CLONE_NEWNET)``s and
  bind-mounts its namespace onto each path and opens a rtnetlink socket
  while inside (libnetwork's ``backends.pyroute2.netns.create_one``):
  ``pyroute2.netns.create`` would fork a child per namespace, and
  ``IPRoute(netns=path)`` one more per socket.
* Per endpoint, on the root ``IPRoute``: ``link("add", kind="veth",
  peer={ifname eth0, net_ns_fd, address, mtu, num_tx/rx_queues}, master,
  group, num_tx/rx_queues)``, then ``link("set", ifname=..., af_spec=...)``
  (addrgenmode none: 0.9.7 has no keyword for it, the ``IFLA_AF_SPEC``
  nest is spelled out).  Inside the sandbox an ``IPRoute(use_socket=<its
  socket>)``, built and used on the calling thread (0.9.7 refuses a
  ``use_socket`` socket from another thread): ``link("set", ifname="lo",
  state="up")``, ``link_lookup(ifname="eth0")``, ``link("set", index,
  af_spec=...)``, ``link("set", index, state="up")``, ``addr("add", index,
  address, prefixlen, broadcast)``, ``route("add", gateway=...)``.  Last,
  the root ``IPRoute`` brings the host end up.  Each ``IPRoute`` runs its
  own asyncio event loop.
* Teardown: ``link("del", group=G)`` (one request), then
  ``pyroute2.netns.remove(path)`` (in-process umount + unlink) per sandbox.

The root ``IPRoute`` is opened untimed, like a backend's root socket; the
bridge's index is looked up inside the timing.
"""

from __future__ import annotations

import os
import threading

from .peer import Peer, Unavailable
from .workload import (BRIDGE, BROADCAST, GATEWAY, GROUP, endpoint,
                       remove_leftovers, sandbox_paths)

# IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } }: no IPv6
# link-local (`ip link set DEV addrgenmode none`)
_NO_LL = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE",
                                              1)]})]}


class IPRoutePeer(Peer):
    """pyroute2's public ``IPRoute`` API, one request per call."""

    label = "pyroute2-iproute"

    def __init__(self, workdir: str, group: int = GROUP):
        try:
            from pyroute2 import IPRoute
            from pyroute2 import netns as pr2_netns
            from libnetwork.backends.pyroute2 import netns as lnns
            from libnetwork.backends.pyroute2 import transport as lntr
        except Exception as exc:
            raise Unavailable(f"pyroute2 not usable: {type(exc).__name__}: "
                              f"{exc}") from None
        self.workdir, self.group = workdir, group
        self._IPRoute = IPRoute
        self._netns_remove = pr2_netns.remove
        self._create_one = lnns.create_one
        self._socket_in = lambda path: lntr.setup(lnns.socket_in(path))
        lnns.raise_nofile()             # a socket per sandbox until used
        self.root = IPRoute()

    def prepare(self, n):
        return sandbox_paths(n, self.workdir)

    def _netns_create(self, paths):
        """Every sandbox, on one short-lived thread: [socket or None]."""
        out: list = [None] * len(paths)
        create = self._create_one

        def work():
            for i, p in enumerate(paths):
                out[i] = create(p)

        t = threading.Thread(target=work, name="bench-netns-create")
        t.start()
        t.join()
        bad = [(p, r) for p, r in zip(paths, out) if r is None or r[0]]
        if bad:
            for r in out:
                if r is not None and r[2] is not None:
                    r[2].close()
            p, r = bad[0]
            raise RuntimeError(f"{self.label}: {len(bad)} namespace(s) not "
                               f"created, first {p}: "
                               f"{'thread died' if r is None else r[1]}")
        return [r[2] for r in out]

    def wire(self, paths):
        IPRoute, root, group = self._IPRoute, self.root, self.group
        socks = self._netns_create(paths)
        try:
            br = root.link_lookup(ifname=BRIDGE)[0]
            for i, path in enumerate(paths):
                host, addr, mac = endpoint(i)
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    root.link("add", ifname=host, kind="veth",
                              peer={"ifname": "eth0", "net_ns_fd": fd,
                                    "address": mac, "mtu": 1500,
                                    "num_tx_queues": 1, "num_rx_queues": 1},
                              master=br, group=group,
                              num_tx_queues=1, num_rx_queues=1)
                finally:
                    os.close(fd)
                root.link("set", ifname=host, af_spec=_NO_LL)
                sock, socks[i] = socks[i], None
                if sock is None:        # create_one could not open one
                    sock = self._socket_in(path)
                address, plen = addr.split("/")
                try:
                    ipr = IPRoute(use_socket=sock)
                except BaseException:
                    sock.close()
                    raise
                with ipr:
                    ipr.link("set", ifname="lo", state="up")
                    eth0 = ipr.link_lookup(ifname="eth0")[0]
                    # the mode first: the kernel applies it after "up"
                    ipr.link("set", index=eth0, af_spec=_NO_LL)
                    ipr.link("set", index=eth0, state="up")
                    ipr.addr("add", index=eth0, address=address,
                             prefixlen=int(plen), broadcast=BROADCAST)
                    ipr.route("add", gateway=GATEWAY)
                root.link("set", ifname=host, state="up")   # with carrier
        finally:
            for s in socks:             # left unused by a failure
                if s is not None:
                    s.close()

    def unwire(self, paths):
        self.root.link("del", group=self.group)
        remove = self._netns_remove
        for path in paths:
            remove(path)

    def check(self, phase):
        pass                    # every call raises on a failure in place

    def sendmsg(self):
        return None

    def close(self):
        self.root.close()

    def cleanup(self, paths):
        remove_leftovers(self.group, paths)
