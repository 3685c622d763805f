"""A hypothesis model test of the default IPAM driver.

Two allocators share one MemoryStore (each operation picks one of them);
either may be replaced by a fresh one restored from the store at any
step, and any step may run inside a store transaction that then rolls
back.  Against a model of plain sets, each step checks the exact outcome
(result or exception class), and after each step both allocators agree
with the model: the same pool ids, and every subnet's free count.  So no
address is ever handed out twice while held, across restores and
rollbacks.
"""

from __future__ import annotations

import ipaddress

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from libnetwork import netlabel
from libnetwork.errors import (
    AddressOutOfRange,
    AlreadyAllocated,
    InvalidParameter,
    NotFound,
    PoolExhausted,
    PoolOverlap,
)
from libnetwork.ipam import Allocator
from libnetwork.store import MemoryStore

N = ipaddress.ip_network
LOCAL, GLOBAL = "LocalDefault", "GlobalDefault"
SPACES = (LOCAL, GLOBAL)
DEFAULT_POOLS = [{"base": "10.0.0.0/28", "size": 29},
                 {"base": "10.0.0.32/29", "size": 30}]
LOCAL_CANDIDATES = [N("10.0.0.0/29"), N("10.0.0.8/29"),
                    N("10.0.0.32/30"), N("10.0.0.36/30")]
# (pool, sub-pool) requests; several overlap each other and the defaults
EXPLICIT = [
    ("10.0.0.0/29", None), ("10.0.0.0/29", "10.0.0.0/30"),
    ("10.0.0.0/29", "10.0.0.4/30"), ("10.0.0.0/28", None),
    ("10.0.0.0/28", "10.0.0.8/29"), ("10.0.0.8/29", None),
    ("10.0.0.16/30", None), ("10.0.0.20/31", None), ("10.0.0.22/32", None),
    ("10.0.1.0/24", "10.0.1.128/25"), ("10.0.0.0/16", None),
    ("fd00::/126", None), ("fd00::/64", None), ("fd00::/64", "fd00::/126"),
]
HOST_ROUTES = [[], [N("10.0.0.8/29")], [N("10.0.0.0/30"), N("10.0.1.0/24")],
               [N("10.0.0.0/26")], [N("0.0.0.0/0")]]
SERIAL = {netlabel.IPAM_SERIAL: "true"}


def reserved(net) -> set:
    if net.version == 4:
        return {0, net.num_addresses - 1} if net.prefixlen < 31 else set()
    return {0} if net.prefixlen < 127 else set()


class Subnet:
    def __init__(self, net):
        self.net = net
        self.pools: dict = {}        # pool id -> sub-pool network or None
        self.held: set = set()       # allocated ordinals (not reserved)
        self.cursor = 0

    def copy(self) -> "Subnet":
        s = Subnet(self.net)
        s.pools, s.held, s.cursor = dict(self.pools), set(self.held), \
            self.cursor
        return s

    def taken(self, n: int) -> bool:
        return n in self.held or n in reserved(self.net)

    def first_free(self, lo: int, hi: int):
        n = lo
        while n < hi:
            if not self.taken(n):
                return n
            n += 1
        return None

    def allocate(self, lo: int, hi: int, serial: bool):
        start = self.cursor if serial and lo <= self.cursor < hi else lo
        n = self.first_free(start, hi)
        if n is None and start > lo:
            n = self.first_free(lo, start)
        return n


class IpamMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.store = MemoryStore()
        self.routes: list = []
        self.allocs = [self._new(), self._new()]
        self.subnets: dict = {}      # (space, network) -> Subnet

    def _new(self) -> Allocator:
        return Allocator(store=self.store, host_networks=lambda: self.routes,
                         default_pools=DEFAULT_POOLS)

    # -------------------------------------------------------- model helpers

    def pools(self) -> dict:
        return {pid: (key, sub) for key, s in self.subnets.items()
                for pid, sub in s.pools.items()}

    def expect(self, exc_cls, fn, *args, **kw):
        try:
            result = fn(*args, **kw)
        except Exception as exc:
            assert type(exc) is exc_cls, (
                f"expected {exc_cls and exc_cls.__name__}, got "
                f"{type(exc).__name__}: {exc}")
            return None
        assert exc_cls is None, f"expected {exc_cls.__name__}, got {result}"
        return result

    def _overlaps(self, space, net) -> bool:
        return any(sp == space and n.version == net.version and n.overlaps(net)
                   for (sp, n) in self.subnets)

    def _add(self, space, net, pid, sub):
        s = self.subnets.get((space, net))
        if s is None:
            s = self.subnets[(space, net)] = Subnet(net)
        s.pools[pid] = sub

    # ---------------------------------------------------------------- rules

    @rule(i=st.integers(0, 1), space=st.sampled_from(SPACES),
          req=st.sampled_from(EXPLICIT))
    def request_explicit(self, i, space, req):
        pool, sub = N(req[0]), None if req[1] is None else N(req[1])
        key = f"{space}/{pool}"
        pid = key if sub is None else f"{key}/{sub}"
        s = self.subnets.get((space, pool))
        if s is not None:
            exc = PoolOverlap if (pid in s.pools or sub is None) else None
        else:
            exc = PoolOverlap if self._overlaps(space, pool) else None
        got = self.expect(exc, self.allocs[i].request_pool, space, req[0],
                          req[1], None, pool.version == 6)
        if exc is None:
            assert got == (pid, pool, {})
            self._add(space, pool, pid, sub)

    @rule(i=st.integers(0, 1), space=st.sampled_from(SPACES))
    def request_auto(self, i, space):
        hosts = [r for r in self.routes if r.prefixlen > 0]

        def free(net):
            return not self._overlaps(space, net) and not any(
                net.overlaps(h) for h in hosts)
        if space == LOCAL:
            want = next((n for n in LOCAL_CANDIDATES if free(n)), None)
        else:
            want = next(n for n in N("10.0.0.0/8").subnets(new_prefix=24)
                        if free(n))
        got = self.expect(None if want else PoolExhausted,
                          self.allocs[i].request_pool, space)
        if want is not None:
            assert got == (f"{space}/{want}", want, {})
            self._add(space, want, f"{space}/{want}", None)

    @rule(routes=st.sampled_from(HOST_ROUTES))
    def set_host_routes(self, routes):
        self.routes[:] = routes

    @precondition(lambda self: self.subnets)
    @rule(i=st.integers(0, 1), data=st.data())
    def release_pool(self, i, data):
        pid = data.draw(st.sampled_from(sorted(self.pools())))
        (space, net), _ = self.pools()[pid]
        self.expect(None, self.allocs[i].release_pool, pid)
        s = self.subnets[(space, net)]
        del s.pools[pid]
        if not s.pools:
            del self.subnets[(space, net)]
        self.expect(NotFound, self.allocs[1 - i].release_pool, pid)

    @precondition(lambda self: self.subnets)
    @rule(i=st.integers(0, 1), serial=st.booleans(), data=st.data())
    def request_address(self, i, serial, data):
        pid = data.draw(st.sampled_from(sorted(self.pools())))
        key, sub = self.pools()[pid]
        s = self.subnets[key]
        base = int(s.net.network_address)
        if sub is None:
            lo, hi = 0, s.net.num_addresses
        else:
            lo = int(sub.network_address) - base
            hi = lo + sub.num_addresses
        want = s.allocate(lo, hi, serial)
        got = self.expect(None if want is not None else PoolExhausted,
                          self.allocs[i].request_address, pid, None,
                          SERIAL if serial else None)
        if want is not None:
            assert got.network == s.net
            assert int(got.ip) - base == want, (got, want, s.held)
            s.held.add(want)
            s.cursor = 0 if want == s.net.num_addresses - 1 else want + 1

    @precondition(lambda self: self.subnets)
    @rule(i=st.integers(0, 1), data=st.data(),
          off=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 7, 8, 129, 255, 256,
                               "last", "past"]))
    def request_specific(self, i, data, off):
        pid = data.draw(st.sampled_from(sorted(self.pools())))
        key, _ = self.pools()[pid]
        s = self.subnets[key]
        size = s.net.num_addresses
        off = {"last": size - 1, "past": size}.get(off, off)
        ip = s.net.network_address + off if off >= 0 else \
            s.net.network_address - 1
        if not 0 <= off < size:
            exc = AddressOutOfRange
        elif s.taken(off):
            exc = AlreadyAllocated
        else:
            exc = None
        got = self.expect(exc, self.allocs[i].request_address, pid, str(ip))
        if exc is None:
            assert got.ip == ip and got.network == s.net
            s.held.add(off)

    @precondition(lambda self: any(s.held for s in self.subnets.values()))
    @rule(i=st.integers(0, 1), data=st.data())
    def release_address(self, i, data):
        choices = sorted((pid, n) for pid, (key, _) in self.pools().items()
                         for n in self.subnets[key].held)
        pid, n = data.draw(st.sampled_from(choices))
        s = self.subnets[self.pools()[pid][0]]
        ip = s.net.network_address + n
        self.expect(None, self.allocs[i].release_address, pid, ip)
        s.held.discard(n)
        self.expect(InvalidParameter, self.allocs[1 - i].release_address,
                    pid, ip)

    @rule(i=st.integers(0, 1))
    def restore(self, i):
        self.allocs[i] = self._new()

    @rule(i=st.integers(0, 1), what=st.sampled_from(
        ["address", "release_address", "pool", "release_pool"]))
    def rolled_back(self, i, what):
        """A change inside a transaction that fails: nothing of it stays."""
        class Boom(Exception):
            pass
        a, pools = self.allocs[i], sorted(self.pools())
        try:
            with self.store.transaction():
                if what == "address" and pools:
                    a.request_address(pools[0])
                elif what == "release_address":
                    for pid, (key, _) in sorted(self.pools().items()):
                        held = self.subnets[key].held
                        if held:
                            a.release_address(
                                pid, self.subnets[key].net.network_address
                                + min(held))
                            break
                elif what == "pool":
                    a.request_pool(LOCAL, "10.0.2.0/24")
                elif what == "release_pool" and pools:
                    a.release_pool(pools[-1])
                raise Boom
        except Boom:
            pass
        except (PoolExhausted, PoolOverlap):
            pass

    # ---------------------------------------------- inspection, invariants

    def check(self, a: Allocator) -> None:
        want_free = {f"{sp}/{net}": net.num_addresses - len(reserved(net))
                     - len(s.held) for (sp, net), s in self.subnets.items()}
        assert a.pool_ids() == sorted(self.pools())
        assert {k: v["free"] for k, v in a.dump().items()} == want_free

    @rule(i=st.integers(0, 1))
    def inspect(self, i):
        """dump() and pool_ids() of a (possibly stale) allocator."""
        self.check(self.allocs[i])

    @invariant()
    def the_store_agrees_with_the_model(self):
        # A fresh allocator, so that the two in use keep whatever stale
        # memory they have and the rules test how they catch up.
        self.check(self._new())


IpamMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None)
TestIpamModel = IpamMachine.TestCase
