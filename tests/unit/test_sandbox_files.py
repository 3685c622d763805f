"""Sandbox hosts and resolv.conf files: libnetwork's exact bytes.

Expected contents follow moby/libnetwork's etchosts and resolvconf packages
(and their tests) at 3797618f9a38372e8107d8c06f6ae199e1133ae8.  Nothing here
reads or writes /etc: every file lives under tmp_path.
"""

from __future__ import annotations

import hashlib
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


# ============================================================ resolv.conf

SYSTEMD_STUB = (
    "# This is /run/systemd/resolve/stub-resolv.conf managed by "
    "man:systemd-resolved(8).\n"
    "# Do not edit.\n"
    "nameserver 127.0.0.53\n"
    "options edns0 trust-ad\n"
    "search .\n")

NS0 = "nameserver 10.16.60.14\nnameserver 10.16.60.21\n"


@pytest.mark.parametrize("host,ipv6,expected", [
    # libnetwork's TestFilterResolvDns, case by case
    (NS0, False, NS0),
    ("nameserver 10.16.60.14\nnameserver 10.16.60.21\nnameserver 127.0.0.1\n",
     False, NS0),
    ("nameserver 10.16.60.14\nnameserver 127.0.0.1\nnameserver 10.16.60.21\n",
     False, NS0),
    ("nameserver 127.0.1.1\nnameserver 10.16.60.14\nnameserver 10.16.60.21\n",
     False, NS0),
    ("nameserver ::1\nnameserver 10.16.60.14\nnameserver 127.0.2.1\n"
     "nameserver 10.16.60.21\n", False, NS0),
    ("nameserver 10.16.60.14\nnameserver ::1\nnameserver 10.16.60.21\n"
     "nameserver ::1", False, NS0),
    ("nameserver 10.16.60.14\nnameserver 2002:dead:beef::1\n"
     "nameserver 10.16.60.21\nnameserver ::1", False, NS0),
    ("nameserver 10.16.60.14\nnameserver FE80::BB1%1\n"
     "nameserver FE80::BB1%eth0\nnameserver 10.16.60.21\n", False, NS0),
    ("nameserver 10.16.60.14\nnameserver 2002:dead:beef::1\n"
     "nameserver 10.16.60.21\nnameserver ::1", True,
     "nameserver 10.16.60.14\nnameserver 2002:dead:beef::1\n"
     "nameserver 10.16.60.21\n"),
    ("nameserver 127.0.0.1\nnameserver ::1\nnameserver 127.0.2.1", True,
     "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
     "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844"),
    ("nameserver 127.0.0.1\nnameserver ::1\nnameserver 127.0.2.1", False,
     "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"),
])
def test_filter_matches_libnetwork(host, ipv6, expected):
    assert sf.filter_resolv_conf(host, ipv6) == expected
    assert sf.resolv_conf_content(host, ipv6=ipv6) == expected


def test_systemd_resolved_stub_is_filtered_and_falls_back():
    got = sf.resolv_conf_content(SYSTEMD_STUB)
    assert got == (
        "# This is /run/systemd/resolve/stub-resolv.conf managed by "
        "man:systemd-resolved(8).\n"
        "# Do not edit.\n"
        "options edns0 trust-ad\n"
        "search .\n"
        "\nnameserver 8.8.8.8\nnameserver 8.8.4.4")
    assert "127.0.0.53" not in got
    assert sf.nameservers(got) == ["8.8.8.8", "8.8.4.4"]


def test_comments_search_options_kept_verbatim():
    host = ("# generated by NetworkManager\n"
            "search corp.example  example.com\n"
            "nameserver 192.168.1.1 # the router\n"
            "options ndots:2 timeout:1\n"
            "sortlist 130.155.160.0/255.255.240.0\n")
    assert sf.resolv_conf_content(host) == host


def test_whitespace_after_removed_line_goes_with_it():
    # libnetwork's `^nameserver\s+127...\s*\n*` swallows following blank
    # lines and the next line's indentation
    host = "nameserver 127.0.0.1\n\n\n  search x\nnameserver 1.1.1.1\n"
    assert sf.filter_resolv_conf(host) == "search x\nnameserver 1.1.1.1\n"


