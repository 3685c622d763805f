"""Random sequences of CNM calls against a model, checked in the kernel.

Hypothesis draws a sequence of calls (create/delete endpoints, sandboxes,
join, leave, attach, detach) on one bridge network with a /29 pool (five
addresses: exhaustion is reached often).  A plain-Python model predicts
each call's outcome -- success or the exact error type -- and the
addresses IPAM hands out (lowest free first).  After every call the
controller's objects, its store and the kernel (root namespace and every
sandbox, read with the oracle) must agree with the model; at the end a
restarted controller must find the same.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import shutil
import tempfile

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import libnetwork
from libnetwork import IpamConf, errors

from cnm_util import *  # noqa: F401,F403  (fixtures)
from cnm_util import default_routes, mac_of_ipv4, ns_addrs, ns_links
from kernel_util import drop_netns, make_netns

POOL = ipaddress.ip_network("10.130.0.0/29")
GATEWAY = "10.130.0.1"
ADDRS = [str(POOL.network_address + i) for i in range(2, 7)]   # .2 .. .6

EP = st.integers(0, 2)
SB = st.integers(0, 1)
CALL = st.one_of(
    st.tuples(st.just("ep"), EP),
    st.tuples(st.just("sb"), SB),
    st.tuples(st.just("join"), EP, SB),
    st.tuples(st.just("leave"), EP),
    st.tuples(st.just("del_ep"), EP, st.booleans()),
    st.tuples(st.just("del_sb"), SB),
    st.tuples(st.just("attach"), st.lists(st.integers(1, 5), max_size=4)),
    st.tuples(st.just("detach"), st.lists(st.integers(0, 5), max_size=2,
                                          unique=True)),
)


class Model:
    def __init__(self):
        self.eps = {}        # name -> {"addr": str, "sb": cid or None,
        #                               "ifname": str or None}
        self.sbs = {}        # cid -> [endpoint names, join order]

    def free_addr(self):
        used = {e["addr"] for e in self.eps.values()}
        return next((a for a in ADDRS if a not in used), None)

    def ifname(self, cid):
        used = {self.eps[n]["ifname"] for n in self.sbs[cid]}
        return next(f"eth{i}" for i in itertools.count()
                    if f"eth{i}" not in used)

    def join(self, name, cid):
        self.eps[name].update(sb=cid, ifname=self.ifname(cid))
        self.sbs[cid].append(name)

    def leave(self, name):
        e = self.eps[name]
        self.sbs[e["sb"]].remove(name)
        e.update(sb=None, ifname=None)


def _predict_and_run(m, c, nw, call):
    """Run ``call`` on the controller; return the model's expected error
    type (None: success) and the error raised (None: none)."""
    kind = call[0]
    try:
        if kind == "ep":
            name = f"e{call[1]}"
            if name in m.eps:
                want = errors.EndpointNameExists
            elif m.free_addr() is None:
                want = errors.PoolExhausted
            else:
                want = None
            nw.create_endpoint(name)
            if want is None:
                m.eps[name] = dict(addr=m.free_addr(), sb=None, ifname=None)
        elif kind == "sb":
            cid = f"c{call[1]}"
            want = errors.SandboxExists if cid in m.sbs else None
            c.new_sandbox(cid)
            if want is None:
                m.sbs[cid] = []
        elif kind == "join":
            name, cid = f"e{call[1]}", f"c{call[2]}"
            if name not in m.eps or cid not in m.sbs:
                return "skip", None
            want = errors.AlreadyJoined if m.eps[name]["sb"] else None
            nw.endpoint_by_name(name).join(c.sandbox_by_container(cid))
            if want is None:
                m.join(name, cid)
        elif kind == "leave":
            name = f"e{call[1]}"
            if name not in m.eps:
                return "skip", None
            cid = m.eps[name]["sb"]
            # not joined: leave some sandbox (NotJoined), or None, which
            # is no sandbox at all (InvalidParameter)
            other = cid or next(iter(sorted(m.sbs)), None)
            want = (None if cid else errors.NotJoined if other
                    else errors.InvalidParameter)
            nw.endpoint_by_name(name).leave(
                c.sandbox_by_container(other) if other else None)
            if want is None:
                m.leave(name)
        elif kind == "del_ep":
            name, force = f"e{call[1]}", call[2]
            if name not in m.eps:
                return "skip", None
            joined = m.eps[name]["sb"] is not None
            want = errors.ActiveContainer if joined and not force else None
            nw.endpoint_by_name(name).delete(force=force)
            if want is None:
                if joined:
                    m.leave(name)
                del m.eps[name]
        elif kind == "del_sb":
            cid = f"c{call[1]}"
            if cid not in m.sbs:
                return "skip", None
            want = None
            c.sandbox_by_container(cid).delete()
            for name in list(m.sbs[cid]):
                m.leave(name)
            del m.sbs[cid]
        elif kind == "attach":
            cids = [f"c{i}" for i in call[1]]
            want, seen, taken = None, set(), []
            for cid in cids:
                if cid in m.sbs or cid in seen:
                    want = errors.SandboxExists
                    break
                seen.add(cid)
            if want is None:
                for cid in cids:
                    if cid in m.eps or cid in taken:
                        want = errors.EndpointNameExists
                        break
                    if len(taken) >= len(ADDRS) - len(m.eps):
                        want = errors.PoolExhausted
                        break
                    taken.append(cid)
            c.attach(nw, cids)
            if want is None:
                for cid in cids:
                    m.eps[cid] = dict(addr=m.free_addr(), sb=None,
                                      ifname=None)
                    m.sbs[cid] = []
                    m.join(cid, cid)
        elif kind == "detach":
            cids = [f"c{i}" for i in call[1]]
            want = None if all(cid in m.sbs for cid in cids) \
                else errors.NoSuchSandbox
            c.detach(cids)
            if want is None:
                for cid in cids:
                    for name in list(m.sbs[cid]):
                        m.leave(name)
                        del m.eps[name]
                    del m.sbs[cid]
        else:  # pragma: no cover
            raise AssertionError(kind)
    except errors.LibnetworkError as exc:
        return want, exc
    return want, None


def _check(m, c, nw, root):
    """Objects, store and kernel agree with the model."""
    eps = {e.name(): e for e in nw.endpoints()}
    assert set(eps) == set(m.eps)
    for name, want in m.eps.items():
        ep = eps[name]
        assert str(ep.info().iface().address()) == f"{want['addr']}/29"
        sb = ep.sandbox()
        assert (sb.container_id() if sb else None) == want["sb"]
        assert ep.info().iface().srcname() == want["ifname"]
    assert {s.container_id(): [e.name() for e in s.endpoints()]
            for s in c.sandboxes()} == m.sbs
    assert sorted(d["name"] for _, d in c.store.list("endpoint")) == \
        sorted(m.eps)
    assert sorted(d["container_id"] for _, d in c.store.list("sandbox")) \
        == sorted(m.sbs)
    assert len(os.listdir(c.netns_dir)) == len(m.sbs)

    links = ns_links(root)
    br = links[nw.driver_state["bridge"]]
    ports = {l.name for l in links.values() if l.master == br.index}
    assert ports == {eps[n].host_ifname for n, e in m.eps.items() if e["sb"]}
    for cid, names in m.sbs.items():
        key = c.sandbox_by_container(cid).key()
        inside = ns_links(key)
        assert set(inside) == {"lo"} | {m.eps[n]["ifname"] for n in names}
        addrs = ns_addrs(key)
        for n in names:
            e = m.eps[n]
            assert inside[e["ifname"]].mac == mac_of_ipv4(e["addr"])
            assert (e["ifname"], ipaddress.ip_interface(
                f"{e['addr']}/29")) in addrs
        routes = default_routes(key)
        if names:
            assert routes == [(GATEWAY, routes[0][1])]
            assert routes[0][1] in {m.eps[n]["ifname"] for n in names}
        else:
            assert routes == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(calls=st.lists(CALL, max_size=16))
@example(calls=[                 # exhaustion, in both APIs, then reuse
    ("ep", 0), ("ep", 1), ("ep", 2), ("attach", [1, 2, 3]),
    ("attach", [1, 2]), ("ep", 0), ("attach", [3]), ("del_ep", 1, False),
    ("attach", [3, 4]), ("attach", [3]), ("detach", [2]), ("ep", 1),
    ("ep", 2)])
@example(calls=[                 # join, leave and delete errors
    ("ep", 0), ("sb", 0), ("join", 0, 0), ("join", 0, 0), ("sb", 1),
    ("join", 0, 1), ("del_ep", 0, False), ("leave", 0), ("leave", 0),
    ("join", 0, 0), ("del_sb", 0), ("sb", 0), ("join", 0, 0),
    ("del_ep", 0, True), ("ep", 0)])
@example(calls=[                 # two interfaces, the gateway moves
    ("ep", 0), ("ep", 1), ("sb", 0), ("join", 0, 0), ("join", 1, 0),
    ("leave", 0), ("ep", 2), ("join", 2, 0), ("attach", [4]),
    ("detach", [0, 4]), ("detach", [0])])
def test_random_calls_match_model(backend, nsdir, calls):
    d = tempfile.mkdtemp(prefix="m-", dir=nsdir)
    root = make_netns(os.path.join(d, "root"))
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 192.0.2.53\n")
    kw = dict(data_dir=os.path.join(d, "data"),
              exec_root=os.path.join(d, "exec"), backend=backend.name,
              root_namespace=root, host_resolv_conf=resolv)
    c = libnetwork.new(**kw)
    try:
        nw = c.new_network("bridge", "n", ipv4=[IpamConf(str(POOL))])
        m = Model()
        for call in calls:
            want, got = _predict_and_run(m, c, nw, call)
            if want == "skip":
                continue
            event(f"{call[0]}: {want.__name__ if want else 'ok'}")
            if want is None:
                assert got is None, f"{call}: unexpected {got!r}"
            else:
                assert type(got) is want, f"{call}: {got!r}, want {want}"
            _check(m, c, nw, root)
        c.stop()
        c = libnetwork.new(**kw)
        _check(m, c, c.network_by_name("n"), root)
    finally:
        c.stop()
        for top, _, files in os.walk(d, topdown=False):
            for f in files:
                drop_netns(os.path.join(top, f))
        shutil.rmtree(d, ignore_errors=True)


def test_detach_same_container_twice(ctl, backend):
    """detach(["a", "a"]) detaches "a" once (it used to fail half-way
    with a KeyError, leaving records of a deleted namespace)."""
    nw = ctl.new_network("bridge", "n")
    ctl.attach(nw, ["a", "b"])
    key = ctl.sandbox_by_container("a").key()
    ctl.detach(["a", "a"])
    assert [s.container_id() for s in ctl.sandboxes()] == ["b"]
    assert [e.name() for e in nw.endpoints()] == ["b"]
    assert not os.path.exists(key)
    assert len(os.listdir(ctl.netns_dir)) == 1
    assert sorted(d["container_id"] for _, d in
                  ctl.store.list("sandbox")) == ["b"]
