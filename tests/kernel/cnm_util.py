"""Helpers for the CNM tests (``test_cnm_*.py``): controllers in the test's
own namespace, snapshots of everything a change may touch, sockets in
sandboxes.

Import the fixtures into a test module with ``from cnm_util import *``
(pytest finds fixtures by name in the module's namespace).

Every controller made here has its own store (``<tmp_path>/data-N``), its
own exec root (under the test's ``nsdir`` in /run, so every namespace it
binds is detached at teardown) and the test's fresh namespace as its root
(bridges live there), so nothing leaks between tests.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import subprocess
import threading

import pytest

import libnetwork

from kernel_util import Oracle, drop_netns, in_netns, is_netns, ns_socket

__all__ = [
    "make_ctl", "ctl", "resolv_file", "snapshot", "assert_unchanged",
    "STORE_KINDS", "ns_links", "ns_addrs", "ns_routes", "default_routes",
    "udp_exchange", "tcp_exchange", "nsexec", "mac_of_ipv4", "eui64",
    "kernel_dump", "normalized_store", "Oracle", "drop_netns", "in_netns", "is_netns",
    "ns_socket", "IFF_UP",
]

IFF_UP = 0x1
STORE_KINDS = ("network", "endpoint", "sandbox", "ipam_pool", "ipam_meta")
HOST_RESOLV = ("# host resolv.conf written by the test\n"
               "nameserver 127.0.0.53\n"
               "nameserver 192.0.2.53\n"
               "search example.test\n"
               "options ndots:2\n")


# --------------------------------------------------------------- fixtures

@pytest.fixture
def resolv_file(tmp_path):
    """The host resolv.conf the controllers derive sandbox files from."""
    p = tmp_path / "host-resolv.conf"
    p.write_text(HOST_RESOLV)
    return str(p)


@pytest.fixture
def make_ctl(backend, netns, nsdir, tmp_path, resolv_file):
    """``make_ctl(**kw)``: a controller on the parametrized backend whose
    root is the test's namespace.  ``data_dir``/``exec_root`` default to
    the same per-test directories on every call (a second call is a
    restart); pass others to get an independent controller.  Every
    controller made is stopped at teardown."""
    made = []
    defaults = dict(data_dir=str(tmp_path / "data"),
                    exec_root=os.path.join(nsdir, "exec"),
                    backend=backend.name, root_namespace=netns,
                    host_resolv_conf=resolv_file)

    def make(*options, **kw):
        args = dict(defaults)
        args.update(kw)
        c = libnetwork.new(*options, **args)
        made.append(c)
        return c

    yield make
    for c in made:
        with contextlib.suppress(Exception):
            c.stop()


@pytest.fixture
def ctl(make_ctl):
    """One controller (see :func:`make_ctl`)."""
    return make_ctl()


# --------------------------------------------------------------- kernel

def ns_links(path) -> dict:
    """name -> ops.Link of the namespace at ``path`` (the oracle)."""
    return Oracle(path).links()


def ns_addrs(path, family=0) -> set:
    """{(ifname, IPvXInterface)} of the namespace, link-local excluded."""
    links = {l.index: l.name for l in ns_links(path).values()}
    out = set()
    for a in Oracle(path).addresses(family):
        if a.address.ip.is_link_local:
            continue
        out.add((links.get(a.index), a.address))
    return out


def ns_routes(path, family=0, table=254) -> list:
    return [r for r in Oracle(path).routes(family) if r.table == table]


def default_routes(path, family=socket.AF_INET) -> list:
    """[(gateway, oif name)] of the main table's default routes."""
    names = {l.index: l.name for l in ns_links(path).values()}
    return sorted((str(r.gateway), names.get(r.oif))
                  for r in ns_routes(path, family)
                  if r.dst.prefixlen == 0)


def kernel_dump(path) -> dict:
    """Everything of one namespace that a join shapes, by link name.
    Host veth ends (named after random endpoint ids, with random MACs) are
    kept as ``veth*`` entries with their bridge, MTU and state; ifindexes
    are left out: they differ between two namespaces holding the same
    thing."""
    links = ns_links(path)
    idx = {l.index: l.name for l in links.values()}

    def entry(l):
        veth = l.name.startswith("veth")
        return ("veth*" if veth else l.name, l.kind,
                "" if veth or l.kind == "bridge" else l.mac,
                l.mtu, bool(l.flags & IFF_UP),
                idx.get(l.master) if l.master else None)
    return dict(
        links=sorted(entry(l) for l in links.values()),
        addrs=sorted((n, str(a)) for n, a in ns_addrs(path)),
        routes=sorted((str(r.dst), str(r.gateway), _veth(idx.get(r.oif)))
                      for r in ns_routes(path)
                      if not r.dst.is_link_local),
    )


