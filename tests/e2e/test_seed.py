"""End to end: ``examples/seed.py`` (the README's seed example) run as a
program, and what it printed checked against the kernel and the store.

The example runs as a subprocess inside a fresh network namespace of its
own (``nsenter --net=<ns>``, within the already-isolated test process), so
its bridge lives and dies with that namespace; its store and exec root
are temporary directories (LIBNETWORK_DATA_DIR / LIBNETWORK_EXEC_ROOT).
The example exits without cleaning up, so its sandbox namespace is still
bound at the printed key afterwards: we read it, then detach it.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

from kernel_util import (  # noqa: E402
    RUN_DIR, Oracle, drop_netns, is_netns, make_netns)

pytestmark = pytest.mark.usefixtures("private_world")

SEED = ROOT / "examples" / "seed.py"
LINE = re.compile(r"^Joined endpoint (?P<ep>\S+) \((?P<mac>[0-9a-f:]{17})\) "
                  r"to sandbox (?P<cid>\S+) \((?P<key>/\S+)\)$")


@pytest.fixture
def world(tmp_path):
    os.makedirs(RUN_DIR, exist_ok=True)
    run = tempfile.mkdtemp(prefix="seed-", dir=RUN_DIR)
    ns = make_netns(os.path.join(run, "host"))
    yield dict(ns=ns, exec_root=os.path.join(run, "exec"),
               data=str(tmp_path / "data"))
    for top, _, files in os.walk(run, topdown=False):
        for f in files:
            drop_netns(os.path.join(top, f))
    shutil.rmtree(run, ignore_errors=True)


def _run_seed(world, backend=None):
    env = dict(os.environ, LIBNETWORK_EXEC_ROOT=world["exec_root"],
               LIBNETWORK_DATA_DIR=world["data"])
    if backend:
        env["LIBNETWORK_BACKEND"] = backend
    return subprocess.run(
        ["nsenter", f"--net={world['ns']}", sys.executable, str(SEED)],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(ROOT))


@pytest.mark.parametrize("backend", ["native", "pyroute2"])
def test_seed_output_matches_kernel(world, backend):
    if backend == "native":
        from libnetwork import _binding
        if not _binding.AVAILABLE:
            pytest.skip(f"native backend not built: {_binding.IMPORT_ERROR}")
    res = _run_seed(world, backend)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1, res.stdout
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert m["ep"] == "Endpoint1" and m["cid"] == "container1"

    # the key is a namespace bound under the exec root, still there
    key = m["key"]
    assert os.path.dirname(key) == os.path.join(world["exec_root"], "netns")
    assert is_netns(key)
    # the store is where LIBNETWORK_DATA_DIR says
    assert os.path.isfile(os.path.join(world["data"], "local.db"))

    # inside the sandbox: eth0 with the printed MAC, which is 02:42 and
    # the IPv4 address's bytes
    sandbox = Oracle(key)
    links = sandbox.links()
    assert set(links) == {"lo", "eth0"}
    assert links["eth0"].mac == m["mac"]
    (addr,) = [a.address for a in sandbox.addresses()
               if a.index == links["eth0"].index and a.address.version == 4]
    assert m["mac"] == "02:42:" + ":".join(f"{b:02x}"
                                           for b in addr.ip.packed)
    assert addr == ipaddress.ip_interface("172.17.0.2/16")

    # in the namespace the example ran in: the bridge with the gateway,
    # the host end of the veth on it
    host = Oracle(world["ns"])
    hl = host.links()
    (br,) = [l for l in hl.values() if l.kind == "bridge"]
    assert br.name.startswith("br-")
    assert any(a.index == br.index and
               a.address == ipaddress.ip_interface("172.17.0.1/16")
               for a in host.addresses())
    peer = links["eth0"].link
    assert hl_by_index(hl)[peer].master == br.index

    # a new controller on the same store and exec root sees what the
    # example made (and finds its namespace still bound)
    import libnetwork
    c = libnetwork.new(data_dir=world["data"], exec_root=world["exec_root"],
                       backend=backend, root_namespace=world["ns"])
    try:
        nw = c.network_by_name("network1")
        ep = nw.endpoint_by_name("Endpoint1")
        sb = c.sandbox_by_container("container1")
        assert sb.key() == key and ep.sandbox() is sb
        assert ep.driver_info()["com.docker.network.endpoint.macaddress"] \
            == m["mac"]
        assert ep.info().iface().address() == addr
    finally:
        c.stop()


def hl_by_index(links):
    return {l.index: l for l in links.values()}


def test_seed_fails_cleanly_without_privileges_to_exec_root(world, tmp_path):
    """An exec root that cannot be created (a file in the way): the example
    fails with a Python error, not a hang, and binds nothing."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    world = dict(world, exec_root=str(blocker / "exec"))
    res = _run_seed(world)
    assert res.returncode != 0
    assert "Error" in res.stderr
