"""Helpers of the Backend contract tests (``test_backend_*.py``): checks
that insist on success or on an exact failure, comparisons of a backend's
dumps with the oracle's, and kernel constants.
"""

from __future__ import annotations

import ipaddress
import os
import time

from libnetwork.backends import ops as O

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_LOWER_UP = 0x10000
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
RTNH_F_ONLINK = 0x4
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_UNICAST = 1
MAIN = 254


# --------------------------------------------------------------- helpers

def ok(be, batch):
    """Execute and insist that every operation succeeded."""
    res = be.execute(batch)
    assert len(res) == len(batch)
    bad = [r for r in res if not r.ok]
    assert not bad, bad
    return res


def failed(result, errno_, exc_type):
    """``result`` failed with exactly ``errno_`` and maps to exactly
    ``exc_type``; returns the exception."""
    assert result.errno == errno_, result
    exc = result.exception()
    assert type(exc) is exc_type, (type(exc), result)
    assert exc.errno == errno_
    assert exc.op is result.op
    return exc


def settle(get_a, get_b, tries=200):
    """``get_a() == get_b()``, allowing the kernel's asynchronous work
    (carrier, DAD, link-local addresses) a moment to finish."""
    for _ in range(tries):
        a, b = get_a(), get_b()
        if a == b:
            return a
        time.sleep(0.05)
    assert a == b


def links_of(ls):
    # IFF_RUNNING follows the operstate, which the kernel updates late
    return {link._replace(flags=link.flags & ~IFF_RUNNING) for link in ls}


def same_links(be, orc, ns=None):
    return settle(lambda: links_of(be.links(ns)),
                  lambda: links_of(orc.links().values()))


def same_addresses(be, orc, ns=None, family=0):
    return settle(lambda: set(be.addresses(ns, family)),
                  lambda: set(orc.addresses(family)))


def same_routes(be, orc, ns=None, family=0):
    return settle(lambda: set(be.routes(ns, family)),
                  lambda: set(orc.routes(family)))


def thread_ns():
    return os.readlink("/proc/thread-self/ns/net")


def uplink(be, orc):
    """A veth pair up0/up1, both up (carrier), with 10.1.0.1/24 and
    fd00:1::1/64 on up0; returns up0's ifindex."""
    ok(be, [O.LinkAddVeth("up0", "up1", up=True),
            O.LinkSet("up1", up=True),
            O.AddrAdd("up0", "10.1.0.1/24"),
            O.AddrAdd("up0", "fd00:1::1/64", nodad=True)])
    return orc.link("up0").index


def find_route(routes, dst, table=MAIN):
    dst = ipaddress.ip_network(dst)
    hits = [r for r in routes if r.dst == dst and r.table == table]
    assert len(hits) == 1, (dst, table, routes)
    return hits[0]
