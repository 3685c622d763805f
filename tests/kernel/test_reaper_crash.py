"""A process SIGKILLed between ``detach(wait=False)`` and the end of its
reaping: the next start finishes the reaping (deletes the host ends the
kernel still keeps, confirms, gives back), leaks nothing and never hands
out an address twice -- at a chosen moment, and at seeded random moments
of a loop of attach / detach(wait=False) / endpoint churn."""

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
from libnetwork.types import PortBinding

from cnm_util import *  # noqa: F401,F403
from cnm_util import make_ctl  # noqa: F401
from firewall_util import port_elements, table_of
from reaper_util import free, held, records, settled, veths
from test_crash import check

SEEDS = int(os.environ.get("LIBNETWORK_CRASH_SEEDS", "3"))

# attach, report the namespaces, wait for the parent to hold them, detach
# without waiting (the reaper told never to delete a host end itself), say
# so, and wait to be killed
ONCE = textwrap.dedent('''
    import json, sys, time
    import libnetwork
    from libnetwork import reaper
    from libnetwork.types import PortBinding
    args = json.loads(sys.argv[1])
    reaper.GRACE = 3600.0
    c = libnetwork.new(**args["ctl"])
    nw = c.network_by_name("n")
    cids = [f"c{i}" for i in range(args["n"])]
    eps = c.attach(nw, cids, port_mapping=[PortBinding("tcp", 80)])
    print(json.dumps([ep.sandbox().key() for ep in eps]), flush=True)
    sys.stdin.readline()
    c.detach(cids, wait=False)
    print(json.dumps(sorted(k for k, _ in c.store.list("reaping"))),
          flush=True)
    time.sleep(600)
''')

LOOP = textwrap.dedent('''
    import json, sys
    import libnetwork
    args = json.loads(sys.argv[1])
    c = libnetwork.new(**args["ctl"])
    nw = c.network_by_name("n")
    cids = [f"c{i}" for i in range(args["n"])]
    print("ready", flush=True)
    while True:
        c.attach(nw, cids)
        c.detach(cids, wait=False)
        eps = nw.create_endpoints([f"e{i}" for i in range(args["n"])])
        for ep in eps:
            ep.delete()
''')


def _spawn(code, ctl, n):
    return subprocess.Popen(
        [sys.executable, "-c", code, json.dumps({"ctl": ctl, "n": n})],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()
    for f in (p.stdin, p.stdout, p.stderr):
        f.close()


def _ctl(make_ctl, netns, nsdir, tmp_path, backend):
    ctl = dict(data_dir=str(tmp_path / "data"),
               exec_root=os.path.join(nsdir, "exec"),
               backend=backend.name, root_namespace=netns)
    c = make_ctl(**ctl)
    c.new_network("bridge", "n", ipv4=[IpamConf("10.160.0.0/16")])
    free0 = free(c)
    c.stop()
    return ctl, free0


def test_sigkill_after_detach_before_reaping(make_ctl, netns, nsdir,
                                            tmp_path, backend):
    ctl, free0 = _ctl(make_ctl, netns, nsdir, tmp_path, backend)
    p = _spawn(ONCE, ctl, 30)
    try:
        keys = json.loads(p.stdout.readline() or "null")
        assert keys, p.stderr.read()
        with held(keys):             # the kernel keeps them past the crash
            p.stdin.write("go\n")
            p.stdin.flush()
            names = json.loads(p.stdout.readline() or "null")
            assert names and len(names) == 30, p.stderr.read()
            _kill(p)
            assert set(names) <= set(veths(netns))
            c = make_ctl(**ctl)
            # finished at start: deleted, confirmed, given back
            assert records(c) == {}
            assert not set(names) & set(veths(netns))
            assert set(names) <= set(c.reconciled.links_removed)
            assert free(c) == free0
            assert c.sandboxes() == [] and \
                c.network_by_name("n").endpoints() == []
            assert port_elements(netns, table_of(c)) == set()
            # never twice: all 30 again, each address once
            eps = c.attach(c.network_by_name("n"),
                           [f"d{i}" for i in range(30)],
                           port_mapping=[PortBinding("tcp", 80)])
            assert len({str(ep.addr.ip) for ep in eps}) == 30
            assert free(c) == free0 - 30
    finally:
        if p.returncode is None:
            _kill(p)
    c.detach([f"d{i}" for i in range(30)], wait=False)
    c.stop()
    c2 = make_ctl(**ctl)
    assert records(c2) == {} and free(c2) == free0
    settled(lambda: _no_veths(netns))


def _no_veths(netns):
    assert veths(netns) == {}


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_anywhere_with_reaping(make_ctl, netns, nsdir, tmp_path,
                                       backend, seed):
    rnd = random.Random(1000 + seed)
    ctl, free0 = _ctl(make_ctl, netns, nsdir, tmp_path, backend)
    p = _spawn(LOOP, ctl, 100)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        time.sleep(rnd.uniform(0.0, 2.5))
    finally:
        _kill(p)
    c2 = make_ctl(**ctl)
    assert records(c2) == {}
    kernel2 = check(c2, netns, free0)
    c2.stop()
    c3 = make_ctl(**ctl)
    assert records(c3) == {}
    assert check(c3, netns, free0) == kernel2
    c3.detach([sb.container_id() for sb in c3.sandboxes()], wait=False)
    eps = c3.attach(c3.network_by_name("n"), ["again"])
    assert eps[0].sandbox() is not None
