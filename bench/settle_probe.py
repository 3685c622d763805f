"""The kernel's answer time as a settling signal.

After a detach the kernel destroys the namespaces in the background
(``cleanup_net``, a kworker), holding RTNL for seconds when they held
thousands of links; the machine's CPU load can look quiet while every
request that needs RTNL still waits.  :class:`Probe` times one small
request that needs RTNL -- a change of a link's group, on a bridge (down)
in a scratch namespace: RTNL taken, no RCU grace period waited for (a
link created and deleted would wait for one, ~35 ms here, longer than
what it measures) -- and :meth:`Probe.wait` repeats it until it
answers within ``factor`` x the best answer seen in this process (so the
reference improves as the run goes on), or the timeout passes.

:func:`wiring.measure.settle` calls the installed probe after its load
check, so every part of the report settles on both signals.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from libnetwork.backends import ops as O


class Probe:
    """A scratch namespace and a backend to time one request in it."""

    def __init__(self, backend: str = "native"):
        from wiring.peer_backend import open_backend
        from wiring.peer import Unavailable
        try:
            self.be = open_backend(backend)
        except Unavailable:
            self.be = open_backend("pyroute2")
        self.dir = tempfile.mkdtemp(prefix="bench-probe-", dir="/run"
                                    if os.path.isdir("/run") else None)
        self.ns = os.path.join(self.dir, "probe")
        self._ok(self.be.execute([O.NetnsCreate(self.ns)]))
        self._ok(self.be.execute([O.LinkAddBridge("probe0", ns=self.ns)]))
        self.group = 0
        self.best = float("inf")
        self.samples = 0
        self.waited = 0.0            # total seconds spent waiting

    @staticmethod
    def _ok(res):
        bad = [r for r in res if r.errno]
        if bad:
            raise RuntimeError(f"settle probe: {bad[0]!r}")

    def once(self) -> float:
        """Seconds for one change of the scratch link's group (the best
        of three in a row: a held RTNL slows all three, a preemption
        one)."""
        times = []
        for _ in range(3):
            self.group = (self.group + 1) % 1000
            t0 = time.perf_counter()
            self._ok(self.be.execute([O.LinkSet(
                "probe0", group=self.group + 1, ns=self.ns)]))
            times.append(time.perf_counter() - t0)
        t = min(times)
        self.samples += 1
        self.best = min(self.best, t)
        return t

    def wait(self, timeout: float = 10.0, factor: float = 1.5,
             gap: float = 0.02) -> float:
        """Probe until an answer is within ``factor`` x the best seen
        (three samples at least on the first call); seconds waited."""
        t0 = time.perf_counter()
        if self.samples < 3:
            for _ in range(3):
                self.once()
        while True:
            t = self.once()
            if t <= factor * self.best:
                break
            if time.perf_counter() - t0 > timeout:
                break
            time.sleep(gap)
        w = time.perf_counter() - t0
        self.waited += w
        return w

    def close(self) -> None:
        try:
            self.be.execute([O.NetnsDelete(self.ns)])
        finally:
            self.be.close()
            shutil.rmtree(self.dir, ignore_errors=True)
