"""Soak: bounded rounds of attach/detach (and of every single-object path)
on one controller; afterwards the kernel, the process and the controller
hold exactly what they held after the warm-up.

One round (:func:`one_round`): ``attach`` 20 containers, ``detach`` them;
one endpoint created, joined to a new sandbox, left, both deleted; a
network of its own (an automatic pool, a bridge named after its id) with a
batch of endpoints made and deleted, then deleted.  :func:`failing_round`
makes calls that fail after doing part of their work, which must be
undone.  Names are new in every round, so a table keyed by name that never
forgets grows.

What is compared (:func:`census`) after ``WARMUP`` rounds and after all the
rounds, and how strictly:

* exact: the root namespace's links and addresses (``ip -j addr`` through
  nsenter: no code under test, no state in this process); the namespaces
  bound in the controller's netns directory and the sandbox file
  directories; this process's descriptors (``/proc/self/fd``), mounts
  (``/proc/self/mountinfo``: one per bound namespace) and threads
  (``/proc/self/task``: the C core's helper threads included); the live
  objects of every libnetwork class (``gc``); the length of every
  container attribute of the controller, the network, the backend, IPAM
  and the store, and of the per-path file locks; the store's keys of every
  kind; the IPAM state, bitmaps included;
* bounded, over ``ROUNDS`` rounds: the resident set size,
  :data:`RSS_SLACK`, and the bytes malloc has handed out and not got back
  (glibc's ``mallinfo2``: the C core's, sqlite's, CPython's big blocks),
  :data:`HEAP_SLACK` (neither under AddressSanitizer); then, over
  ``PY_ROUNDS`` more rounds under ``tracemalloc`` (whose own memory would
  blur the others), the Python memory still allocated, :data:`PY_SLACK`.
  A phase that goes over runs again and the second one is judged: what
  grows once (a table shared by the process crossing a size after earlier
  tests filled it) is no leak; a leak grows again.

:func:`test_census_sees_leaks` holds the census to its word: rounds with a
leak of each kind injected must fail the check that watches it.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from typing import NamedTuple

import pytest

from libnetwork import IpamConf, errors, netlabel
from libnetwork.backends import validate
from libnetwork.backends.pyroute2 import encode
from libnetwork.sandbox_files import fileio

from cnm_util import *  # noqa: F401,F403
from cnm_util import STORE_KINDS, drop_netns, nsexec

POOL = "10.131.0.0/24"
BRIDGE = "brsoak"
BATCH = 20
WARMUP = 3
ROUNDS = 30          # 10 under AddressSanitizer (no RSS check; slower)
PY_ROUNDS = 25

#: Resident set size that may be gained over ``ROUNDS`` rounds, in bytes.
#: RSS is not exact even without a leak: pymalloc returns a 1 MiB arena
#: only once every object in it is free, so objects that outlive a round
#: (records, cache entries) pin arenas, and glibc keeps freed chunks and
#: the stacks of finished threads (the namespace helpers).  Measured over
#: 30 rounds: 0 to 2.3 MiB in a fresh process, levelling off (pymalloc
#: arenas: a second controller in the same process gains < 20 KiB).  It
#: is the coarse net: a leak first fills memory freed earlier (some MiB:
#: the census lists every object) before RSS shows it.  The fine nets are
#: :data:`HEAP_SLACK`, :data:`PY_SLACK` and the exact counts.
RSS_SLACK = 4 << 20

#: Bytes in use from malloc that may be gained over ``ROUNDS`` rounds:
#: ``mallinfo2().uordblks + hblkhd`` counts live allocations, not pages, so
#: fragmentation does not blur it (pymalloc's arenas are mmapped apart and
#: not counted).  What legitimately grows: sqlite's page cache as the file
#: takes free pages, CPython's big dict and list tables.  Measured: up to
#: 42 KiB.  A leak of 400 bytes per sandbox exceeds it.
HEAP_SLACK = 256 << 10

#: Python memory that may stay allocated after ``PY_ROUNDS`` rounds, in
#: bytes.  Not zero: sqlite3 keeps a weak reference to each cursor and
#: prunes them every 200 cursors (a saw-tooth of about 20 KiB), and tables
#: are sized for a round's peak.  Measured: -18 to +23 KiB, not growing.
#: A leak of 1.6 KiB a round (two small strings per sandbox) exceeds it;
#: a libnetwork object kept is caught exactly by the object census anyway.
PY_SLACK = 40 << 10

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _asan() -> bool:
    """Under AddressSanitizer (``.ci/dev asan`` preloads its runtime) freed
    memory sits in a quarantine of up to 256 MiB: RSS says nothing."""
    return "libasan" in os.environ.get("LD_PRELOAD", "")


# ------------------------------------------------------------ the rounds

def one_round(c, nw, k: int) -> None:
    """Everything a round does; every call checks its own result."""
    cids = [f"r{k}-c{i}" for i in range(BATCH)]
    eps = c.attach(nw, cids, hostname="soak")
    assert len({str(ep.info().iface().address()) for ep in eps}) == BATCH
    assert len({ep.sandbox().key() for ep in eps}) == BATCH
    c.detach(cids)
    assert nw.endpoints() == [] and c.sandboxes() == []
    # one at a time
    ep = nw.create_endpoint(f"r{k}-one")
    sb = c.new_sandbox(f"r{k}-one", hostname="one")
    ep.join(sb)
    assert ep.sandbox() is sb
    ep.leave(sb)
    sb.delete()
    ep.delete()
    # a network of its own: automatic pool, bridge br-<id12>
    n2 = c.new_network("bridge", f"r{k}-net")
    for e in n2.create_endpoints([f"r{k}-e{i}" for i in range(3)]):
        e.delete()
    n2.delete()


def failing_round(c, nw, k: int) -> None:
    """Calls that fail and roll back: namespaces and veths made, then the
    hostname refused; sandbox files written, then a DNS server refused; the
    second endpoint of a batch asking for the first one's address."""
    with pytest.raises(errors.InvalidParameter):
        c.attach(nw, [f"r{k}-a0", f"r{k}-a1"], hostname="bad host")
    with pytest.raises(errors.InvalidParameter):
        c.new_sandboxes([f"r{k}-s0", f"r{k}-s1"], dns=["nope"])
    with pytest.raises(errors.AlreadyAllocated):
        nw.create_endpoints([f"r{k}-x0", f"r{k}-x1"], ipv4="10.131.0.200")
    assert c.sandboxes() == [] and nw.endpoints() == []


