"""pytest-benchmark: the full attach path through the controller.

    python -m libnetwork.isolate -- python -m pytest bench/bench_attach.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

``attach-N``: ``controller.attach(network, N container ids)`` -- N
sandboxes (namespaces, sandbox files), N endpoints (IPAM, store) and N
joins (veth into the namespace, addresses, default route), one change.
``detach-N``: ``controller.detach`` of the same N.  Both backends.

Setup and teardown are destructive, so every round gets its own untimed
setup (``benchmark.pedantic``): the attach rounds start from an empty
network, the detach rounds from N attached containers.  Results are
checked after the rounds (untimed): the right number of namespaces,
endpoints and bridge ports, or none after detach.

Each test gets a fresh network namespace (made by util-linux) as the
controller's root, and a store and exec root in a temporary directory
under /run; all are removed afterwards.  Skips unless root inside
``python -m libnetwork.isolate``.  With ``LIBNETWORK_BENCH_SMOKE=1``:
N = 1 and 5, one round; ``LIBNETWORK_BENCH_N="100 500"`` chooses sizes.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import shutil

import pytest

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
NS = [1, 5] if SMOKE else [1, 100, 500]
if os.environ.get("LIBNETWORK_BENCH_N"):
    NS = [int(x) for x in os.environ["LIBNETWORK_BENCH_N"].split()]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiring.workload import (require_isolated,  # noqa: E402  (bench/wiring/)
                             scratch_root)

ROUNDS = 1 if SMOKE else 3
WARMUP = 0 if SMOKE else 1
BACKENDS = ["native", "pyroute2"]
POOL = "10.200.0.0/16"


_why = require_isolated()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(_why is not None, reason=_why or ""),
]

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def _drop(path: str) -> None:
    _libc.umount2(os.fsencode(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class World:
    """A controller on ``backend`` whose root is a fresh namespace, and
    one bridge network with room for every N."""

    def __init__(self, backend: str):
        import libnetwork
        from libnetwork import IpamConf
        if backend == "native":
            from libnetwork import _binding
            if not _binding.AVAILABLE:
                pytest.skip(f"native backend not built: "
                            f"{_binding.IMPORT_ERROR}")
        self.dir, self.root, resolv = scratch_root("bench-attach-")
        self.c = libnetwork.new(data_dir=os.path.join(self.dir, "data"),
                                exec_root=os.path.join(self.dir, "exec"),
                                backend=backend, root_namespace=self.root,
                                host_resolv_conf=resolv)
        self.net = self.c.new_network("bridge", "bench",
                                      ipv4=[IpamConf(POOL)])
        self.attached: list = []
        self.round = 0

    def ids(self, n: int) -> list:
        self.round += 1
        return [f"r{self.round}c{i}" for i in range(n)]

    def check(self, n: int) -> None:
        """Untimed: the kernel and the controller hold exactly n."""
        assert len(os.listdir(self.c.netns_dir)) == n
        assert len(self.net.endpoints()) == n
        assert len(self.c.sandboxes()) == n
        links = self.c.backend.links(None)
        br = next(l.index for l in links
                  if l.name == self.net.driver_state["bridge"])
        assert sum(1 for l in links if l.master == br) == n
        for ep in self.net.endpoints()[:3]:
            inside = {l.name for l in self.c.backend.links(ep.sandbox().key())}
            assert inside == {"lo", "eth0"}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.c.stop()
        for top, _, files in os.walk(self.dir, topdown=False):
            for f in files:
                _drop(os.path.join(top, f))
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def world(request):
    made = []

    def make(backend):
        w = World(backend)
        made.append(w)
        return w
    yield make
    for w in made:
        w.close()


def measure(benchmark, what, backend, n, setup, target):
    """``target(cids)`` timed over ROUNDS rounds, each after its own
    untimed ``setup()``; group ``what-n``.  Asserts that it ran."""
    benchmark.group = f"{what}-{n}"
    benchmark.extra_info.update(backend=backend, n=n)
    ran = []

    def timed(cids):
        target(cids)
        ran.append(cids)

    benchmark.pedantic(timed, setup=setup, rounds=ROUNDS, iterations=1,
                       warmup_rounds=WARMUP)
    assert ran, f"the {what} target never ran"


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_attach(benchmark, world, backend, n):
    w = world(backend)

    def setup():
        if w.attached:                       # the previous round's
            w.c.detach(w.attached)
            w.attached = []
        gc.collect()
        return (w.ids(n),), {}

    def target(cids):
        w.c.attach(w.net, cids)
        w.attached = cids

    measure(benchmark, "attach", backend, n, setup, target)
    w.check(n)
    w.c.detach(w.attached)
    w.check(0)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_detach(benchmark, world, backend, n):
    w = world(backend)

    def setup():
        cids = w.ids(n)
        w.c.attach(w.net, cids)
        gc.collect()
        return (cids,), {}

    measure(benchmark, "detach", backend, n, setup, w.c.detach)
    w.check(0)