def test_loopback_lines_dropped_whatever_their_shape():
    host = ("  nameserver 127.0.0.1\n"
            "nameserver 127.1.2.3 # local cache\n"
            "nameserver ::1   \n"
            "nameserver 0:0:0:0:0:0:0:1\n"
            "nameserver 9.9.9.9\n")
    assert sf.filter_resolv_conf(host, ipv6=True) == "nameserver 9.9.9.9\n"


def test_ipv6_kept_when_enabled_and_filtered_when_not():
    host = "nameserver 2001:db8::53\nnameserver 192.0.2.53\n"
    assert sf.resolv_conf_content(host, ipv6=True) == host
    assert sf.resolv_conf_content(host, ipv6=False) == \
        "nameserver 192.0.2.53\n"
    only6 = "nameserver 2001:db8::53\n"
    assert sf.resolv_conf_content(only6, ipv6=True) == only6
    assert sf.resolv_conf_content(only6, ipv6=False) == \
        "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"


def test_fallback_when_host_empty_or_without_nameservers():
    assert sf.resolv_conf_content("") == \
        "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"
    assert sf.resolv_conf_content("", ipv6=True) == (
        "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844")
    assert sf.resolv_conf_content("search a.b\n") == \
        "search a.b\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4"


def test_explicit_dns_replaces_nameservers_keeps_host_search_options():
    host = "search corp\nnameserver 10.0.0.1\noptions ndots:3\n"
    assert sf.resolv_conf_content(host, dns=["1.1.1.1", "2606:4700::1111"]) \
        == ("search corp\nnameserver 1.1.1.1\nnameserver 2606:4700::1111\n"
            "options ndots:3\n")
    # an explicit loopback server means the sandbox's own loopback: kept
    assert sf.resolv_conf_content(host, dns="127.0.0.11") == \
        "search corp\nnameserver 127.0.0.11\noptions ndots:3\n"


def test_explicit_search_and_options():
    host = "search corp\nnameserver 10.0.0.1\noptions ndots:3\n"
    assert sf.resolv_conf_content(host, search=["a.example", "b.example"]) \
        == ("search a.example b.example\nnameserver 10.0.0.1\n"
            "options ndots:3\n")
    assert sf.resolv_conf_content(host, options=["edns0", "attempts:2"]) == \
        "search corp\nnameserver 10.0.0.1\noptions edns0 attempts:2\n"
    # "." means no search domains at all
    assert sf.resolv_conf_content(host, search=["."]) == \
        "nameserver 10.0.0.1\noptions ndots:3\n"
    assert sf.resolv_conf_content(
        host, dns=["9.9.9.9"], search=["x"], options=["rotate"]) == \
        "search x\nnameserver 9.9.9.9\noptions rotate\n"


def test_explicit_search_with_loopback_host_filters_host_nameservers():
    # a deliberate fix over libnetwork (which would copy 127.0.0.53)
    assert sf.resolv_conf_content(SYSTEMD_STUB, search=["corp"]) == \
        ("search corp\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
         "options edns0 trust-ad\n")
    assert sf.resolv_conf_content("nameserver 127.0.0.1\n"
                                  "nameserver 2001:db8::1\n",
                                  options=["rotate"], ipv6=True) == \
        "nameserver 2001:db8::1\noptions rotate\n"


@pytest.mark.parametrize("kwargs", [
    dict(dns=["8.8.8"]), dict(dns=["dns.google"]), dict(search=["a b"]),
    dict(search=["a\nnameserver 6.6.6.6"]), dict(options=[""]),
])
def test_explicit_values_are_validated(kwargs):
    with pytest.raises(InvalidParameter):
        sf.resolv_conf_content("", **kwargs)


def test_format_resolv_conf_like_build():
    assert sf.format_resolv_conf() == ""
    assert sf.format_resolv_conf(["1.2.3.4"], ["."], []) == \
        "nameserver 1.2.3.4\n"
    assert sf.format_resolv_conf(["1.2.3.4"], ["a", "b"], ["ndots:1"]) == \
        "search a b\nnameserver 1.2.3.4\noptions ndots:1\n"