def _veth(name):
    return "veth*" if name and name.startswith("veth") else name


def normalized_store(c) -> dict:
    """The store's records with every random part replaced by what it
    names: ids by names, paths by placeholders; creation times and IPAM
    tokens dropped.  Two controllers that did the same things in a
    different way (batch or one by one) must give the same result."""
    names = {}
    for nw in c.networks():
        names[nw.id()] = f"<net:{nw.name()}>"
        for ep in nw.endpoints():
            names[ep.id()] = f"<ep:{nw.name()}/{ep.name()}>"
    for sb in c.sandboxes():
        names[sb.id()] = f"<sb:{sb.container_id()}>"
    subs = [(c.config.exec_root, "<exec>"), (c.identity, "<identity>"),
            (c.identity[:16], "<identity16>"),
            (c.identity[:8], "<identity8>")]
    if c.config.data_dir:
        subs.append((str(c.config.data_dir), "<data>"))
    for i, n in names.items():
        subs += [(i, n), (i[:12], n), (i[:11], n)]

    def norm(v):
        if isinstance(v, dict):
            return {norm(k): norm(x) for k, x in v.items()
                    if k not in ("created", "token")}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        if isinstance(v, str):
            for a, b in subs:
                v = v.replace(a, b)
            return v
        return v

    out = {}
    for kind in STORE_KINDS:
        out[kind] = sorted(((norm(k), norm(v))
                            for k, v in c.store.list(kind)), key=repr)
    dump = c.ipam.dump()
    out["ipam"] = norm(dump)
    return out


def mac_of_ipv4(ip) -> str:
    return "02:42:" + ":".join(
        f"{b:02x}" for b in ipaddress.IPv4Address(str(ip)).packed)


def eui64(prefix, mac) -> ipaddress.IPv6Address:
    """Modified EUI-64 address of ``mac`` in the /64 ``prefix`` (written
    from RFC 4291 appendix A, independently of the driver)."""
    b = [int(x, 16) for x in mac.split(":")]
    iid = [b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]]
    net = ipaddress.IPv6Network(prefix)
    return ipaddress.IPv6Address(
        int(net.network_address) | int.from_bytes(bytes(iid), "big"))


