"""Measurement of one phase: wall time, CPU time, context switches, and
waiting for the kernel's deferred work to settle between phases."""

from __future__ import annotations

import gc
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Timing:
    """One measured phase: ``n`` endpoints wired (or unwired) in ``wall``
    seconds, with ``user`` and ``sys`` CPU seconds of this process and its
    children.  ``extra``: context switches (``vcsw``, ``ivcsw``), the
    backend's ``sendmsg`` calls where it counts them, the round."""
    impl: str
    phase: str            # "wire" | "unwire" | a stage name
    n: int
    wall: float
    user: float
    sys: float
    extra: dict = field(default_factory=dict)

    @property
    def eps(self) -> float:
        """Endpoints per second (wall)."""
        return self.n / self.wall if self.wall > 0 else float("inf")

    @property
    def sendmsg(self) -> Optional[int]:
        """sendmsg calls of the phase, None where the peer counts none."""
        return self.extra.get("sendmsg")

    def as_dict(self) -> dict:
        return {"impl": self.impl, "phase": self.phase, "n": self.n,
                "wall": self.wall, "user": self.user, "sys": self.sys,
                "eps": self.eps, **self.extra}


def _usage():
    """(user s, sys s, voluntary, involuntary context switches) of this
    process and its waited-for children."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (s.ru_utime + c.ru_utime, s.ru_stime + c.ru_stime,
            s.ru_nvcsw + c.ru_nvcsw, s.ru_nivcsw + c.ru_nivcsw)


class Meter:
    """``with Meter(impl, phase, n) as m: ...`` then ``m.timing``.
    ``collect``: run the garbage collector first (outside the timing)."""

    def __init__(self, impl: str, phase: str, n: int, collect: bool = True):
        self.impl, self.phase, self.n = impl, phase, n
        self.collect = collect
        self.timing: Optional[Timing] = None

    def __enter__(self):
        if self.collect:
            gc.collect()
        self._r0 = _usage()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        t1 = time.perf_counter()
        u1, s1, v1, i1 = _usage()
        u0, s0, v0, i0 = self._r0
        # context switches: voluntary ones are sleeps (a lock, an RCU
        # grace period, a child to wait for), involuntary ones preemption
        # by other load; they tell wall time not spent on a CPU apart
        self.timing = Timing(self.impl, self.phase, self.n, t1 - self._t0,
                             u1 - u0, s1 - s0,
                             {"vcsw": v1 - v0, "ivcsw": i1 - i0})
        return False


_PROBE = None          # a settle_probe.Probe, once installed


def install_probe(probe) -> None:
    """From now on :func:`settle` also waits for ``probe`` (None: stop)."""
    global _PROBE
    _PROBE = probe


def settle(max_s: float = 2.0, min_s: float = 0.2) -> float:
    """Wait for the kernel's asynchronous clean-up of deleted namespaces
    (a kworker, not billed to us) to stop competing for CPU: until the
    machine's system time over 50 ms is below 10 % of one core, at least
    ``min_s`` and at most ``max_s`` seconds; then, with a probe installed
    (:mod:`settle_probe`), until a request needing RTNL answers at its
    usual speed (at most 5 x ``max_s`` more).  Returns the time waited."""
    t0 = time.perf_counter()
    _load_quiet(t0, max_s, min_s)
    if _PROBE is not None:
        _PROBE.wait(timeout=5 * max_s)
    return time.perf_counter() - t0


def _load_quiet(t0: float, max_s: float, min_s: float) -> None:
    time.sleep(min_s)
    hz = os.sysconf("SC_CLK_TCK")

    def sys_ticks():
        with open("/proc/stat") as f:
            v = f.readline().split()
        return int(v[3]) + int(v[6]) + int(v[7])   # system, irq, softirq

    while time.perf_counter() - t0 < max_s:
        a = sys_ticks()
        time.sleep(0.05)
        if (sys_ticks() - a) / hz < 0.005:
            break
