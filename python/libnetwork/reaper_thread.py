"""The reaper of ``detach(wait=False)`` (see :mod:`libnetwork.reaper`
and ``docs/teardown.md``): one daemon thread per controller that looks at
the root's links, releases what the records of host ends the kernel let go
of hold, and deletes in bulk what it keeps past :data:`GRACE`; and the
lock files that say which reapers are alive.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
import time

from .dirs import makedirs

__all__ = ["GRACE", "IDLE", "STOP_TIMEOUT", "Reaper", "get", "alive",
           "sweep", "wait", "stop"]

#: seconds the kernel may take to destroy an unmounted namespace (and the
#: host ends of its veths with it) before the reaper deletes what remains
GRACE = 1.0
POLL_MIN = 0.005       # the first look after new work
POLL_MAX = 0.05        # looks at least this often while work is pending
IDLE = 2.0             # an idle reaper thread ends after this long
STOP_TIMEOUT = 60.0    # how long stop() waits for the reaper
LOCKS = "reapers"

log = logging.getLogger("libnetwork")


# ---------------------------------------------- owners and their locks

def lock_path(c, token) -> str:
    return os.path.join(c.config.exec_root, LOCKS,
                        f"{c.identity[:8]}-{token}")


def alive(c, token) -> bool:
    """Is the reaper ``token`` alive (its lock file held)?"""
    r = c.__dict__.get("_reaper")
    if r is not None and r.token == token:
        return True
    if not token or not c.intents.enabled:
        return False
    try:
        fd = os.open(lock_path(c, token), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def sweep(c) -> None:
    """Remove the lock files of this store's reapers that are gone."""
    d = os.path.join(c.config.exec_root, LOCKS)
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if name.startswith(c.identity[:8] + "-") and \
                not alive(c, name.split("-", 1)[1]):
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass


# ---------------------------------------------------------- the reaper

class Item:
    """A host end being reaped: its record and when it was handed over."""
    __slots__ = ("rec", "since")

    def __init__(self, rec, since):
        self.rec, self.since = rec, since


def get(c) -> "Reaper":
    """The controller's reaper (made on first use, under its lock)."""
    r = c.__dict__.get("_reaper")
    if r is None:
        r = c._reaper = Reaper(c)
    return r


class Reaper:
    """The thread finishing one controller's asynchronous teardowns."""

    def __init__(self, c):
        self._c = c
        self.token = secrets.token_hex(8)
        self._cv = threading.Condition(threading.Lock())
        self._pending: dict = {}          # host ifname -> Item
        self._thread = None
        self._fresh = False               # new work since the last look
        self._stopping = False
        #: counters: looks at the kernel, host ends it deleted itself,
        #: host ends released, looks that failed (logged, retried)
        self.stats = {"rounds": 0, "deleted": 0, "released": 0,
                      "failures": 0}
        self._fd = None
        if c.intents.enabled:
            # locked before it has its name: never seen unlocked (_sweep)
            d = os.path.join(c.config.exec_root, LOCKS)
            makedirs(d, 0o700)
            tmp = os.path.join(d, f".new-{self.token}")
            self._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL
                               | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(tmp, lock_path(c, self.token))

    def add(self, items: dict) -> None:
        with self._cv:
            idle = not self._pending
            self._pending.update(items)
            self._fresh = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="libnetwork-reaper", daemon=True)
                self._thread.start()
            elif idle:
                self._cv.notify_all()

    def wait(self, timeout=None) -> bool:
        """Until nothing is pending; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending, timeout)

    def pending(self) -> list:
        with self._cv:
            return sorted(self._pending)

    def close(self, timeout=STOP_TIMEOUT) -> None:
        """Wait for the pending work, end the thread, drop the lock (what
        is left, if the wait gave up, the next start finishes)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            if not self._cv.wait_for(lambda: not self._pending, timeout):
                log.warning("libnetwork: reaper: gave up waiting for %s",
                            ", ".join(sorted(self._pending)))
                self._pending.clear()
                self._cv.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self._fd is not None:
            try:
                os.unlink(lock_path(self._c, self.token))
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None

    def _run(self) -> None:
        delay = POLL_MIN
        while True:
            with self._cv:
                idle = time.monotonic()
                while not self._pending:
                    if self._stopping or time.monotonic() - idle >= IDLE:
                        self._thread = None
                        return
                    self._cv.wait(IDLE)
                if self._fresh:
                    self._fresh, delay = False, POLL_MIN
                self._cv.wait(delay)      # the kernel works meanwhile
                items = dict(self._pending)
            try:
                done = self._round(items)
            except Exception as exc:      # noqa: BLE001 - logged, retried
                log.warning("libnetwork: reaper: %s (retried)", exc)
                self.stats["failures"] += 1
                done, delay = (), POLL_MAX
            with self._cv:
                for name in done:
                    self._pending.pop(name, None)
                if done:
                    self._cv.notify_all()
            delay = min(delay * 2, POLL_MAX)

    def _round(self, items: dict):
        """One look: the host ends found gone are released; those overdue
        are deleted (confirmed at the next look)."""
        c = self._c
        recs = [(name, it.rec) for name, it in items.items()]
        from . import reaper as R     # (it imports this module)
        present = R._present(c, recs, R._links_of(c, recs))
        self.stats["rounds"] += 1
        now = time.monotonic()
        due = {name: link for name, link in present.items()
               if items[name].rec.get("delete")
               or now - items[name].since >= GRACE}
        if due:
            self.stats["deleted"] += len(due)
            for r in R._delete(c, recs, due):
                log.warning("libnetwork: reaper: %s (retried)",
                            r.exception())
            with self._cv:
                self._fresh = True
        gone = [name for name in items if name not in present]
        if not gone:
            return ()
        with c._lock, c.store.transaction():
            for name in gone:
                rec = c.store.get(R.KIND, name)
                if rec is not None and rec.get("owner") == self.token:
                    R._release(c, rec)
                    c.store.delete(R.KIND, name)
                    self.stats["released"] += 1
        return gone


def wait(c, timeout=None) -> bool:
    """Wait until the controller's reaper has nothing pending."""
    r = c.__dict__.get("_reaper")
    return True if r is None else r.wait(timeout)


def stop(c, timeout=STOP_TIMEOUT) -> None:
    """``controller.stop()``'s first step: the reaper's work done."""
    r = c.__dict__.get("_reaper")
    if r is not None:
        r.close(timeout)
