"""The SQLite store's own behaviour: its file, reopening, one file shared
by stores and processes (writers wait, then give up), schema version and
corruption refused; and a hypothesis state machine that drives the memory
and SQLite stores through the same random puts, deletes, nested
transactions and rollbacks, comparing them after every step.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant,
                                 precondition, rule)

from libnetwork.errors import StoreUnusable, InvalidParameter, LibnetworkError
from libnetwork.store import MemoryStore, open_store
from libnetwork.store.sqlite import SCHEMA_VERSION, SQLiteStore

from test_store import Boom



def test_sqlite_file_layout(tmp_path):
    path = tmp_path / "data" / "dir" / "local.db"
    s = SQLiteStore(str(path))
    try:
        assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        conn = sqlite3.connect(str(path))
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == \
            SCHEMA_VERSION
        cols = [r[1] for r in conn.execute("PRAGMA table_info(objects)")]
        assert cols == ["kind", "key", "value", "blob"]
        conn.close()
    finally:
        s.close()


def test_open_store_uses_local_db(tmp_path):
    s = open_store(str(tmp_path))
    try:
        assert isinstance(s, SQLiteStore)
        assert s.path == os.path.join(str(tmp_path), "local.db")
    finally:
        s.close()
    assert isinstance(open_store(None), MemoryStore)


def test_sqlite_reopen_keeps_data(tmp_path):
    path = str(tmp_path / "local.db")
    with SQLiteStore(path) as s:
        with s.transaction():
            s.put("network", "n1", {"name": "one"}, blob=b"\x01\x02")
            s.put("network", "n2", {"name": "two"})
        s.delete("network", "n2")
    s2 = SQLiteStore(path)
    try:
        assert s2.list("network") == [("n1", {"name": "one"})]
        assert s2.get_blob("network", "n1") == b"\x01\x02"
    finally:
        s2.close()


def test_sqlite_uncommitted_lost_on_close(tmp_path):
    path = str(tmp_path / "local.db")
    s = SQLiteStore(path)
    s.put("k", "committed", {})
    cm = s.transaction()
    cm.__enter__()
    s.put("k", "pending", {})
    s.close()                                   # rolls back
    with SQLiteStore(path) as s2:
        assert [k for k, _ in s2.list("k")] == ["committed"]


def test_sqlite_closed_store_raises(tmp_path):
    s = SQLiteStore(str(tmp_path / "local.db"))
    s.close()
    s.close()                                   # idempotent
    with pytest.raises(LibnetworkError):
        s.get("k", "a")
    with pytest.raises(LibnetworkError):
        s.put("k", "a", {})


def test_two_stores_on_one_file_see_each_others_commits(tmp_path):
    path = str(tmp_path / "local.db")
    a, b = SQLiteStore(path), SQLiteStore(path)
    try:
        a.put("k", "from-a", {"v": 1})
        assert b.get("k", "from-a") == {"v": 1}
        with b.transaction():
            b.put("k", "from-b", {"v": 2}, blob=b"x")
            b.delete("k", "from-a")
        assert a.list("k") == [("from-b", {"v": 2})]
        assert a.get_blob("k", "from-b") == b"x"
    finally:
        a.close()
        b.close()


def test_concurrent_writer_waits(tmp_path):
    path = str(tmp_path / "local.db")
    a, b = SQLiteStore(path), SQLiteStore(path)
    events = []
    in_tx = threading.Event()
    errors = []

    def holder():
        with a.transaction():
            a.put("k", "a", {"v": 1})
            in_tx.set()
            time.sleep(0.5)
            events.append("a-commit")

    def writer():
        in_tx.wait(5)
        try:
            # a reader is not blocked and sees the last committed state
            assert b.get("k", "a") is None
            with b.transaction():
                events.append("b-begin")
                assert b.get("k", "a") == {"v": 1}
                b.put("k", "b", {"v": 2})
        except BaseException as e:             # pragma: no cover
            errors.append(e)

    try:
        ts = [threading.Thread(target=holder), threading.Thread(target=writer)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert errors == []
        assert events == ["a-commit", "b-begin"]
        assert [k for k, _ in a.list("k")] == ["a", "b"]
    finally:
        a.close()
        b.close()


_HOLDER = """
import sys, time
from libnetwork.store.sqlite import SQLiteStore
s = SQLiteStore(sys.argv[1])
with s.transaction():
    s.put("k", "child", {"pid": 1})
    print("locked", flush=True)
    time.sleep(0.7)
