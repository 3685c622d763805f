"""The Backend contract against the real kernel, for every backend: errors
(exact errno and type, invalid batches change nothing, missing namespaces)
and batch semantics (a failure does not stop the batch, one execute across
namespaces, names made earlier resolve).

Each test runs once per backend in its own fresh network namespace and
checks what the kernel holds afterwards through the oracle of conftest.py,
never through the backend under test alone.
"""

from __future__ import annotations

import errno as E
import ipaddress
import os
import socket

import pytest

from libnetwork.backends import ops as O
from libnetwork.errors import (
    InvalidParameter,
    NetlinkConflict,
    NetlinkInvalid,
    NetlinkNotFound,
)

from kernel_util import (
    is_netns,
)

from backend_util import *  # noqa: F401,F403


# ---------------------------------------------------------------- errors

def test_create_existing_link(backend, oracle):
    ok(backend, [O.LinkAddBridge("br0"), O.LinkAddVeth("v0", "v1")])
    res = backend.execute([O.LinkAddBridge("br0"),
                           O.LinkAddVeth("v0", "x1"),
                           O.LinkAddVeth("x0", "v1")])
    for r in res:
        failed(r, E.EEXIST, NetlinkConflict)
    with pytest.raises(NetlinkConflict) as info:
        backend.run([O.LinkAddBridge("br0")])
    assert info.value.errno == E.EEXIST
    assert len(info.value.results) == 1
    assert set(oracle().links()) == {"lo", "br0", "v0", "v1"}


@pytest.mark.parametrize("bad", [
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("x" * 16)],
    [O.LinkAddBridge("ok0"), O.LinkAddVeth("v0", "p" * 16)],
    [O.LinkAddBridge("ok0"), O.LinkSet("lo", name="n" * 20)],
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("b1", mac="01:00:5e:00:00:01")],
    [O.LinkAddBridge("ok0"), O.LinkAddBridge("b1", mtu=10)],
    [O.LinkAddBridge("ok0"), O.AddrAdd("lo", "10.0.0.300/24")],
    [O.LinkAddBridge("ok0"), O.RouteAdd(dst="10.0.0.1/24", oif="lo")],
], ids=["name", "peer-name", "rename", "mac", "mtu", "addr", "host-bits"])
def test_invalid_batch_changes_nothing(backend, oracle, bad):
    before = oracle().links()
    with pytest.raises(InvalidParameter) as info:
        backend.execute(bad)
    assert type(info.value) is InvalidParameter
    assert oracle().links() == before


def test_delete_missing_link(backend):
    res = backend.execute([O.LinkDel("nosuch"), O.LinkDel(424242)])
    failed(res[0], E.ENODEV, NetlinkNotFound)
    failed(res[1], E.ENODEV, NetlinkNotFound)


def test_missing_namespace_path(backend, oracle, nsdir):
    bad = os.path.join(nsdir, "nope")
    res = backend.execute([
        O.LinkAddBridge("x0", ns=bad),
        O.AddrAdd("lo", "10.0.0.1/8", ns=bad),
    ])
    failed(res[0], E.ENOENT, NetlinkNotFound)
    failed(res[1], E.ENOENT, NetlinkNotFound)
    res = backend.execute([
        O.LinkAddVeth("v0", "eth0", peer_ns=bad),
        O.LinkAddVeth("v2", "v3"),
        O.LinkSet("v3", netns=bad),
        O.NetnsDelete(bad),
    ])
    failed(res[0], E.ENOENT, NetlinkNotFound)
    assert res[1].ok
    failed(res[2], E.ENOENT, NetlinkNotFound)
    failed(res[3], E.ENOENT, NetlinkNotFound)
    assert set(oracle().links()) == {"lo", "v2", "v3"}
    assert not os.path.exists(bad)


def test_path_that_is_not_a_namespace(backend, oracle, nsdir):
    plain = os.path.join(nsdir, "plain")
    with open(plain, "w"):
        pass
    res = backend.execute([O.LinkAddBridge("x0", ns=plain),
                           O.LinkAddVeth("v0", "eth0", peer_ns=plain)])
    failed(res[0], E.EINVAL, NetlinkInvalid)
    failed(res[1], E.EINVAL, NetlinkInvalid)
    assert set(oracle().links()) == {"lo"}


