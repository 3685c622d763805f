"""libnetwork's own firewall, measured two ways.

* :class:`World` -- a controller on one backend whose root is a fresh
  network namespace, with one bridge network (masquerade on, the
  default).  ``attach(cids, ports)`` attaches the containers in one change,
  with one published port each (``PortBinding("tcp", 80)``, host port
  picked by the controller) or none; ``detach`` removes them.  With
  ports the change carries the firewall's operations as one nfnetlink
  transaction; without, it carries none: the difference is what a
  published port costs through the whole controller.
* :class:`PortTransaction` -- the firewall's own work alone: the
  elements of N published ports built by the firewall
  (``firewall.elements.binding_elems``: the ruleset's ``any4`` map, a
  ``PortBinding`` on every host address) and added as one ``NftElemAdd``
  transaction through a backend, on a table made as the controller makes
  it.  The endpoints' applied bindings are made untimed; the element
  building and the transaction are timed.

Both run only inside ``python -m libnetwork.isolate``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import subprocess

from wiring.measure import Meter, Timing
from wiring.peer import Unavailable
from wiring.peer_backend import failures, open_backend
from wiring.workload import require_isolated, scratch_root

from .peers import _which
from .workload import CONTAINER_PORT, HOST_PORT0, PROTO, port

POOL = "10.200.0.0/16"
_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def _drop(path: str) -> None:
    _libc.umount2(os.fsencode(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def port_binding():
    """``[PortBinding("tcp", 80)]``, or Unavailable before port mapping."""
    try:
        from libnetwork.types import PortBinding
    except ImportError as exc:
        raise Unavailable(f"no port mapping in this libnetwork: "
                          f"{exc}") from None
    return [PortBinding(PROTO, CONTAINER_PORT)]


class World:
    """A controller on ``backend`` rooted in a fresh namespace, with one
    bridge network with room for every N (masquerade on)."""

    def __init__(self, backend: str):
        why = require_isolated()
        if why:
            raise Unavailable(why)
        open_backend(backend).close()     # Unavailable if it is not built
        self.ports = port_binding()
        import libnetwork
        from libnetwork import IpamConf
        self.backend_name = backend
        self.dir, self.root, resolv = scratch_root("bench-fw-")
        self.c = libnetwork.new(data_dir=os.path.join(self.dir, "data"),
                                exec_root=os.path.join(self.dir, "exec"),
                                backend=backend, root_namespace=self.root,
                                host_resolv_conf=resolv)
        self.net = self.c.new_network("bridge", "benchfw",
                                      ipv4=[IpamConf(POOL)])
        self.attached: list = []
        self.with_ports = False
        self.round = 0

    def ids(self, n: int) -> list:
        self.round += 1
        return [f"f{self.round}c{i}" for i in range(n)]

    def attach(self, cids: list, ports: bool) -> None:
        """The timed call: one change attaching ``cids``."""
        if ports:
            self.c.attach(self.net, cids, port_mapping=self.ports)
        else:
            self.c.attach(self.net, cids)
        self.attached, self.with_ports = cids, ports

    def detach(self, cids: list) -> None:
        """The timed call: one change detaching ``cids``."""
        self.c.detach(cids)
        self.attached = []

    def create(self, names: list, ports: bool) -> list:
        """The timed call: one change creating endpoints ``names`` (not
        joined), each publishing one port with ``ports``."""
        if ports:
            return self.net.create_endpoints(names, port_mapping=self.ports)
        return self.net.create_endpoints(names)

    def delete(self, eps: list) -> None:
        """Untimed: one change deleting ``eps``."""
        self.c._delete_endpoints(eps, False)

    def check(self, n: int, ports: bool) -> None:
        """Untimed: ``n`` sandboxes and endpoints, and ``n`` published
        ports in the firewall (none without ``ports``), read back with
        ``nft`` where it is installed."""
        assert len(os.listdir(self.c.netns_dir)) == n
        assert len(self.net.endpoints()) == n
        assert len(self.c.sandboxes()) == n
        got = published(self.root)
        if got is not None:
            want = n if ports else 0
            assert got == want, (f"{self.backend_name}: {got} published "
                                 f"ports in the firewall, want {want}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.attached:
                self.c.detach(self.attached)
        with contextlib.suppress(Exception):
            self.c.stop()
        for top, _, files in os.walk(self.dir, topdown=False):
            for f in files:
                _drop(os.path.join(top, f))
        shutil.rmtree(self.dir, ignore_errors=True)


def published(netns: str):
    """Port elements (``ports4``, ``any4``, ``lo4`` and the IPv6 maps) in
    the libnetwork tables of ``netns``, or None without ``nft``.  A port
    published on every host address is in ``any4`` and ``lo4``: counted
    once, by ``any4``."""
    nft = _which("nft")
    if not nft:
        return None
    p = subprocess.run(["nsenter", f"--net={netns}", nft, "-j", "list",
                        "ruleset"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode:
        raise RuntimeError(f"nft list ruleset: {p.stderr.strip()}")
    n = 0
    for o in json.loads(p.stdout)["nftables"]:
        m = o.get("map")
        if m and m["table"].startswith("libnetwork_") and \
                m["name"] in ("ports4", "any4", "ports6", "any6"):
            n += len(m.get("elem", ()))
    return n


class PortTransaction:
    """A backend with the firewall's table (in this process's namespace,
    under a name no controller uses) for :meth:`timed` transactions of N
    port elements."""

    TABLE = "libnetwork_benchtxn"

    def __init__(self, backend: str):
        why = require_isolated()
        if why:
            raise Unavailable(why)
        from libnetwork.backends import ops as O
        from libnetwork.firewall.ruleset import table_ops
        self.O = O
        self.label = backend
        self.be = open_backend(backend)
        self._added: tuple = ({}, [])
        self.be.execute([O.NftTableDel(self.TABLE)])     # a leftover
        try:
            failures(self.be.execute(table_ops(self.TABLE, "bench")),
                     f"{backend}: the firewall table")
        except RuntimeError as exc:
            self.be.close()
            raise Unavailable(str(exc)) from None

    def inputs(self, n: int) -> list:
        """What the firewall starts from for ports ``0..n-1``, as an
        endpoint record holds it (untimed): ``(applied bindings, IPv4
        address)`` per endpoint, the host port filled in, published on
        every host address."""
        import ipaddress
        from libnetwork.types import PortBinding
        out = []
        for i in range(n):
            hport, addr, cport = port(i)
            out.append(([PortBinding(PROTO, cport, host_port=hport,
                                     host_ip="0.0.0.0")],
                         ipaddress.ip_address(addr)))
        return out

    def elements(self, inputs: list) -> dict:
        """The firewall's own elements of ``inputs`` (``any4``; no
        ``lo4``: route_localnet is off by default)."""
        from libnetwork.firewall.elements import binding_elems, merge
        return merge(*[binding_elems(applied, addr4, None, False)
                       for applied, addr4 in inputs])

    def add(self, inputs: list) -> None:
        """The timed call: the elements of ``inputs`` built and added in
        one transaction; kept for :meth:`remove`."""
        from libnetwork.firewall.elements import add_ops
        elems = self.elements(inputs)
        self._added = elems, self.be.execute(add_ops(self.TABLE, elems))

    def remove(self) -> None:
        """Untimed: check the last :meth:`add`, then remove its elements."""
        from libnetwork.firewall.elements import del_ops
        elems, res = self._added
        self._added = {}, []
        n = sum(len(v) for v in elems.values())
        failures(res, f"{self.label}: add {n} port elements")
        failures(self.be.execute(del_ops(self.TABLE, elems)),
                 f"{self.label}: delete {n} port elements")

    def timed(self, n: int) -> Timing:
        """:meth:`add` of ``n`` ports measured, then :meth:`remove`."""
        inputs = self.inputs(n)
        with Meter(self.label, "port txn", n) as m:
            self.add(inputs)
        self.remove()
        return m.timing

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.be.execute([self.O.NftTableDel(self.TABLE)])
        self.be.close()


__all__ = ["World", "PortTransaction", "published", "port_binding",
           "HOST_PORT0"]
