"""``libnetwork sandbox ...``, ``endpoint ...``, ``restore`` and ``gc`` as
a real subprocess."""

from __future__ import annotations

import ipaddress
import os

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_addrs, ns_links
from cli_util import *  # noqa: F401,F403
from cli_util import ok, rows
from kernel_util import drop_netns, make_netns

SANDBOX_KEYS = {"id", "container", "key", "hostname", "endpoints"}
REPORT_KEYS = {"namespaces_removed", "links_removed", "sandboxes_forgotten",
               "endpoints_left", "networks_repaired", "changes_undone",
               "teardowns_finished", "pool_removed"}


def test_sandbox_commands(cli, ctl_on):
    ids = ok(cli("sandbox", "create", "--hostname", "h1", "s1", "s2")).split()
    c = ctl_on()
    assert ids == [c.sandbox_by_container("s1").id(),
                   c.sandbox_by_container("s2").id()]
    keys = [c.sandbox_by_container(s).key() for s in ("s1", "s2")]
    c.stop()
    assert all(os.path.exists(k) for k in keys)
    table = rows(ok(cli("sandbox", "ls")))
    assert table[0] == ["CONTAINER", "SANDBOX ID", "KEY", "ENDPOINTS"]
    assert table[1:] == [["s1", ids[0][:12], keys[0], "-"],
                         ["s2", ids[1][:12], keys[1], "-"]]
    assert ok(cli("sandbox", "ls", "-q")).split() == ids
    js = ok(cli("sandbox", "ls", "--json"), json_out=True)
    assert [set(d) for d in js] == [SANDBOX_KEYS] * 2
    [d] = ok(cli("sandbox", "inspect", ids[0][:10]), json_out=True)
    assert (d["container"], d["hostname"], d["key"]) == ("s1", "h1", keys[0])
    ok(cli("sandbox", "rm", "s1", "s2"))
    assert not any(os.path.exists(k) for k in keys)
    p = cli("sandbox", "rm", "s1")
    assert (p.returncode, p.stderr) == (1, 'libnetwork: sandbox "s1" not '
                                           'found\n')


def test_endpoint_commands(cli, netns, ctl_on):
    ok(cli("network", "create", "--subnet", "10.51.0.0/24", "n1"))
    ok(cli("sandbox", "create", "box"))
    table = rows(ok(cli("endpoint", "create", "n1", "ep1", "--ip",
                        "10.51.0.20", "-p", "8090:80")))
    assert table[1][:3] == ["ep1", "n1", "10.51.0.20/24"]
    assert len(table[1]) == 4          # no sandbox yet
    ok(cli("endpoint", "join", "n1", "ep1", "box"))
    c = ctl_on()
    sb = c.sandbox_by_container("box")
    assert ("eth0", ipaddress.ip_interface("10.51.0.20/24")) in \
        ns_addrs(sb.key())
    c.stop()
    [d] = ok(cli("endpoint", "inspect", "n1", "ep1"), json_out=True)
    assert d["container"] == "box" and d["ports"][0]["host_port"] == 8090
    assert ok(cli("port", "box")) == "80/tcp -> 0.0.0.0:8090\n"
    assert rows(ok(cli("sandbox", "ls")))[1][3] == "ep1"
    assert [r[0] for r in rows(ok(cli("endpoint", "ls", "n1")))[1:]] == \
        ["ep1"]
    p = cli("endpoint", "rm", "n1", "ep1")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1
    ok(cli("endpoint", "leave", "n1", "ep1", "box"))
    ok(cli("endpoint", "rm", "n1", "ep1"))
    assert ok(cli("endpoint", "ls", "-q")) == ""
    assert not [n for n in ns_links(netns) if n.startswith("veth")]


def test_restore_reports_what_it_fixed(cli, ctl_on):
    ok(cli("network", "create", "--subnet", "10.52.0.0/24", "n1"))
    ok(cli("attach", "n1", "c1", "c2"))
    c = ctl_on()
    key = c.sandbox_by_container("c1").key()
    c.stop()
    drop_netns(key)                    # the namespace vanishes behind our back
    out = ok(cli("restore"))
    assert "forgot sandbox c1 (its namespace was gone)" in out
    assert "endpoint c1 left its sandbox" in out
    assert out.endswith("1 network(s), 1 sandbox(es) in the store\n")
    d = ok(cli("restore", "--json"), json_out=True)
    assert set(d) == REPORT_KEYS | {"networks", "sandboxes"}
    assert d["sandboxes_forgotten"] == [] and d["sandboxes"] == 1
    assert ok(cli("restore")).startswith("nothing to fix\n")


def test_gc_removes_unexplained_objects(cli, cli_dirs, ctl_on):
    ok(cli("network", "create", "n1"))
    c = ctl_on()
    ident = c.identity
    c.stop()
    orphan = os.path.join(cli_dirs["exec_root"], "netns",
                          f"{ident[:8]}-0123456789ab")
    make_netns(orphan)
    assert ok(cli("gc")) == f"removed orphan namespace {orphan}\n"
    assert not os.path.exists(orphan)
    assert ok(cli("gc")) == "nothing to remove\n"
    d = ok(cli("gc", "--json"), json_out=True)
    assert d == {"namespaces_removed": [], "links_removed": []}
