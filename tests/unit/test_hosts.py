"""The sandbox hosts file (libnetwork.sandbox_files.hosts): libnetwork's
exact bytes.

Expected contents follow moby/libnetwork's etchosts package (and its
tests) at 3797618f9a38372e8107d8c06f6ae199e1133ae8.  Nothing here reads or
writes /etc: every file lives under tmp_path.
"""

from __future__ import annotations

import ipaddress
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libnetwork import sandbox_files as sf
from libnetwork.errors import InvalidParameter

DEFAULT = ("127.0.0.1\tlocalhost\n"
           "::1\tlocalhost ip6-localhost ip6-loopback\n"
           "fe00::0\tip6-localnet\n"
           "ff00::0\tip6-mcastprefix\n"
           "ff02::1\tip6-allnodes\n"
           "ff02::2\tip6-allrouters\n")

SETTINGS = settings(
    deadline=None, max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture])


# ================================================================= hosts

def test_hosts_defaults_only():
    assert sf.hosts_content(hostname="") == DEFAULT
    assert sf.hosts_content(hostname="abc") == DEFAULT   # no ip: no own line


def test_hosts_no_domain():
    assert sf.hosts_content(ip="172.17.0.2", hostname="abc") == \
        DEFAULT + "172.17.0.2\tabc\n"


def test_hosts_with_domain():
    assert sf.hosts_content(ip="10.11.12.13", hostname="testhostname",
                            domainname="testdomainname") == \
        DEFAULT + "10.11.12.13\ttesthostname.testdomainname testhostname\n"


def test_hosts_fqdn_in_hostname():
    assert sf.hosts_content(ip="10.11.12.13",
                            hostname="testhostname.testdomainname.com") == \
        DEFAULT + ("10.11.12.13\ttesthostname.testdomainname.com "
                   "testhostname\n")


def test_hosts_extra_hosts_before_own_line():
    got = sf.hosts_content(ip="172.18.0.5", hostname="web",
                           domainname="example.org",
                           extra_hosts=[("db", "10.0.0.9"),
                                        ("cache redis", "10.0.0.10"),
                                        ("v6host", "2001:db8::9")])
    assert got == DEFAULT + ("10.0.0.9\tdb\n"
                             "10.0.0.10\tcache redis\n"
                             "2001:db8::9\tv6host\n"
                             "172.18.0.5\tweb.example.org web\n")


def test_hosts_extra_hosts_without_own_address():
    assert sf.hosts_content(hostname="x", extra_hosts=[("a", "1.2.3.4")]) \
        == DEFAULT + "1.2.3.4\ta\n"


def test_hosts_ipv4_and_ipv6_own_addresses():
    got = sf.hosts_content(ip=["172.17.0.2", "2001:DB8:0::0002"],
                           hostname="abc", domainname="d")
    assert got == DEFAULT + ("172.17.0.2\tabc.d abc\n"
                             "2001:db8::2\tabc.d abc\n")


def test_hosts_ip6_keyword_and_no_hostname():
    assert sf.hosts_content(ip="172.17.0.2", ip6="2001:db8::2",
                            hostname="abc") == \
        DEFAULT + "172.17.0.2\tabc\n2001:db8::2\tabc\n"
    assert sf.hosts_content(ip6="2001:db8::2", hostname="abc") == \
        DEFAULT + "2001:db8::2\tabc\n"
    # no hostname: no own line (libnetwork would write "IP\t")
    assert sf.hosts_content(ip="172.17.0.2", hostname="") == DEFAULT


def test_hosts_ipv6_only_own_address_and_address_objects():
    assert sf.hosts_content(ip=ipaddress.ip_address("fd00::2"),
                            hostname="h") == DEFAULT + "fd00::2\th\n"
    assert sf.hosts_content(ip=ipaddress.ip_interface("10.1.0.7/16"),
                            hostname="h") == DEFAULT + "10.1.0.7\th\n"
    assert sf.hosts_content(ip="10.1.0.7/16", hostname="h") == \
        DEFAULT + "10.1.0.7\th\n"


@pytest.mark.parametrize("kwargs", [
    dict(ip="10.0.0.300", hostname="h"),
    dict(ip="10.0.0.1", hostname="a b"),
    dict(ip="10.0.0.1", hostname="h", domainname="x\ny"),
    dict(hostname="h", extra_hosts=[("a", "nope")]),
    dict(hostname="h", extra_hosts=[("a\tb", "1.2.3.4")]),
    dict(hostname="h", extra_hosts=[("", "1.2.3.4")]),
    dict(hostname="h", extra_hosts=["a"]),
])
def test_hosts_rejects_bad_input(kwargs):
    with pytest.raises(InvalidParameter):
        sf.hosts_content(**kwargs)


def _no_temp_left(directory):
    return [p for p in os.listdir(directory) if p.endswith(".tmp")] == []


