"""The Store contract, checked on MemoryStore and SQLiteStore alike.

Every behavioural test is parametrized over both implementations; the
SQLite-only tests and the state machine comparing both are in
test_store_sqlite.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from libnetwork.store import MemoryStore
from libnetwork.store.sqlite import SQLiteStore


class Boom(Exception):
    pass


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = (MemoryStore() if request.param == "memory"
         else SQLiteStore(str(tmp_path / "state" / "local.db")))
    yield s
    s.close()


def snapshot(s, kinds=("network", "endpoint", "sandbox")):
    return {k: [(key, v, s.get_blob(k, key)) for key, v in s.list(k)]
            for k in kinds}


# ================================================= the contract, both stores

def test_put_get_list_delete(store):
    assert store.get("network", "n1") is None
    assert store.list("network") == []
    store.put("network", "n2", {"name": "two", "ipv6": False})
    store.put("network", "n1", {"name": "one", "labels": {"a": "b"},
                                "ports": [1, 2], "x": None, "f": 1.5})
    store.put("endpoint", "n1", {"name": "ep"})
    assert store.get("network", "n1") == {
        "name": "one", "labels": {"a": "b"}, "ports": [1, 2], "x": None,
        "f": 1.5}
    assert store.list("network") == [("n1", store.get("network", "n1")),
                                     ("n2", {"name": "two", "ipv6": False})]
    assert store.list("endpoint") == [("n1", {"name": "ep"})]
    assert store.list("sandbox") == []
    store.put("network", "n2", {"name": "TWO"})            # overwrite
    assert store.get("network", "n2") == {"name": "TWO"}
    assert store.delete("network", "n2") is True
    assert store.delete("network", "n2") is False
    assert store.delete("nothing", "x") is False
    assert store.get("network", "n2") is None
    assert [k for k, _ in store.list("network")] == ["n1"]


def test_list_sorted_by_key(store):
    keys = ["b", "a", "ab", "B", "é", "z", "0", "a0", "\u4e2d", ""]
    for k in keys:
        store.put("k", k, {"k": k})
    assert [k for k, _ in store.list("k")] == sorted(keys)


def test_values_are_copies(store):
    v = {"list": [1], "d": {"x": 1}}
    store.put("k", "a", v)
    v["list"].append(2)
    got = store.get("k", "a")
    assert got == {"list": [1], "d": {"x": 1}}
    got["d"]["x"] = 99
    assert store.get("k", "a") == {"list": [1], "d": {"x": 1}}
    store.list("k")[0][1]["list"].append(3)
    assert store.get("k", "a")["list"] == [1]


def test_blobs(store):
    store.put("bitmap", "pool", {"bits": 256}, blob=b"\x00\xff" * 32)
    assert store.get_blob("bitmap", "pool") == b"\x00\xff" * 32
    assert store.get("bitmap", "pool") == {"bits": 256}
    store.put("bitmap", "noblob", {})
    assert store.get_blob("bitmap", "noblob") is None
    assert store.get_blob("bitmap", "missing") is None
    store.put("bitmap", "empty", {}, blob=b"")
    assert store.get_blob("bitmap", "empty") == b""
    # a put without a blob drops the old blob
    store.put("bitmap", "pool", {"bits": 256})
    assert store.get_blob("bitmap", "pool") is None
    store.put("bitmap", "pool", {"bits": 8}, blob=b"\x01")
    store.delete("bitmap", "pool")
    assert store.get_blob("bitmap", "pool") is None


def test_nested_transactions_commit_at_outermost(store, tmp_path):
    with store.transaction():
        store.put("k", "a", {"v": 1})
        with store.transaction():
            store.put("k", "b", {"v": 2})
            with store.transaction():
                store.delete("k", "a")
            assert store.get("k", "a") is None        # own writes visible
        assert store.get("k", "b") == {"v": 2}
    assert snapshot(store, ["k"]) == {"k": [("b", {"v": 2}, None)]}
    if isinstance(store, SQLiteStore):
        # committed: another connection sees it; nothing is pending
        other = SQLiteStore(store.path)
        assert other.list("k") == [("b", {"v": 2})]
        other.close()


def test_inner_commit_is_not_visible_to_other_connections(tmp_path):
    path = str(tmp_path / "local.db")
    a, b = SQLiteStore(path), SQLiteStore(path)
    try:
        with a.transaction():
            with a.transaction():
                a.put("k", "x", {"v": 1})
            # the inner transaction ended, but nothing is committed yet
            assert b.get("k", "x") is None
        assert b.get("k", "x") == {"v": 1}
    finally:
        a.close()
        b.close()


def test_rollback_restores_exact_previous_state(store):
    store.put("k", "keep", {"v": 1}, blob=b"old")
    store.put("k", "gone", {"v": 2})
    store.put("other", "x", {"v": 3})
    before = snapshot(store, ["k", "other", "new"])
    with pytest.raises(Boom):
        with store.transaction():
            store.put("k", "keep", {"v": 100}, blob=b"new")
            store.delete("k", "gone")
            store.delete("other", "x")
            store.put("new", "y", {"v": 4}, blob=b"b")
            with store.transaction():
                store.put("k", "inner", {})
                raise Boom()
    assert snapshot(store, ["k", "other", "new"]) == before


def test_exception_in_outermost_rolls_back_inner_commits(store):
    with pytest.raises(Boom):
        with store.transaction():
            with store.transaction():
                store.put("k", "a", {})
            with store.transaction():
                store.put("k", "b", {})
            raise Boom()
    assert store.list("k") == []


def test_exception_caught_inside_keeps_the_work(store):
    # only an exception that leaves the outermost transaction rolls back
    with store.transaction():
        store.put("k", "a", {})
        try:
            with store.transaction():
                store.put("k", "b", {})
                raise Boom()
        except Boom:
            pass
    assert [k for k, _ in store.list("k")] == ["a", "b"]


def test_store_usable_after_rollback(store):
    with pytest.raises(Boom):
        with store.transaction():
            store.put("k", "a", {})
            raise Boom()
    with store.transaction():
        store.put("k", "b", {})
    store.put("k", "c", {})
    assert [k for k, _ in store.list("k")] == ["b", "c"]


def test_transaction_excludes_other_threads(store):
    """Another thread's reads and writes wait until the transaction ends."""
    seen = []
    started = threading.Event()

    def other():
        started.set()
        seen.append(store.get("k", "a"))
        store.put("k", "b", {"from": "thread"})

    with store.transaction():
        store.put("k", "a", {"v": 1})
        t = threading.Thread(target=other)
        t.start()
        started.wait(5)
        time.sleep(0.2)
        assert seen == []                     # blocked
        store.put("k", "a", {"v": 2})
    t.join(10)
    assert seen == [{"v": 2}]
    assert store.get("k", "b") == {"from": "thread"}


def test_many_threads(store):
    def work(i):
        for j in range(20):
            with store.transaction():
                n = store.get("counter", "c") or {"n": 0}
                store.put("counter", "c", {"n": n["n"] + 1})
                store.put("t", f"{i}-{j:02d}", {"i": i})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert store.get("counter", "c") == {"n": 80}
    assert len(store.list("t")) == 80


# ======================================================== SQLite specifics
