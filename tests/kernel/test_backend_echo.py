"""Interface indexes that travel with a plan (``ops.IndexOf``), for every
backend, against the real kernel.

A creation that a later operation refers to is sent with ``NLM_F_ECHO``;
its result value is ``Created(index, peer)`` read from the kernel's echo,
and the later operations use those indexes without a name lookup.  The
tests check the values against the oracle's dump (pyroute2 on a socket
inside each namespace) and count the ``sendmsg`` calls the batch cost."""

from __future__ import annotations

import errno as E
import ipaddress

import pytest

from libnetwork.backends import ops as O

IFF_UP = 0x1


@pytest.fixture
def be(backend):
    return backend


def ok(be, batch):
    """Execute ``batch``, insist that it all succeeded; the results and the
    ``sendmsg`` calls it cost."""
    before = be.stats()["sendmsg"]
    res = be.execute(batch)
    assert [r.errno for r in res] == [0] * len(batch), res
    return res, be.stats()["sendmsg"] - before


def test_veth_peer_wired_by_echoed_index(be, oracle, make_ns):
    sb = make_ns()
    veth = O.LinkAddVeth("h0", "eth0", peer_ns=sb, up=True, queues=1)
    peer = O.IndexOf(veth, peer=True)
    res, sent = ok(be, [
        veth,
        O.LinkSet(peer, up=True, ns=sb),
        O.AddrAdd(peer, "10.9.0.2/24", ns=sb),
        O.RouteAdd(gateway="10.9.0.1", oif=peer, ns=sb),
    ])
    # one batch in the root, one in the sandbox; no lookup
    assert sent == 2

    host, inside = oracle().link("h0"), oracle(sb).link("eth0")
    assert res[0].value == O.Created(host.index, inside.index)
    assert host.link == inside.index and inside.link == host.index
    assert {r.value for r in res[1:]} == {None}
    assert inside.flags & IFF_UP
    assert ipaddress.ip_interface("10.9.0.2/24") in {
        a.address for a in oracle(sb).addresses() if a.index == inside.index}
    default = [r for r in oracle(sb).routes()
               if r.dst == ipaddress.ip_network("0.0.0.0/0")]
    assert [(r.gateway, r.oif) for r in default] == [
        (ipaddress.ip_address("10.9.0.1"), inside.index)]
    # the backend's own dump agrees with the oracle's
    links = {link.name: link for link in be.links()}
    assert (links["h0"].index, links["h0"].link) == tuple(res[0].value)


def test_run_is_cut_where_an_index_comes_back(be, oracle):
    br = O.LinkAddBridge("br0", up=True)
    veth = O.LinkAddVeth("h1", "p1", master=O.IndexOf(br), queues=1)
    res, sent = ok(be, [br, veth, O.LinkSet(O.IndexOf(veth, peer=True),
                                            up=True)])
    # br0 | veth | LinkSet: each waits for the index the one before echoes
    assert sent == 3
    links = oracle().links()
    assert res[0].value == O.Created(links["br0"].index, 0)
    assert res[1].value == O.Created(links["h1"].index, links["p1"].index)
    assert links["h1"].master == links["br0"].index
    assert links["p1"].flags & IFF_UP


def test_only_referred_creations_are_echoed(be, oracle):
    """No IndexOf, no echo: the values stay None and nothing is cut."""
    res, sent = ok(be, [O.LinkAddBridge("br2"),
                        O.LinkAddVeth("h2", "p2", queues=1)])
    assert sent == 1
    assert [r.value for r in res] == [None, None]


def test_index_of_a_lookup(be, oracle):
    """A LinkGet's ifindex is an IndexOf too: no echo needed."""
    ok(be, [O.LinkAddBridge("br3")])
    get = O.LinkGet("br3")
    res, sent = ok(be, [get, O.LinkAddVeth("h3", "p3", master=O.IndexOf(get),
                                           queues=1)])
    assert sent == 2
    assert res[0].value == oracle().link("br3").index
    assert res[1].value is None
    assert oracle().link("h3").master == res[0].value