def test_build_hosts_writes_file(tmp_path):
    path = tmp_path / "sb" / "hosts"          # parent is created
    got = sf.build_hosts(str(path), ip="172.17.0.2", hostname="abc",
                         extra_hosts=[("db", "10.0.0.9")])
    assert path.read_bytes() == \
        (DEFAULT + "10.0.0.9\tdb\n172.17.0.2\tabc\n").encode()
    assert got == path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert _no_temp_left(path.parent)
    # rebuilding replaces the whole file
    sf.build_hosts(str(path), hostname="abc")
    assert path.read_bytes() == DEFAULT.encode()


def test_add_hosts_appends(tmp_path):
    path = str(tmp_path / "hosts")
    sf.build_hosts(path, hostname="")
    sf.add_hosts(path, [])                              # no-op
    sf.add_hosts(path, [("testhostname", "2.2.2.2"),
                        sf.Record("svc svc.alias", "10.0.0.3")])
    assert open(path, "rb").read() == \
        (DEFAULT + "2.2.2.2\ttesthostname\n10.0.0.3\tsvc svc.alias\n").encode()


def test_add_hosts_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        sf.add_hosts(str(tmp_path / "nope"), [("a", "1.1.1.1")])
    sf.add_hosts(str(tmp_path / "nope"), [])            # nothing to do


def test_delete_hosts(tmp_path):
    path = str(tmp_path / "hosts")
    sf.build_hosts(path, hostname="")
    sf.add_hosts(path, [("testhostname1", "1.1.1.1"),
                        ("testhostname2", "2.2.2.2"),
                        ("testhostname3", "3.3.3.3")])
    sf.delete_hosts(path, [("testhostname1", "1.1.1.1"),
                           ("testhostname3", "3.3.3.3")])
    assert open(path).read() == DEFAULT + "2.2.2.2\ttesthostname2\n"


def test_delete_hosts_ignores_prefixed_hostname(tmp_path):
    path = str(tmp_path / "hosts")
    sf.build_hosts(path, hostname="")
    sf.add_hosts(path, [("prefix", "1.1.1.1"), ("prefixAndMore", "2.2.2.2")])
    sf.delete_hosts(path, [("prefix", "1.1.1.1")])
    assert open(path).read() == DEFAULT + "2.2.2.2\tprefixAndMore\n"


def test_delete_hosts_matches_names_not_address(tmp_path):
    # etchosts.Delete compares the names only
    path = str(tmp_path / "hosts")
    sf.build_hosts(path, hostname="", extra_hosts=[("svc", "10.0.0.1")])
    sf.delete_hosts(path, [("svc", "10.9.9.9")])
    assert open(path).read() == DEFAULT


def test_delete_hosts_keeps_comments_drops_blank_lines(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"# a comment\tsvc\n\n1.1.1.1\tsvc\r\n\n"
                     b"2.2.2.2\tother")
    sf.delete_hosts(str(path), [("svc", "1.1.1.1")])
    assert path.read_bytes() == b"# a comment\tsvc\n2.2.2.2\tother\n"
    path.write_bytes(b"\n")                          # TestDeleteNewline
    sf.delete_hosts(str(path), [("prefix", "2.2.2.2")])
    assert path.read_bytes() == b""


def test_update_hosts(tmp_path):
    path = str(tmp_path / "hosts")
    sf.build_hosts(path, ip="10.11.12.13", hostname="testhostname",
                   domainname="testdomainname",
                   extra_hosts=[("prefix", "2.2.2.2"),
                                ("prefixAndMore", "3.3.3.3"),
                                ("unaffectedHost", "4.4.4.4")])
    sf.update_hosts(path, "1.1.1.1", "testhostname")
    sf.update_hosts(path, ipaddress.ip_address("5.5.5.5"), "prefix")
    assert open(path).read() == DEFAULT + (
        "5.5.5.5\tprefix\n"
        "3.3.3.3\tprefixAndMore\n"
        "4.4.4.4\tunaffectedHost\n"
        "1.1.1.1\ttesthostname.testdomainname testhostname\n")


def test_update_hosts_content_regex_is_escaped():
    text = "1.1.1.1\ta.b\n2.2.2.2\taxb\n"
    assert sf.hosts_update_content(text, "9.9.9.9", "a.b") == \
        "9.9.9.9\ta.b\n2.2.2.2\taxb\n"


_name = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
_ipv4 = st.ip_addresses(v=4).map(str)


@SETTINGS
@given(base=st.lists(st.tuples(_name, _ipv4), max_size=5),
       added=st.lists(st.tuples(_name, _ipv4), max_size=5))
def test_hosts_add_then_delete_round_trip(base, added):
    base_names = {n for n, _ in base}
    added = [(n + "-new", ip) for n, ip in added
             if n + "-new" not in base_names]
    before = sf.hosts_content(hostname="h", ip="10.0.0.2", extra_hosts=base)
    after_add = sf.hosts_add_content(before, added)
    assert after_add == before + "".join(f"{ip}\t{n}\n" for n, ip in added)
    assert sf.hosts_delete_content(after_add, added) == before
