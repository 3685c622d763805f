"""Default address pools: where automatic pool requests take their subnets.

libnetwork's ``ipamutils`` describes the predefined pools as a list of
``(base, size)`` pairs, each meaning "every /size subnet of base, in
order".  The same shape is Docker's ``default-address-pools`` setting::

    [{"base": "172.17.0.0/16", "size": 16}, {"base": "192.168.0.0/16",
      "size": 20}]

A :class:`DefaultPools` never materialises that list: a /8 base cut into
/24s is 65536 candidates, and :meth:`DefaultPools.first_free` finds the
first one that overlaps nothing in use by jumping over each overlapping
run of networks at once, so its cost grows with the number of *runs* of
used or host networks it crosses, not with the number of candidates.
"""

from __future__ import annotations

import bisect
import ipaddress
from typing import Iterable, Iterator, Mapping, Optional, Sequence, Union

from ..errors import InvalidParameter

__all__ = [
    "LOCAL_DEFAULT_POOLS",
    "GLOBAL_DEFAULT_POOLS",
    "DefaultPools",
    "Ranges",
]

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: libnetwork's localScopeDefaultNetworks: 172.17/16 ... 172.31/16 (15
#: networks), then 192.168.0.0/16 cut into /20s (16 networks).
LOCAL_DEFAULT_POOLS: tuple = tuple(
    [{"base": f"172.{i}.0.0/16", "size": 16} for i in range(17, 32)]
    + [{"base": "192.168.0.0/16", "size": 20}]
)

#: libnetwork's globalScopeDefaultNetworks: 10.0.0.0/8 cut into /24s.
GLOBAL_DEFAULT_POOLS: tuple = ({"base": "10.0.0.0/8", "size": 24},)


class Ranges:
    """A set of closed integer intervals, kept as sorted disjoint runs.

    Members are added and removed by their exact ``(start, end)``; touching
    or overlapping members merge into one run, so a block of 10000
    adjacent /24s in use is a single run.  :meth:`overlap_end` answers "does
    ``[start, end]`` overlap anything, and where does that run end" in
    O(log runs).
    """

    __slots__ = ("_members", "_starts", "_ends", "_overlapped")

    def __init__(self, members: Iterable[tuple[int, int]] = ()):
        self._members: dict[tuple[int, int], int] = {}
        self._starts: list[int] = []
        self._ends: list[int] = []
        # True once two members overlapped (never for pools we allocate;
        # possible for host routes): removal then rebuilds the runs.
        self._overlapped = False
        for s, e in members:
            self.add(s, e)

    def runs(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends))

    def add(self, start: int, end: int) -> None:
        if start > end:
            raise ValueError(f"empty interval [{start}, {end}]")
        n = self._members.get((start, end), 0)
        self._members[(start, end)] = n + 1
        if n:
            self._overlapped = True
            return
        # Runs that overlap or touch [start, end] are merged with it.
        i = bisect.bisect_left(self._ends, start - 1)
        j = bisect.bisect_right(self._starts, end + 1)
        if i < j:
            if (self._starts[i] <= end and self._ends[j - 1] >= start):
                for k in range(i, j):
                    if self._starts[k] <= end and self._ends[k] >= start:
                        self._overlapped = True
                        break
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]

    def remove(self, start: int, end: int) -> None:
        n = self._members.get((start, end), 0)
        if not n:
            raise KeyError((start, end))
        if n > 1:
            self._members[(start, end)] = n - 1
            return
        del self._members[(start, end)]
        if self._overlapped:
            self._rebuild()
            return
        # Disjoint members: the run holding [start, end] loses exactly it.
        i = bisect.bisect_right(self._starts, start) - 1
        rs, re_ = self._starts[i], self._ends[i]
        repl_s, repl_e = [], []
        if rs < start:
            repl_s.append(rs)
            repl_e.append(start - 1)
        if end < re_:
            repl_s.append(end + 1)
            repl_e.append(re_)
        self._starts[i:i + 1] = repl_s
        self._ends[i:i + 1] = repl_e

    def _rebuild(self) -> None:
        members = list(self._members.items())
        self._members = {}
        self._starts, self._ends = [], []
        self._overlapped = False
        for (s, e), n in members:
            for _ in range(n):
                self.add(s, e)

    def overlap_end(self, start: int, end: int) -> Optional[int]:
        """The end of the run overlapping ``[start, end]`` (the last one if
        several do), or None when nothing overlaps."""
        i = bisect.bisect_right(self._starts, end) - 1
        if i >= 0 and self._ends[i] >= start:
            return self._ends[i]
        return None