def test_parsers():
    text = ("# nameserver 6.6.6.6\n"
            "nameserver 1.1.1.1\n"
            " \tnameserver   2001:db8::1%eth0  # comment\n"
            "nameserver 1.1.1\n"                # not an address
            "nameserver8.8.8.8\n"               # no blank after keyword
            "nameserver 10.0.0.1\r\n"
            "search a b\n"
            "searchx y\n"
            "search c  d # e\n"
            "options ndots:1\n"
            "options rotate  edns0\n")
    assert sf.nameservers(text) == ["1.1.1.1", "2001:db8::1%eth0", "10.0.0.1"]
    assert sf.nameservers(text, 4) == ["1.1.1.1", "10.0.0.1"]
    assert sf.nameservers(text, 6) == ["2001:db8::1%eth0"]
    assert sf.search_domains(text) == ["c", "d"]
    assert sf.options(text) == ["rotate", "edns0"]
    assert sf.nameservers("") == [] and sf.search_domains("") == []
    assert sf.options("options\n") == []
    with pytest.raises(InvalidParameter):
        sf.nameservers(text, 5)


# ----------------------------------------------------------- files, hash

def _hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_build_resolv_conf_writes_file_and_hash(tmp_path):
    host = tmp_path / "host-resolv.conf"
    host.write_text(SYSTEMD_STUB.replace("127.0.0.53", "192.0.2.1"))
    path = tmp_path / "sb" / "resolv.conf"
    got = sf.build_resolv_conf(str(path), host_resolv=str(host))
    assert path.read_text() == got == host.read_text()
    hashfile = tmp_path / "sb" / "resolv.conf.hash"
    assert sf.hash_path(str(path)) == str(hashfile)
    assert hashfile.read_bytes() == _hash(path.read_bytes()).encode()
    assert sf.content_hash(got) == _hash(got.encode())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert _no_temp_left(path.parent)


def test_missing_host_resolv_counts_as_empty(tmp_path):
    path = tmp_path / "resolv.conf"
    got = sf.build_resolv_conf(str(path), host_resolv=str(tmp_path / "none"))
    assert got == "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"
    assert path.read_text() == got


def test_bytes_round_trip_unchanged(tmp_path):
    host = tmp_path / "host"
    raw = b"# caf\xe9 latin-1 comment\nnameserver 192.0.2.1\n"
    host.write_bytes(raw)
    path = tmp_path / "resolv.conf"
    sf.build_resolv_conf(str(path), host_resolv=str(host))
    assert path.read_bytes() == raw
    assert (tmp_path / "resolv.conf.hash").read_text() == _hash(raw)


def test_update_rewrites_untouched_file(tmp_path):
    host = tmp_path / "host"
    host.write_text("nameserver 192.0.2.1\n")
    path = tmp_path / "resolv.conf"
    sf.build_resolv_conf(str(path), host_resolv=str(host))
    host.write_text("nameserver 192.0.2.2\nnameserver 2001:db8::2\n")
    assert sf.update_resolv_conf(str(path), host_resolv=str(host),
                                 ipv6=True) is True
    assert path.read_text() == "nameserver 192.0.2.2\nnameserver 2001:db8::2\n"
    assert (tmp_path / "resolv.conf.hash").read_text() == \
        _hash(path.read_bytes())
    # and again: the new hash was recorded
    assert sf.update_resolv_conf(str(path), host_resolv=str(host)) is True
    assert path.read_text() == "nameserver 192.0.2.2\n"


def test_user_edited_file_is_left_alone(tmp_path):
    host = tmp_path / "host"
    host.write_text("nameserver 192.0.2.1\n")
    path = tmp_path / "resolv.conf"
    sf.build_resolv_conf(str(path), host_resolv=str(host))
    hash_before = (tmp_path / "resolv.conf.hash").read_bytes()
    edited = b"nameserver 203.0.113.7\n# mine\n"
    path.write_bytes(edited)
    host.write_text("nameserver 192.0.2.99\n")
    assert sf.update_resolv_conf(str(path), host_resolv=str(host)) is False
    assert path.read_bytes() == edited
    assert (tmp_path / "resolv.conf.hash").read_bytes() == hash_before
    # also with explicit settings
    assert sf.update_resolv_conf(str(path), host_resolv=str(host),
                                 dns=["1.1.1.1"]) is False
    assert path.read_bytes() == edited


def test_update_after_user_removed_file_leaves_it_removed(tmp_path):
    path = tmp_path / "resolv.conf"
    sf.build_resolv_conf(str(path), host_resolv=str(tmp_path / "none"))
    path.unlink()
    assert sf.update_resolv_conf(str(path),
                                 host_resolv=str(tmp_path / "none")) is False
    assert not path.exists()


