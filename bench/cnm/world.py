"""A controller on one backend whose root is a fresh network namespace
(made by util-linux, as ``bench_attach.py`` does), with ``networks``
bridge networks of one /16 pool each; its store and exec root live in a
temporary directory under /run, removed by :meth:`World.close`."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import shutil
import time

from wiring.peer import Unavailable
from wiring.peer_backend import open_backend
from wiring.workload import require_isolated, scratch_root

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def rss_kib() -> int:
    """This process's resident set (``VmRSS``), KiB, after a collection."""
    gc.collect()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _drop(path: str) -> None:
    _libc.umount2(os.fsencode(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def not_available(exc: BaseException) -> bool:
    """True when ``exc`` is the library refusing an option it lacks
    (TypeError for a keyword, InvalidParameter for a controller option)."""
    from libnetwork.errors import InvalidParameter
    return isinstance(exc, (TypeError, InvalidParameter))


class World:
    """``opts``: extra ``libnetwork.new()`` keywords (``warm_pool=N``);
    Unavailable("not available: ...") when the library refuses them."""

    def __init__(self, backend: str, networks: int = 1, **opts):
        why = require_isolated()
        if why:
            raise Unavailable(why)
        open_backend(backend).close()       # Unavailable if not built
        import libnetwork
        from libnetwork import IpamConf
        self.backend_name = backend
        self.dir, self.root, resolv = scratch_root("bench-cnm-")
        try:
            self.kw = dict(data_dir=os.path.join(self.dir, "data"),
                           exec_root=os.path.join(self.dir, "exec"),
                           backend=backend, root_namespace=self.root,
                           host_resolv_conf=resolv)
            try:
                self.c = libnetwork.new(**self.kw, **opts)
            except Exception as exc:
                if opts and not_available(exc):
                    raise Unavailable(f"not available: {exc}") from None
                raise
            self.names = [f"bench{k}" for k in range(networks)]
            self.nets = [self.c.new_network(
                "bridge", name, ipv4=[IpamConf(f"10.{200 + k}.0.0/16")])
                for k, name in enumerate(self.names)]
        except BaseException:
            self._remove()
            raise
        self.attached: list = []
        self.round = 0
        self.stopped = False

    def ids(self, n: int) -> list:
        self.round += 1
        return [f"r{self.round}c{i}" for i in range(n)]

    def attach(self, cids: list, net: int = 0) -> None:
        self.c.attach(self.nets[net], cids)
        self.attached += cids

    def detach(self, cids: list, **kw) -> None:
        self.c.detach(cids, **kw)
        gone = set(cids)
        self.attached = [c for c in self.attached if c not in gone]

    def check(self, n: int) -> None:
        """Untimed: ``n`` sandboxes, endpoints and namespaces."""
        assert len(self.c.sandboxes()) == n, \
            f"{len(self.c.sandboxes())} sandboxes, want {n}"
        eps = sum(len(nw.endpoints()) for nw in self.nets)
        assert eps == n, f"{eps} endpoints, want {n}"
        bound = set(os.listdir(self.c.netns_dir))
        keys = {os.path.basename(sb.key()) for sb in self.c.sandboxes()}
        assert keys <= bound, f"{len(keys - bound)} namespaces missing"
        if getattr(self.c, "pool", None) is None:   # else: pooled ones too
            assert len(bound) == n, f"{len(bound)} namespaces, want {n}"

    def stop(self) -> float:
        """``stop()`` (which waits for a reaper where there is one);
        seconds it took."""
        t0 = time.perf_counter()
        self.c.stop()
        self.stopped = True
        return time.perf_counter() - t0

    def restore(self) -> float:
        """Stop, then time ``libnetwork.new()`` on the same store with the
        kernel objects present; the networks are looked up again."""
        import libnetwork
        if not self.stopped:
            self.stop()
        t0 = time.perf_counter()
        self.c = libnetwork.new(**self.kw)
        t = time.perf_counter() - t0
        self.stopped = False
        self.nets = [self.c.network_by_name(n) for n in self.names]
        return t

    def close(self) -> None:
        if not self.stopped:
            with contextlib.suppress(Exception):
                if self.attached:
                    self.c.detach(self.attached)
            with contextlib.suppress(Exception):
                self.c.stop()
        self._remove()

    def _remove(self) -> None:
        for top, _, files in os.walk(self.dir, topdown=False):
            for f in files:
                _drop(os.path.join(top, f))
        shutil.rmtree(self.dir, ignore_errors=True)
