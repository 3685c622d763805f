"""Helpers for the firewall tests (``test_firewall_*.py``): a client host
linked to the controller's namespace, servers in sandboxes, clients that
call a host address and port, and a reader of the controller's nftables
table through ``nft -j`` (a decoder that shares no code with libnetwork).

The controller's namespace (the ``netns`` fixture) plays the host.  The
``client`` fixture makes a second namespace, the client host, linked to it
by a veth made with iproute2::

    netns (host)  uplink 10.99.0.1/24 fd99::1/64
                     |
    client        eth0   10.99.0.2/24 fd99::2/64

Import everything into a test module with ``from firewall_util import *``
(the fixtures included).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading

import pytest

from libnetwork import IpamConf, netlabel

from cnm_util import *  # noqa: F401,F403
from cnm_util import __all__ as _cnm_all
from cnm_util import nsexec
from kernel_util import ns_socket

try:
    from libnetwork.types import PortBinding, TransportPort
except ImportError as _exc:  # the firewall is not there yet: fail per test
    _why = f"libnetwork.types: {_exc}"

    def PortBinding(*a, **kw):  # noqa: N802
        raise ImportError(_why)

    TransportPort = PortBinding

__all__ = list(_cnm_all) + [
    "PortBinding", "TransportPort", "table_of",
    "client", "HOST4", "CLIENT4", "HOST6", "CLIENT6", "UPLINK",
    "ip", "bridge", "Listener", "call", "answers", "silent", "host_ports",
    "published", "sctp_available", "nft", "nft_json", "our_tables",
    "our_table", "table_dump", "rule_count", "port_elements",
    "elements_for_port", "delete_elements", "read_sysctl", "outbound",
]

HOST4, CLIENT4 = "10.99.0.1", "10.99.0.2"
HOST6, CLIENT6 = "fd99::1", "fd99::2"
UPLINK = "uplink"

#: hang protection for calls that must succeed; calls that must not
#: succeed use SHORT (a late answer would still be an answer)
LONG, SHORT = 10.0, 1.0


# ---------------------------------------------------------------- topology

def ip(ns, *args):
    """``ip ARGS`` inside ``ns``; fails the test on error."""
    r = nsexec(ns, "ip", *args)
    assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"
    return r.stdout


@pytest.fixture
def client(netns, make_ns):
    """The client host's namespace, linked to the controller's (see the
    module docstring); lo is up in both."""
    cli = make_ns("client")
    ip(netns, "link", "add", UPLINK, "type", "veth", "peer", "name", "eth0",
       "netns", cli)
    for ns, dev, a4, a6 in ((netns, UPLINK, HOST4, HOST6),
                            (cli, "eth0", CLIENT4, CLIENT6)):
        ip(ns, "addr", "add", f"{a4}/24", "dev", dev)
        ip(ns, "addr", "add", f"{a6}/64", "dev", dev, "nodad")
        ip(ns, "link", "set", dev, "up")
        ip(ns, "link", "set", "lo", "up")
    return cli


def bridge(c, name, subnet, generic=None, subnet6=None, **kw):
    """A bridge network on ``subnet`` (and ``subnet6``: IPv6 enabled)."""
    if subnet6:
        kw.update(enable_ipv6=True, ipv6=[IpamConf(subnet6)])
    return c.new_network("bridge", name, generic=dict(generic or {}),
                         ipv4=[IpamConf(subnet)], **kw)


def read_sysctl(ns, path):
    """The value of ``/proc/sys/<path>`` as seen inside ``ns``."""
    r = nsexec(ns, "cat", f"/proc/sys/{path}")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def sctp_available() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                      socket.IPPROTO_SCTP).close()
    except OSError:
        return False
    return True


# ----------------------------------------------------------------- traffic

_TYPES = {"tcp": (socket.SOCK_STREAM, 0),
          "udp": (socket.SOCK_DGRAM, 0),
          "sctp": (socket.SOCK_STREAM, socket.IPPROTO_SCTP)}


def _family(addr) -> int:
    return socket.AF_INET6 if ":" in str(addr) else socket.AF_INET


def _strip(peer: str) -> str:
    return peer[7:] if peer.startswith("::ffff:") else peer


class Listener:
    """A server in namespace ``ns`` on ``port`` of every address (IPv4, or
    IPv6 and IPv4 with ``v6=True``), answering each request with
    ``TAG:request``; ``peers`` lists the source address of every request
    it saw, in order.  A context manager; serves on a thread."""

    def __init__(self, ns, proto, port, tag, v6=False):
        self.tag, self.proto, self.peers = tag.encode(), proto, []
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        type_, p = _TYPES[proto]
        self.sock = ns_socket(ns, fam, type_, p)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if v6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(("::" if v6 else "0.0.0.0", port))
        self.port = self.sock.getsockname()[1]
        if type_ == socket.SOCK_STREAM:
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                if self.proto == "udp":
                    data, peer = self.sock.recvfrom(65535)
                    self.peers.append(_strip(peer[0]))
                    self.sock.sendto(self.tag + b":" + data, peer)
                    continue
                conn, peer = self.sock.accept()
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            self.peers.append(_strip(peer[0]))
            with conn:
                try:
                    conn.settimeout(LONG)
                    data = _read_all(conn)
                    conn.sendall(self.tag + b":" + data)
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self._thread.join(LONG)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_all(s) -> bytes:
    out = b""
    while True:
        chunk = s.recv(65535)
        if not chunk:
            return out
        out += chunk


def call(ns, proto, addr, port, payload=b"hello", timeout=LONG) -> bytes:
    """Send ``payload`` from a fresh socket in ``ns`` to ``addr:port`` and
    return the answer; OSError (a timeout included) when none comes."""
    type_, p = _TYPES[proto]
    s = ns_socket(ns, _family(addr), type_, p)
    try:
        s.settimeout(timeout)
        s.connect((str(addr), port))
        if proto == "udp":
            s.send(payload)
            return s.recv(65535)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return _read_all(s)
    finally:
        s.close()


def answers(ns, proto, addr, port, listener, payload=b"hello") -> str:
    """Assert ``listener`` answers a call from ``ns`` to ``addr:port``;
    returns the source address the listener saw."""
    seen = len(listener.peers)
    got = call(ns, proto, addr, port, payload)
    assert got == listener.tag + b":" + payload, (
        f"{proto} {addr}:{port} answered {got!r}, expected "
        f"{listener.tag!r}")
    assert len(listener.peers) > seen
    return listener.peers[-1]


def silent(ns, proto, addr, port, *listeners, timeout=SHORT):
    """Assert a call from ``ns`` to ``addr:port`` reaches none of
    ``listeners``: no answer, or one from someone else."""
    seen = [len(li.peers) for li in listeners]
    try:
        got = call(ns, proto, addr, port, b"nobody", timeout=timeout)
    except OSError:
        got = None
    for li, n in zip(listeners, seen):
        assert got != li.tag + b":nobody", (
            f"{proto} {addr}:{port} reached {li.tag!r}")
        assert len(li.peers) == n, f"{li.tag!r} saw {li.peers[n:]}"
    return got


def outbound(src_ns, dst_ns, proto, addr, tag="server"):
    """A call from ``src_ns`` to a fresh listener in ``dst_ns`` on
    ``addr``; returns the source address the listener saw."""
    with Listener(dst_ns, proto, 0, tag, v6=":" in addr) as li:
        return answers(src_ns, proto, addr, li.port, li)


def host_ports(ep) -> list:
    """The endpoint's applied bindings (driver_info PORT_MAP)."""
    return list(ep.driver_info().get(netlabel.PORT_MAP, []))


