"""``libnetwork network ...``, ``version``, and the error contract of the
command line (exit codes, one line on stderr, --debug), run as a real
subprocess on the test's namespace."""

from __future__ import annotations

import re

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_addrs, ns_links
from cli_util import *  # noqa: F401,F403
from cli_util import ok, rows

HEX64 = re.compile(r"^[0-9a-f]{64}$")
NETWORK_KEYS = {"id", "name", "driver", "scope", "internal", "ipv6",
                "created", "subnets", "options", "labels", "endpoints"}


def test_create_ls_inspect_rm(cli, netns, ctl_on):
    out = ok(cli("network", "create", "--subnet", "10.31.0.0/24",
                 "--gateway", "10.31.0.254", "--ip-range", "10.31.0.128/25",
                 "-o", "com.docker.network.bridge.name=brcli",
                 "-o", "com.docker.network.bridge.enable_icc=false",
                 "--label", "team=net", "n1"))
    nid = out.strip()
    assert HEX64.match(nid)
    assert "brcli" in ns_links(netns)
    assert ("brcli", __import__("ipaddress").ip_interface(
        "10.31.0.254/24")) in ns_addrs(netns)

    table = rows(ok(cli("network", "ls")))
    assert table[0] == ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
    assert table[1:] == [[nid[:12], "n1", "bridge", "local"]]
    assert ok(cli("network", "ls", "-q")).split() == [nid]

    [ls] = ok(cli("network", "ls", "--json"), json_out=True)
    assert set(ls) == NETWORK_KEYS
    assert ls["subnets"] == [dict(subnet="10.31.0.0/24",
                                  gateway="10.31.0.254",
                                  ip_range="10.31.0.128/25")]
    assert ls["options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert ls["labels"] == {"team": "net"}
    # by name, by id, by id prefix: the same network
    for ref in ("n1", nid, nid[:8]):
        [d] = ok(cli("network", "inspect", ref), json_out=True)
        assert d["id"] == nid

    # the store has it: a Python controller sees what the CLI made
    c = ctl_on()
    nw = c.network_by_name("n1")
    assert nw.id() == nid
    assert nw.info().internal() is False
    c.stop()

    assert ok(cli("network", "rm", nid[:12])) == nid[:12] + "\n"
    assert "brcli" not in ns_links(netns)
    assert ok(cli("network", "ls", "-q")) == ""


def test_create_options(cli, ctl_on):
    ok(cli("network", "create", "--internal", "--ipv6", "--subnet",
           "10.32.0.0/24", "--subnet", "fd00:32::/64", "n6"))
    [d] = ok(cli("network", "inspect", "n6"), json_out=True)
    assert d["internal"] is True and d["ipv6"] is True
    assert [s["subnet"] for s in d["subnets"]] == ["10.32.0.0/24",
                                                   "fd00:32::/64"]
    ok(cli("network", "create", "-d", "null", "nonet"))
    drivers = {r[1]: r[2] for r in rows(ok(cli("network", "ls")))[1:]}
    assert drivers == {"n6": "bridge", "nonet": "null"}


def test_unknown_network_is_one_line_exit_1(cli):
    for args in (("network", "inspect", "nope"), ("network", "rm", "nope"),
                 ("attach", "nope", "c1"), ("port", "nobody")):
        p = cli(*args)
        assert p.returncode == 1, args
        assert p.stdout == ""
        assert len(p.stderr.splitlines()) == 1, p.stderr
        assert p.stderr.startswith("libnetwork: ")
        assert "not found" in p.stderr and "Traceback" not in p.stderr
    assert cli("network", "inspect", "nope").stderr == \
        'libnetwork: network "nope" not found\n'


def test_library_errors_are_one_line(cli):
    ok(cli("network", "create", "--subnet", "10.33.0.0/24", "n1"))
    for args in (("network", "create", "n1"),                # name taken
                 ("network", "create", "--subnet", "10.33.0.0/25", "n2"),
                 ("network", "create", "-d", "nodriver", "n3"),
                 ("network", "create", "--subnet", "10.34.0.0/24",
                  "--gateway", "10.35.0.1", "n4")):
        p = cli(*args)
        assert p.returncode == 1, (args, p.stderr)
        assert len(p.stderr.splitlines()) == 1, p.stderr
        assert "Traceback" not in p.stderr
    ok(cli("attach", "n1", "c1"))
    p = cli("network", "rm", "n1")
    assert p.returncode == 1 and "active endpoints" in p.stderr


def test_debug_shows_the_traceback(cli):
    p = cli("--debug", "network", "inspect", "nope")
    assert p.returncode != 0
    assert "Traceback (most recent call last)" in p.stderr
    assert "not found" in p.stderr


def test_usage_errors_exit_2(cli):
    for args in ((), ("bogus",), ("network",), ("network", "create"),
                 ("network", "create", "--subnet", "10.0.0.300/24", "x"),
                 ("network", "create", "-o", "novalue", "x"),
                 ("attach", "n1", "c1", "-p", "80/icmp"),
                 ("attach", "n1", "c1", "-p", "99999"),
                 ("--backend", "nope", "network", "ls")):
        p = cli(*args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert "usage:" in p.stderr and p.stdout == ""


def test_version(cli):
    import os
    import libnetwork
    out = ok(cli("version"))
    assert f"version: {libnetwork.__version__}" in out
    assert os.uname().release in out
    d = ok(cli("version", "--json"), json_out=True)
    assert set(d) == {"version", "backend", "kernel"}
    assert d["backend"] in ("native", "pyroute2")
    assert ok(cli("--backend", "pyroute2", "version", "--json"),
              json_out=True)["backend"] == "pyroute2"


def test_environment_fallbacks(script, cli_dirs, ctl_on):
    import os
    import subprocess
    env = dict(os.environ, LIBNETWORK_DATA_DIR=cli_dirs["data_dir"],
               LIBNETWORK_EXEC_ROOT=cli_dirs["exec_root"],
               LIBNETWORK_ROOT_NAMESPACE=cli_dirs["root_namespace"])
    p = subprocess.run([script, "network", "create", "envnet"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert ctl_on().network_by_name("envnet").id() == p.stdout.strip()