# ---------------------------------------------------------------- census

def _root_state(root) -> list:
    """Links (with master) and addresses of the root namespace, by
    ``ip -j``: no code under test, nothing kept in this process."""
    r = nsexec(root, "ip", "-j", "addr", "show")
    assert r.returncode == 0, r.stderr
    out = []
    for link in json.loads(r.stdout or "[]"):
        addrs = sorted(f"{a['local']}/{a['prefixlen']}"
                       for a in link.get("addr_info", ())
                       if a.get("scope") != "link")
        out.append((link["ifname"], link.get("master"), tuple(addrs)))
    return sorted(out)


def tables(c, nw) -> dict:
    """The length of every container the controller and its parts keep."""
    out: dict = {}
    for label, obj in (("controller", c), ("network", nw),
                       ("backend", c.backend), ("ipam", c.ipam),
                       ("ipam.subnets", c.ipam._subnets),
                       ("store", c.store)):
        for name, v in vars(obj).items():
            if isinstance(v, (dict, list, set, collections.deque)):
                out[f"{label}.{name}"] = len(v)
    out["fileio._locks"] = len(fileio._locks)
    return out


def live_objects() -> collections.Counter:
    """Live instances of every libnetwork class, by class name."""
    gc.collect()
    by_type = collections.Counter(map(type, gc.get_objects()))
    return collections.Counter({
        f"{t.__module__}.{t.__qualname__}": n for t, n in by_type.items()
        if t.__module__.startswith("libnetwork")})


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _tasks() -> int:
    """Threads of the process.  A helper thread that was joined may still
    be listed for a moment (joining waits for its exit, not its removal):
    the fewest of a few readings."""
    n = len(os.listdir("/proc/self/task"))
    for _ in range(4):
        time.sleep(0.01)
        n = min(n, len(os.listdir("/proc/self/task")))
    return n


def census(c, nw) -> dict:
    """Everything compared exactly (see the module's docstring); the
    process counts are read first, before anything here opens a file."""
    gc.collect()
    fds = len(os.listdir("/proc/self/fd"))
    with open("/proc/self/mountinfo") as f:
        mounts = sum(1 for _ in f)
    threads = (_tasks(), threading.active_count())
    return dict(
        fds=fds, mounts=mounts, threads=threads,
        kernel=_root_state(c.config.root_namespace),
        netns=sorted(os.listdir(c.netns_dir)),
        files=sorted(os.listdir(c.files_dir)),
        objects=live_objects(),
        tables=tables(c, nw),
        store={k: [key for key, _ in c.store.list(k)] for k in STORE_KINDS},
        ipam=c.ipam.dump(),
    )


def _empty_caches() -> None:
    """Empty the bounded caches whose keys hold random names (each veth's
    host end is named after its endpoint's id), so that what they hold
    does not count as kept: the validated interface names and the pyroute2
    encoder's memo of requests and lookups (each cleared by its owner once
    it holds 4096 entries)."""
    validate._valid_ifnames.clear()
    encode._encoded.clear()
    encode._lookups.clear()


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL(None)
_mallinfo2 = getattr(_libc, "mallinfo2", None)       # glibc >= 2.33
if _mallinfo2 is not None:
    _mallinfo2.restype = _Mallinfo2


