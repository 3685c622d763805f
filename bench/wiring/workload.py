"""The workload: what "wire N endpoints" builds, as names, addresses and
one plan of libnetwork operations, and the untimed checks that the kernel
holds exactly that state after a wiring and nothing after a teardown.

* once, untimed: bridge ``br0``, up, with ``10.1.0.1/16``;
* per endpoint ``i`` (*wire*): a network namespace (the sandbox); a veth
  whose host end ``ve<i>`` is in link group ``group``, attached to ``br0``,
  and whose peer is created inside the sandbox as ``eth0`` with MAC
  ``02:42:<IPv4 bytes>`` and MTU 1500, one tx and one rx queue per end; no
  IPv6 link-local address on either end (``addrgenmode none``); inside the
  sandbox ``lo`` up, ``eth0`` up, ``10.1.x.y/16`` on ``eth0`` and a default
  route via ``10.1.0.1``; the host end is created down and brought up last;
* *unwire*: every host end deleted at once (``ip link del group G``: the
  peers go with them), then every sandbox.

Every peer builds this same state; ``bench/README.md`` says why it has
this shape.  Everything that touches the kernel runs only inside
``python -m libnetwork.isolate``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from typing import Optional

from libnetwork.backends import ops as O

BRIDGE = "br0"
BRIDGE_ADDR = "10.1.0.1/16"
GATEWAY = "10.1.0.1"
PREFIX = 16
BROADCAST = "10.1.255.255"        # of 10.1.0.0/16 (`brd +`, as the backends)
GROUP = 4242
MAX_N = 65533                     # 10.1.0.2 .. 10.1.255.254


def endpoint(i: int):
    """``(host name, address/plen, MAC)`` of endpoint ``i``."""
    o = i + 2                       # 10.1.0.1 is the gateway
    x, y = o >> 8, o & 0xFF
    return (f"ve{i}", f"10.1.{x}.{y}/{PREFIX}",
            f"02:42:0a:01:{x:02x}:{y:02x}")


def sandbox_paths(n: int, workdir: str) -> list[str]:
    return [os.path.join(workdir, f"s{i}") for i in range(n)]


def setup_plan(n: int, workdir: str, group: int = GROUP,
               indexes: bool = True) -> list:
    """The wiring of ``n`` endpoints as one batch of operations.  With
    ``indexes`` (as the bridge driver), the sandbox's address names
    ``eth0`` by the index the veth's creation echoes: no name lookup;
    without, by name (for a peer that sends one operation per batch)."""
    paths = sandbox_paths(n, workdir)
    plan: list = [O.NetnsCreate(p) for p in paths]
    eps = [endpoint(i) for i in range(n)]
    veths = [O.LinkAddVeth(host, "eth0", peer_ns=p, master=BRIDGE,
                           group=group, peer_mtu=1500, peer_mac=mac,
                           queues=1)
             for p, (host, _, mac) in zip(paths, eps)]
    plan += veths
    # IPv4-only, as the bridge driver does it: no IPv6 link-local on either
    # end (every peer in the comparison does the same), the mode set before
    # the link comes up
    for p, veth, (_, addr, _) in zip(paths, veths, eps):
        eth = O.IndexOf(veth, peer=True) if indexes else "eth0"
        plan += (O.LinkSet("lo", up=True, ns=p),
                 O.LinkSet("eth0", ipv6_ll=False, ns=p),
                 O.LinkSet("eth0", up=True, ns=p),
                 O.AddrAdd(eth, addr, ns=p),
                 O.RouteAdd(gateway=GATEWAY, ns=p))
    # host ends up last, as the bridge driver: each comes up with carrier
    plan += [O.LinkSet(host, ipv6_ll=False) for host, _, _ in eps]
    plan += [O.LinkSet(host, up=True) for host, _, _ in eps]
    return plan


def teardown_plan(n: int, workdir: str, group: int = GROUP) -> list:
    return [O.LinkDelGroup(group)] + [O.NetnsDelete(p)
                                      for p in sandbox_paths(n, workdir)]


def scratch_root(prefix: str):
    """A temporary directory (under /run when there is one) holding a
    fresh network namespace bound at ``root`` and a ``resolv.conf`` naming
    a documentation address: ``(dir, root, resolv)``, what a controller
    under test is given."""
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix,
                         dir="/run" if os.path.isdir("/run") else None)
    root = os.path.join(d, "root")
    with open(root, "x"):
        pass
    subprocess.run(["unshare", f"--net={root}", "true"],
                   check=True, capture_output=True, timeout=30)
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 192.0.2.53\n")
    return d, root, resolv


def require_isolated() -> Optional[str]:
    """None when the kernel may be touched here, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if os.environ.get("LIBNETWORK_ISOLATED") != "1":
        return ("touches the kernel: run inside "
                "`python -m libnetwork.isolate -- ...`")
    return None


