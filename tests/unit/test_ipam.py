"""The default IPAM driver (libnetwork.ipam.allocator): address spaces and
pools, automatic, explicit and sub-pools; one example test per rule.  No
root.

The helpers here (``make``, ``raises_exactly`` and the constants) serve
the other ``test_ipam_*`` files too: addresses, persistence and the
default pools' own tests.
"""

from __future__ import annotations

import ipaddress
import threading

import pytest

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
from libnetwork.ipam.pools import LOCAL_DEFAULT_POOLS, DefaultPools
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

def test_host_networks_is_called_only_when_an_automatic_pool_is_chosen():
    calls: list = []

    def routes():
        # the allocator's lock is free: another thread gets through
        t = threading.Thread(target=a.pool_ids)
        t.start()
        t.join(10)
        calls.append(not t.is_alive())
        return [N("172.17.0.0/16")]

    a = make(store=MemoryStore(), host_networks=routes)
    pid, _, _ = a.request_pool(LOCAL, "10.0.0.0/24", "10.0.0.0/25")
    a.request_address(pid)
    a.release_address(pid, "10.0.0.1")
    a.dump(), a.pool_ids(), a.restore()
    a.release_pool(pid)
    with raises_exactly(InvalidParameter):
        a.request_pool(LOCAL, v6=True)
    with raises_exactly(InvalidParameter):
        a.request_pool("Other")
    assert calls == []
    assert a.request_pool(LOCAL)[1] == N("172.18.0.0/16")
    assert calls == [True]


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
