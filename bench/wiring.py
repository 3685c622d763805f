"""The "wire N endpoints" workload, one implementation per peer.

Every peer builds the same kernel state and tears it down again:

* once, untimed: bridge ``br0``, up, with ``10.1.0.1/16``;
* per endpoint ``i`` (timed as *wire*): a network namespace (the sandbox);
  a veth whose host end ``ve<i>`` is in link group ``group``, attached to
  ``br0`` and up, and whose peer is created directly inside the sandbox as
  ``eth0`` with MAC ``02:42:<IPv4 bytes>`` and MTU 1500, each end with one
  tx and one rx queue (``numtxqueues 1 numrxqueues 1``, as the bridge
  driver: the kernel's default would allocate one per CPU and then wait an
  RCU grace period per end to switch all but one off); no IPv6 link-local
  address on either end (``addrgenmode none``, set before ``eth0`` comes
  up); inside the sandbox ``lo`` up, ``eth0`` up, ``10.1.x.y/16`` on
  ``eth0`` and a default route via ``10.1.0.1``; the host end is created
  down and brought up last, once ``eth0`` is up (as the bridge driver: an
  end up without carrier costs an RCU grace period in the kernel's link
  watch, under the RTNL lock -- every peer does the same);
* timed as *unwire*: every host end deleted at once (``ip link del group
  G``: the peers go with them), then every sandbox deleted.  Teardown is
  synchronous: when it returns no veth is left in the root namespace
  (:func:`check_unwired` asserts it, untimed).

Peers (see :data:`IMPLS`):

``native``, ``pyroute2``
    The two backends, one ``execute()`` of the whole plan:
    ``[NetnsCreate]*N + [LinkAddVeth]*N + [LinkSet lo up, LinkSet eth0 up,
    AddrAdd, RouteAdd]*N + [LinkSet host up]*N`` for wire,
    ``[LinkDelGroup] + [NetnsDelete]*N`` for unwire.
``native-1by1``, ``pyroute2-1by1``
    The same operations, one ``execute()`` each: what batching buys.
``ip-batch``
    iproute2, the C reference: one ``ip -batch`` process for every
    ``netns add`` and ``link add ... type veth peer name eth0 netns sN``,
    then one ``ip -n sN -batch -`` process per sandbox for the
    in-namespace commands (a batch file cannot switch namespace: ``-n`` is
    a global option, and ``netns exec`` inside a batch forks and execs one
    ``ip`` per line), then one ``ip -batch`` of ``link set veN up``.  Teardown is one ``ip -batch`` of ``link del group G``
    and ``netns del sN`` lines.  ``ip-batch-jJ`` runs the per-sandbox
    processes J at a time (more cores, same work).
``pyroute2-iproute``
    The same workload written the way pyroute2's users write it: its public
    ``IPRoute`` API, one request per call, each call waiting for its answer
    (:class:`IPRouteWiring`).  Sandboxes are created in-process on a
    short-lived thread (``pyroute2.netns.create`` forks a child per
    namespace, and ``IPRoute(netns=...)`` one per socket); each sandbox is
    configured through its own ``IPRoute(use_socket=...)`` on a socket
    opened inside it.  ``pyroute2`` above is libnetwork's backend: pyroute2's
    encoder with its own batched sends.

Each phase is measured as a :class:`Timing`: wall time (``perf_counter``)
and user / system CPU of this process *and* its waited-for children
(``getrusage`` SELF + CHILDREN deltas), so the ``ip`` processes are
counted.  Building the plan (the ``ops`` values, the batch text) is inside
the timed region: it is part of what the caller pays.

Everything here touches the kernel: run it only inside
``python -m libnetwork.isolate``.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from libnetwork.backends import ops as O

BRIDGE = "br0"
BRIDGE_ADDR = "10.1.0.1/16"
GATEWAY = "10.1.0.1"
PREFIX = 16
GROUP = 4242
IP_NETNS_DIR = "/run/netns"       # where `ip netns add` binds, fixed
MAX_N = 65533                     # 10.1.0.2 .. 10.1.255.254

BROADCAST = "10.1.255.255"        # of 10.1.0.0/16 (`brd +`, as the backends)
IMPLS = ("native", "pyroute2", "ip-batch", "native-1by1", "pyroute2-1by1",
         "pyroute2-iproute")
DEFAULT_IMPLS = ("native", "pyroute2", "ip-batch", "native-1by1",
                 "pyroute2-iproute")


class Unavailable(RuntimeError):
    """This peer cannot run here (reason in the message): skip it."""


# ------------------------------------------------------------------ timing

@dataclass
class Timing:
    """One measured phase: ``n`` endpoints wired (or unwired) in ``wall``
    seconds, with ``user`` and ``sys`` CPU seconds of this process and its
    children."""
    impl: str
    phase: str            # "wire" | "unwire"
    n: int
    wall: float
    user: float
    sys: float
    extra: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def eps(self) -> float:
        """Endpoints per second (wall)."""
        return self.n / self.wall if self.wall > 0 else float("inf")

    @property
    def user_pct_of_sys(self) -> float:
        return 100.0 * self.user / self.sys if self.sys > 0 else float("inf")

    def as_dict(self) -> dict:
        return {"impl": self.impl, "phase": self.phase, "n": self.n,
                "wall": self.wall, "user": self.user, "sys": self.sys,
                "eps": self.eps, **self.extra}


def _usage():
    """(user s, sys s, voluntary, involuntary context switches) of this
    process and its waited-for children."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (s.ru_utime + c.ru_utime, s.ru_stime + c.ru_stime,
            s.ru_nvcsw + c.ru_nvcsw, s.ru_nivcsw + c.ru_nivcsw)


