"""The local store on SQLite (stdlib :mod:`sqlite3`).

Same semantics as :class:`~libnetwork.store.MemoryStore`: objects are JSON
dicts (plus an optional blob) under ``(kind, key)``; transactions nest, only
the outermost commits, and an exception that leaves the outermost one rolls
back everything done since it began.

Decisions:

* One table, ``objects(kind, key, value, blob)`` keyed by ``(kind, key)``
  ``WITHOUT ROWID`` (the rows are clustered by kind, so ``list(kind)`` is a
  range scan already in key order); the schema version is SQLite's
  ``user_version`` pragma.  A file written by a newer libnetwork (a higher
  version) is refused with a :class:`LibnetworkError` rather than misread.
* Journal mode WAL with ``synchronous=FULL`` by default: a commit returns
  only once it is on disk, as libnetwork's boltdb store (which fsyncs every
  commit).  ``synchronous="NORMAL"`` may be passed: WAL stays consistent
  after a power loss but may lose the last commits.
* One connection per :class:`SQLiteStore`, usable from every thread
  (``check_same_thread=False``), guarded by an RLock that a transaction
  holds from ``BEGIN`` to ``COMMIT``: as in :class:`MemoryStore`, other
  threads wait until the transaction ends.
* Several processes (or several ``SQLiteStore`` objects) may share a file:
  a transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock at
  once, so two writers never deadlock upgrading read locks) and the busy
  timeout (``timeout``, 30 s by default) makes a second writer wait for the
  first one rather than fail; readers are never blocked (WAL).  A writer
  that waited in vain gets a :class:`LibnetworkError`.
* ``put``/``delete`` outside a transaction are allowed and commit at once
  (each runs in a transaction of its own), as in :class:`MemoryStore`.
* The file is created mode 0600 and missing parent directories mode 0700;
  SQLite gives the ``-wal``/``-shm`` files the database file's mode.
  Only a missing file is created (``create=False`` refuses that too): an
  existing file that is empty, not a database, without this package's
  schema, of a newer schema, or that fails SQLite's ``quick_check`` is
  refused with :class:`~libnetwork.errors.StoreUnusable` naming it, never
  started over.  Every SQLite error later names the file too.
* Values must be JSON objects; they are stored as compact JSON text, so
  values come back as JSON gives them (tuples as lists, and so on).
  Non-finite floats are refused, so that every value is standard JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from typing import Iterator, Optional

from ..errors import InvalidParameter, LibnetworkError, StoreUnusable
from ..dirs import makedirs

__all__ = ["SQLiteStore", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    blob  BLOB,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID
"""

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SQLiteStore:
    """The :class:`~libnetwork.store.Store` on one SQLite file."""

    def __init__(self, path: str, *, timeout: float = 30.0,
                 synchronous: str = "FULL", create: bool = True):
        if str(synchronous).upper() not in _SYNCHRONOUS:
            raise InvalidParameter(f"synchronous={synchronous!r}")
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: Optional[sqlite3.Connection] = None
        #: True when this object created the file (a new, empty store)
        self.created = False
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = None
        except OSError as e:
            raise StoreUnusable(self.path, f"unreadable: {e.strerror}") \
                from e
        if size == 0:
            raise StoreUnusable(self.path, "the file is empty (0 bytes): "
                                "its state is lost, not new")
        if size is None:
            if not create:
                raise StoreUnusable(self.path, "the file is missing")
            self.created = self._create()
        conn = sqlite3.connect(self.path, timeout=self.timeout,
                               isolation_level=None,
                               check_same_thread=False)
        try:
            self._setup(conn, str(synchronous).upper())
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _create(self) -> bool:
        """A new store, made whole beside the path and linked into place:
        no process ever sees it half made (a racing one's link wins, and
        this one opens that).  True when ours is the one in place."""
        parent = os.path.dirname(os.path.abspath(self.path))
        makedirs(parent, 0o700)
        tmp = f"{self.path}.new-{os.getpid()}-{threading.get_ident()}"
        # private from the start: the file is ours before SQLite opens it
        os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC
                         | os.O_CLOEXEC, 0o600))
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                conn.execute(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            finally:
                conn.close()        # the last connection: WAL merged back
            try:
                os.link(tmp, self.path)
                return True
            except FileExistsError:
                return False
        finally:
            for f in (tmp, tmp + "-wal", tmp + "-shm"):
                if os.path.exists(f):
                    os.unlink(f)

    # ------------------------------------------------------------ set-up

    def _setup(self, conn: sqlite3.Connection, synchronous: str) -> None:
        try:
            # before anything writes to it (even the switch to WAL changes
            # the header): is it a store we can trust?
            self._retry_busy(lambda: self._check(conn))
            self._retry_busy(
                lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    conn.execute(_SCHEMA)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
            raise StoreUnusable(self.path, f"cannot be read: {e}") from e

    def _check(self, conn: sqlite3.Connection) -> None:
        """Refuse an existing file that is no store of this package's
        schema or that SQLite finds damaged (read-only checks)."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreUnusable(
                self.path, f"schema version {version} is newer than this "
                f"libnetwork's ({SCHEMA_VERSION})",
                "use the libnetwork that wrote it")
        if version == 0:
            raise StoreUnusable(self.path, "not a libnetwork store (a "
                                "database without its schema)")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StoreUnusable(self.path, f"corrupt: {check}")

    def _retry_busy(self, fn):
        """Run ``fn``, retrying while the database is locked, up to the
        timeout (a few statements, such as the switch to WAL, may return
        SQLITE_BUSY without waiting in the busy handler)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                if time.monotonic() >= deadline:
                    raise LibnetworkError(
                        f"store {self.path}: still locked by another "
                        f"writer after {self.timeout:g}s") from e
                time.sleep(0.01)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LibnetworkError(f"store {self.path} is closed")
        return self._conn

    # ------------------------------------------------------- transactions

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            conn = self._connection()
            if self._depth == 0:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as e:
                    raise LibnetworkError(
                        f"store {self.path}: cannot begin a transaction "
                        f"(waited up to {self.timeout:g}s): {e}") from e
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._rollback(conn)
                raise
            self._depth -= 1
            if self._depth == 0:
                try:
                    conn.execute("COMMIT")
                except BaseException as e:
                    self._rollback(conn)
                    if isinstance(e, sqlite3.Error):
                        raise LibnetworkError(
                            f"store {self.path}: commit failed: {e}") from e
                    raise

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.ProgrammingError:    # closed meanwhile: nothing to do
            pass

    # ---------------------------------------------------------- objects

    @contextlib.contextmanager
    def _errors(self):
        """SQLite's errors as LibnetworkError naming the file."""
        try:
            yield
        except (sqlite3.Error, UnicodeDecodeError) as e:
            raise LibnetworkError(f"store {self.path}: {e}") from e

    def _encode(self, kind, key, value) -> str:
        _check_names(kind, key)
        if not isinstance(value, dict):
            raise InvalidParameter(
                f"store value for {kind}/{key} must be a dict, "
                f"not {type(value).__name__}")
        try:
            return json.dumps(value, separators=(",", ":"),
                              allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidParameter(
                f"store value for {kind}/{key} is not JSON: {e}") from e

    def _decode(self, kind, key, text) -> dict:
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as e:
            raise LibnetworkError(
                f"store {self.path}: corrupt value for {kind}/{key}: "
                f"{e}") from e
        if not isinstance(value, dict):
            raise LibnetworkError(
                f"store {self.path}: corrupt value for {kind}/{key}: "
                f"a JSON {type(value).__name__}, not an object")
        return value

    def put(self, kind: str, key: str, value: dict,
            blob: Optional[bytes] = None) -> None:
        text = self._encode(kind, key, value)
        if blob is not None:
            if not isinstance(blob, (bytes, bytearray, memoryview)):
                raise InvalidParameter(
                    f"store blob for {kind}/{key} must be bytes, "
                    f"not {type(blob).__name__}")
            blob = bytes(blob)
        with self.transaction(), self._errors():
            self._connection().execute(
                "INSERT INTO objects (kind, key, value, blob) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE "
                "SET value = excluded.value, blob = excluded.blob",
                (kind, key, text, blob))

    def put_many(self, kind: str, items) -> None:
        """``put`` of many ``(key, value)`` records of one kind (no blobs),
        in one statement."""
        rows = [(kind, key, self._encode(kind, key, value))
                for key, value in items]
        if not rows:
            return
        with self.transaction(), self._errors():
            self._connection().executemany(
                "INSERT INTO objects (kind, key, value, blob) "
                "VALUES (?, ?, ?, NULL) ON CONFLICT (kind, key) DO UPDATE "
                "SET value = excluded.value, blob = NULL", rows)

    def delete_many(self, kind: str, keys) -> None:
        """``delete`` of many keys of one kind, in one statement."""
        rows = []
        for key in keys:
            _check_names(kind, key)
            rows.append((kind, key))
        if not rows:
            return
        with self.transaction(), self._errors():
            self._connection().executemany(
                "DELETE FROM objects WHERE kind = ? AND key = ?", rows)

    def get(self, kind: str, key: str) -> Optional[dict]:
        _check_names(kind, key)
        with self._lock, self._errors():
            row = self._connection().execute(
                "SELECT value FROM objects WHERE kind = ? AND key = ?",
                (kind, key)).fetchone()
        return None if row is None else self._decode(kind, key, row[0])

    def get_blob(self, kind: str, key: str) -> Optional[bytes]:
        _check_names(kind, key)
        with self._lock, self._errors():
            row = self._connection().execute(
                "SELECT blob FROM objects WHERE kind = ? AND key = ?",
                (kind, key)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def delete(self, kind: str, key: str) -> bool:
        _check_names(kind, key)
        with self.transaction(), self._errors():
            cur = self._connection().execute(
                "DELETE FROM objects WHERE kind = ? AND key = ?",
                (kind, key))
            return cur.rowcount > 0

    def list(self, kind: str) -> list[tuple[str, dict]]:
        _check_names(kind, "")
        with self._lock, self._errors():
            rows = self._connection().execute(
                "SELECT key, value FROM objects WHERE kind = ? "
                "ORDER BY key", (kind,)).fetchall()
        return [(k, self._decode(kind, k, v)) for k, v in rows]

    # ---------------------------------------------------------- closing

    def close(self) -> None:
        """Close the connection (idempotent); waits for a transaction of
        another thread to end."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                self._rollback(conn)
                conn.close()

    def __enter__(self) -> "SQLiteStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"


def _check_names(kind, key) -> None:
    if not isinstance(kind, str) or not isinstance(key, str):
        raise InvalidParameter(
            f"store kind and key must be strings, not {kind!r}, {key!r}")
