"""Crash safety: every change records its intent before it touches the
kernel, so that a controller started after a SIGKILL at any point brings
every object to fully present or fully gone.

* A change that sets something up (a network, sandboxes, endpoints, joins)
  writes, before each plan is sent, the kernel objects the plan creates.
  If its store transaction commits, the same transaction leaves a marker
  (``("intent", id)``) and the file is removed after the commit.  At the
  next start, an intent without its marker belongs to a change that never
  committed: what it created is deleted (a link only when it still carries
  the group the intent names).
* A teardown (leave, deleting endpoints, sandboxes or a network, detach)
  writes what it was asked to do; at the next start it is done again, on
  the restored objects (teardown is idempotent: what is gone is done).

Intent files live in ``<exec root>/intents/`` -- like the kernel state
they describe, they do not survive a reboot -- named after the store's
identity, written whole (a temporary file renamed over), never fsynced:
a process crash cannot lose what the kernel already holds.
"""

from __future__ import annotations

import json
import os
import secrets

from .backends import ops as O
from .dirs import makedirs

__all__ = ["Intents", "creations"]

KIND = "intent"


def creations(ops) -> list:
    """What ``ops`` create in the kernel, as intent entries: ``["netns",
    path]`` and ``["link", ns, name, group]``."""
    out = []
    for op in ops:
        t = type(op)
        if t is O.NetnsCreate:
            out.append(["netns", op.path])
        elif t in (O.LinkAddBridge, O.LinkAddVeth, O.LinkAddVlan):
            out.append(["link", op.ns, op.name, op.group])
        elif t in (O.LinkAddMacvlan, O.LinkAddIpvlan):
            out.append(["link", op.netns or op.ns, op.name, op.group])
    return out


class Intent:
    """One change's record, kept up to date in its file."""

    def __init__(self, log, kind, what):
        self.id = secrets.token_hex(8)
        self.data = {"id": self.id, "kind": kind, "what": what,
                     "creates": []}
        self.path = os.path.join(log.dir, f"{log.prefix}-{self.id}.json")
        #: is the file there (a setup intent is written with its first
        #: creation; a teardown's at once)
        self.written = False
        if kind != "setup":
            self._write()

    def created(self, ops) -> None:
        """Before a plan is sent: what it will create."""
        new = creations(ops)
        if new:
            self.data["creates"] += new
            self._write()

    def _write(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, separators=(",", ":"))
        os.replace(tmp, self.path)
        self.written = True

    def done(self) -> None:
        if self.written:
            os.unlink(self.path)
            self.written = False


class _Nothing:
    """The intent of a controller whose state does not persist."""
    id = None
    written = False

    def created(self, ops) -> None:
        pass

    def done(self) -> None:
        pass


class Intents:
    """The intent files of one store under one exec root."""

    def __init__(self, exec_root: str, identity: str, enabled: bool = True):
        self.dir = os.path.join(exec_root, "intents")
        self.prefix = identity[:8]
        self.enabled = enabled
        if enabled:
            makedirs(self.dir, 0o700)

    def begin(self, kind: str, what=None):
        """A new intent: ``kind`` ``"setup"`` or a teardown's name, with
        what it was asked to do."""
        if not self.enabled:
            return _Nothing()
        return Intent(self, kind, what)

    def pending(self) -> list:
        """``(path, record)`` of every intent left by a crash, oldest first
        (a file that cannot be read is a crash inside its write: its
        change never sent anything)."""
        if not self.enabled:
            return []
        out = []
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name)
            if not name.startswith(self.prefix + "-"):
                continue
            if name.endswith(".tmp"):
                os.unlink(path)
                continue
            try:
                with open(path) as f:
                    rec = json.load(f)
            except (OSError, ValueError):
                os.unlink(path)
                continue
            out.append((os.stat(path).st_mtime, path, rec))
        return [(p, r) for _, p, r in sorted(out, key=lambda x: x[:2])]
