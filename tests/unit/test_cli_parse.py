"""The command line's parsers: ``-p`` specs, ``-o KEY=VALUE``, and the
options of ``network create`` turned into library arguments (no kernel)."""

from __future__ import annotations

import argparse

import pytest

from libnetwork import IpamConf, PortBinding
from libnetwork.cli import build_parser
from libnetwork.cli.common import UserError
from libnetwork.cli.network import create_kwargs
from libnetwork.cli.parse import bindings, key_value, port_spec


@pytest.mark.parametrize("spec, want", [
    ("80", PortBinding("tcp", 80)),
    ("53/udp", PortBinding("udp", 53)),
    ("8080:80", PortBinding("tcp", 80, 8080)),
    (":80", PortBinding("tcp", 80)),
    ("127.0.0.1:8080:80/tcp", PortBinding("tcp", 80, 8080, "127.0.0.1")),
    ("127.0.0.1::80", PortBinding("tcp", 80, 0, "127.0.0.1")),
    ("9000-9010:53/udp", PortBinding("udp", 53, 9000, "", 9010)),
    ("9000-9000:53", PortBinding("tcp", 53, 9000)),
    ("[::1]:8080:80", PortBinding("tcp", 80, 8080, "::1")),
    ("10.0.0.1:1-2:7/sctp", PortBinding("sctp", 7, 1, "10.0.0.1", 2)),
])
def test_port_spec(spec, want):
    assert bindings([port_spec(spec)]) == [want]


@pytest.mark.parametrize("spec", [
    "", "http", "0", "65536", "80/icmp", "a:b:c:d", "x.y:80:80",
    "9010-9000:53", "1:2:3:4", "[::1]80:80", "[::1]:1:2:3", "80:", "-1:80",
])
def test_bad_port_spec(spec):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        port_spec(spec)
    assert "invalid port spec" in str(e.value)


def test_key_value():
    assert key_value("a=b") == ("a", "b")
    assert key_value("parent=eth0.10") == ("parent", "eth0.10")
    assert key_value("k=") == ("k", "")
    assert key_value("k=a=b") == ("k", "a=b")
    for bad in ("novalue", "=x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            key_value(bad)


def _create(*argv):
    return build_parser().parse_args(["network", "create", *argv])


def test_network_create_arguments():
    args = _create("--subnet", "10.1.0.0/24", "--gateway", "10.1.0.1",
                   "--ip-range", "10.1.0.128/25", "--internal", "-o",
                   "com.docker.network.bridge.enable_icc=false", "-o",
                   "parent=eth0", "-d", "macvlan", "n")
    assert (args.driver, args.name) == ("macvlan", "n")
    assert create_kwargs(args) == dict(
        ipv4=[IpamConf(preferred_pool="10.1.0.0/24",
                       sub_pool="10.1.0.128/25", gateway="10.1.0.1")],
        internal=True,
        generic={"com.docker.network.bridge.enable_icc": "false",
                 "parent": "eth0"})
    kw = create_kwargs(_create("--subnet", "fd00::/64", "n"))
    assert kw == dict(ipv6=[IpamConf(preferred_pool="fd00::/64")],
                      enable_ipv6=True)
    assert create_kwargs(_create("n")) == {}
    assert create_kwargs(_create("--ipv6", "n")) == {"enable_ipv6": True}


@pytest.mark.parametrize("argv", [
    ("--gateway", "10.1.0.1", "n"),
    ("--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1", "n"),
    ("--subnet", "10.1.0.0/24", "--ip-range", "10.2.0.0/25", "n"),
    ("--subnet", "10.1.0.0/24", "--gateway", "fd00::1", "n"),
])
def test_network_create_user_errors(argv):
    with pytest.raises(UserError):
        create_kwargs(_create(*argv))


@pytest.mark.parametrize("argv", [
    ["network", "create", "--subnet", "10.1.0.1/24", "n"],   # host bits
    ["network", "create", "--gateway", "nope", "n"],
    ["attach", "n", "c", "-p", "80/icmp"],
    ["run", "n"],
    ["--backend", "other", "network", "ls"],
    [],
])
def test_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_global_flags_from_the_environment(monkeypatch):
    monkeypatch.setenv("LIBNETWORK_DATA_DIR", "/d")
    monkeypatch.setenv("LIBNETWORK_EXEC_ROOT", "/e")
    monkeypatch.setenv("LIBNETWORK_BACKEND", "pyroute2")
    monkeypatch.setenv("LIBNETWORK_ROOT_NAMESPACE", "/ns")
    args = build_parser().parse_args(["network", "ls"])
    assert (args.data_dir, args.exec_root, args.backend,
            args.root_namespace) == ("/d", "/e", "pyroute2", "/ns")
    args = build_parser().parse_args(["--data-dir", "/x", "network", "ls"])
    assert args.data_dir == "/x"
