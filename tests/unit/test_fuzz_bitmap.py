"""Fuzzing the bitmap deserialiser, nlc_bitmap_from_bytes (csrc/
bitmap_codec.c), with arbitrary bytes up to a few KiB and with
structured but damaged states: a valid header over random leaf records,
canonical encodings cut, extended and rewritten, counts far too large.

Every input must be either refused (-EINVAL; InvalidParameter from the
wrappers) or be exactly one canonical encoding: the rebuilt bitmap
serialises back to the same bytes, byte for byte.  The C core is called
directly on a heap block of exactly the input's length (under
`.ci/dev asan` any read past it fails the run), then both wrappers
(NativeBitmap, and PyBitmap, its independent pure-Python twin) must give
the same verdict and state.  The example-based damaged inputs are in
test_bitmap_examples.py.  No root.
"""

from __future__ import annotations

import errno
import struct

import pytest

from fuzz_util import exact

from libnetwork import _binding
from libnetwork.ipam import NativeBitmap, PyBitmap

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

bffi, blib = _binding.bitmap_ffi, _binding.bitmap_lib

FUZZ = settings(deadline=None, max_examples=600,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
HEADER = struct.Struct("<4sB3sQQQQ")
U64 = 2**64 - 1
LEAF = 4096
ALL = (1 << LEAF) - 1
INTERESTING = [0, 1, 2, 63, 64, 4095, 4096, 2**32, 2**63, U64 - 1, U64]
u64s = st.sampled_from(INTERESTING) | st.integers(0, U64)


def header(last, cursor, used, nleaves, magic=b"NLCB", version=1,
           reserved=b"\0\0\0") -> bytes:
    return HEADER.pack(magic, version, reserved, last, cursor, used,
                       nleaves)


def decode(data: bytes):
    """(C rc, bytes the C bitmap serialises back to, or None)."""
    out = bffi.new("struct nlc_bitmap **")
    with exact(data, bffi) as p:
        rc = blib.nlc_bitmap_from_bytes(out, p, len(data))
    assert rc in (0, -errno.EINVAL), rc
    if rc:
        return rc, None
    bm = out[0]
    try:
        n = blib.nlc_bitmap_size_bytes(bm)
        buf = bffi.new("uint8_t[]", max(n, 1))
        assert blib.nlc_bitmap_to_bytes(bm, buf, n) == n
        return rc, bytes(bffi.buffer(buf, n))
    finally:
        blib.nlc_bitmap_free(bm)


def check(data: bytes):
    """The verdict on data, the same from the C core and both wrappers;
    an accepted input round-trips byte for byte.  Returns the PyBitmap
    and the NativeBitmap, or None when refused."""
    rc, again = decode(data)
    verdicts = []
    for cls in (PyBitmap, NativeBitmap):
        try:
            verdicts.append(cls.from_bytes(data))
        except ValueError as exc:
            assert "not a serialized bitmap" in str(exc)
            verdicts.append(None)
    py, nat = verdicts
    assert (py is None) == (nat is None) == (rc != 0), (rc, py, nat)
    event("accepted" if rc == 0 else "refused")
    if rc:
        return None
    assert again == data
    assert py.to_bytes() == data and nat.to_bytes() == data
    assert NativeBitmap.from_bytes(nat.to_bytes()) == py
    last, cursor, used = HEADER.unpack_from(data)[3:6]
    for bm in (py, nat):
        assert (bm.size, bm.cursor, bm.used) == (last + 1, cursor, used)
    return py, nat


# ------------------------------------------------------------- garbage

@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    check(data)


@FUZZ
@given(fields=st.tuples(u64s, u64s, u64s, u64s),
       tail=st.binary(max_size=4096))
def test_valid_magic_arbitrary_rest(fields, tail):
    check(header(*fields) + tail)


# ------------------------------------------------ structured, damaged

@st.composite
def records(draw, last: int):
    """Leaf records near validity: leaf indices around the valid range,
    masks full, empty or random, word counts right or off by one."""
    last_leaf = last >> 12
    ks = st.integers(0, min(last_leaf + 2, 2**20)) | u64s
    out = b""
    for _ in range(draw(st.integers(0, 8))):
        mask = draw(st.sampled_from([0, 1, 1 << 63, U64]) | st.integers(
            0, U64))
        count = bin(mask).count("1") + draw(st.sampled_from([0, 0, 0, -1,
                                                             1]))
        words = draw(st.lists(st.sampled_from([0, 1, 1 << 63, U64]) |
                              st.integers(1, U64), min_size=max(count, 0),
                              max_size=max(count, 0)))
        out += struct.pack(f"<QQ{len(words)}Q", draw(ks), mask, *words)
    return out


@FUZZ
@given(data=st.data())
def test_valid_header_random_records(data):
    last = data.draw(u64s)
    body = data.draw(records(last))
    nrec = data.draw(st.integers(0, 8) | u64s)
    cursor = data.draw(st.integers(0, last) | u64s)
    check(header(last, cursor, data.draw(u64s), nrec) + body)


def canonical(last: int, cursor: int, leaves: dict) -> bytes:
    """An independent encoder of format v1 (bitmap_codec.c's comment)."""
    parts, used = [], 0
    for k in sorted(leaves):
        bits = leaves[k]
        cap = (2 << (last & (LEAF - 1))) - 1 if k == last >> 12 else ALL
        assert bits and not bits & ~cap
        used += bin(bits).count("1")
        if bits == cap:
            parts.append(struct.pack("<QQ", k, 0))
            continue
        words = [(bits >> (64 * j)) & U64 for j in range(64)]
        mask = sum(1 << j for j, w in enumerate(words) if w)
        parts.append(struct.pack("<QQ", k, mask))
        parts.append(struct.pack(f"<{bin(mask).count('1')}Q",
                                 *(w for w in words if w)))
    return header(last, cursor, used, len(leaves)) + b"".join(parts)


@st.composite
def states(draw):
    """(last, cursor, {leaf: bits}) of a random state: full, sparse and
    dense leaves, the partial last leaf among them."""
    last = draw(st.sampled_from([0, 63, 64, 4095, 4096, 5000, 2**16 - 1,
                                 2**32, U64]) | st.integers(0, U64))
    last_leaf = last >> 12
    leaves = {}
    for k in draw(st.lists(st.integers(0, min(last_leaf, 40)) |
                           st.just(last_leaf), max_size=8, unique=True)):
        cap = (2 << (last & (LEAF - 1))) - 1 if k == last_leaf else ALL
        style = draw(st.sampled_from(["full", "sparse", "words"]))
        if style == "full":
            bits = cap
        elif style == "sparse":
            bits = sum(1 << i for i in draw(st.lists(
                st.integers(0, LEAF - 1), min_size=1, max_size=20)))
        else:
            bits = sum(draw(st.integers(0, U64)) << (64 * j)
                       for j in draw(st.lists(st.integers(0, 63),
                                              min_size=1, max_size=64)))
        bits &= cap
        if bits:
            leaves[k] = bits
    return last, draw(st.integers(0, last)), leaves


@FUZZ
@given(state=states(), probes=st.lists(st.integers(0, U64), max_size=8))
def test_canonical_states_are_accepted(state, probes):
    """Any canonical encoding, built here, is accepted and read right."""
    last, cursor, leaves = state
    data = canonical(last, cursor, leaves)
    got = check(data)
    assert got is not None
    some = [k * LEAF + i for k in leaves for i in (0, 1, 4095, 63 * 64)]
    for n in [p % (last + 1) for p in probes] + some:
        if n <= last:
            want = bool(leaves.get(n >> 12, 0) >> (n & (LEAF - 1)) & 1)
            assert got[0].is_set(n) is want and got[1].is_set(n) is want


@st.composite
def damaged_states(draw):
    """A canonical encoding, damaged up to four times."""
    buf = bytearray(canonical(*draw(states())))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "u64", "u64",
                                    "repeat"]))
        at = draw(st.integers(0, len(buf) - 1))
        if how == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del buf[at:at + draw(st.integers(1, 600))]
        elif how == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=24))
        elif how == "u64":         # a count, index, mask or word rewritten
            at -= at % 8
            old = int.from_bytes(buf[at:at + 8].ljust(8, b"\0"), "little")
            new = draw(u64s | st.sampled_from([(old + 1) & U64,
                                               (old - 1) & U64]))
            buf[at:at + 8] = new.to_bytes(8, "little")
        elif len(buf) > 40:        # a stretch of records repeated
            at = 40 + (at % (len(buf) - 40)) // 8 * 8
            buf[at:at] = buf[at:at + draw(st.integers(8, 600))]
        if not buf:
            break
    return bytes(buf)


@settings(FUZZ, max_examples=1500)
@given(data=damaged_states())
def test_damaged_states_refused_or_canonical(data):
    check(data)
