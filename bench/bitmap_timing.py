"""The report's bitmap measurement: an allocate+release pair of each
implementation (native ``Bitmap``, pure-Python ``PyBitmap``) next to a
``set.add`` + ``set.discard`` pair, and ``allocate_many`` throughput, in
every state of ``bitmap_states.py``.

A pair is timed in short chunks, many times, and the best chunk kept: on a
shared machine a short chunk often runs unpreempted.  Within a state the
chunks of the set pair and of every implementation's pair run in turn, so
that the ratios compare numbers taken under the same machine load.
"""

from __future__ import annotations

import gc
import time

import bitmap_states as states

SET_SIZE = 1 << 16    # the set pair's population, like a pool
MANY_COUNT = 1 << 16  # allocate_many() batch size
PAIR_CHUNK_S = 0.004
PAIR_REPEAT = 31
MANY_REPEAT = 7
STATES = states.DESCRIPTION + " and next-fit pairs over the window"


def implementations():
    """[(name, class)] of the bitmaps that can run here, {name: why
    skipped} of the others.  Both classes have ``PyBitmap``'s API."""
    try:
        from libnetwork import _binding
        from libnetwork.ipam import NativeBitmap, PyBitmap
    except Exception as exc:
        return [], {"Bitmap": f"libnetwork.ipam not importable: {exc}",
                    "PyBitmap": "idem"}
    if _binding.AVAILABLE:
        return [("Bitmap", NativeBitmap), ("PyBitmap", PyBitmap)], {}
    return [("PyBitmap", PyBitmap)], {
        "Bitmap": f"no native bitmap (no C core: {_binding.IMPORT_ERROR})"}


def best_rate(fn, loops, repeat):
    """Best (lowest) seconds per loop of ``fn(loops)`` over ``repeat``
    runs."""
    return best_rates_interleaved([(fn, loops)], repeat)[0]


def best_rates_interleaved(fns, repeat):
    """Best (lowest) seconds per loop of each ``(fn, loops)`` in ``fns``,
    the functions' chunks run in turn, ``repeat`` rounds: a slow spell of
    the machine then hits all of them, not just the one measured during
    it, so their ratio holds on a noisy host."""
    best = [float("inf")] * len(fns)
    gc.collect()
    for _ in range(repeat):
        for k, (fn, loops) in enumerate(fns):
            t0 = time.perf_counter()
            fn(loops)
            best[k] = min(best[k], (time.perf_counter() - t0) / loops)
    return best


def pair_loop(bm, serial=False, hi=None):
    alloc, release = bm.allocate, bm.release
    if serial:
        def run(loops):
            for _ in range(loops):
                release(alloc(True, 0, hi))
    else:
        def run(loops):
            for _ in range(loops):
                release(alloc())
    return run


def set_pair_loop():
    s = set(range(0, 2 * SET_SIZE, 2))
    add, discard = s.add, s.discard
    x = 12345

    def run(loops):
        for _ in range(loops):
            add(x)
            discard(x)
    return run


def calibrate(fn, target=0.05):
    """Loops that take about ``target`` seconds."""
    loops = 64
    while True:
        t0 = time.perf_counter()
        fn(loops)
        dt = time.perf_counter() - t0
        if dt >= target or loops >= 1 << 24:
            return max(1, int(loops * target / max(dt, 1e-9)))
        loops *= 4


def many_rate(cls, prefix, fill, repeat):
    """Ordinals per second of one first-fit ``allocate_many(k, lo=0,
    hi=window)``, k = min(MANY_COUNT, free ordinals in the window), each
    call on a fresh copy of the state (made untimed).  Best of
    ``repeat``; None when the window is full."""
    window = states.window_of(prefix)
    data = states.state(prefix, fill)
    bm = cls.from_bytes(data)
    count = min(MANY_COUNT, bm.free - (bm.size - window))
    if count <= 0:
        return None
    best = 0.0
    for _ in range(repeat):
        fresh = cls.from_bytes(data)
        t0 = time.perf_counter()
        got = fresh.allocate_many(count, lo=0, hi=window)
        dt = time.perf_counter() - t0
        best = max(best, len(got) / dt if dt > 0 else 0.0)
    return best


def run_bitmap(budget, log):
    """Rows of measurements {(impl | "set", "pair" | "many", prefix,
    fill): value}, the skipped implementations, and the description of
    the states.  States are measured one after the other until the
    ``budget`` (seconds) is spent."""
    impls, skipped = implementations()
    log(f"  states: {STATES}")
    rows = {}
    end = time.perf_counter() + budget
    set_fn = set_pair_loop()
    set_loops = calibrate(set_fn, PAIR_CHUNK_S)
    for _, cls in impls:                # warm-up, discarded: first calls,
        try:                            # caches, a kernel still cleaning up
            warm = pair_loop(cls(1 << 16))
            best_rate(warm, calibrate(warm, PAIR_CHUNK_S), 10)
        except Exception:
            pass
    for prefix in states.PREFIXES:
        for fill in states.FILLS:
            where = f"{prefix} fill {fill * 100:g}%"
            if time.perf_counter() > end:
                skipped.setdefault(f"bitmap {where}",
                                   f"the bitmap budget ({budget:g} s) was "
                                   "spent (raise --bitmap-budget)")
                continue
            msg = _measure_state(impls, prefix, fill, set_fn, set_loops,
                                 rows, skipped)
            log(f"  {prefix:<3} fill {fill * 100:5.1f}%: " + ", ".join(msg))
    return rows, skipped, STATES


def _measure_state(impls, prefix, fill, set_fn, set_loops, rows, skipped):
    """The pairs (interleaved with the set pair) and ``allocate_many`` of
    every implementation in one state, into ``rows``; the progress
    fragments."""
    made = []
    for name, cls in impls:
        try:
            bm = cls.from_bytes(states.state(prefix, fill))
            fn = pair_loop(bm, True, states.window_of(prefix))
            made.append((name, cls, fn, calibrate(fn, PAIR_CHUNK_S)))
        except Exception as exc:
            skipped[f"{name} {prefix} fill {fill * 100:g}%"] = \
                f"{type(exc).__name__}: {exc}"
    best = best_rates_interleaved(
        [(set_fn, set_loops)] + [(m[2], m[3]) for m in made], PAIR_REPEAT)
    rows[("set", "pair", prefix, fill)] = best[0]
    msg = [f"set {best[0] * 1e9:.0f} ns"]
    for (name, cls, _, _), pair in zip(made, best[1:]):
        try:
            rows[(name, "pair", prefix, fill)] = pair
            msg.append(f"{name} pair {pair * 1e9:.0f} ns")
            rate = many_rate(cls, prefix, fill, MANY_REPEAT)
            if rate is not None:
                rows[(name, "many", prefix, fill)] = rate
                msg.append(f"allocate_many {rate / 1e6:.2f} M/s")
        except Exception as exc:
            skipped[f"{name} {prefix} fill {fill * 100:g}%"] = \
                f"{type(exc).__name__}: {exc}"
    return msg
