"""Kernel test helpers that do not go through libnetwork (see conftest.py).

Imported by conftest.py and the test modules (``from kernel_util import
...``): namespaces made by util-linux, sockets opened inside a namespace on
a throw-away thread, and :class:`Oracle`, an independent reader of kernel
state (it borrows only the ``ops.Link``/``Address``/``Route`` record
types, to compare with the backends' dumps).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import socket
import subprocess
import threading
import time

from libnetwork.backends import ops as O

RUN_DIR = "/run/libnetwork-tests"
NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000
MNT_DETACH = 2
BACKENDS = ("native", "pyroute2")

_libc = ctypes.CDLL(None, use_errno=True)


# ------------------------------------------------------------ namespaces

def make_netns(path: str) -> str:
    """A new network namespace bound at ``path`` (util-linux, not us)."""
    with open(path, "x"):
        pass
    try:
        subprocess.run(["unshare", f"--net={path}", "true"], check=True,
                       capture_output=True, timeout=10)
    except BaseException:
        os.unlink(path)
        raise
    return path


def drop_netns(path: str) -> None:
    """umount + unlink, whatever state the path is in."""
    _libc.umount2(os.fsencode(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def in_netns(path: str, fn, *args):
    """``fn(*args)`` on a fresh thread that entered the namespace at
    ``path``; the thread dies afterwards, so nothing else moves."""
    box: dict = {}

    def work():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {path}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    t = threading.Thread(target=work, name=f"netns:{path}")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def ns_socket(path: str, family: int, type_: int, proto: int = 0):
    """A socket that lives in the namespace at ``path``."""
    return in_netns(path, socket.socket, family, type_, proto)


def ns_inode(path: str) -> int:
    return os.stat(path).st_ino


def is_netns(path: str) -> bool:
    """``path`` is a bind mount of a network namespace (nsfs)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return st.st_dev == os.stat("/proc/self/ns/net").st_dev


# ---------------------------------------------------------------- oracle

def _mac(v) -> str:
    return (v or "").lower()


class Oracle:
    """Kernel state of one namespace, read without libnetwork."""

    def __init__(self, path: str):
        self.path = path

    @contextlib.contextmanager
    def ipr(self):
        from pyroute2 import IPRoute
        sock = ns_socket(self.path, socket.AF_NETLINK,
                         socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                         NETLINK_ROUTE)
        try:
            sock.bind((0, 0))
            with IPRoute(use_socket=sock) as ipr:
                yield ipr
        finally:
            sock.close()

    # ----------------------------------------------------------- links
    @staticmethod
    def _link(m) -> O.Link:
        info = m.get_attr("IFLA_LINKINFO")
        kind = (info.get_attr("IFLA_INFO_KIND") if info is not None
                else None) or ""
        nsid = m.get_attr("IFLA_LINK_NETNSID")
        return O.Link(
            index=m["index"], name=m.get_attr("IFLA_IFNAME"), kind=kind,
            mac=_mac(m.get_attr("IFLA_ADDRESS")),
            mtu=m.get_attr("IFLA_MTU"), flags=m["flags"],
            master=m.get_attr("IFLA_MASTER") or 0,
            group=m.get_attr("IFLA_GROUP") or 0,
            link=m.get_attr("IFLA_LINK") or 0,
            link_netnsid=-1 if nsid is None else nsid,
            alias=m.get_attr("IFLA_IFALIAS") or "")

    def links(self) -> dict:
        """name -> :class:`ops.Link`, as the backends must report it."""
        with self.ipr() as ipr:
            return {m.get_attr("IFLA_IFNAME"): self._link(m)
                    for m in ipr.get_links()}

    def link(self, name):
        return self.links().get(name)

    STATS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
             "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")

    def stats(self) -> dict:
        """name -> IFLA_STATS64 counters in the ``link_stats`` order."""
        with self.ipr() as ipr:
            out = {}
            for m in ipr.get_links():
                st = m.get_attr("IFLA_STATS64")
                out[m.get_attr("IFLA_IFNAME")] = tuple(
                    st[k] for k in self.STATS) if st else (0,) * 8
            return out

    # ------------------------------------------------------- addresses
    def raw_addresses(self, family=0) -> list:
        """[(Address, attrs dict)] with every attribute the kernel sent."""
        out = []
        with self.ipr() as ipr:
            for m in ipr.get_addr(family=family):
                if m["family"] not in (socket.AF_INET, socket.AF_INET6):
                    continue
                attrs = dict(m["attrs"])
                local = attrs.get("IFA_LOCAL") or attrs.get("IFA_ADDRESS")
                flags = attrs.get("IFA_FLAGS")
                a = O.Address(
                    index=m["index"],
                    address=ipaddress.ip_interface(
                        f"{local}/{m['prefixlen']}"),
                    scope=m["scope"],
                    flags=m["flags"] if flags is None else flags,
                    label=attrs.get("IFA_LABEL") or "")
                out.append((a, attrs))
        return out

    def addresses(self, family=0) -> list:
        return [a for a, _ in self.raw_addresses(family)]

    # ---------------------------------------------------------- routes
    def routes(self, family=0) -> list:
        """Every route of every table (both families when family=0)."""
        out = []
        with self.ipr() as ipr:
            for m in ipr.route("dump", family=family):
                fam = m["family"]
                if fam not in (socket.AF_INET, socket.AF_INET6):
                    continue
                attrs = dict(m["attrs"])
                dst = attrs.get("RTA_DST") or (
                    "0.0.0.0" if fam == socket.AF_INET else "::")
                gw = attrs.get("RTA_GATEWAY")
                out.append(O.Route(
                    dst=ipaddress.ip_network(f"{dst}/{m['dst_len']}"),
                    gateway=None if gw is None else ipaddress.ip_address(gw),
                    oif=attrs.get("RTA_OIF") or 0,
                    table=attrs.get("RTA_TABLE", m["table"]),
                    protocol=m["proto"], scope=m["scope"], type=m["type"],
                    priority=attrs.get("RTA_PRIORITY") or 0,
                    flags=m["flags"]))
        return out

    # ------------------------------------------------------------ ip -j
    def ip(self, *args):
        """``ip -j ARGS`` inside the namespace, decoded (iproute2: a
        decoder that shares no code with pyroute2 or the C core)."""
        res = subprocess.run(["nsenter", f"--net={self.path}", "ip", "-j",
                              *args], check=True, capture_output=True,
                             text=True, timeout=10)
        return json.loads(res.stdout or "[]")


def settled(fn, timeout=20.0):
    """``fn()`` once its assertions hold: the kernel destroys namespaces
    (and what was in them) in the background, so poll, bounded by
    ``timeout`` seconds (the last AssertionError is raised then)."""
    end = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)
