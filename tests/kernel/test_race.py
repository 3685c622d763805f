"""Uniqueness across processes: four processes on one store race on the
same names.  Exactly one wins each network name, endpoint name and
container id; the others get NetworkNameExists, EndpointNameExists or
SandboxExists; the store holds each name once; and a network with another
process's joined endpoint cannot be deleted (ActiveEndpoints)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from cnm_util import *  # noqa: F401,F403
from cnm_util import make_ctl, ns_links  # noqa: F401

WORKER = textwrap.dedent('''
    import json, os, sys, time
    import libnetwork
    from libnetwork import IpamConf, errors
    args = json.loads(sys.argv[1])
    c = libnetwork.new(**args["ctl"])
    while not os.path.exists(args["go"]):
        time.sleep(0.001)
    out = {"network": None, "endpoints": [], "sandboxes": [], "delete": None}

    def outcome(fn):
        try:
            fn()
            return "won"
        except (errors.NetworkNameExists, errors.EndpointNameExists,
                errors.SandboxExists, errors.ActiveEndpoints) as e:
            return type(e).__name__
    out["network"] = outcome(lambda: c.new_network(
        "bridge", "race", ipv4=[IpamConf("10.150.0.0/24")]))
    nw = c.network_by_name("race")
    for i in range(6):
        out["endpoints"].append(outcome(
            lambda: nw.create_endpoint(f"e{i}")))
    for i in range(6):
        out["sandboxes"].append(outcome(lambda: c.new_sandbox(f"c{i}")))
    # one joined endpoint per process that won e0 ... the network stays
    if out["endpoints"][0] == "won":
        nw.endpoint_by_name("e0").join(c.sandbox_by_container("c0")
                                       if out["sandboxes"][0] == "won"
                                       else c.new_sandbox("j0"))
    time.sleep(0.3)
    out["delete"] = outcome(lambda: c.network_by_name("race").delete())
    c.stop()
    print(json.dumps(out))
''')


def test_four_processes_one_store(make_ctl, netns, nsdir, tmp_path, backend):
    ctl = dict(data_dir=str(tmp_path / "data"),
               exec_root=os.path.join(nsdir, "exec"),
               backend=backend.name, root_namespace=netns)
    go = str(tmp_path / "go")
    procs = [subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps({"ctl": ctl, "go": go})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)]
    time.sleep(1.0)                     # every worker waiting at the line
    open(go, "w").close()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(o["network"] for o in outs) == \
        ["NetworkNameExists"] * 3 + ["won"]
    for i in range(6):
        assert sorted(o["endpoints"][i] for o in outs) == \
            ["EndpointNameExists"] * 3 + ["won"], i
        assert sorted(o["sandboxes"][i] for o in outs) == \
            ["SandboxExists"] * 3 + ["won"], i
    # e0 is joined by whoever won it: nobody may delete the network
    assert {o["delete"] for o in outs} == {"ActiveEndpoints"}
    c = make_ctl(**ctl)
    (nw,) = c.networks()
    assert sorted(ep.name() for ep in nw.endpoints()) == \
        [f"e{i}" for i in range(6)]
    cids = sorted(sb.container_id() for sb in c.sandboxes())
    assert [x for x in cids if x.startswith("c")] == [f"c{i}"
                                                       for i in range(6)]
    assert nw.driver_state["bridge"] in ns_links(netns)
    assert len({str(ep.addr.ip) for ep in nw.endpoints()}) == 6
