"""The bitmap workload: the ranges, fills and windows measured, and each
(range, fill) state built as serialized bytes (format v1,
``csrc/bitmap_codec.c``), loaded with ``from_bytes`` so that every
implementation starts from identical states and no filling is timed.
Shared by ``bench_bitmap.py`` and the report; no pytest, no libnetwork.

Fills are random and fragmented: a fraction ``fill`` of the ordinals of
the window ``[0, window)`` is allocated at independent random places
(seeded; 50% is one random bit per ordinal, 99.9% leaves random holes).
The window is the whole /16 (2^16) and the whole /8 (2^24); a /64 cannot
be filled to 50%, so its window is its first 2^24 ordinals, and every
allocation is confined to it by ``lo``/``hi``.
``LIBNETWORK_BENCH_SMOKE=1``: windows of 2^12 ordinals.
"""

from __future__ import annotations

import functools
import os
import random
import struct

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
WINDOW = 2**12 if SMOKE else 2**24
PREFIXES = {"/16": 2**16, "/8": 2**24, "/64": 2**64}
FILLS = [0.0, 0.5, 0.999]
DESCRIPTION = ("bitmap_states.py's states, as bench_bitmap.py (random fill "
               f"of a window of 2^{WINDOW.bit_length() - 1} ordinals; a "
               "/64's window is its start)")


def window_of(prefix: str) -> int:
    return min(PREFIXES[prefix], WINDOW)


@functools.lru_cache(maxsize=None)
def random_leaves(window: int, fill: float) -> tuple:
    """((leaf index, 4096-bit int), ...): fill of [0, window) allocated at
    random places, empty leaves left out."""
    rng = random.Random(f"{window}-{fill}")
    nleaves = -(-window // 4096)
    caps = [(1 << min(4096, window - 4096 * k)) - 1 for k in range(nleaves)]
    if fill == 0.5:
        bits = [rng.getrandbits(4096) & cap for cap in caps]
    else:
        flip = fill > 0.5
        bits = [0] * nleaves
        picks = round(window * (1 - fill if flip else fill))
        for n in rng.sample(range(window), picks):
            bits[n >> 12] |= 1 << (n & 4095)
        if flip:
            bits = [cap ^ b for cap, b in zip(caps, bits)]
    return tuple((k, b) for k, b in enumerate(bits) if b)


def state_bytes(size: int, leaves: tuple) -> bytes:
    """The v1 serialization of a bitmap of ``size`` holding ``leaves``."""
    last = size - 1
    body, used = [], 0
    for k, bits in leaves:
        used += bits.bit_count()
        cap = (1 << min(4096, size - 4096 * k)) - 1
        if bits == cap:
            body.append(struct.pack("<QQ", k, 0))
            continue
        words = struct.unpack("<64Q", bits.to_bytes(512, "little"))
        mask = sum(1 << j for j, w in enumerate(words) if w)
        body.append(struct.pack("<QQ", k, mask))
        body.append(struct.pack(f"<{mask.bit_count()}Q",
                                *(w for w in words if w)))
    head = struct.pack("<4sB3xQQQQ", b"NLCB", 1, last, 0, used, len(leaves))
    return head + b"".join(body)


def state(prefix: str, fill: float) -> bytes:
    """The serialized state of range ``prefix`` at ``fill``."""
    return state_bytes(PREFIXES[prefix], random_leaves(window_of(prefix),
                                                       fill))
