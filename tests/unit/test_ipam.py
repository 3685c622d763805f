"""The default IPAM driver (libnetwork.ipam.allocator) and its default
pools (libnetwork.ipam.pools): one example test per rule.  No root."""

from __future__ import annotations

import ipaddress
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libnetwork import netlabel
from libnetwork.errors import (
    AddressOutOfRange,
    AlreadyAllocated,
    InvalidParameter,
    LibnetworkError,
    NotFound,
    PoolExhausted,
    PoolOverlap,
)
from libnetwork.ipam import Bitmap as BITMAP  # native when built
from libnetwork.ipam.allocator import STORE_KIND, Allocator
from libnetwork.ipam.pools import (
    GLOBAL_DEFAULT_POOLS,
    LOCAL_DEFAULT_POOLS,
    DefaultPools,
    Ranges,
    network_range,
)
from libnetwork.store import MemoryStore

N = ipaddress.ip_network
I = ipaddress.ip_interface
A = ipaddress.ip_address
GW = {netlabel.REQUEST_ADDRESS_TYPE: netlabel.GATEWAY}
SERIAL = {netlabel.IPAM_SERIAL: "true"}
LOCAL, GLOBAL = "LocalDefault", "GlobalDefault"


def make(**kw) -> Allocator:
    kw.setdefault("bitmap_cls", None)        # the default: ipam.Bitmap
    return Allocator(**kw)


def raises_exactly(cls, match=None):
    """pytest.raises that also insists on the exact class."""
    class _Ctx:
        def __enter__(self):
            self._cm = pytest.raises(cls, match=match)
            self.info = self._cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            ret = self._cm.__exit__(*exc)
            assert type(self.info.value) is cls, (
                f"raised {type(self.info.value).__name__}, expected "
                f"exactly {cls.__name__}: {self.info.value}")
            return ret
    return _Ctx()


# ----------------------------------------------------------- default pools

def test_local_default_pools_are_libnetworks_31_in_order():
    pools = list(DefaultPools(LOCAL_DEFAULT_POOLS))
    assert len(pools) == 31 == len(DefaultPools(LOCAL_DEFAULT_POOLS))
    assert pools[:15] == [N(f"172.{i}.0.0/16") for i in range(17, 32)]
    assert pools[15:] == list(N("192.168.0.0/16").subnets(new_prefix=20))


def test_global_default_pools_are_10_8_cut_into_24s():
    pools = DefaultPools(GLOBAL_DEFAULT_POOLS)
    assert len(pools) == 65536
    it = iter(pools)
    assert [next(it) for _ in range(3)] == [
        N("10.0.0.0/24"), N("10.0.1.0/24"), N("10.0.2.0/24")]


@pytest.mark.parametrize("spec", [
    [],
    "10.0.0.0/8",
    [{"base": "10.0.0.1/8", "size": 24}],        # host bits set
    [{"base": "10.0.0.0/16", "size": 8}],        # size shorter than base
    [{"base": "10.0.0.0/16", "size": 33}],
    [{"base": "10.0.0.0/16", "size": "24"}],
    [{"base": "10.0.0.0/16", "size": True}],
    [{"base": "10.0.0.0/16"}],
    [{"base": "10.0.0.0/16", "size": 24, "extra": 1}],
    [{"base": "fd00::/48", "size": 64}],         # IPv6: explicit pools only
    [{"base": "nonsense", "size": 24}],
    [{"base": 167772160, "size": 24}],
    ["10.0.0.0/8"],
])
def test_default_pools_validation(spec):
    with raises_exactly(InvalidParameter):
        DefaultPools(spec)
    with raises_exactly(InvalidParameter):
        make(default_pools=spec)


def test_ranges_merge_split_and_overlap_end():
    r = Ranges()
    r.add(10, 19)
    r.add(30, 39)
    assert r.runs() == [(10, 19), (30, 39)]
    r.add(20, 29)                       # touches both: one run
    assert r.runs() == [(10, 39)]
    assert r.overlap_end(0, 9) is None
    assert r.overlap_end(0, 10) == 39
    assert r.overlap_end(39, 50) == 39
    assert r.overlap_end(40, 50) is None
    r.remove(20, 29)
    assert r.runs() == [(10, 19), (30, 39)]
    r.remove(10, 19)
    assert r.runs() == [(30, 39)]
    with pytest.raises(KeyError):
        r.remove(10, 19)


def test_ranges_with_overlapping_members_rebuild_on_removal():
    r = Ranges([(0, 99), (10, 19), (50, 200)])
    assert r.runs() == [(0, 200)]
    r.remove(0, 99)
    assert r.runs() == [(10, 19), (50, 200)]
    r.add(10, 19)
    r.remove(10, 19)
    assert r.runs() == [(10, 19), (50, 200)]


