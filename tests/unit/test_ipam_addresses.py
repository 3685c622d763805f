"""The IPAM driver's addresses (RequestAddress, ReleaseAddress): IPv4 and
IPv6, first-free and serial, the errors, and concurrent callers.  No
root."""

from __future__ import annotations

import threading

import pytest
from test_ipam import GW, LOCAL, SERIAL, A, I, N, make, raises_exactly

from libnetwork import netlabel
from libnetwork.errors import (
    AddressOutOfRange,
    AlreadyAllocated,
    InvalidParameter,
    LibnetworkError,
    NotFound,
    PoolExhausted,
)
from libnetwork.ipam.allocator import STORE_KIND
from libnetwork.store import MemoryStore


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
    """The same integer range in both families (::a00:0/120 is ::10.0.0.0)
    is no overlap."""
    a = make()
    a.request_pool(LOCAL, "::a00:0/120", v6=True)
    a.request_pool(LOCAL, "10.0.0.0/24")


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
