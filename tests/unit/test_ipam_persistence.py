"""The IPAM driver's store records: written through, restored, followed
by a second allocator, rolled back with the caller's transaction, refused
when unreadable.  No root."""

from __future__ import annotations

import pytest
from test_ipam import GLOBAL, GW, LOCAL, SERIAL, I, N, make, raises_exactly

from libnetwork.errors import (
    AlreadyAllocated,
    LibnetworkError,
    NotFound,
    PoolOverlap,
)
from libnetwork.ipam import Allocator
from libnetwork.ipam import Bitmap as BITMAP  # native when built
from libnetwork.ipam.allocator import STORE_KIND
from libnetwork.store import MemoryStore


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