def test_first_free_skips_a_whole_run_at_once():
    pools = DefaultPools([{"base": "10.0.0.0/8", "size": 24}])
    taken = Ranges([network_range(N("10.0.0.0/9"))])
    assert pools.first_free(taken) == N("10.128.0.0/24")
    taken.add(*network_range(N("10.128.0.0/10")))
    hosts = Ranges([network_range(N("10.192.0.0/23"))])
    assert pools.first_free(taken, hosts) == N("10.192.2.0/24")
    assert pools.first_free(Ranges([network_range(N("0.0.0.0/1"))])) is None


_interval = st.tuples(st.integers(0, 60), st.integers(0, 8)).map(
    lambda t: (t[0], t[0] + t[1]))


@settings(deadline=None, max_examples=200)
@given(ops=st.lists(st.tuples(st.booleans(), _interval), max_size=30),
       probe=_interval)
def test_ranges_against_a_set_model(ops, probe):
    r, members = Ranges(), []
    for add, iv in ops:
        if add or iv not in members:
            r.add(*iv)
            members.append(iv)
        else:
            r.remove(*iv)
            members.remove(iv)
    covered = {n for s, e in members for n in range(s, e + 1)}
    # runs: maximal blocks of covered integers
    runs: list = []
    for x in sorted(covered):
        if runs and x == runs[-1][1] + 1:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    assert r.runs() == [tuple(x) for x in runs]
    hit = [e for s, e in r.runs() if s <= probe[1] and e >= probe[0]]
    assert r.overlap_end(*probe) == (max(hit) if hit else None)


@settings(deadline=None, max_examples=200)
@given(size=st.integers(24, 30),
       taken=st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)),
                      max_size=12),
       hosts=st.lists(st.tuples(st.integers(0, 255), st.integers(20, 32)),
                      max_size=4))
def test_first_free_against_brute_force(size, taken, hosts):
    def nets(spec):
        return [N(f"10.0.0.{o}/{p}", strict=False) for o, p in spec]
    used, routes = nets(taken), nets(hosts)
    pools = DefaultPools([{"base": "10.0.0.0/24", "size": size}])
    want = next((c for c in pools
                 if not any(c.overlaps(u) for u in used + routes)), None)
    got = pools.first_free(Ranges(map(network_range, used)),
                           Ranges(map(network_range, routes)))
    assert got == want


# ------------------------------------------------------------- spaces

def test_default_address_spaces():
    assert make().get_default_address_spaces() == (LOCAL, GLOBAL)
    assert Allocator.get_default_address_spaces() == (LOCAL, GLOBAL)


@pytest.mark.parametrize("space", ["", "local", "Other", None, 1])
def test_unknown_address_space(space):
    with raises_exactly(InvalidParameter):
        make().request_pool(space)
    with raises_exactly(InvalidParameter):
        make().request_pool(space, "10.0.0.0/24")


# ---------------------------------------------------------- auto pools

def test_auto_pools_walk_the_local_defaults_then_exhaust():
    a = make()
    got = [a.request_pool(LOCAL) for _ in range(31)]
    assert got[0] == ("LocalDefault/172.17.0.0/16", N("172.17.0.0/16"), {})
    assert [net for _, net, _ in got] == list(DefaultPools(LOCAL_DEFAULT_POOLS))
    assert all(pid == f"{LOCAL}/{net}" for pid, net, _ in got)
    with raises_exactly(PoolExhausted, match="LocalDefault"):
        a.request_pool(LOCAL)
    # the global space is separate
    assert a.request_pool(GLOBAL)[1] == N("10.0.0.0/24")
    assert a.request_pool(GLOBAL)[1] == N("10.0.1.0/24")


def test_auto_pool_takes_the_first_free_again_after_a_release():
    a = make()
    ids = [a.request_pool(LOCAL)[0] for _ in range(3)]
    a.release_pool(ids[1])
    assert a.request_pool(LOCAL)[1] == N("172.18.0.0/16")
    assert a.request_pool(LOCAL)[1] == N("172.20.0.0/16")


def test_auto_pool_skips_host_networks():
    routes = [N("172.17.0.0/16"), N("172.18.5.0/24"), N("0.0.0.0/0"),
              N("fd00::/64")]
    a = make(host_networks=lambda: routes)
    assert a.request_pool(LOCAL)[1] == N("172.19.0.0/16")
    # the callable is asked every time
    routes.append(N("172.16.0.0/12"))
    assert a.request_pool(LOCAL)[1] == N("192.168.0.0/20")
    routes.append(N("192.168.0.0/16"))
    with raises_exactly(PoolExhausted, match="LocalDefault"):
        a.request_pool(LOCAL)
    # host networks do not restrict explicit pools
    assert a.request_pool(LOCAL, "172.17.0.0/16")[0] == \
        "LocalDefault/172.17.0.0/16"