def heap() -> int:
    """Bytes malloc has handed out and not got back (every arena); 0
    without ``mallinfo2``."""
    if _mallinfo2 is None:
        return 0
    m = _mallinfo2()
    return m.uordblks + m.hblkhd


class Soaked(NamedTuple):
    before: dict
    after: dict
    rss: list            # growth over each phase of ``rounds`` rounds
    heap: list
    py: list             # growth over each phase of ``py_rounds`` rounds
    top: list            # tracemalloc's biggest growth by line, last phase


def _c_over(rss_grown, heap_grown) -> bool:
    return not _asan() and (rss_grown > RSS_SLACK or heap_grown > HEAP_SLACK)


def soak(c, nw, round_=one_round, rounds=None, py_rounds=PY_ROUNDS,
         warmup=WARMUP, leak=None) -> Soaked:
    """``warmup`` rounds of ``round_``, the census; ``rounds`` rounds, the
    RSS and the heap; ``py_rounds`` rounds under tracemalloc, the Python
    memory; the census again.  A phase whose growth goes over its bound
    runs once more, and the second one is judged: growth once (a cache
    filling up, a table of the process crossing a size) is no leak, and a
    leak grows again.  ``leak(k)`` runs after each round past the
    warm-up."""
    if rounds is None:
        rounds = 10 if _asan() else ROUNDS
    k = 0

    def run(n):
        nonlocal k
        for _ in range(n):
            round_(c, nw, k)
            if leak is not None and k >= warmup:
                leak(k)
            k += 1
        _empty_caches()
        gc.collect()

    for _ in range(warmup):
        run(1)
        census(c, nw)                     # warms up the census itself
    before = census(c, nw)
    grown_rss, grown_heap = [], []
    for _ in range(2):
        rss0, heap0 = rss(), heap()
        run(rounds)
        grown_rss.append(rss() - rss0)
        grown_heap.append(heap() - heap0)
        if not _c_over(grown_rss[-1], grown_heap[-1]):
            break
    grown_py: list = []
    for _ in range(2):
        tracemalloc.start(1)
        try:
            py0 = tracemalloc.get_traced_memory()[0]
            snap0 = tracemalloc.take_snapshot()
            run(py_rounds)
            grown_py.append(tracemalloc.get_traced_memory()[0] - py0)
            top = tracemalloc.take_snapshot().compare_to(snap0, "lineno")[:5]
        finally:
            tracemalloc.stop()
        if grown_py[-1] <= PY_SLACK:
            break
    return Soaked(before, census(c, nw), grown_rss, grown_heap, grown_py,
                  top)


def _growths(values) -> str:
    return ", then ".join(f"{v:+d} B" for v in values)


def problems(s: Soaked) -> list:
    """What differs, one line each (empty: no leak)."""
    out = []
    for key in s.before:
        a, b = s.before[key], s.after[key]
        if key == "objects" or a == b:
            continue
        if isinstance(a, dict) and key != "ipam":     # the keys that differ
            out += [f"{key}: {n} {a.get(n)!r} -> {b.get(n)!r}"
                    for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)]
        else:
            out.append(f"{key}: {a!r} -> {b!r}")
    more = s.after["objects"] - s.before["objects"]
    fewer = s.before["objects"] - s.after["objects"]
    if more or fewer:
        out.append(f"objects: more {dict(more)}, fewer {dict(fewer)}")
    if not _asan() and s.rss[-1] > RSS_SLACK:
        out.append(f"rss: {_growths(s.rss)} > {RSS_SLACK} B")
    if not _asan() and s.heap[-1] > HEAP_SLACK:
        out.append(f"heap: {_growths(s.heap)} > {HEAP_SLACK} B")
    if s.py[-1] > PY_SLACK:
        sites = "\n    ".join(
            f"{st.size_diff:+d} B in {st.count_diff:+d} blocks at "
            f"{st.traceback[0].filename}:{st.traceback[0].lineno}"
            for st in s.top)
        out.append(f"python memory: {_growths(s.py)} > {PY_SLACK} B; "
                   f"most grown:\n    {sites}")
    return out


# ----------------------------------------------------------------- tests

@pytest.fixture
def soaked(ctl):
    nw = ctl.new_network("bridge", "soak", ipv4=[IpamConf(POOL)],
                         generic={netlabel.BRIDGE_NAME: BRIDGE})
    return ctl, nw


