"""The marks that prove a kernel object is this controller's: the store's
identity, and how every object carries it.

* Every store has an identity (128 random bits, kept in the store); it is
  the controller's name on the host.
* A link the controller creates in the root namespace (a bridge, a veth's
  host end, a VLAN sub-interface) gets the alias ``libnetwork <identity>``
  (``IFLA_IFALIAS``; the kernel keeps it with the link).  It also carries
  its network's link group, allocated from the store (unique per store),
  which the kernel's bulk deletion uses.
* A namespace the controller creates is bound at a path whose name starts
  with the identity's first 8 hex digits: ``<exec root>/netns/<id8>-<id12>``.

Reconcile removes an orphan only when it carries this store's mark (or the
store says it created it); objects of other controllers, of other tools and
of the user are never touched.
"""

from __future__ import annotations

import os
import re
import secrets

from .errors import Conflict
from .dirs import makedirs

__all__ = ["identity", "read_identity", "register_owner", "owner_of",
           "link_alias", "is_mine", "netns_name",
           "is_my_netns", "any_netns", "network_group", "temp_group",
           "GROUP_BASE"]

GROUP_BASE = 0x4C4E0000      # "LN": link groups of networks
_GROUP_MASK = 0xFFFF0000
_ALIAS = "libnetwork "
_NETNS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{12}")


IDENTITY_FILE = "identity"


def identity(store, data_dir=None) -> str:
    """The store's identity, made (in the store) on first use.  With
    ``data_dir``, a copy is kept in ``<data_dir>/identity``, so that
    :func:`libnetwork.recover` can still name the store's objects when the
    store itself can no longer be read."""
    with store.transaction():
        rec = store.get("meta", "identity")
        if rec is None:
            rec = {"id": secrets.token_hex(16)}
            store.put("meta", "identity", rec)
    if data_dir is not None:
        path = os.path.join(data_dir, IDENTITY_FILE)
        if read_identity(data_dir) != rec["id"]:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                         | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(rec["id"] + "\n")
    return rec["id"]


def read_identity(data_dir) -> "str | None":
    """The identity copy kept beside the store, or None."""
    try:
        with open(os.path.join(data_dir, IDENTITY_FILE)) as f:
            ident = f.read().strip()
    except OSError:
        return None
    return ident if re.fullmatch(r"[0-9a-f]{32}", ident) else None


OWNERS = "owners"


def register_owner(exec_root: str, ident: str, data_dir) -> None:
    """Note in the exec root that store ``ident`` (at ``data_dir``) keeps
    objects under it: ``<exec root>/owners/<identity>`` holds the data
    directory, so that a store lost later can still be told from the
    other stores sharing the exec root."""
    d = os.path.join(exec_root, OWNERS)
    makedirs(d, 0o755)
    path = os.path.join(d, ident)
    want = os.path.abspath(data_dir) if data_dir else ""
    try:
        with open(path) as f:
            if f.read() == want:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(want)


def owner_of(exec_root: str, data_dir) -> "str | None":
    """The identity of the store that last used ``data_dir`` under this
    exec root, or None."""
    d = os.path.join(exec_root, OWNERS)
    want = os.path.abspath(data_dir)
    try:
        names = os.listdir(d)
    except OSError:
        return None
    for ident in names:
        try:
            with open(os.path.join(d, ident)) as f:
                if f.read() == want:
                    return ident
        except OSError:
            continue
    return None


def link_alias(ident: str) -> str:
    """The alias of every root-namespace link the controller creates."""
    return _ALIAS + ident


def is_mine(link, ident: str) -> bool:
    """Does ``link`` (an :class:`~.backends.ops.Link`) carry our mark?"""
    return link.alias == _ALIAS + ident


def netns_name(ident: str, sandbox_id: str) -> str:
    """The file name a sandbox's namespace is bound at."""
    return f"{ident[:8]}-{sandbox_id[:12]}"


def is_my_netns(name: str, ident: str) -> bool:
    return _NETNS.fullmatch(name) is not None and name.startswith(ident[:8])


def any_netns(directory: str) -> list:
    """The namespace files in ``directory`` that a libnetwork controller
    (any) made: their names are marks."""
    try:
        return sorted(f for f in os.listdir(directory)
                      if _NETNS.fullmatch(f))
    except FileNotFoundError:
        return []


def network_group(store) -> int:
    """A link group for a new network: the lowest that no network record
    of the store uses (read inside the caller's store transaction, so two
    processes on one store never pick the same)."""
    used = {rec.get("driver_state", {}).get("group")
            for _, rec in store.list("network")}
    for k in range(1, 0x10000):
        if GROUP_BASE | k not in used:
            return GROUP_BASE | k
    raise Conflict("no free link group for another network")


def temp_group() -> int:
    """A short-lived link group for one bulk deletion: random, so that two
    processes deleting at the same moment never share one, and never a
    network's group or one a person would pick (below 2^16)."""
    while True:
        g = secrets.randbits(32)
        if g >= 0x10000 and g & _GROUP_MASK != GROUP_BASE:
            return g