def published(ep, proto, port):
    """The host port the endpoint's ``proto``/``port`` binding got."""
    got = {b.host_port for b in host_ports(ep)
           if b.proto == proto and b.port == port}
    assert len(got) == 1, host_ports(ep)
    return got.pop()


# ------------------------------------------------------------------ nft

def nft(ns, *args, stdin=None):
    """``nft ARGS`` inside ``ns`` (reads only, or changes to tables that
    are not the controller's, or a test's deliberate damage)."""
    r = subprocess.run(["nsenter", f"--net={ns}", "nft", *args],
                       input=stdin, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"nft {' '.join(args)}: {r.stderr}"
    return r.stdout


def nft_json(ns, *args) -> list:
    """``nft -j ARGS`` decoded: the list of objects, metainfo dropped."""
    out = json.loads(nft(ns, "-j", *args) or '{"nftables": []}')
    return [o for o in out["nftables"] if "metainfo" not in o]


def our_tables(ns) -> list:
    return sorted(o["table"]["name"] for o in nft_json(ns, "list", "tables")
                  if o["table"]["name"].startswith("libnetwork_"))


def our_table(ns) -> str:
    """The controller's table (inet family, exactly one)."""
    tables = [o["table"] for o in nft_json(ns, "list", "tables")
              if o["table"]["name"].startswith("libnetwork_")]
    assert len(tables) == 1, tables
    assert tables[0]["family"] == "inet", tables
    return tables[0]["name"]


def table_of(c) -> str:
    """The name the controller ``c``'s table must have."""
    return "libnetwork_" + c.identity[:16]


def _nohandles(v):
    """Handles dropped, counters' values too (traffic moves them)."""
    if isinstance(v, dict):
        return {k: "<counted>" if k == "counter" and isinstance(x, dict)
                else _nohandles(x) for k, x in v.items() if k != "handle"}
    if isinstance(v, list):
        return [_nohandles(x) for x in v]
    return v


def table_dump(ns, table=None) -> list:
    """The whole ruleset (or one table of it) without handles or counter
    values, elements sorted: what two equal states print alike."""
    objs = nft_json(ns, "list", "ruleset")
    out = []
    for o in _nohandles(objs):
        (kind, body), = o.items()
        if table is not None and body.get("table", body.get("name")) \
                != table:
            continue
        if "elem" in body:
            body["elem"] = sorted(body["elem"], key=json.dumps)
        out.append(o)
    return out


def rule_count(ns, table) -> int:
    return sum(1 for o in nft_json(ns, "list", "table", "inet", table)
               if "rule" in o)


def _flat(v):
    """A JSON element key or value as a tuple of plain strings."""
    if isinstance(v, dict):
        if "concat" in v:
            return tuple(x for part in v["concat"] for x in _flat(part))
        if "prefix" in v:
            return (f"{v['prefix']['addr']}/{v['prefix']['len']}",)
        if "range" in v:
            return ("-".join(str(x) for x in v["range"]),)
        if "elem" in v:
            return _flat(v["elem"]["val"] if isinstance(v["elem"], dict)
                         else v["elem"])
        if "val" in v:
            return _flat(v["val"])
    return (str(v),)


def _types(body) -> list:
    t = body.get("type", [])
    return t if isinstance(t, list) else [t]


def port_elements(ns, table) -> set:
    """Every element of the table's maps keyed by a port (inet_service):
    {(map, key tuple, value tuple)}; the host port is the key's last
    field."""
    out = set()
    for o in nft_json(ns, "list", "table", "inet", table):
        body = o.get("map")
        if body is None or "inet_service" not in _types(body):
            continue
        for e in body.get("elem", []):
            if isinstance(e, dict) and "elem" in e:
                e = e["elem"]["val"] if isinstance(e["elem"], dict) \
                    else e["elem"]
            key, val = e
            out.add((body["name"], _flat(key), _flat(val)))
    return out


def elements_for_port(ns, table, port, proto="tcp") -> set:
    return {e for e in port_elements(ns, table)
            if e[1][-1] == str(port) and proto in e[1]}


def delete_elements(ns, table, elems):
    """Delete elements (as :func:`port_elements` gives them) with nft,
    behind the controller's back."""
    raw = {}
    for o in nft_json(ns, "list", "table", "inet", table):
        body = o.get("map")
        if body is None:
            continue
        for e in body.get("elem", []):
            raw[(body["name"], _flat(e[0]), _flat(e[1]))] = e[0]
    cmds = [{"delete": {"element": {"family": "inet", "table": table,
                                    "name": m, "elem": [raw[(m, k, v)]]}}}
            for m, k, v in elems]
    nft(ns, "-j", "-f", "-", stdin=json.dumps({"nftables": cmds}))