class Meter:
    """``with Meter(impl, phase, n) as m: ...`` then ``m.timing``.
    ``collect``: run the garbage collector first (outside the timing)."""

    def __init__(self, impl: str, phase: str, n: int, collect: bool = True):
        self.impl, self.phase, self.n = impl, phase, n
        self.collect = collect
        self.timing: Optional[Timing] = None

    def __enter__(self):
        if self.collect:
            gc.collect()
        self._r0 = _usage()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        t1 = time.perf_counter()
        u1, s1, v1, i1 = _usage()
        u0, s0, v0, i0 = self._r0
        # context switches: voluntary ones are sleeps (a lock, an RCU
        # grace period, a child to wait for), involuntary ones preemption
        # by other load; they tell wall time not spent on a CPU apart
        self.timing = Timing(self.impl, self.phase, self.n, t1 - self._t0,
                             u1 - u0, s1 - s0,
                             {"vcsw": v1 - v0, "ivcsw": i1 - i0})
        return False


# ---------------------------------------------------------------- endpoints

def endpoint(i: int):
    """``(host name, address/plen, MAC)`` of endpoint ``i``."""
    o = i + 2                       # 10.1.0.1 is the gateway
    x, y = o >> 8, o & 0xFF
    return (f"ve{i}", f"10.1.{x}.{y}/{PREFIX}",
            f"02:42:0a:01:{x:02x}:{y:02x}")


def sandbox_paths(n: int, workdir: str) -> list[str]:
    return [os.path.join(workdir, f"s{i}") for i in range(n)]


def setup_plan(n: int, workdir: str, group: int = GROUP) -> list:
    """The wiring of ``n`` endpoints as one batch of operations."""
    paths = sandbox_paths(n, workdir)
    plan: list = [O.NetnsCreate(p) for p in paths]
    eps = [endpoint(i) for i in range(n)]
    plan += [O.LinkAddVeth(host, "eth0", peer_ns=p, master=BRIDGE,
                           group=group, peer_mtu=1500, peer_mac=mac,
                           queues=1)
             for p, (host, _, mac) in zip(paths, eps)]
    # IPv4-only, as the bridge driver does it: no IPv6 link-local on either
    # end (every peer in the comparison does the same)
    for p, (_, addr, _) in zip(paths, eps):
        plan += (O.LinkSet("lo", up=True, ns=p),
                 O.LinkSet("eth0", ipv6_ll=False, ns=p),
                 O.LinkSet("eth0", up=True, ns=p),
                 O.AddrAdd("eth0", addr, ns=p),
                 O.RouteAdd(gateway=GATEWAY, ns=p))
    # host ends up last, as the bridge driver: each comes up with carrier
    plan += [O.LinkSet(host, ipv6_ll=False) for host, _, _ in eps]
    plan += [O.LinkSet(host, up=True) for host, _, _ in eps]
    return plan


