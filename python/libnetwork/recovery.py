"""Recovery from a store that cannot be trusted: move it aside and start
empty, after an explicit confirmation, removing (by default) the kernel
objects the old store had marked as its own.

    libnetwork.recover(data_dir="/var/lib/libnetwork",
                       exec_root="/run/libnetwork", confirm=True)

A controller refuses to start on a missing (while its exec root holds
libnetwork namespaces), empty, truncated, corrupt or foreign store
(:class:`~libnetwork.errors.StoreUnusable`); nothing in the kernel is
touched until the state is trusted.  This is the documented way out:
the old file (and its ``-wal``/``-shm``) is renamed to
``local.db.broken-<time>``, kept for inspection; with ``purge`` the old
store's namespaces (``<exec root>/netns/<id8>-*``), root links (alias
``libnetwork <id>``) and firewall table (``libnetwork_<id16>``) are
deleted, so a fresh start leaks nothing.  The
old identity comes from the old file when it can still be read, else
from the copy kept beside it (``<data_dir>/identity``).  Objects of other
stores, tools and users are never touched.
"""

from __future__ import annotations

import errno
import os
import time

from . import marks, plan
from .backends import ops as O
from .backends import select as select_backend
from .errors import InvalidParameter, LibnetworkError
from .firewall.ruleset import table_name

__all__ = ["recover"]


def _old_identity(path, data_dir):
    from .store.sqlite import SQLiteStore
    try:
        store = SQLiteStore(path, create=False)
    except LibnetworkError:
        return marks.read_identity(data_dir)
    try:
        rec = store.get("meta", "identity")
    except LibnetworkError:
        rec = None
    finally:
        store.close()
    return rec["id"] if rec else marks.read_identity(data_dir)


def recover(data_dir: str, exec_root: str = "/run/libnetwork", *,
            confirm: bool = False, purge: bool = True,
            backend: str = None, root_namespace: str = None) -> dict:
    """Move the store of ``data_dir`` aside so that the next controller
    starts empty.  ``confirm=True`` is required: without it nothing is
    done and InvalidParameter says what would be.  Returns what was done:
    ``{"moved": [paths], "identity": id or None, "namespaces": [...],
    "links": [...]}``."""
    db = os.path.join(data_dir, "local.db")
    files = [db + x for x in ("", "-wal", "-shm") if os.path.exists(db + x)]
    ident = _old_identity(db, data_dir) if os.path.exists(db) else \
        marks.read_identity(data_dir)
    if not confirm:
        raise InvalidParameter(
            f"recover() moves {', '.join(files) or 'nothing'} aside and, "
            f"with purge, deletes the kernel objects of store "
            f"{ident or '(unknown)'}: call it with confirm=True")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for f in files:
        dest = f.replace("local.db", f"local.db.broken-{stamp}", 1)
        os.rename(f, dest)
        moved.append(dest)
    # forget the old store: its identity file and its owner entry
    for stale in [os.path.join(data_dir, marks.IDENTITY_FILE)] + (
            [os.path.join(exec_root, marks.OWNERS, ident)] if ident else []):
        if os.path.exists(stale):
            os.unlink(stale)
    out = {"moved": moved, "identity": ident, "namespaces": [], "links": []}
    if not purge or ident is None:
        return out
    netns_dir = os.path.join(exec_root, "netns")
    nss = [os.path.join(netns_dir, f) for f in marks.any_netns(netns_dir)
           if marks.is_my_netns(f, ident)]
    be = select_backend(backend, root=root_namespace)
    try:
        links = [link.name for link in be.links(None)
                 if marks.is_mine(link, ident)]
        # the firewall table: its name carries the identity
        batch = (plan.bulk_delete(links) if links else []) + \
            [O.NetnsDelete(p) for p in nss] + \
            [O.NftTableDel(table_name(ident), missing_ok=True)]
        results = be.execute(batch)
    finally:
        be.close()
    failed = [r for r in results
              if not r.ok and r.errno not in (errno.ENODEV, errno.ENOENT)]
    if failed:
        raise failed[0].exception()
    out.update(namespaces=nss, links=links)
    return out