def test_host_networks_may_be_a_plain_list_of_any_ip_form():
    a = make(host_networks=[I("172.17.0.1/16"), "172.18.0.0/16",
                            A("172.19.0.1")])
    assert a.request_pool(LOCAL)[1] == N("172.20.0.0/16")


def test_auto_pool_skips_explicit_pools_in_use():
    a = make()
    a.request_pool(LOCAL, "172.17.3.0/24")
    a.request_pool(LOCAL, "172.18.0.0/15")
    assert a.request_pool(LOCAL)[1] == N("172.20.0.0/16")


def test_empty_strings_mean_not_given():
    a = make()
    pid, net, _ = a.request_pool(LOCAL, "", "")
    assert (pid, net) == ("LocalDefault/172.17.0.0/16", N("172.17.0.0/16"))
    assert a.request_address(pid, "", GW) == I("172.17.0.1/16")
    pid2, _, _ = a.request_pool(LOCAL, "10.0.0.0/24", "")
    assert pid2 == "LocalDefault/10.0.0.0/24"


def test_auto_pool_rejects_v6_and_sub_pool():
    a = make()
    with raises_exactly(InvalidParameter, match="IPv6 needs an explicit pool"):
        a.request_pool(LOCAL, v6=True)
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, sub_pool="172.17.1.0/24")
    assert a.pool_ids() == []


def test_configurable_default_pools_replace_the_local_list():
    a = make(default_pools=[{"base": "10.10.0.0/16", "size": 24},
                            {"base": "10.20.0.0/23", "size": 24}])
    nets = [a.request_pool(LOCAL)[1] for _ in range(3)]
    assert nets == [N("10.10.0.0/24"), N("10.10.1.0/24"), N("10.10.2.0/24")]
    assert a.request_pool(GLOBAL)[1] == N("10.0.0.0/24")   # unchanged


def test_configurable_default_pools_are_generated_lazily_and_skip_fast():
    # 65536 candidates; half of them blocked by one host route, then a few
    # thousand networks: each request jumps over whole runs.
    a = make(default_pools=[{"base": "10.0.0.0/8", "size": 24}],
             host_networks=[N("10.0.0.0/9")])
    nets = [a.request_pool(LOCAL)[1] for _ in range(3000)]
    assert nets[0] == N("10.128.0.0/24")
    assert nets[-1] == N("10.139.183.0/24")
    assert len(set(nets)) == 3000
    a.release_pool(f"{LOCAL}/10.130.7.0/24")
    assert a.request_pool(LOCAL)[1] == N("10.130.7.0/24")
    assert a.request_pool(LOCAL)[1] == N("10.139.184.0/24")


def test_last_default_pool_exhaustion_message_names_the_space():
    a = make(default_pools=[{"base": "10.0.0.0/30", "size": 31}])
    a.request_pool(LOCAL)
    a.request_pool(LOCAL)
    with raises_exactly(PoolExhausted, match="address space LocalDefault"):
        a.request_pool(LOCAL)


# -------------------------------------------------------- explicit pools

def test_explicit_pool_id_and_meta():
    a = make()
    assert a.request_pool(LOCAL, "10.1.0.0/16") == (
        "LocalDefault/10.1.0.0/16", N("10.1.0.0/16"), {})
    assert a.request_pool(LOCAL, N("10.2.0.0/16"),
                          sub_pool=N("10.2.1.0/24")) == (
        "LocalDefault/10.2.0.0/16/10.2.1.0/24", N("10.2.0.0/16"), {})


@pytest.mark.parametrize("pool", [
    "10.1.0.1/16",          # host bits set
    "10.1.0.0",             # no prefix
    "10.1.0.0/33",
    "nonsense/8",
    " ",
    167837696,
    A("10.1.0.0"),
])
def test_explicit_pool_bad_input(pool):
    a = make()
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, pool)
    assert a.pool_ids() == []


@pytest.mark.parametrize("pool,v6", [("10.0.0.0/24", True),
                                     ("fd00::/64", False)])
def test_v6_flag_must_match_the_pool(pool, v6):
    with raises_exactly(InvalidParameter):
        make().request_pool(LOCAL, pool, v6=v6)


@pytest.mark.parametrize("other", [
    "10.0.0.0/16", "10.0.5.0/24", "10.0.0.0/8", "10.0.255.255/32"])
def test_explicit_pool_overlap(other):
    a = make()
    a.request_pool(LOCAL, "10.0.0.0/16")
    with raises_exactly(PoolOverlap, match="10.0.0.0/16"):
        a.request_pool(LOCAL, other)
    if other != "10.0.0.0/16":      # (a sub-pool of the same subnet is ok)
        with raises_exactly(PoolOverlap):
            a.request_pool(LOCAL, other, sub_pool=other)
    # another address space is another world
    a.request_pool(GLOBAL, other)
    assert a.pool_ids() == [f"{GLOBAL}/{other}", f"{LOCAL}/10.0.0.0/16"]