def teardown_plan(n: int, workdir: str, group: int = GROUP) -> list:
    return [O.LinkDelGroup(group)] + [O.NetnsDelete(p)
                                      for p in sandbox_paths(n, workdir)]


# ------------------------------------------------------------------ helpers

def require_isolated() -> Optional[str]:
    """None when the kernel may be touched here, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if os.environ.get("LIBNETWORK_ISOLATED") != "1":
        return ("touches the kernel: run inside "
                "`python -m libnetwork.isolate -- ...`")
    return None


def _ensure_isolated():
    why = require_isolated()
    if why:
        raise Unavailable(why)


def _checker():
    """A backend for untimed checks (native if built, else pyroute2)."""
    from libnetwork.backends import select
    return select(None)


def ensure_bridge(backend=None) -> None:
    """``br0`` up with 10.1.0.1/16 (idempotent, untimed)."""
    _ensure_isolated()
    be = backend or _checker()
    try:
        if any(l.name == BRIDGE for l in be.links()):
            return
        be.run([O.LinkAddBridge(BRIDGE, up=True)])
        be.run([O.AddrAdd(BRIDGE, BRIDGE_ADDR)])
    finally:
        if backend is None:
            be.close()


def root_veths(backend=None) -> list:
    """Every veth left in the root namespace."""
    be = backend or _checker()
    try:
        return [l for l in be.links() if l.kind == "veth"]
    finally:
        if backend is None:
            be.close()


def check_unwired(impl: str, paths: list[str]) -> None:
    """Teardown is synchronous: no veth in the root namespace and no
    sandbox file left.  Raises AssertionError."""
    left = root_veths()
    assert not left, (f"{impl}: {len(left)} veth(s) left in the root "
                      f"namespace after teardown, e.g. {left[0].name}")
    files = [p for p in paths if os.path.exists(p)]
    assert not files, f"{impl}: sandbox file(s) left, e.g. {files[0]}"


def check_wired(impl: str, n: int, paths: list[str], group: int) -> None:
    """Untimed spot check of a wiring (raises AssertionError): the root
    namespace has exactly ``n`` veths of ``group``, all up on ``br0``; the
    first, middle and last sandbox have lo and eth0 up, eth0's MAC and MTU,
    the address and the default route."""
    import ipaddress
    be = _checker()
    try:
        links = be.links()
        br = [l for l in links if l.name == BRIDGE]
        assert br, f"{impl}: no {BRIDGE}"
        mine = [l for l in links if l.kind == "veth" and l.group == group]
        assert len(mine) == n, (f"{impl}: {len(mine)} veths of group "
                                f"{group} in the root namespace, want {n}")
        bad = [l.name for l in mine
               if not l.up or l.master != br[0].index]
        assert not bad, f"{impl}: host ends not up on {BRIDGE}: {bad[:3]}"
        for i in sorted({0, n // 2, n - 1}):
            ns = paths[i]
            _, addr, mac = endpoint(i)
            ls = {l.name: l for l in be.links(ns)}
            assert set(ls) == {"lo", "eth0"}, f"{impl}: {ns}: links {set(ls)}"
            e = ls["eth0"]
            assert ls["lo"].up and e.up, f"{impl}: {ns}: lo/eth0 not up"
            assert e.mac == mac and e.mtu == 1500, \
                f"{impl}: {ns}: eth0 {e.mac} mtu {e.mtu}, want {mac} 1500"
            want = ipaddress.ip_interface(addr)
            have = [a.address for a in be.addresses(ns)
                    if a.index == e.index]
            assert have == [want], f"{impl}: {ns}: eth0 has {have}, want {want}"
            gw = ipaddress.ip_address(GATEWAY)
            assert any(r.dst.prefixlen == 0 and r.gateway == gw
                       and r.oif == e.index for r in be.routes(ns)), \
                f"{impl}: {ns}: no default route via {GATEWAY}"
        # one queue each way on both ends (iproute2 reads it back)
        for cmd in (["ip", "-j", "-d", "link", "show", endpoint(0)[0]],
                    ["nsenter", f"--net={paths[0]}", "ip", "-j", "-d",
                     "link", "show", "eth0"]):
            j = json.loads(subprocess.run(cmd, check=True, text=True,
                                          capture_output=True).stdout)[0]
            q = (j["num_tx_queues"], j["num_rx_queues"])
            assert q == (1, 1), f"{impl}: {j['ifname']}: queues {q}"
    finally:
        be.close()


def settle(max_s: float = 2.0, min_s: float = 0.2) -> float:
    """Wait for the kernel's asynchronous clean-up of deleted namespaces
    (a kworker, not billed to us) to stop competing for CPU: until the
    machine's system time over 50 ms is below 10 % of one core, at least
    ``min_s`` and at most ``max_s`` seconds.  Returns the time waited."""
    t0 = time.perf_counter()
    time.sleep(min_s)
    hz = os.sysconf("SC_CLK_TCK")

    def sys_ticks():
        with open("/proc/stat") as f:
            v = f.readline().split()
        return int(v[3]) + int(v[6]) + int(v[7])   # system, irq, softirq

    while time.perf_counter() - t0 < max_s:
        a = sys_ticks()
        time.sleep(0.05)
        if (sys_ticks() - a) / hz < 0.005:
            break
    return time.perf_counter() - t0


# ---------------------------------------------------------------- the peers

class Wiring:
    """One peer.  Use: ``w.wire(n)`` then ``w.unwire()``, each returning a
    :class:`Timing`; ``w.close()`` at the end.  Untimed work (opening a
    backend, creating the work directory, checks) is outside ``wire`` and
    ``unwire``."""

    label = "abstract"

    def __init__(self, workdir: str, group: int = GROUP, check: bool = True):
        _ensure_isolated()
        self.workdir = workdir
        self.group = group
        self.check = check
        self.n = 0
        self.paths: list[str] = []
        os.makedirs(workdir, exist_ok=True)

    # Each phase is begin (untimed) / do (the timed core) / end (untimed
    # result checks), so that pytest-benchmark can time ``do_*`` alone.

    def begin_wire(self, n: int) -> None:
        if self.n:
            raise RuntimeError(f"{self.label}: already wired, unwire first")
        if not 0 < n <= MAX_N:
            raise ValueError(f"n must be 1..{MAX_N}")
        ensure_bridge()
        self.paths = self._paths(n)
        self._before(n)
        self.n = n

    def do_wire(self) -> None:
        self._wire(self.n)

    def end_wire(self) -> None:
        self._after_wire(self.n)
        if self.check:
            check_wired(self.label, self.n, self.paths, self.group)

    def begin_unwire(self) -> None:
        if not self.n:
            raise RuntimeError(f"{self.label}: nothing wired")

    def do_unwire(self) -> None:
        self._unwire(self.n)

    def end_unwire(self) -> None:
        self._after_unwire(self.n)
        self.n = 0
        check_unwired(self.label, self.paths)
        self.paths = []

    @property
    def wired(self) -> bool:
        return bool(self.n)

    def wire(self, n: int) -> Timing:
        """Wire ``n`` endpoints; the timing covers the kernel work only
        (not the bridge check before, nor the result checks after)."""
        self.begin_wire(n)
        with Meter(self.label, "wire", n) as m:
            self.do_wire()
        self.end_wire()
        return m.timing

    def unwire(self) -> Timing:
        """Remove every endpoint wired; checks it is all gone."""
        self.begin_unwire()
        n = self.n
        with Meter(self.label, "unwire", n) as m:
            self.do_unwire()
        self.end_unwire()
        return m.timing

    def cleanup(self) -> None:
        """Best effort: remove whatever a failed run left (untimed)."""
        n = self.n or len(self.paths)
        if n:
            try:
                self._cleanup(n)
            finally:
                self.n = 0

    def close(self) -> None:
        self.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # subclass hooks
    def _paths(self, n):
        return sandbox_paths(n, self.workdir)

    def _before(self, n):
        pass

    def _after_wire(self, n):
        pass

    def _after_unwire(self, n):
        pass

    def _wire(self, n):
        raise NotImplementedError

    def _unwire(self, n):
        raise NotImplementedError

    def _cleanup(self, n):
        subprocess.run(["ip", "link", "del", "group", str(self.group)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        be = _checker()
        try:
            be.execute([O.NetnsDelete(p) for p in self.paths
                        if os.path.exists(p)])
        finally:
            be.close()


def _failures(results, what):
    bad = [r for r in results if r.errno]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} of {len(results)} operations "
                           f"failed, first: {bad[0]!r}")


class BackendWiring(Wiring):
    """A backend (``native`` or ``pyroute2``); ``serial``: one
    ``execute()`` per operation instead of one for the whole plan."""

    def __init__(self, backend: str, workdir: str, group: int = GROUP,
                 serial: bool = False, check: bool = True):
        super().__init__(workdir, group, check)
        self.backend_name = backend
        self.serial = serial
        self.label = backend + ("-1by1" if serial else "")
        self.backend = open_backend(backend)
        self._results = None

    def _run(self, plan):
        be = self.backend
        if self.serial:
            out = []
            for op in plan:
                out += be.execute((op,))
            return out
        return be.execute(plan)

    def _wire(self, n):
        self._results = self._run(setup_plan(n, self.workdir, self.group))

    def _after_wire(self, n):
        r, self._results = self._results, None
        _failures(r, f"{self.label} wire {n}")

    def _unwire(self, n):
        self._results = self._run(teardown_plan(n, self.workdir, self.group))

    def _after_unwire(self, n):
        r, self._results = self._results, None
        _failures(r, f"{self.label} unwire {n}")

    def close(self):
        # first let go of the sockets and fds held in the sandboxes
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        super().close()


def open_backend(name: str):
    """The backend called ``name``, or Unavailable (no silent fallback:
    ``select("native")`` would quietly give pyroute2)."""
    if name == "native":
        try:
            from libnetwork import _binding
        except ImportError as exc:
            raise Unavailable(f"native core not importable: {exc}") from None
        if not getattr(_binding, "AVAILABLE", False):
            raise Unavailable("native core unavailable: "
                              f"{getattr(_binding, 'IMPORT_ERROR', '?')}")
        from libnetwork.backends.native import NativeBackend
        return NativeBackend()
    if name == "pyroute2":
        try:
            from libnetwork.backends.pyroute2 import Pyroute2Backend
            return Pyroute2Backend()
        except Exception as exc:   # missing, half-written, pyroute2 absent
            raise Unavailable(f"pyroute2 backend not usable: "
                              f"{type(exc).__name__}: {exc}") from None
    raise ValueError(f"unknown backend {name!r}")


class IpBatchWiring(Wiring):
    """iproute2 (``ip -batch``), the C reference.

    Sandboxes are bound where ``ip netns add`` binds them
    (``/run/netns/s<i>``; a tmpfs inside ``isolate``), so ``workdir`` holds
    only the batch files.  ``jobs`` per-sandbox ``ip`` processes run at a
    time (1: one after another, like the single-threaded backends).
    """

    def __init__(self, workdir: str, group: int = GROUP, jobs: int = 1,
                 check: bool = True):
        super().__init__(workdir, group, check)
        self.ip = shutil.which("ip")
        if self.ip is None:
            raise Unavailable("iproute2 'ip' not found")
        self.jobs = max(1, jobs)
        self.label = "ip-batch" + (f"-j{jobs}" if jobs > 1 else "")
        self._batch = os.path.join(workdir, "batch")

    def _paths(self, n):
        return [os.path.join(IP_NETNS_DIR, f"s{i}") for i in range(n)]

    def _before(self, n):
        clash = [p for p in self.paths if os.path.exists(p)]
        if clash:
            raise RuntimeError(f"{self.label}: {clash[0]} exists already")

    def _spawn(self, i, addr):
        """``ip -n s<i> -batch -`` fed the sandbox's four commands (they
        fit in the pipe buffer: the write never blocks)."""
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

    def _wire(self, n):
        lines = [f"netns add s{i}\n" for i in range(n)]
        eps = [endpoint(i) for i in range(n)]
        lines += [f"link add {host} group {self.group} master {BRIDGE} "
                  f"numtxqueues 1 numrxqueues 1 "
                  f"type veth peer name eth0 address {mac} mtu 1500 "
                  f"numtxqueues 1 numrxqueues 1 netns s{i}\n"
                  for i, (host, _, mac) in enumerate(eps)]
        lines += [f"link set {host} addrgenmode none\n" for host, _, _ in eps]
        with open(self._batch, "w") as f:
            f.writelines(lines)
        rc = subprocess.run([self.ip, "-batch", self._batch]).returncode
        if rc:
            raise RuntimeError(f"{self.label}: root batch failed (exit {rc})")
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
        # host ends up last, with carrier (module docstring)
        with open(self._batch, "w") as f:
            f.writelines(f"link set {host} up\n" for host, _, _ in eps)
        rc = subprocess.run([self.ip, "-batch", self._batch]).returncode
        if rc:
            raise RuntimeError(f"{self.label}: root up batch failed "
                               f"(exit {rc})")

    def _unwire(self, n):
        lines = [f"link del group {self.group}\n"]
        lines += [f"netns del s{i}\n" for i in range(n)]
        with open(self._batch, "w") as f:
            f.writelines(lines)
        rc = subprocess.run([self.ip, "-batch", self._batch]).returncode
        if rc:
            raise RuntimeError(f"{self.label}: teardown batch failed "
                               f"(exit {rc})")

    def _cleanup(self, n):
        subprocess.run([self.ip, "link", "del", "group", str(self.group)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(n):
            if os.path.exists(self.paths[i]):
                subprocess.run([self.ip, "netns", "del", f"s{i}"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)


# IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } }: no IPv6
# link-local (`ip link set DEV addrgenmode none`)
_NO_LL = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE",
                                              1)]})]}


class IPRouteWiring(Wiring):
    """pyroute2's public ``IPRoute`` API, as its users write it, as fast as
    that API allows: one request per call, one call at a time.

    * Sandboxes: one short-lived thread ``unshare(CLONE_NEWNET)``s and
      bind-mounts its namespace onto each path and opens a rtnetlink socket
      while inside (libnetwork's ``backends.pyroute2._create_one``).  The
      public ``pyroute2.netns.create`` would fork a child per namespace, and
      ``IPRoute(netns=path)`` forks one more per socket.
    * Per endpoint, through the root ``IPRoute``: ``link("add", kind="veth",
      peer={ifname eth0, net_ns_fd, address, mtu, num_tx/rx_queues},
      master, group, num_tx/rx_queues)``, then ``link("set", ifname=...,
      af_spec=...)``
      (addrgenmode none: 0.9.7 has no keyword for it, the ``IFLA_AF_SPEC``
      nest is spelled out).  Then, inside the sandbox, an
      ``IPRoute(use_socket=<its socket>)`` (built and used on this thread:
      0.9.7 refuses a ``use_socket`` socket from another thread than the
      one that built the ``IPRoute``) does ``link("set", ifname="lo",
      state="up")``, ``link_lookup(ifname="eth0")`` (one ``RTM_GETLINK``,
      as the backends' name lookup), ``link("set", index, af_spec=...)``,
      ``link("set", index, state="up")``, ``addr("add", index, address,
      prefixlen, broadcast)``
      and ``route("add", gateway=...)``, and is closed (``with``); last the
      root ``IPRoute`` brings the host end up (``link("set", ifname=...,
      state="up")``).
      Each ``IPRoute`` runs its own asyncio event loop: a loop shared through
      ``use_event_loop`` measured no faster.
    * Teardown: ``link("del", group=G)`` (one request: 0.9.7 sends
      ``RTM_DELLINK`` with index 0 and ``IFLA_GROUP``), then
      ``pyroute2.netns.remove(path)`` (in-process umount + unlink) per
      sandbox.

    The root ``IPRoute`` is opened untimed, like a backend's root socket;
    the bridge's index is looked up (``link_lookup``) inside the timing.
    """

    label = "pyroute2-iproute"

    def __init__(self, workdir: str, group: int = GROUP, check: bool = True):
        super().__init__(workdir, group, check)
        try:
            from pyroute2 import IPRoute
            from pyroute2 import netns as pr2_netns
            from libnetwork.backends import pyroute2 as lnpr2
        except Exception as exc:
            raise Unavailable(f"pyroute2 not usable: {type(exc).__name__}: "
                              f"{exc}") from None
        self._IPRoute = IPRoute
        self._netns_remove = pr2_netns.remove
        self._create_one = lnpr2._create_one
        self._socket_in = lnpr2._socket_in
        lnpr2._raise_nofile()           # a socket per sandbox until used
        self.root = IPRoute()

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

    def _wire(self, n):
        IPRoute, root, group = self._IPRoute, self.root, self.group
        paths = self.paths
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
                if sock is None:        # _create_one could not open one
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

    def _unwire(self, n):
        self.root.link("del", group=self.group)
        remove = self._netns_remove
        for path in self.paths:
            remove(path)

    def close(self):
        if getattr(self, "root", None) is not None:
            self.root.close()
            self.root = None
        super().close()


def make(impl: str, workdir: str, group: int = GROUP,
         check: bool = True) -> Wiring:
    """The peer called ``impl`` (see :data:`IMPLS`; also ``ip-batch-jJ``).
    Raises :class:`Unavailable` when it cannot run here."""
    if impl in ("native", "pyroute2"):
        return BackendWiring(impl, workdir, group, check=check)
    if impl in ("native-1by1", "pyroute2-1by1"):
        return BackendWiring(impl.split("-")[0], workdir, group, serial=True,
                             check=check)
    if impl == "ip-batch":
        return IpBatchWiring(workdir, group, check=check)
    if impl == "pyroute2-iproute":
        return IPRouteWiring(workdir, group, check=check)
    if impl.startswith("ip-batch-j") and impl[10:].isdigit():
        return IpBatchWiring(workdir, group, jobs=int(impl[10:]), check=check)
    raise ValueError(f"unknown implementation {impl!r}: one of "
                     f"{', '.join(IMPLS)} or ip-batch-jJ")


def cycle(impl: str, n: int, workdir: str, group: int = GROUP,
          check: bool = True) -> tuple[Timing, Timing]:
    """Wire then unwire ``n`` endpoints with ``impl``: (wire, unwire)."""
    with make(impl, workdir, group, check) as w:
        return w.wire(n), w.unwire()


# convenience spellings
def wire_backend(backend: str, n: int, workdir: str, group: int = GROUP,
                 serial: bool = False) -> tuple[Timing, Timing]:
    """(wire, unwire) timings of a backend, batched or one op at a time."""
    return cycle(backend + ("-1by1" if serial else ""), n, workdir, group)


def wire_ip_batch(n: int, workdir: str, group: int = GROUP,
                  jobs: int = 1) -> tuple[Timing, Timing]:
    """(wire, unwire) timings of the iproute2 baseline."""
    return cycle("ip-batch" + (f"-j{jobs}" if jobs > 1 else ""), n, workdir,
                 group)


STAGES = ("netns create", "veth add", "in-sandbox config", "host ends up",
          "link del group", "netns delete")


def stages(backend: str, n: int, workdir: str,
           group: int = GROUP) -> list[Timing]:
    """Where the time goes: the batched plan of ``backend`` executed as its
    six runs, each in its own ``execute()`` and timed on its own
    (:data:`STAGES`: the four runs of the wiring, then the two of the
    teardown).  One Timing per stage, ``phase`` = the stage name."""
    _ensure_isolated()
    ensure_bridge()
    os.makedirs(workdir, exist_ok=True)
    be = open_backend(backend)
    plan = setup_plan(n, workdir, group)
    down = teardown_plan(n, workdir, group)
    parts = [plan[:n], plan[n:2 * n], plan[2 * n:6 * n], plan[6 * n:],
             down[:1], down[1:]]
    out = []
    try:
        for name, part in zip(STAGES, parts):
            with Meter(backend, name, n) as m:
                results = be.execute(part)
            _failures(results, f"{backend} {name} {n}")
            out.append(m.timing)
    finally:
        be.close()
        check_unwired(backend, sandbox_paths(n, workdir))
    return out