def test_a_failed_lookup_fails_what_refers_to_it(backend, oracle):
    """Needs neither echo nor counts."""
    get = O.LinkGet("nosuch")
    res = backend.execute([get, O.LinkAddVeth("h5", "p5",
                                              master=O.IndexOf(get))])
    assert res[0].errno == E.ENODEV
    assert res[1].errno == E.ENODEV
    assert "h5" not in oracle().links()


def test_a_failed_creation_fails_what_refers_to_it(be, oracle):
    ok(be, [O.LinkAddBridge("br4")])
    dup = O.LinkAddBridge("br4")
    res = be.execute([dup, O.LinkSet(O.IndexOf(dup), up=True)])
    assert res[0].errno == E.EEXIST
    assert res[0].value is None
    assert res[1].errno == E.ENODEV
    assert "LinkAddBridge 'br4' was not created" in res[1].message
    assert not oracle().link("br4").flags & IFF_UP


# ------------------------------------------- echoed values, no lookups

def no_lookup(be, monkeypatch):
    def fail(ns, names):
        raise AssertionError(f"a name lookup in {ns}: {names}")
    monkeypatch.setattr(be, "_lookup", fail)


def test_veth_echoes_both_indexes(be, make_ns, oracle, monkeypatch):
    sb = make_ns()
    no_lookup(be, monkeypatch)
    veth = O.LinkAddVeth("vh0", "eth0", peer_ns=sb, queues=1)
    before = be.stats()["sendmsg"]
    res = be.execute([
        veth,
        O.AddrAdd(O.IndexOf(veth, peer=True), "10.0.0.2/24", ns=sb),
    ])
    assert [r.errno for r in res] == [0, 0], res
    host, peer = oracle().link("vh0"), oracle(sb).link("eth0")
    assert res[0].value == O.Created(host.index, peer.index)
    assert host.link == peer.index and peer.link == host.index
    assert be.stats()["sendmsg"] - before == 2          # one per namespace
    addrs = [a for a in oracle(sb).addresses() if a.index == peer.index]
    assert [a.address for a in addrs] == [
        ipaddress.ip_interface("10.0.0.2/24")]


def test_echo_against_the_dump(be, make_ns, oracle):
    """Several veths, one run: each result is its own link's indexes
    (the echoes are matched to their requests by sequence number)."""
    sbs = [make_ns() for _ in range(4)]
    veths = [O.LinkAddVeth(f"vh{i}", "eth0", peer_ns=sb)
             for i, sb in enumerate(sbs)]
    plan = veths + [O.LinkSet(O.IndexOf(v), up=True) for v in veths]
    res = be.execute(plan)
    assert all(r.ok for r in res), res
    root = {link.name: link for link in be.links()}
    for i, (v, sb) in enumerate(zip(veths, sbs)):
        peer = oracle(sb).link("eth0")
        assert res[i].value == (root[f"vh{i}"].index, peer.index)
        assert root[f"vh{i}"].link == peer.index
    assert all(oracle().link(f"vh{i}").flags & 1 for i in range(4))


def test_veth_beside_its_host_end(be, oracle):
    """Both ends in one namespace: IFLA_LINK is the peer there."""
    veth = O.LinkAddVeth("va", "vb")
    res = be.execute([veth, O.LinkSet(O.IndexOf(veth, peer=True), up=True),
                      O.LinkSet(O.IndexOf(veth), up=True)])
    assert all(r.ok for r in res), res
    links = oracle().links()
    assert res[0].value == (links["va"].index, links["vb"].index)


def test_bridge_echo_has_no_link(be, oracle):
    br = O.LinkAddBridge("br0")
    veth = O.LinkAddVeth("vh0", "vp0", master=O.IndexOf(br))
    res = be.execute([br, veth])
    assert all(r.ok for r in res), res
    assert res[0].value == O.Created(oracle().link("br0").index, 0)
    assert oracle().link("vh0").master == res[0].value.index


def test_not_echoed_without_a_reference(be):
    """Only what a later IndexOf names asks for NLM_F_ECHO."""
    res = be.execute([O.LinkAddVeth("vh0", "vp0")])
    assert res[0].ok and res[0].value is None