def nsexec(path, *argv, timeout=10):
    """Run ``argv`` inside the namespace with nsenter; CompletedProcess."""
    return subprocess.run(["nsenter", f"--net={path}", *argv],
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------ snapshots

def _routes(backend, ns, idx=None) -> list:
    if idx is None:
        idx = {l.index: l.name for l in backend.links(ns)}
    return sorted((str(r.dst), str(r.gateway), idx.get(r.oif), r.table)
                  for r in backend.routes(ns)
                  if r.table == 254 and not (r.dst.version == 6
                                             and r.dst.is_link_local))


def _link(l, idx) -> tuple:
    """A link as a snapshot keeps it: name, kind, MTU, up, master, group;
    the MAC too, except a bridge's (the kernel takes its lowest port's,
    which a veth that came and went may leave changed)."""
    return (l.name, l.kind, "" if l.kind == "bridge" else l.mac, l.mtu,
            bool(l.flags & IFF_UP), idx.get(l.master) if l.master else None,
            l.group)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        return f"<{type(exc).__name__}>"


def _files(c) -> dict:
    """The exec root's top level, every file and directory of the
    sandboxes' files directory with its content, and each sandbox's hosts
    and resolv.conf wherever they are."""
    out = {"<exec>/": sorted(os.listdir(c.config.exec_root))}
    for top, dirs, files in os.walk(c.files_dir):
        rel = os.path.relpath(top, c.files_dir)
        out[f"{rel}/"] = sorted(dirs)
        for f in files:
            out[os.path.join(rel, f)] = _read(os.path.join(top, f))
    for sb in c.sandboxes():
        for p in (sb.hosts_path, sb.resolv_conf_path):
            if p:
                out[p] = _read(p)
    return out


def snapshot(c, backend) -> dict:
    """Everything a failed call must leave as it was: root links (name,
    kind, MTU, MAC, state, master, group), addresses and routes, the exec
    root's namespaces and their links, addresses and routes, the sandbox
    files, the store (every kind, with blobs), the controller's objects
    (lists and every field they record) and the IPAM state."""
    root_links = backend.links(None)
    idx = {l.index: l.name for l in root_links}
    snap = dict(
        root_links=sorted(_link(l, idx) for l in root_links),
        root_addrs=sorted((idx.get(a.index), str(a.address))
                          for a in backend.addresses(None)
                          if not a.address.ip.is_link_local),
        root_routes=_routes(backend, None, idx),
        netns=sorted(os.listdir(c.netns_dir)),
        files=_files(c),
        store={k: c.store.list(k) for k in STORE_KINDS},
        blobs={k: {key: c.store.get_blob(k, key) for key, _ in
                   c.store.list(k)} for k in ("ipam_pool",)},
        networks=sorted((n.id(), n.name()) for n in c.networks()),
        sandboxes=sorted((s.id(), s.container_id(), tuple(
            e.id() for e in s.endpoints())) for s in c.sandboxes()),
        endpoints=sorted((e.id(), e.name(), str(e.info().iface().address())
                          if e.info().iface() else None,
                          None if e.sandbox() is None else e.sandbox().id())
                         for n in c.networks() for e in n.endpoints()),
        objects=sorted(repr(o.to_json()) for o in
                       c.networks() + c.sandboxes()
                       + [e for n in c.networks() for e in n.endpoints()]),
        ipam=c.ipam.dump(),
    )
    ns = {}
    for name in snap["netns"]:
        p = os.path.join(c.netns_dir, name)
        if is_netns(p):
            links = backend.links(p)
            nidx = {l.index: l.name for l in links}
            ns[name] = (sorted(_link(l, nidx) for l in links),
                        sorted(str(a.address) for a in backend.addresses(p)
                               if not a.address.ip.is_link_local),
                        _routes(backend, p, nidx))
    snap["ns_contents"] = ns
    return snap


def assert_unchanged(before, c, backend):
    after = snapshot(c, backend)
    for k in before:
        assert after[k] == before[k], (
            f"{k} changed:\n  before: {before[k]!r}\n  after:  {after[k]!r}")


# -------------------------------------------------------------- traffic

def udp_exchange(src_ns, dst_ns, dst_ip, payload=b"ping", timeout=5.0,
                 bind=None):
    """Send one UDP datagram from a socket in ``src_ns`` to a socket bound
    on ``dst_ip`` in ``dst_ns``; reply; returns (received payload, the
    sender's address as the receiver saw it, the reply).  ``bind``: the
    address the receiver binds (default ``dst_ip``)."""
    fam = socket.AF_INET6 if ":" in str(dst_ip) else socket.AF_INET
    srv = ns_socket(dst_ns, fam, socket.SOCK_DGRAM)
    cli = ns_socket(src_ns, fam, socket.SOCK_DGRAM)
    try:
        srv.settimeout(timeout)
        cli.settimeout(timeout)
        srv.bind((str(dst_ip if bind is None else bind), 0))
        port = srv.getsockname()[1]
        cli.sendto(payload, (str(dst_ip), port))
        data, peer = srv.recvfrom(4096)
        srv.sendto(data[::-1], peer)
        reply, _ = cli.recvfrom(4096)
        return data, peer[0], reply
    finally:
        srv.close()
        cli.close()


def tcp_exchange(src_ns, dst_ns, dst_ip, payload=b"hello over tcp",
                 timeout=5.0):
    """Connect from ``src_ns`` to a listener on ``dst_ip`` in ``dst_ns``,
    send ``payload``, get it back upper-cased; returns (echoed, peer ip)."""
    fam = socket.AF_INET6 if ":" in str(dst_ip) else socket.AF_INET
    srv = ns_socket(dst_ns, fam, socket.SOCK_STREAM)
    cli = ns_socket(src_ns, fam, socket.SOCK_STREAM)
    box = {}
    try:
        srv.settimeout(timeout)
        cli.settimeout(timeout)
        srv.bind((str(dst_ip), 0))
        srv.listen(1)
        port = srv.getsockname()[1]

        def serve():
            try:
                conn, peer = srv.accept()
                with conn:
                    conn.settimeout(timeout)
                    data = b""
                    while len(data) < len(payload):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(data.upper())
                    box["peer"] = peer[0]
            except BaseException as exc:  # reported below
                box["error"] = exc

        t = threading.Thread(target=serve)
        t.start()
        cli.connect((str(dst_ip), port))
        cli.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = cli.recv(4096)
            if not chunk:
                break
            got += chunk
        t.join(timeout + 1)
        if "error" in box:
            raise box["error"]
        return got, box.get("peer")
    finally:
        srv.close()
        cli.close()