def test_adjacent_pools_do_not_overlap():
    a = make()
    a.request_pool(LOCAL, "10.0.0.0/24")
    a.request_pool(LOCAL, "10.0.1.0/24")
    a.request_pool(LOCAL, "9.255.255.255/32")


# ------------------------------------------------------------- sub-pools

def test_sub_pools_share_the_subnet_and_are_reference_counted():
    a = make()
    p1, net, _ = a.request_pool(LOCAL, "10.1.0.0/16", "10.1.1.0/24")
    p2, _, _ = a.request_pool(LOCAL, "10.1.0.0/16", "10.1.2.0/24")
    assert (p1, p2) == ("LocalDefault/10.1.0.0/16/10.1.1.0/24",
                        "LocalDefault/10.1.0.0/16/10.1.2.0/24")
    # the same pool and sub-pool twice, or the bare pool: overlap
    with raises_exactly(PoolOverlap):
        a.request_pool(LOCAL, "10.1.0.0/16", "10.1.1.0/24")
    with raises_exactly(PoolOverlap):
        a.request_pool(LOCAL, "10.1.0.0/16")
    # the bare pool's id is not held (only its sub-pools are)
    with raises_exactly(NotFound):
        a.request_address("LocalDefault/10.1.0.0/16")
    # one bitmap: an explicit address taken through one is taken for all
    assert a.request_address(p1, "10.1.2.9") == I("10.1.2.9/16")
    with raises_exactly(AlreadyAllocated):
        a.request_address(p2, "10.1.2.9")
    assert a.request_address(p2) == I("10.1.2.0/16")
    # releasing one sub-pool keeps the subnet and its addresses
    a.release_pool(p1)
    with raises_exactly(AlreadyAllocated):
        a.request_address(p2, "10.1.2.9")
    with raises_exactly(NotFound):
        a.request_address(p1)
    a.release_pool(p2)
    assert a.pool_ids() == []
    # the subnet is gone: a fresh bitmap next time
    pid, _, _ = a.request_pool(LOCAL, "10.1.0.0/16")
    assert a.request_address(pid, "10.1.2.9") == I("10.1.2.9/16")


def test_sub_pool_after_the_bare_pool_is_allowed():
    a = make()
    bare, _, _ = a.request_pool(LOCAL, "10.1.0.0/16")
    sub, _, _ = a.request_pool(LOCAL, "10.1.0.0/16", "10.1.128.0/17")
    assert a.request_address(bare) == I("10.1.0.1/16")
    assert a.request_address(sub) == I("10.1.128.0/16")
    a.release_pool(bare)
    with raises_exactly(NotFound):
        a.release_pool(bare)
    with raises_exactly(AlreadyAllocated):
        a.request_address(sub, "10.1.0.1")     # still held: same bitmap


def test_sub_pool_of_a_new_subnet_is_checked_for_overlap():
    a = make()
    a.request_pool(LOCAL, "10.1.0.0/24")
    with raises_exactly(PoolOverlap):
        a.request_pool(LOCAL, "10.1.0.0/16", "10.1.1.0/24")


@pytest.mark.parametrize("sub", [
    "10.2.0.0/24", "10.0.0.0/8", "fd00::/64", "10.1.1.1/24", "garbage"])
def test_sub_pool_must_be_inside_the_pool(sub):
    a = make()
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, "10.1.0.0/16", sub)
    assert a.pool_ids() == []


def test_sub_pool_restricts_automatic_addresses_but_mask_is_the_pools():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.1.0.0/16", "10.1.2.0/30")
    gw = a.request_address(pid, "10.1.0.1", GW)     # outside the sub-pool
    assert gw == I("10.1.0.1/16")
    got = [a.request_address(pid) for _ in range(4)]
    assert got == [I(f"10.1.2.{i}/16") for i in range(4)]
    with raises_exactly(PoolExhausted, match="no available addresses"):
        a.request_address(pid)
    # the rest of the subnet is still free for explicit requests
    assert a.request_address(pid, "10.1.200.3") == I("10.1.200.3/16")
    with raises_exactly(AddressOutOfRange):
        a.request_address(pid, "10.2.0.1")