def _checker():
    """A backend for untimed checks (native if built, else pyroute2)."""
    from libnetwork.backends import select
    return select(None)


def ensure_bridge() -> None:
    """``br0`` up with 10.1.0.1/16 (idempotent, untimed)."""
    be = _checker()
    try:
        if any(l.name == BRIDGE for l in be.links()):
            return
        be.run([O.LinkAddBridge(BRIDGE, up=True)])
        be.run([O.AddrAdd(BRIDGE, BRIDGE_ADDR)])
    finally:
        be.close()


def remove_leftovers(group: int, paths: list[str]) -> None:
    """Best effort, untimed: every link of ``group`` and every sandbox of
    ``paths`` that a failed run left."""
    subprocess.run(["ip", "link", "del", "group", str(group)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    be = _checker()
    try:
        be.execute([O.NetnsDelete(p) for p in paths if os.path.exists(p)])
    finally:
        be.close()


def check_unwired(impl: str, paths: list[str]) -> None:
    """Teardown is synchronous: no veth in the root namespace and no
    sandbox file left.  Raises AssertionError."""
    be = _checker()
    try:
        left = [l for l in be.links() if l.kind == "veth"]
    finally:
        be.close()
    assert not left, (f"{impl}: {len(left)} veth(s) left in the root "
                      f"namespace after teardown, e.g. {left[0].name}")
    files = [p for p in paths if os.path.exists(p)]
    assert not files, f"{impl}: sandbox file(s) left, e.g. {files[0]}"


def check_wired(impl: str, n: int, paths: list[str], group: int) -> None:
    """Untimed spot check of a wiring (raises AssertionError): the root
    namespace has exactly ``n`` veths of ``group``, all up on ``br0``; the
    first, middle and last sandbox have lo and eth0 up, eth0's MAC and MTU,
    the address (and no other) and the default route; both ends of the
    first veth have one queue each way (read back by iproute2)."""
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
            _check_sandbox(be, impl, i, paths[i])
    finally:
        be.close()
    for cmd in (["ip", "-j", "-d", "link", "show", endpoint(0)[0]],
                ["nsenter", f"--net={paths[0]}", "ip", "-j", "-d",
                 "link", "show", "eth0"]):
        j = json.loads(subprocess.run(cmd, check=True, text=True,
                                      capture_output=True).stdout)[0]
        q = (j["num_tx_queues"], j["num_rx_queues"])
        assert q == (1, 1), f"{impl}: {j['ifname']}: queues {q}"


def _check_sandbox(be, impl: str, i: int, ns: str) -> None:
    """Sandbox ``i``: lo and eth0 up, eth0's MAC, MTU, only address and
    default route."""
    _, addr, mac = endpoint(i)
    ls = {l.name: l for l in be.links(ns)}
    assert set(ls) == {"lo", "eth0"}, f"{impl}: {ns}: links {set(ls)}"
    e = ls["eth0"]
    assert ls["lo"].up and e.up, f"{impl}: {ns}: lo/eth0 not up"
    assert e.mac == mac and e.mtu == 1500, \
        f"{impl}: {ns}: eth0 {e.mac} mtu {e.mtu}, want {mac} 1500"
    want = ipaddress.ip_interface(addr)
    have = [a.address for a in be.addresses(ns) if a.index == e.index]
    assert have == [want], f"{impl}: {ns}: eth0 has {have}, want {want}"
    gw = ipaddress.ip_address(GATEWAY)
    assert any(r.dst.prefixlen == 0 and r.gateway == gw
               and r.oif == e.index for r in be.routes(ns)), \
        f"{impl}: {ns}: no default route via {GATEWAY}"
