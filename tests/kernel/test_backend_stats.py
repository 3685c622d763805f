"""Each backend's sendmsg statistics against the real kernel.

``stats()["sendmsg"]`` counts every sendmsg the backend makes (batches,
name lookups, dumps; the C core counts them per socket); attaching N
sandboxes with a plan whose interface indexes travel with it (IndexOf)
costs one send per sandbox and a few more, not one per operation.
"""

from __future__ import annotations

import os

import pytest

from libnetwork.backends import ops as O


@pytest.fixture
def be(backend):
    return backend


def sent(be, fn, *args):
    before = be.stats()["sendmsg"]
    out = fn(*args)
    return be.stats()["sendmsg"] - before, out


def test_each_kind_of_exchange_counts(be):
    assert be.stats() == {"sendmsg": 0}
    n, _ = sent(be, be.links)
    assert n == 1
    n, _ = sent(be, be.addresses)
    assert n == 1
    n, _ = sent(be, be.routes)
    assert n == 1
    n, res = sent(be, be.execute, [O.LinkAddBridge("br0")])
    assert n == 1 and res[0].ok
    # a name the message needs as an index: a lookup, then the batch
    n, res = sent(be, be.execute, [O.AddrAdd("br0", "10.9.0.1/24")])
    assert n == 2 and res[0].ok
    # named to the kernel: no lookup
    n, res = sent(be, be.execute, [O.LinkSet("br0", up=True),
                                   O.LinkDel("br0")])
    assert n == 1 and all(r.ok for r in res)
    # namespaces are created without netlink
    n, res = sent(be, be.execute, [O.NetnsCreate(os.path.join(
        os.path.dirname(be.root), "extra"))])
    assert n == 0 and res[0].ok


def test_attach_n_sandboxes_costs_n_plus_a_few(be, nsdir, oracle):
    N = 10
    paths = [os.path.join(nsdir, f"sb{i}") for i in range(N)]
    veths = [O.LinkAddVeth(f"vh{i}", "eth0", peer_ns=p, queues=1)
             for i, p in enumerate(paths)]
    plan = [O.NetnsCreate(p) for p in paths] + veths
    for i, (v, p) in enumerate(zip(veths, paths)):
        peer = O.IndexOf(v, peer=True)
        plan += [O.LinkSet(peer, up=True, ns=p),
                 O.AddrAdd(peer, f"10.7.0.{i + 2}/24", ns=p),
                 O.RouteAdd("10.8.0.0/16", oif=peer, ns=p)]
    plan += [O.LinkSet(O.IndexOf(v), up=True) for v in veths]

    n, res = sent(be, be.execute, plan)
    assert all(r.ok for r in res), [r for r in res if not r.ok]
    assert n <= N + 3, n
    # and it is all there
    root = oracle().links()
    for i, p in enumerate(paths):
        assert root[f"vh{i}"].flags & 1
        eth0 = oracle(p).link("eth0")
        assert eth0.flags & 1 and root[f"vh{i}"].link == eth0.index
        assert any(str(a.address) == f"10.7.0.{i + 2}/24"
                   for a in oracle(p).addresses() if a.index == eth0.index)
        assert any(str(r.dst) == "10.8.0.0/16" and r.oif == eth0.index
                   for r in oracle(p).routes())