def test_sub_pool_at_the_edges_never_gets_network_or_broadcast():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.1.0.0/24", "10.1.0.0/30")
    assert [a.request_address(pid) for _ in range(3)] == [
        I("10.1.0.1/24"), I("10.1.0.2/24"), I("10.1.0.3/24")]
    with raises_exactly(PoolExhausted):
        a.request_address(pid)
    pid2, _, _ = a.request_pool(LOCAL, "10.2.0.0/24", "10.2.0.252/30")
    assert [a.request_address(pid2) for _ in range(3)] == [
        I("10.2.0.252/24"), I("10.2.0.253/24"), I("10.2.0.254/24")]
    with raises_exactly(PoolExhausted):
        a.request_address(pid2)


# ------------------------------------------------------------- addresses

def test_gateway_first_then_endpoints():
    a = make()
    pid, _, _ = a.request_pool(LOCAL)
    assert a.request_address(pid, options=GW) == I("172.17.0.1/16")
    assert a.request_address(pid) == I("172.17.0.2/16")
    assert a.request_address(pid) == I("172.17.0.3/16")


def test_v4_network_and_broadcast_are_never_handed_out():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "192.0.2.0/29")
    got = [a.request_address(pid) for _ in range(6)]
    assert got == [I(f"192.0.2.{i}/29") for i in range(1, 7)]
    with raises_exactly(PoolExhausted, match="192.0.2.0/29"):
        a.request_address(pid)
    for reserved in ("192.0.2.0", "192.0.2.7"):
        with raises_exactly(AlreadyAllocated, match="reserved"):
            a.request_address(pid, reserved)
        with raises_exactly(InvalidParameter, match="reserved"):
            a.release_address(pid, reserved)
    # serial mode cannot reach them either
    a.release_address(pid, "192.0.2.6")
    assert a.request_address(pid, options=SERIAL) == I("192.0.2.6/29")


def test_slash_31_and_slash_32_use_every_address():
    a = make()
    p31, _, _ = a.request_pool(LOCAL, "192.0.2.0/31")
    assert [a.request_address(p31) for _ in range(2)] == [
        I("192.0.2.0/31"), I("192.0.2.1/31")]
    with raises_exactly(PoolExhausted):
        a.request_address(p31)
    p32, _, _ = a.request_pool(LOCAL, "192.0.2.9/32")
    assert a.request_address(p32) == I("192.0.2.9/32")
    with raises_exactly(PoolExhausted):
        a.request_address(p32)


def test_first_free_versus_serial_after_a_release():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    assert [a.request_address(pid) for _ in range(3)] == [
        I("10.0.0.1/24"), I("10.0.0.2/24"), I("10.0.0.3/24")]
    a.release_address(pid, "10.0.0.2")
    # next-fit continues after the last address handed out ...
    assert a.request_address(pid, options=SERIAL) == I("10.0.0.4/24")
    # ... first-free goes back to the hole
    assert a.request_address(pid) == I("10.0.0.2/24")
    assert a.request_address(pid, options={netlabel.IPAM_SERIAL: "false"}) \
        == I("10.0.0.5/24")


def test_serial_wraps_around():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/29")
    for _ in range(6):
        a.request_address(pid, options=SERIAL)
    a.release_address(pid, "10.0.0.2")
    assert a.request_address(pid, options=SERIAL) == I("10.0.0.2/29")


def test_specific_address_rules():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    assert a.request_address(pid, "10.0.0.77") == I("10.0.0.77/24")
    assert a.request_address(pid, A("10.0.0.78")) == I("10.0.0.78/24")
    assert a.request_address(pid, I("10.0.0.79/24")) == I("10.0.0.79/24")
    with raises_exactly(AlreadyAllocated, match="10.0.0.77"):
        a.request_address(pid, "10.0.0.77")
    for outside in ("10.0.1.1", "fd00::1", "0.0.0.0"):
        with raises_exactly(AddressOutOfRange, match=pid):
            a.request_address(pid, outside)
    for bad in ("10.0.0.300", "x", 5, b"10.0.0.1", ["10.0.0.1"]):
        with raises_exactly(InvalidParameter):
            a.request_address(pid, bad)
    # first free still starts at the bottom
    assert a.request_address(pid) == I("10.0.0.1/24")


def test_release_rules():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    ip = a.request_address(pid)
    a.release_address(pid, ip)                 # an interface is accepted
    with raises_exactly(InvalidParameter, match="not allocated"):
        a.release_address(pid, "10.0.0.1")
    with raises_exactly(AddressOutOfRange):
        a.release_address(pid, "10.0.1.1")
    with raises_exactly(InvalidParameter):
        a.release_address(pid, None)
    with raises_exactly(InvalidParameter):
        a.release_address(pid, "not an address")
    # release and re-request gives it back
    assert a.request_address(pid) == I("10.0.0.1/24")


