"""Persistent state behind one small interface.

A store holds JSON objects (and an optional binary blob, such as an IPAM
bitmap) under ``(kind, key)``.  Every user-visible change of the controller
runs inside one :meth:`Store.transaction`, so it is written whole or not at
all; transactions nest (only the outermost one commits) and an exception
rolls the whole change back.

Implementations: :class:`MemoryStore` (the fake, for tests and for
``option_data_dir(None)``), :class:`~libnetwork.store.sqlite.SQLiteStore`
(local scope, the default) and, later, an etcd store (global scope).  The
shape -- kinds, string keys, JSON values, compare-free puts inside a
transaction -- maps onto etcd's v3 transactions as well as onto SQLite.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import Iterator, Optional, Protocol

__all__ = ["Store", "MemoryStore", "open_store"]


class Store(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager: ...
    def put(self, kind: str, key: str, value: dict,
            blob: Optional[bytes] = None) -> None: ...
    def get(self, kind: str, key: str) -> Optional[dict]: ...
    def get_blob(self, kind: str, key: str) -> Optional[bytes]: ...
    def delete(self, kind: str, key: str) -> bool: ...
    def put_many(self, kind: str, items) -> None: ...
    def delete_many(self, kind: str, keys) -> None: ...
    def list(self, kind: str) -> list[tuple[str, dict]]: ...
    def close(self) -> None: ...


class MemoryStore:
    """The in-memory fake: same semantics (nesting, rollback), no disk."""

    def __init__(self):
        self._data: dict = {}
        self._lock = threading.RLock()
        self._depth = 0
        self._saved = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = copy.deepcopy(self._data)
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._data = self._saved
                    self._saved = None
                raise
            self._depth -= 1
            if self._depth == 0:
                self._saved = None

    def put(self, kind, key, value, blob=None):
        with self._lock:
            self._data[(kind, key)] = (copy.deepcopy(value), blob)

    def put_many(self, kind, items):
        with self.transaction():
            for key, value in items:
                self.put(kind, key, value)

    def delete_many(self, kind, keys):
        with self.transaction():
            for key in keys:
                self.delete(kind, key)

    def get(self, kind, key):
        with self._lock:
            v = self._data.get((kind, key))
            return None if v is None else copy.deepcopy(v[0])

    def get_blob(self, kind, key):
        with self._lock:
            v = self._data.get((kind, key))
            return None if v is None else v[1]

    def delete(self, kind, key):
        with self._lock:
            return self._data.pop((kind, key), None) is not None

    def list(self, kind):
        with self._lock:
            return sorted((k, copy.deepcopy(v[0]))
                          for (kd, k), v in self._data.items() if kd == kind)

    def close(self):
        pass


def open_store(data_dir: Optional[str],
               exec_root: Optional[str] = None) -> "Store":
    """The local store under ``data_dir`` (``<data_dir>/local.db``), or a
    :class:`MemoryStore` when ``data_dir`` is None.

    A missing file is created -- unless a store lived there before: its
    identity file remains beside it, or ``exec_root`` names it as an owner
    and still holds its namespaces.  Then the state is lost, not new, and
    start-up stops with :class:`~libnetwork.errors.StoreUnusable` before
    anything in the kernel is touched.
    """
    if data_dir is None:
        return MemoryStore()
    import os

    from ..errors import StoreUnusable
    from ..marks import any_netns, is_my_netns, owner_of, read_identity
    from .sqlite import SQLiteStore
    path = os.path.join(data_dir, "local.db")
    if not os.path.exists(path):
        ident = read_identity(data_dir)
        if ident is not None:
            raise StoreUnusable(path, f"the file is missing, but store "
                                f"{ident} lived here (its identity file "
                                "remains)")
        ident = owner_of(exec_root, data_dir) if exec_root else None
        netns_dir = os.path.join(exec_root, "netns") if exec_root else ""
        found = [f for f in any_netns(netns_dir)
                 if ident and is_my_netns(f, ident)]
        if found:
            raise StoreUnusable(path, f"the file is missing, but {netns_dir} "
                                f"holds {len(found)} namespace(s) of its "
                                f"store {ident} ({found[0]} ...)")
    return SQLiteStore(path)