def test_soak_attach_detach(soaked, backend):
    c, nw = soaked
    t0 = time.monotonic()
    s = soak(c, nw)
    took = time.monotonic() - t0
    found = problems(s)
    assert not found, "\n".join(found)
    # what the census compared is what it should be, not merely stable
    assert [name for name, _, _ in s.after["kernel"]] == sorted(["lo",
                                                                 BRIDGE])
    assert s.after["netns"] == s.after["files"] == []
    assert [n.name() for n in c.networks()] == ["soak"]
    assert s.after["store"]["network"] == [nw.id()]
    assert s.after["store"]["endpoint"] == s.after["store"]["sandbox"] == []
    (sub,) = s.after["ipam"].values()
    assert sub["subnet"] == POOL and sub["free"] == 256 - 3   # .0 .1 .255
    sys.stderr.write(f"\nsoak {backend.name}: {took:.1f}s, rss "
                     f"{_growths(s.rss)}, heap {_growths(s.heap)}, python "
                     f"{_growths(s.py)}\n")


def test_soak_rollbacks(soaked):
    """Failing calls in rounds: whatever they made is undone, and nothing
    grows."""
    c, nw = soaked
    found = problems(soak(c, nw, round_=failing_round))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("call", ["attach", "new_sandboxes"])
def test_rollback_leaves_no_files(soaked, call):
    """The undo of ``osl.commit_sandboxes`` removes the directories of the
    sandboxes whose creation failed (and the path locks keep no state per
    path: their number never changes)."""
    c, nw = soaked
    before = set(os.listdir(c.files_dir))
    with pytest.raises(errors.InvalidParameter):
        if call == "attach":      # resolv.conf written, then the hosts file
            c.attach(nw, ["a0", "a1"], hostname="bad host")
        else:                     # hosts written, then resolv.conf refused
            c.new_sandboxes(["s0", "s1"], dns=["nope"])
    assert c.sandboxes() == []
    assert sorted(set(os.listdir(c.files_dir)) - before) == []
    assert len(fileio._locks) == 64


# ------------------------------------------------------ the census' word

_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]


class Leaks:
    """``leaks(k)``: one leak of each kind, each sized to exceed its bound
    within two rounds; :meth:`clean` undoes them all."""

    def __init__(self, c, nw):
        self.c, self.nw = c, nw
        self.names: list = []
        self.objects: list = []
        self.fds: list = []
        self.mem: list = []
        self.py_bytes = PY_SLACK
        self.c_bytes = RSS_SLACK     # heap: and rss:

    def __call__(self, k):
        c, root, name = self.c, self.c.config.root_namespace, f"leak{k}"
        self.names.append(name)
        # an Endpoint kept alive (its record and address are released),
        # and some Python memory
        ep = self.nw.create_endpoint(name)
        ep.delete()
        self.objects += [ep, bytearray(self.py_bytes)]
        # a descriptor; a namespace bound in the netns directory (a file
        # and a mount); a link; a controller table entry
        self.fds.append(os.open(root, os.O_RDONLY | os.O_CLOEXEC))
        path = os.path.join(c.netns_dir, name)
        open(path, "x").close()
        subprocess.run(["mount", "--bind", root, path], check=True)
        r = nsexec(root, "ip", "link", "add", name, "type", "bridge")
        assert r.returncode == 0, r.stderr
        c._by_container[name] = None
        # C memory, which tracemalloc does not see, touched to be resident
        p = _libc.malloc(self.c_bytes)
        _libc.memset(p, 1, self.c_bytes)
        self.mem.append(p)

    def clean(self):
        for name in self.names:
            drop_netns(os.path.join(self.c.netns_dir, name))
            nsexec(self.c.config.root_namespace, "ip", "link", "del", name)
            self.c._by_container.pop(name, None)
        for fd in self.fds:
            os.close(fd)
        for p in self.mem:
            _libc.free(p)
        self.objects.clear()


def test_census_sees_leaks(soaked):
    """Three rounds per phase (each phase run twice, as it goes over),
    each round leaking an Endpoint object and some Python memory, a
    descriptor, a namespace bound in the netns directory, a link, a
    controller table entry and some C memory: each is reported by the
    check that watches it."""
    c, nw = soaked
    leaks = Leaks(c, nw)
    try:
        found = problems(soak(c, nw, rounds=3, py_rounds=3, warmup=1,
                              leak=leaks))
    finally:
        leaks.clean()
    text, n = "\n".join(found), len(leaks.names)
    for what in ("fds: ", "mounts: ", "kernel: ", "netns: ",
                 f"tables: controller._by_container 0 -> {n}",
                 f"'libnetwork.endpoint.Endpoint': {n}", "python memory: "):
        assert what in text, f"{what!r} not reported:\n{text}"
    if not _asan():
        assert "rss: " in text, text
        assert "heap: " in text or _mallinfo2 is None, text