def network_range(net: IPNetwork) -> tuple[int, int]:
    """``(first, last)`` address of ``net`` as integers."""
    first = int(net.network_address)
    return first, first + net.num_addresses - 1


def _parse_source(entry: object, index: int) -> tuple[IPNetwork, int]:
    if not isinstance(entry, Mapping):
        raise InvalidParameter(
            f"default pool #{index}: expected a mapping with 'base' and "
            f"'size', got {entry!r}")
    unknown = set(entry) - {"base", "size"}
    if unknown:
        raise InvalidParameter(
            f"default pool #{index}: unknown keys {sorted(map(str, unknown))}")
    if "base" not in entry or "size" not in entry:
        raise InvalidParameter(
            f"default pool #{index}: 'base' and 'size' are both required, "
            f"got {dict(entry)!r}")
    base, size = entry["base"], entry["size"]
    if isinstance(base, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        net = base
    elif isinstance(base, str):
        try:
            net = ipaddress.ip_network(base, strict=True)
        except ValueError as exc:
            raise InvalidParameter(
                f"default pool #{index}: invalid base {base!r}: {exc}"
            ) from None
    else:
        raise InvalidParameter(
            f"default pool #{index}: base must be a CIDR string, got "
            f"{base!r}")
    if net.version != 4:
        raise InvalidParameter(
            f"default pool #{index}: base {net} is IPv6; default pools are "
            f"IPv4 only (IPv6 networks need an explicit pool)")
    from .inputs import check_usable   # inputs imports this module
    check_usable(net, f"default pool #{index}: base")
    if isinstance(size, bool) or not isinstance(size, int):
        raise InvalidParameter(
            f"default pool #{index}: size must be an integer prefix length, "
            f"got {size!r}")
    if not net.prefixlen <= size <= net.max_prefixlen:
        raise InvalidParameter(
            f"default pool #{index}: size /{size} must be between the base's "
            f"prefix length /{net.prefixlen} and /{net.max_prefixlen} "
            f"(base {net})")
    return net, size


class DefaultPools:
    """An ordered, lazily generated list of candidate pools.

    ``spec`` is a sequence of ``{"base": CIDR, "size": prefixlen}``; the
    candidates are every /size subnet of each base, bases in the given
    order.  Raises InvalidParameter for a malformed spec (an empty list,
    a base with host bits set, a size shorter than the base's prefix, an
    IPv6 base).
    """

    __slots__ = ("_sources",)

    def __init__(self, spec: Sequence[Mapping]):
        if isinstance(spec, (str, bytes, Mapping)) or not isinstance(
                spec, Iterable):
            raise InvalidParameter(
                f"default pools must be a list of {{'base', 'size'}} "
                f"mappings, got {spec!r}")
        sources = tuple(_parse_source(e, i) for i, e in enumerate(spec))
        if not sources:
            raise InvalidParameter(
                "default pools list is empty: give at least one "
                "{'base': CIDR, 'size': prefixlen}, or None for the defaults")
        self._sources = sources

    def __len__(self) -> int:
        return sum(1 << (size - net.prefixlen) for net, size in self._sources)

    def __iter__(self) -> Iterator[IPNetwork]:
        for net, size in self._sources:
            yield from net.subnets(new_prefix=size)

    def __repr__(self) -> str:
        body = ", ".join(f"{net}/{size}" for net, size in self._sources)
        return f"DefaultPools([{body}])"

    def first_free(self, *taken: Ranges) -> Optional[IPNetwork]:
        """The first candidate overlapping no interval of any of ``taken``
        (integer address ranges), or None when every one does."""
        for net, size in self._sources:
            cls = type(net)
            step = 1 << (net.max_prefixlen - size)
            base, last = network_range(net)
            cur = base
            while cur + step - 1 <= last:
                end = cur + step - 1
                jump = None
                for t in taken:
                    e = t.overlap_end(cur, end)
                    if e is not None and (jump is None or e > jump):
                        jump = e
                if jump is None:
                    return cls((cur, size))
                # Every candidate starting at or before `jump` overlaps
                # that run: go to the first aligned one after it.
                cur = base + ((jump + 1 - base + step - 1) // step) * step
        return None