def test_unknown_and_malformed_pool_ids():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    for unknown in ("LocalDefault/10.0.1.0/24", "GlobalDefault/10.0.0.0/24",
                    "Nope/10.0.0.0/24", "LocalDefault/10.0.0.0/24/10.0.0.0/25"):
        with raises_exactly(NotFound):
            a.request_address(unknown)
        with raises_exactly(NotFound):
            a.release_address(unknown, "10.0.0.1")
        with raises_exactly(NotFound):
            a.release_pool(unknown)
    for bad in ("", "LocalDefault", "LocalDefault/10.0.0.0", "a/b/c/d",
                "LocalDefault//24", None, 3):
        with raises_exactly(InvalidParameter):
            a.request_address(bad)
        with raises_exactly(InvalidParameter):
            a.release_pool(bad)
    a.release_pool(pid)
    with raises_exactly(NotFound):
        a.release_pool(pid)


def test_options_must_be_a_mapping():
    a = make()
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, options=["x"])
    pid, _, _ = a.request_pool(LOCAL)
    with raises_exactly(InvalidParameter):
        a.request_address(pid, options="serial")
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, v6="yes")


def test_bad_input_changes_nothing():
    store = MemoryStore()
    a = make(store=store)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    a.request_address(pid)
    before, records = a.dump(), store.list(STORE_KIND)
    calls = [
        lambda: a.request_pool(LOCAL, "10.0.0.1/24"),
        lambda: a.request_pool(LOCAL, "10.0.0.0/24"),
        lambda: a.request_pool(LOCAL, "10.9.0.0/24", "10.8.0.0/25"),
        lambda: a.request_pool("x", "10.9.0.0/24"),
        lambda: a.request_address(pid, "10.0.0.1"),
        lambda: a.request_address(pid, "10.0.9.1"),
        lambda: a.request_address(pid, "bogus"),
        lambda: a.request_address(pid, options=3),
        lambda: a.release_address(pid, "10.0.0.9"),
        lambda: a.release_address(pid, "10.0.0.255"),
        lambda: a.release_pool("LocalDefault/10.0.0.0/25"),
    ]
    for call in calls:
        with pytest.raises(LibnetworkError):
            call()
        assert a.dump() == before
        assert store.list(STORE_KIND) == records


def test_error_categories_are_builtin_compatible():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/30")
    with pytest.raises(ValueError):
        a.release_address(pid, "10.0.0.1")      # not allocated
    with pytest.raises(ValueError):
        a.request_address(pid, "10.0.1.1")      # out of range
    with pytest.raises(LookupError):
        a.request_address("LocalDefault/10.9.0.0/30")


# ------------------------------------------------------------------- IPv6

def test_v6_slash_64():
    a = make()
    pid, net, _ = a.request_pool(LOCAL, "fd00:1::/64", v6=True)
    assert (pid, net) == ("LocalDefault/fd00:1::/64", N("fd00:1::/64"))
    assert a.request_address(pid, options=GW) == I("fd00:1::1/64")
    assert a.request_address(pid) == I("fd00:1::2/64")
    top = "fd00:1::ffff:ffff:ffff:ffff"
    assert a.request_address(pid, top) == I(top + "/64")  # no broadcast in v6
    with raises_exactly(AlreadyAllocated, match="reserved"):
        a.request_address(pid, "fd00:1::")
    with raises_exactly(AddressOutOfRange):
        a.request_address(pid, "fd00:2::1")
    with raises_exactly(AddressOutOfRange):
        a.request_address(pid, "10.0.0.1")
    a.release_address(pid, "fd00:1::2")
    assert a.request_address(pid) == I("fd00:1::2/64")


def test_v6_sub_pool_and_small_pools():
    a = make()
    pid, _, _ = a.request_pool(LOCAL, "fd00::/64", "fd00::8000:0:0:0/65",
                               v6=True)
    assert a.request_address(pid) == I("fd00::8000:0:0:0/64")
    p127, _, _ = a.request_pool(LOCAL, "fd01::/127", v6=True)
    assert [a.request_address(p127) for _ in range(2)] == [
        I("fd01::/127"), I("fd01::1/127")]
    p128, _, _ = a.request_pool(LOCAL, "fd02::5/128", v6=True)
    assert a.request_address(p128) == I("fd02::5/128")
    p120, _, _ = a.request_pool(LOCAL, "fd03::/120", v6=True)
    assert a.request_address(p120) == I("fd03::1/120")


@pytest.mark.parametrize("pool", ["fd00::/48", "fd00::/63", "::/0"])
def test_v6_pools_larger_than_64_are_refused(pool):
    with raises_exactly(InvalidParameter, match="/64"):
        make().request_pool(LOCAL, pool, v6=True)


def test_v4_and_v6_pools_do_not_overlap_each_other():
    a = make()
    a.request_pool(LOCAL, "::/64", v6=True)
    a.request_pool(LOCAL, "0.0.0.0/24")


# ------------------------------------------------------------ persistence