def test_update_without_hash_file_writes(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 203.0.113.7\n")
    assert sf.update_resolv_conf(str(path), dns=["192.0.2.5"],
                                 host_resolv=str(tmp_path / "none")) is True
    assert path.read_text() == "nameserver 192.0.2.5\n"
    assert (tmp_path / "resolv.conf.hash").exists()


def test_host_resolv_conf_path(tmp_path):
    etc = tmp_path / "resolv.conf"
    alt = str(tmp_path / "systemd.conf")
    etc.write_text(SYSTEMD_STUB)
    assert sf.host_resolv_conf_path(str(etc), alt) == alt
    etc.write_text("nameserver 127.0.0.53\nnameserver 192.0.2.1\n")
    assert sf.host_resolv_conf_path(str(etc), alt) == str(etc)
    missing = str(tmp_path / "missing")
    assert sf.host_resolv_conf_path(missing, alt) == missing


# ------------------------------------------------- property tests (parsers)

_ws = st.text(alphabet=" \t", max_size=3)
_ws1 = st.text(alphabet=" \t", min_size=1, max_size=3)
_comment = st.text(alphabet=st.characters(blacklist_characters="\n",
                                          blacklist_categories=("Cs",)),
                   max_size=15).map(lambda s: "#" + s)
_server = st.one_of(st.ip_addresses(v=4).map(str),
                    st.ip_addresses(v=6).map(str))
_token = st.from_regex(r"[a-z0-9][a-z0-9.:-]{0,12}", fullmatch=True)


@st.composite
def _resolv(draw):
    """(text, servers, last search list, last options list)."""
    lines, servers = [], []
    search, opts = [], []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(
            ["ns", "ns", "search", "options", "comment", "blank", "other"]))
        trail = draw(st.one_of(st.just(""), _ws,
                               st.tuples(_ws1, _comment).map("".join)))
        if kind == "ns":
            s = draw(_server)
            servers.append(s)
            lines.append(f"{draw(_ws)}nameserver{draw(_ws1)}{s}{trail}")
        elif kind in ("search", "options"):
            toks = draw(st.lists(_token, max_size=4))
            sep = draw(_ws1)
            lines.append(f"{draw(_ws)}{kind}{draw(_ws1)}{sep.join(toks)}"
                         f"{trail}")
            if kind == "search":
                search = toks
            else:
                opts = toks
        elif kind == "comment":
            lines.append(draw(_ws) + draw(_comment))
        elif kind == "blank":
            lines.append(draw(_ws))
        else:
            lines.append(f"domain {draw(_token)}")
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    return text, servers, search, opts


@SETTINGS
@given(_resolv())
def test_parsers_property(case):
    text, servers, search, opts = case
    assert sf.nameservers(text) == servers
    assert sf.nameservers(text, 4) == [s for s in servers if ":" not in s]
    assert sf.nameservers(text, 6) == [s for s in servers if ":" in s]
    assert sf.search_domains(text) == search
    assert sf.options(text) == opts


@SETTINGS
@given(_resolv(), st.booleans())
def test_filter_property(case, ipv6):
    text, servers, search, opts = case
    out = sf.filter_resolv_conf(text, ipv6)
    kept = [s for s in servers
            if not ipaddress.ip_address(s).is_loopback
            and (ipv6 or ":" not in s)]
    if kept:
        assert sf.nameservers(out) == kept
    else:
        fallback = list(sf.DEFAULT_IPV4_DNS)
        if ipv6:
            fallback += sf.DEFAULT_IPV6_DNS
        assert sf.nameservers(out) == fallback
    assert sf.search_domains(out) == search
    assert sf.options(out) == opts
    # filtering is idempotent
    assert sf.filter_resolv_conf(out, ipv6) == out


@SETTINGS
@given(st.lists(_server, max_size=4), st.lists(_token, max_size=4),
       st.lists(_token, max_size=4))
def test_format_then_parse_round_trip(dns, search, opts):
    text = sf.format_resolv_conf(dns, search, opts)
    assert sf.nameservers(text) == dns
    assert sf.search_domains(text) == (search if search != ["."] else [])
    assert sf.options(text) == opts