s.close()
"""


def test_writer_in_another_process_waits(tmp_path):
    path = str(tmp_path / "local.db")
    s = SQLiteStore(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, path],
                             stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        try:
            t0 = time.monotonic()
            with s.transaction():
                waited = time.monotonic() - t0
                assert s.get("k", "child") == {"pid": 1}
                s.put("k", "parent", {})
            assert waited > 0.3
        finally:
            s.close()
    finally:
        assert child.wait(30) == 0
    with SQLiteStore(path) as s:
        assert [k for k, _ in s.list("k")] == ["child", "parent"]


def test_writer_gives_up_after_timeout(tmp_path):
    path = str(tmp_path / "local.db")
    a = SQLiteStore(path)
    b = SQLiteStore(path, timeout=0.2)
    try:
        with a.transaction():
            a.put("k", "a", {})
            t0 = time.monotonic()
            with pytest.raises(LibnetworkError, match="transaction"):
                with b.transaction():
                    pass                                 # pragma: no cover
            assert time.monotonic() - t0 >= 0.15
        b.put("k", "b", {})                         # works again afterwards
        assert [k for k, _ in a.list("k")] == ["a", "b"]
    finally:
        a.close()
        b.close()


def test_sqlite_newer_schema_refused(tmp_path):
    path = str(tmp_path / "local.db")
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(LibnetworkError, match="newer"):
        SQLiteStore(path)


def test_sqlite_not_a_database(tmp_path):
    path = tmp_path / "local.db"
    path.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreUnusable, match="cannot be read") as ei:
        SQLiteStore(str(path))
    assert ei.value.path == str(path) and "recover" in str(ei.value)


def _written_store(path, n=200):
    s = SQLiteStore(str(path))
    with s.transaction():
        for i in range(n):
            s.put("endpoint", f"e{i:04d}", {"name": f"e{i}", "pad": "x" * 200})
    s.close()              # the last connection: the WAL is merged back
    return path


@pytest.mark.parametrize("damage", ["empty", "truncated", "scribbled",
                                    "foreign", "missing"])
def test_sqlite_untrustworthy_file_refused(tmp_path, damage):
    """Never started over: each damaged file is refused, named, and left
    exactly as it was."""
    path = tmp_path / "local.db"
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign":
        conn = sqlite3.connect(str(path))
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    elif damage != "missing":
        _written_store(path)
        data = bytearray(path.read_bytes())
        if damage == "truncated":
            data = data[:len(data) // 2 + 100]
        else:
            for off in range(4096, len(data), 997):
                data[off:off + 64] = os.urandom(64)
        path.write_bytes(bytes(data))
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(StoreUnusable) as ei:
        SQLiteStore(str(path), create=False)
    assert ei.value.path == str(path)
    assert (path.read_bytes() if path.exists() else None) == before


def test_sqlite_created_flag(tmp_path):
    s = SQLiteStore(str(tmp_path / "new" / "local.db"))
    assert s.created
    s.close()
    assert oct(os.stat(tmp_path / "new").st_mode & 0o777) == "0o700"
    s = SQLiteStore(str(tmp_path / "new" / "local.db"))
    assert not s.created
    s.close()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"s"'])
def test_sqlite_corrupt_value(tmp_path, raw):
    path = str(tmp_path / "local.db")
    with SQLiteStore(path) as s:
        s.put("k", "a", {"ok": True})
    conn = sqlite3.connect(path)
    conn.execute("UPDATE objects SET value = ? WHERE key = 'a'", (raw,))
    conn.commit()
    conn.close()
    with SQLiteStore(path) as s:
        with pytest.raises(LibnetworkError, match="corrupt value for k/a"):
            s.get("k", "a")
        with pytest.raises(LibnetworkError, match="corrupt"):
            s.list("k")
        assert s.get_blob("k", "a") is None       # the row itself is fine


@pytest.mark.parametrize("value", [[1], "s", {"x": {1, 2}},
                                   {"f": float("nan")}])
def test_sqlite_rejects_non_json_values(tmp_path, value):
    with SQLiteStore(str(tmp_path / "local.db")) as s:
        with pytest.raises(InvalidParameter):
            s.put("k", "a", value)
        with pytest.raises(InvalidParameter):
            s.put(1, "a", {})
        with pytest.raises(InvalidParameter):
            s.put("k", "a", {}, blob="not bytes")
        assert s.list("k") == []


# ============================================== stateful: both stores agree

KINDS = ("network", "endpoint")
KEYS = ("", "a", "b", "ab", "é", "z")
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6)
_objects = st.dictionaries(st.text(max_size=4), _values, max_size=4)
_blobs = st.none() | st.binary(max_size=16)


class StoresAgree(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="store-sm-")
        self.path = os.path.join(self.dir, "local.db")
        self.mem = MemoryStore()
        self.sql = SQLiteStore(self.path, synchronous="NORMAL")
        self.open = []                  # [(mem cm, sql cm)] innermost last

    @rule(kind=st.sampled_from(KINDS), key=st.sampled_from(KEYS),
          value=_objects, blob=_blobs)
    def put(self, kind, key, value, blob):
        self.mem.put(kind, key, value, blob)
        self.sql.put(kind, key, value, blob)

    @rule(kind=st.sampled_from(KINDS), key=st.sampled_from(KEYS))
    def delete(self, kind, key):
        assert self.mem.delete(kind, key) == self.sql.delete(kind, key)

    @precondition(lambda self: len(self.open) < 4)
    @rule()
    def begin(self):
        pair = (self.mem.transaction(), self.sql.transaction())
        for cm in pair:
            cm.__enter__()
        self.open.append(pair)

    @precondition(lambda self: self.open)
    @rule()
    def commit(self):
        for cm in self.open.pop():
            assert not cm.__exit__(None, None, None)

    @precondition(lambda self: self.open)
    @rule()
    def fail(self):
        """The transaction's body raises; the exception is caught by the
        enclosing body (if any), as a caller might."""
        for cm in self.open.pop():
            e = Boom()
            assert not cm.__exit__(Boom, e, None)   # propagated, not eaten

    @rule()
    def reopen(self):
        if self.open:
            return                     # reopening mid-transaction loses it
        self.sql.close()
        self.sql = SQLiteStore(self.path, synchronous="NORMAL")

    @invariant()
    def same_contents(self):
        for kind in KINDS:
            assert self.mem.list(kind) == self.sql.list(kind)
            for key in KEYS:
                assert self.mem.get(kind, key) == self.sql.get(kind, key)
                assert (self.mem.get_blob(kind, key)
                        == self.sql.get_blob(kind, key))

    def teardown(self):
        while self.open:
            for cm in self.open.pop():
                cm.__exit__(Boom, Boom(), None)
        self.sql.close()
        shutil.rmtree(self.dir, ignore_errors=True)


StoresAgree.TestCase.settings = settings(
    deadline=None, max_examples=60, stateful_step_count=40,
    suppress_health_check=[HealthCheck.too_slow])
test_stores_agree = StoresAgree.TestCase


@pytest.mark.parametrize("seed", range(12))
def test_sqlite_random_damage_only_raises_libnetwork_errors(tmp_path, seed):
    """Whatever the damage, opening and reading a store raises nothing
    but LibnetworkError (StoreUnusable at open), each naming the file."""
    import random
    rnd = random.Random(seed)
    path = _written_store(tmp_path / "local.db", n=50)
    data = bytearray(path.read_bytes())
    for _ in range(rnd.randint(1, 8)):
        off = rnd.randrange(len(data))
        n = rnd.randint(1, 200)
        data[off:off + n] = bytes(rnd.randrange(256) for _ in range(n))
    if rnd.random() < 0.3:
        data = data[:rnd.randrange(len(data))]
    path.write_bytes(bytes(data))
    try:
        s = SQLiteStore(str(path), create=False)
    except StoreUnusable as e:
        assert e.path == str(path)
        return
    try:
        for kind in ("endpoint", "network", "meta"):
            try:
                for key, _ in s.list(kind):
                    s.get(kind, key)
            except LibnetworkError as e:
                assert str(path) in str(e)
    finally:
        s.close()