def _build(a: Allocator) -> dict:
    """Some state; returns {pool_id: [addresses held]}."""
    held = {}
    p1, _, _ = a.request_pool(LOCAL)
    held[p1] = [a.request_address(p1, options=GW)] + [
        a.request_address(p1) for _ in range(5)]
    a.release_address(p1, held[p1].pop(2))
    p2, _, _ = a.request_pool(LOCAL, "10.5.0.0/16", "10.5.3.0/24")
    p3, _, _ = a.request_pool(LOCAL, "10.5.0.0/16", "10.5.4.0/24")
    held[p2] = [a.request_address(p2, options=SERIAL) for _ in range(3)]
    held[p3] = [a.request_address(p3, "10.5.0.1")]
    p4, _, _ = a.request_pool(GLOBAL)
    held[p4] = [a.request_address(p4) for _ in range(2)]
    p5, _, _ = a.request_pool(LOCAL, "fd00::/64", v6=True)
    held[p5] = [a.request_address(p5) for _ in range(2)]
    return held


def test_every_change_is_written_through():
    store = MemoryStore()
    a = make(store=store)
    held = _build(a)
    keys = [k for k, _ in store.list(STORE_KIND)]
    assert keys == ["GlobalDefault/10.0.0.0/24", "LocalDefault/10.5.0.0/16",
                    "LocalDefault/172.17.0.0/16", "LocalDefault/fd00::/64"]
    rec = store.get(STORE_KIND, "LocalDefault/10.5.0.0/16")
    assert rec["pools"] == {
        "LocalDefault/10.5.0.0/16/10.5.3.0/24": "10.5.3.0/24",
        "LocalDefault/10.5.0.0/16/10.5.4.0/24": "10.5.4.0/24"}
    assert store.get_blob(STORE_KIND, "LocalDefault/10.5.0.0/16")
    for pid in held:
        a.release_pool(pid)
    assert store.list(STORE_KIND) == []


def test_restore_gives_identical_state_and_no_duplicate_address():
    store = MemoryStore()
    a = make(store=store)
    held = _build(a)
    b = make(store=store)
    assert b.dump() == a.dump()
    assert b.pool_ids() == sorted(held)
    c = make(store=store)
    c.restore()
    assert c.dump() == a.dump()
    # exhaust the restored 172.17/16 pool's low range: nothing held returns
    p1 = "LocalDefault/172.17.0.0/16"
    new = [b.request_address(p1) for _ in range(20)]
    assert not set(new) & set(held[p1])
    assert new[0] == I("172.17.0.3/16")        # the hole left by the release
    for pid, addrs in held.items():
        for ip in addrs:
            with raises_exactly(AlreadyAllocated):
                b.request_address(pid, ip.ip)
    # the serial cursor survives too
    p2 = "LocalDefault/10.5.0.0/16/10.5.3.0/24"
    b.release_address(p2, held[p2][0])
    assert b.request_address(p2, options=SERIAL) == I("10.5.3.3/16")
    # and so do the pools: overlap is still detected, auto skips them
    with raises_exactly(PoolOverlap):
        b.request_pool(LOCAL, "10.5.0.0/16")
    assert b.request_pool(LOCAL)[1] == N("172.18.0.0/16")


def test_two_allocators_on_one_store_follow_each_other():
    store = MemoryStore()
    a, b = make(store=store), make(store=store)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    assert b.request_address(pid) == I("10.0.0.1/24")
    assert a.request_address(pid) == I("10.0.0.2/24")
    with raises_exactly(PoolOverlap):
        b.request_pool(LOCAL, "10.0.0.0/25")
    b.release_pool(pid)
    with raises_exactly(NotFound):
        a.request_address(pid)
    assert a.request_pool(LOCAL, "10.0.0.0/25")[0] == "LocalDefault/10.0.0.0/25"


def test_a_stale_allocator_catches_up_before_changing_the_pool_set():
    # b was made on an empty store; a then takes two pools.  b's release
    # of one must not make b believe it knows every pool (found by the
    # model test).
    store = MemoryStore()
    a, b = make(store=store), make(store=store)
    first = a.request_pool(LOCAL)[0]
    second = a.request_pool(LOCAL)[0]
    b.release_pool(second)
    assert b.request_pool(LOCAL)[1] == N("172.18.0.0/16")
    with raises_exactly(PoolOverlap):
        b.request_pool(LOCAL, "172.17.0.0/16")
    assert b.pool_ids() == a.pool_ids() == [first, second]


def test_restore_from_sqlite(tmp_path):
    from libnetwork.store.sqlite import SQLiteStore
    path = str(tmp_path / "local.db")
    store = SQLiteStore(path)
    a = make(store=store)
    with store.transaction():
        held = _build(a)
    before = a.dump()
    store.close()
    store = SQLiteStore(path)
    b = make(store=store)
    assert b.dump() == before
    for pid, addrs in held.items():
        for ip in addrs:
            with raises_exactly(AlreadyAllocated):
                b.request_address(pid, ip.ip)
    store.close()


