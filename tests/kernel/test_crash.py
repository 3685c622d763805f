"""Crash safety: a worker attaching, detaching, creating and deleting 300
endpoints in a loop is SIGKILLed at a seeded random moment (inside
batches, inside store transactions, between them); a new controller then
must reach: no leaked kernel object, no duplicate address, every container
fully attached or fully gone, every endpoint with its address held exactly
when it exists (IPAM's free count equal to what the records say), and a
second restart changes nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from libnetwork import IpamConf

from cnm_util import *  # noqa: F401,F403
from kernel_util import settled
from cnm_util import (Oracle, is_netns, make_ctl, normalized_store,  # noqa
                      ns_links)

N = 300
SEEDS = int(os.environ.get("LIBNETWORK_CRASH_SEEDS", "5"))

WORKER = textwrap.dedent('''
    import json, sys
    import libnetwork
    args = json.loads(sys.argv[1])
    c = libnetwork.new(**args["ctl"])
    nw = c.network_by_name("n")
    cids = [f"c{i}" for i in range(args["n"])]
    print("ready", flush=True)
    while True:
        c.attach(nw, cids)
        c.detach(cids)
        eps = nw.create_endpoints([f"e{i}" for i in range(args["n"])])
        for ep in eps:
            ep.delete()
''')



def check(c, netns, free0):
    nw = c.network_by_name("n")
    eps = nw.endpoints()
    # no duplicate address; IPAM holds exactly the endpoints' addresses
    addrs = [str(ep.addr.ip) for ep in eps]
    assert len(addrs) == len(set(addrs))
    (sub,) = [s for s in c.ipam.dump().values() if s["subnet"] ==
              "10.160.0.0/16"]
    assert sub["free"] == free0 - len(eps), (sub["free"], free0, len(eps))
    # each container fully attached or fully gone
    sbs = {sb.container_id(): sb for sb in c.sandboxes()}
    for cid, sb in sbs.items():
        (ep,) = sb.endpoints()
        assert ep.name() == cid and ep.sandbox() is sb
        assert is_netns(sb.key())
    for ep in eps:
        if ep.name().startswith("c"):
            assert ep.name() in sbs, f"{ep.name()} without its sandbox"
        else:
            assert ep.sandbox() is None
    mine = sorted(f for f in os.listdir(c.netns_dir)
                  if f.startswith(c.identity[:8]))
    assert mine == sorted(os.path.basename(sb.key()) for sb in sbs.values())

    def kernel():
        links = ns_links(netns)
        ours = {n for n, link in links.items() if link.alias == c.mark}
        want = {nw.driver_state["bridge"]} | {
            ep.host_ifname for ep in eps if ep.sandbox_id}
        assert ours == want, (sorted(ours - want), sorted(want - ours))
        br = links[nw.driver_state["bridge"]].index
        for ep in eps:
            if ep.sandbox_id:
                assert links[ep.host_ifname].master == br
                inside = Oracle(ep.sandbox().key()).links()
                assert "eth0" in inside
        assert not [n for n in links if n.startswith("veth")
                    and n not in want], "a veth nobody records"
    settled(kernel)
    return sorted((n, link.master) for n, link in ns_links(netns).items())


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_anywhere(make_ctl, netns, nsdir, tmp_path, backend, seed):
    rnd = random.Random(seed)
    ctl = dict(data_dir=str(tmp_path / "data"),
               exec_root=os.path.join(nsdir, "exec"),
               backend=backend.name, root_namespace=netns)
    c = make_ctl(**ctl)
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.160.0.0/16")])
    (sub,) = c.ipam.dump().values()
    free0 = sub["free"]
    c.stop()
    p = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps({"ctl": ctl, "n": N})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        time.sleep(rnd.uniform(0.0, 2.5))
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        p.stderr.close()
    c2 = make_ctl(**ctl)
    kernel2 = check(c2, netns, free0)
    store2 = normalized_store(c2)
    c2.stop()
    c3 = make_ctl(**ctl)
    assert normalized_store(c3) == store2
    assert check(c3, netns, free0) == kernel2
    # and it works on: a detach of whatever is attached, then all again
    c3.detach([sb.container_id() for sb in c3.sandboxes()])
    eps = c3.attach(c3.network_by_name("n"), ["again"])
    assert eps[0].sandbox() is not None
    assert nw.driver_state["bridge"] in ns_links(netns)


def test_a_live_process_intent_is_left_alone(make_ctl, netns, nsdir,
                                             tmp_path):
    """A controller starting on the same store while another is in the
    middle of a change (its intent file locked) leaves that change's
    objects alone; once the other is gone (its lock released without the
    change committing), the next start undoes them."""
    from libnetwork.backends import ops as O
    ctl = dict(data_dir=str(tmp_path / "data"),
               exec_root=os.path.join(nsdir, "exec"), root_namespace=netns)
    a = make_ctl(**ctl)
    nw = a.new_network("bridge", "n", ipv4=[IpamConf("10.161.0.0/24")])
    path = os.path.join(a.netns_dir, f"{a.identity[:8]}-0123456789ab")
    group = nw.driver_state["group"]
    veth = O.LinkAddVeth("vinflight", "eth0", peer_ns=path, group=group)
    intent = a.intents.begin("setup")
    intent.created([O.NetnsCreate(path), veth])  # the change in flight
    a.backend.run([O.NetnsCreate(path), veth])
    b = make_ctl(**ctl)                          # starts meanwhile
    assert is_netns(path) and "vinflight" in ns_links(netns)
    b.stop()
    os.close(intent._fd)                         # a dies, uncommitted
    intent._fd = None
    c = make_ctl(**ctl)
    assert not os.path.exists(path)
    settled(lambda: _gone("vinflight", netns))
    assert c.networks()[0].id() == nw.id()


def _gone(name, netns):
    assert name not in ns_links(netns)
