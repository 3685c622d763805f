"""The default pools and address ranges of the IPAM driver
(libnetwork.ipam.pools): one example test per rule, and two model tests.
No root."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ipam import N, make, raises_exactly

from libnetwork.errors import InvalidParameter
from libnetwork.ipam.pools import (
    GLOBAL_DEFAULT_POOLS,
    LOCAL_DEFAULT_POOLS,
    DefaultPools,
    Ranges,
    network_range,
)


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
