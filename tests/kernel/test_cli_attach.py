"""``libnetwork attach|detach|port|run`` as a real subprocess: the
kernel's and the store's state afterwards."""

from __future__ import annotations

import ipaddress
import os

from cnm_util import *  # noqa: F401,F403
from cnm_util import ns_addrs, ns_links, nsexec
from cli_util import *  # noqa: F401,F403
from cli_util import ok, rows

from libnetwork import PortBinding, netlabel

ENDPOINT_KEYS = {"id", "name", "network", "network_id", "ipv4", "ipv6",
                 "mac", "sandbox", "container", "ports"}
PORT_KEYS = {"proto", "port", "host_ip", "host_port", "host_port_end"}


def test_attach_many_then_detach(cli, netns, ctl_on):
    ok(cli("network", "create", "--subnet", "10.41.0.0/24", "n1"))
    names = [f"c{i}" for i in range(5)]
    table = rows(ok(cli("attach", "n1", *names)))
    assert table[0] == ["NAME", "NETWORK", "IPV4", "MAC", "SANDBOX"]
    assert [r[0] for r in table[1:]] == names
    assert {r[2] for r in table[1:]} == {f"10.41.0.{i}/24"
                                         for i in range(2, 7)}
    c = ctl_on()
    for name, row in zip(names, table[1:]):
        sb = c.sandbox_by_container(name)
        assert sb.id().startswith(row[4])
        # the sandbox's namespace holds the endpoint's address
        assert ("eth0", ipaddress.ip_interface(row[2])) in ns_addrs(sb.key())
        assert os.path.exists(sb.key())
    c.stop()
    veths = [n for n in ns_links(netns) if n.startswith("veth")]
    assert len(veths) == 5

    assert ok(cli("detach", *names[:3])).split() == names[:3]
    assert ok(cli("detach", "-q", *names[3:])) == ""
    assert not [n for n in ns_links(netns) if n.startswith("veth")]
    assert ok(cli("sandbox", "ls", "-q")) == ""
    p = cli("detach", "c0")
    assert p.returncode == 1 and p.stderr == \
        'libnetwork: sandbox "c0" not found\n'


def test_attach_json_and_quiet(cli, ctl_on):
    ok(cli("network", "create", "--subnet", "10.42.0.0/24", "n1"))
    [d] = ok(cli("attach", "--json", "n1", "web", "--ip", "10.42.0.9",
                 "--mac", "02:42:0a:2a:00:99"), json_out=True)
    assert set(d) == ENDPOINT_KEYS
    assert (d["name"], d["network"], d["ipv4"], d["mac"], d["container"]) \
        == ("web", "n1", "10.42.0.9/24", "02:42:0a:2a:00:99", "web")
    ids = ok(cli("attach", "-q", "n1", "a", "b")).split()
    c = ctl_on()
    nw = c.network_by_name("n1")
    assert ids == [nw.endpoint_by_name("a").id(), nw.endpoint_by_name("b").id()]
    assert nw.endpoint_by_name("web").id() == d["id"]


def test_publish_and_port(cli, ctl_on):
    ok(cli("network", "create", "--subnet", "10.43.0.0/24", "-o",
           "com.docker.network.bridge.route_localnet=true", "n1"))
    ok(cli("attach", "n1", "web", "-p", "8080:80", "-p", "127.0.0.1::443",
           "-p", "9000-9010:53/udp"))
    c = ctl_on()
    ep = c.network_by_name("n1").endpoint_by_name("web")
    ports = ep.driver_info()[netlabel.PORT_MAP]
    c.stop()
    by_port = {b.port: b for b in ports}
    assert by_port[80] == PortBinding("tcp", 80, 8080, "0.0.0.0")
    assert by_port[443].host_ip == "127.0.0.1" and by_port[443].host_port
    assert by_port[53].proto == "udp" and by_port[53].host_port == 9000
    lines = ok(cli("port", "web")).splitlines()
    assert "80/tcp -> 0.0.0.0:8080" in lines
    assert f"443/tcp -> 127.0.0.1:{by_port[443].host_port}" in lines
    assert "53/udp -> 0.0.0.0:9000" in lines
    js = ok(cli("port", "--json", "web"), json_out=True)
    assert {tuple(sorted(x)) for x in js} == {
        tuple(sorted(PORT_KEYS | {"endpoint", "network"}))}
    assert {(x["port"], x["host_port"]) for x in js} >= {(80, 8080),
                                                          (53, 9000)}
    # the same host port again: the library's refusal, one line
    p = cli("attach", "n1", "other", "-p", "8080:80")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1
    assert "8080" in p.stderr