def test_rolled_back_transactions_are_forgotten():
    store = MemoryStore()
    a = make(store=store)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    gw = a.request_address(pid, options=GW)

    class Boom(Exception):
        pass

    # an address handed out in a rolled-back change is free again
    with pytest.raises(Boom):
        with store.transaction():
            assert a.request_address(pid) == I("10.0.0.2/24")
            raise Boom
    assert a.request_address(pid) == I("10.0.0.2/24")
    # an address released in a rolled-back change is held again
    with pytest.raises(Boom):
        with store.transaction():
            a.release_address(pid, gw)
            raise Boom
    with raises_exactly(AlreadyAllocated):
        a.request_address(pid, gw.ip)
    # a pool released in a rolled-back change is back, with its addresses
    with pytest.raises(Boom):
        with store.transaction():
            a.release_pool(pid)
            raise Boom
    with raises_exactly(PoolOverlap):
        a.request_pool(LOCAL, "10.0.0.0/24")
    assert a.request_address(pid) == I("10.0.0.3/24")
    # a pool made in a rolled-back change is gone
    with pytest.raises(Boom):
        with store.transaction():
            a.request_pool(LOCAL, "10.1.0.0/24")
            raise Boom
    assert a.request_pool(LOCAL, "10.1.0.0/24")[0] == "LocalDefault/10.1.0.0/24"
    # committed changes inside a transaction stay
    with store.transaction():
        ip = a.request_address(pid)
    assert make(store=store).dump() == a.dump()
    with raises_exactly(AlreadyAllocated):
        a.request_address(pid, ip.ip)


@pytest.mark.parametrize("mutate", [
    lambda v: v.update(version=99),
    lambda v: v.update(space="Elsewhere"),
    lambda v: v.update(subnet="10.9.0.0/24"),
    lambda v: v.update(pools={}),
    lambda v: v.update(pools={"LocalDefault/10.0.0.0/24/10.1.0.0/25":
                              "10.1.0.0/25"}),
    "no-blob",
    "bad-blob",
])
def test_unreadable_records_are_refused_not_forgotten(mutate):
    store = MemoryStore()
    a = make(store=store)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    a.request_address(pid)
    key = "LocalDefault/10.0.0.0/24"
    value, blob = store.get(STORE_KIND, key), store.get_blob(STORE_KIND, key)
    if mutate == "no-blob":
        blob = None
    elif mutate == "bad-blob":
        blob = b"\x00garbage"
    else:
        mutate(value)
    store.put(STORE_KIND, key, value, blob=blob)
    with raises_exactly(LibnetworkError, match="10.0.0.0/24"):
        make(store=store)


def test_wrong_size_bitmap_is_refused():
    store = MemoryStore()
    a = make(store=store)
    a.request_pool(LOCAL, "10.0.0.0/24")
    key = "LocalDefault/10.0.0.0/24"
    value = store.get(STORE_KIND, key)
    store.put(STORE_KIND, key, value, blob=BITMAP(512).to_bytes())
    with raises_exactly(LibnetworkError):
        make(store=store)


def test_failed_store_write_changes_nothing():
    class Failing(MemoryStore):
        fail = False

        def put(self, *args, **kw):
            if self.fail:
                raise OSError("disk full")
            super().put(*args, **kw)

    store = Failing()
    a = make(store=store)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24")
    a.request_address(pid)
    before = a.dump()
    store.fail = True
    with pytest.raises(OSError):
        a.request_address(pid)
    with pytest.raises(OSError):
        a.request_address(pid, "10.0.0.9")
    with pytest.raises(OSError):
        a.release_address(pid, "10.0.0.1")
    with pytest.raises(OSError):
        a.request_pool(LOCAL, "10.1.0.0/24")
    with pytest.raises(OSError):
        a.request_pool(LOCAL, "10.0.0.0/24", "10.0.0.0/25")
    store.fail = False
    assert a.dump() == before
    assert a.pool_ids() == [pid]
    assert a.request_address(pid) == I("10.0.0.2/24")


# ------------------------------------------------------------- threading

def test_concurrent_requests_never_share_an_address():
    a = make(store=MemoryStore())
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/22")
    out: list = []
    errors: list = []

    def worker():
        try:
            mine = [a.request_address(pid) for _ in range(100)]
            for ip in mine[::2]:
                a.release_address(pid, ip)
            out.extend(mine[1::2])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(out) == len(set(out)) == 400
    assert a.dump()["LocalDefault/10.0.0.0/22"]["free"] == 1024 - 2 - 400