# ----------------------------------------------------------------- batches

def test_failure_in_the_middle_does_not_stop_the_batch(backend, oracle):
    batch = [O.LinkAddBridge("b1"),
             O.LinkAddBridge("b1"),                  # EEXIST
             O.LinkAddBridge("b2", up=True),
             O.AddrAdd("b2", "10.6.0.1/24"),
             O.RouteAdd(gateway="10.99.0.1"),        # ENETUNREACH
             O.LinkGet("b2")]
    res = backend.execute(batch)
    assert [r.op for r in res] == batch
    assert [r.errno for r in res] == [0, E.EEXIST, 0, 0, E.ENETUNREACH, 0]
    links = oracle().links()
    assert res[5].value == links["b2"].index
    assert {"b1", "b2"} <= set(links)
    assert [a for a in oracle().addresses(socket.AF_INET)
            if a.address == ipaddress.ip_interface("10.6.0.1/24")]


def test_run_raises_the_first_failure_with_every_result(backend, oracle):
    batch = [O.LinkAddBridge("b1"), O.LinkDel("nosuch"), O.LinkAddBridge("b1"),
             O.LinkAddBridge("b3")]
    with pytest.raises(NetlinkNotFound) as info:
        backend.run(batch)
    exc = info.value
    assert exc.errno == E.ENODEV and exc.op == batch[1]
    assert [r.errno for r in exc.results] == [0, E.ENODEV, E.EEXIST, 0]
    assert {"b1", "b3"} <= set(oracle().links())


def test_one_execute_across_namespaces(backend, oracle, nsdir):
    p = os.path.join(nsdir, "sandbox")
    me = thread_ns()
    ok(backend, [
        O.LinkAddBridge("br0", up=True),
        O.AddrAdd("br0", "10.2.0.1/24"),
        O.NetnsCreate(p),
        O.LinkAddVeth("h0", "eth0", peer_ns=p, master="br0", up=True,
                      peer_mac="02:aa:00:00:02:02"),
        O.AddrAdd("eth0", "10.2.0.2/24", ns=p),
        O.LinkSet("lo", up=True, ns=p),
        O.LinkSet("eth0", up=True, ns=p),
        O.RouteAdd(gateway="10.2.0.1", oif="eth0", ns=p),
    ])
    assert thread_ns() == me
    assert is_netns(p)
    inside = oracle(p).links()
    assert set(inside) == {"lo", "eth0"}
    assert inside["lo"].flags & IFF_UP and inside["eth0"].flags & IFF_UP
    assert inside["eth0"].mac == "02:aa:00:00:02:02"
    assert ipaddress.ip_interface("10.2.0.2/24") in {
        a.address for a in oracle(p).addresses()}
    r = find_route(oracle(p).routes(socket.AF_INET), "0.0.0.0/0")
    assert r.gateway == ipaddress.ip_address("10.2.0.1")
    assert r.oif == inside["eth0"].index
    root = oracle().links()
    assert root["h0"].master == root["br0"].index
    same_links(backend, oracle(p), p)
    same_addresses(backend, oracle(p), p)
    same_routes(backend, oracle(p), p)


def test_names_made_earlier_in_the_batch_resolve(backend, oracle):
    res = ok(backend, [
        O.LinkAddBridge("br0"),
        O.LinkAddVeth("v0", "v1", master="br0"),
        O.LinkSet("v1", name="v1x"),
        O.LinkSet("v1x", up=True, master="br0"),
        O.AddrAdd("v1x", "10.4.0.1/24"),
        O.LinkGet("v1x"),
        O.LinkAddBridge("tmp0"),
        O.LinkDel("tmp0"),
    ])
    links = oracle().links()
    assert links["v0"].master == links["br0"].index
    assert links["v1x"].master == links["br0"].index
    assert links["v1x"].flags & IFF_UP
    assert res[5].value == links["v1x"].index
    assert "tmp0" not in links and "v1" not in links
    res = backend.execute([O.LinkAddBridge("tmp1"), O.LinkDel("tmp1"),
                           O.AddrAdd("tmp1", "10.4.1.1/24")])
    assert res[0].ok and res[1].ok
    failed(res[2], E.ENODEV, NetlinkNotFound)