def test_run_inside_the_sandbox(cli, ctl_on):
    ok(cli("network", "create", "--subnet", "10.44.0.0/24", "n1"))
    p = cli("run", "n1", "--", "ip", "-o", "-4", "addr", "show", "eth0")
    assert p.returncode == 0, p.stderr
    assert "inet 10.44.0.2/24" in p.stdout
    # detached afterwards: nothing left
    assert ok(cli("sandbox", "ls", "-q")) == ""
    assert ok(cli("endpoint", "ls", "-q")) == ""


def test_run_exit_status_and_keep(cli, ctl_on):
    ok(cli("network", "create", "--subnet", "10.45.0.0/24", "n1"))
    assert cli("run", "n1", "--", "sh", "-c", "exit 7").returncode == 7
    assert cli("run", "n1", "--", "sh", "-c", "kill -TERM $$").returncode \
        == 128 + 15
    p = cli("run", "n1", "--", "no-such-command-here")
    assert p.returncode == 127 and "no-such-command-here" in p.stderr
    assert ok(cli("sandbox", "ls", "-q")) == ""
    # stdin is the command's
    p = cli("run", "n1", "--", "cat", input="through\n")
    assert (p.returncode, p.stdout) == (0, "through\n")
    p = cli("run", "n1", "--name", "kept", "--keep", "-p", "8081:80", "--",
            "true")
    assert p.returncode == 0, p.stderr
    c = ctl_on()
    sb = c.sandbox_by_container("kept")
    assert nsexec(sb.key(), "ip", "-o", "-4", "addr").stdout.count(
        "inet 10.45.0.") == 1
    c.stop()
    assert ok(cli("port", "kept")) == "80/tcp -> 0.0.0.0:8081\n"
    ok(cli("detach", "kept"))


def _read_all(fd) -> bytes:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:                 # EIO: the other end is closed
            return data
        if not chunk:
            return data
        data += chunk


def test_progress_bar_only_on_a_terminal(script, cli_dirs, cli, ctl_on):
    import subprocess
    ok(cli("network", "create", "--subnet", "10.46.0.0/22", "n1"))
    names = [f"b{i}" for i in range(120)]
    base = [script, "--data-dir", cli_dirs["data_dir"], "--exec-root",
            cli_dirs["exec_root"], "--root-namespace",
            cli_dirs["root_namespace"]]
    import threading
    import fcntl
    import struct
    import termios
    master, slave = os.openpty()
    # a terminal of 100 columns (a fresh pty has none: nothing is drawn)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    got = []
    reader = threading.Thread(target=lambda: got.append(_read_all(master)))
    reader.start()
    try:
        p = subprocess.run(base + ["attach", "-q", "n1", *names],
                           stdout=subprocess.PIPE, stderr=slave, text=True,
                           timeout=120)
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    drawn = got[0].decode(errors="replace")
    assert p.returncode == 0, drawn
    assert len(p.stdout.split()) == 120        # stdout stays clean
    assert "attach" in drawn and "/120" in drawn
    c = ctl_on()
    assert len(c.sandboxes()) == 120
    c.stop()
    # not a terminal: no bar, one batch
    p = cli("detach", "-q", *names)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
