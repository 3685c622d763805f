"""A sandbox's ``/etc/hosts`` and ``/etc/resolv.conf``, in libnetwork's format.

Two concerns, one module; each has pure functions that return the content
(so it can be checked byte for byte) and thin functions that write files.

Source matched: moby/libnetwork, branch ``master`` at commit
``3797618f9a38372e8107d8c06f6ae199e1133ae8`` (2023-10-20, the Docker 20.10
line): ``etchosts/etchosts.go``, ``resolvconf/resolvconf.go``,
``resolvconf/dns/resolvconf.go`` and ``sandbox_dns_unix.go``.

hosts
=====
:func:`hosts_content` produces what a joined container's hosts file holds
after libnetwork's sandbox set-up: ``etchosts.Build`` is called *without*
an IP (``sandbox.buildHostsFile``), which writes the six default records and
then the extra hosts; the sandbox's own record(s) are appended afterwards by
``sandbox.updateHostsFile`` through ``etchosts.Add`` -- one line per address,
IPv4 first, then IPv6 (``endpoint.sbJoin``).  Every record is
``fmt.Sprintf("%s\\t%s\\n", IP, Hosts)``, so the file always ends in a
newline.  The own record's names are ``"FQDN SHORT"`` when the FQDN
(``hostname.domainname``, or a hostname that already holds a dot) has a dot,
else just the hostname.  :func:`add_hosts`, :func:`delete_hosts` and
:func:`update_hosts` are ``etchosts.Add``, ``Delete`` and ``Update``,
including their quirks (``Delete`` matches a line by its *names* only, drops
blank lines and keeps ``#`` comments; ``Update`` rewrites the address of
every line whose names start with ``hostname`` followed by whitespace or a
dot).  libnetwork rewrites hosts files freely: no hash is kept.

resolv.conf
===========
With no explicit ``dns``/``search``/``options`` the host's file is copied
through ``FilterResolvDNS``: loopback nameservers (127.0.0.0/8, ::1) are
removed, IPv6 ones too unless ``ipv6``, every other line (comments, search,
options, unknown keywords) is kept byte for byte, and if no nameserver is
left Google's public servers are appended exactly as libnetwork does it
(``"\\n" + "\\n".join(lines)``: a blank line before them and *no* trailing
newline).  With any of them given, the file is rewritten whole in
``resolvconf.Build``'s format: ``search`` line, ``nameserver`` lines,
``options`` line (a search list of just ``"."`` writes no search line);
whatever was not given comes from the host's file.

Deliberate differences from libnetwork, each a fix of a corner case:

* When only ``search``/``options`` are given, the nameservers taken over
  from the host are filtered like above (libnetwork copies them unfiltered,
  so a host stub resolver such as systemd-resolved's 127.0.0.53 would leak
  into a container that cannot reach it).
* Keywords must be followed by whitespace (or end the line), as glibc's
  resolver requires; libnetwork's regular expressions also accept
  ``nameserver1.2.3.4`` or ``searchfoo``.
* A loopback or IPv6 nameserver line is dropped whole, whatever else it
  holds (an indented line, a trailing comment, ``::1`` followed by spaces);
  libnetwork's ``^nameserver\\s+...`` expressions miss those cases.  As in
  libnetwork, whitespace after a dropped line (following blank lines and the
  next line's indentation) goes with it.

Next to the resolv.conf a ``<path>.hash`` file holds ``sha256:<hex>`` of
what was written (``ioutils.HashData``'s format, no newline);
:func:`update_resolv_conf` rewrites the file only while its content still
has that hash, so a file the user edited is left alone.

Writes are atomic: a temporary file in the same directory, fsync, rename,
fsync of the directory.  NOTE: renaming replaces the inode, so a process
that bind-mounted the *file* (not its directory) keeps seeing the old
content; libnetwork itself rewrites these files in place for that reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import threading
from typing import Iterable, NamedTuple, Optional, Sequence, Union

from .errors import InvalidParameter

__all__ = [
    # hosts
    "Record", "DEFAULT_HOSTS", "hosts_content", "own_hosts_names",
    "build_hosts", "add_hosts", "delete_hosts", "update_hosts",
    "hosts_add_content", "hosts_delete_content", "hosts_update_content",
    # resolv.conf
    "DEFAULT_IPV4_DNS", "DEFAULT_IPV6_DNS", "HOST_RESOLV_CONF",
    "SYSTEMD_RESOLV_CONF", "nameservers", "search_domains", "options",
    "filter_resolv_conf", "format_resolv_conf", "resolv_conf_content",
    "content_hash", "hash_path", "build_resolv_conf", "update_resolv_conf",
    "host_resolv_conf_path", "forget_path",
]

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"      # any byte round-trips through str
FILE_MODE = 0o644
DIR_MODE = 0o755

AddressLike = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address,
                    ipaddress.IPv4Interface, ipaddress.IPv6Interface]


# ---------------------------------------------------------------- file I/O

def _read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode(_ENCODING, _ERRORS)


def _read_or_empty(path: str) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        return ""


def _encode(text: str) -> bytes:
    return text.encode(_ENCODING, _ERRORS)


def _write_file(path: str, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` in place (truncate, write), as libnetwork
    does: a container runtime bind-mounts these files one by one, and a
    rename would leave the container on the old inode, blind to every later
    update.  No fsync: the files live on the run directory's tmpfs and are
    rebuilt from the store."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                 mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _make_parent(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=DIR_MODE, exist_ok=True)


# etchosts serialises read-modify-write cycles per path (pathLock)
_locks: dict = {}
_locks_guard = threading.Lock()


def _path_lock(path: str) -> threading.RLock:
    key = os.path.abspath(path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.RLock()
        return lock


def forget_path(path: str) -> None:
    """Drop the per-path lock of ``path`` (etchosts.Drop) once the sandbox
    that owned the file is gone."""
    with _locks_guard:
        _locks.pop(os.path.abspath(path), None)


# ------------------------------------------------------------- addresses

def _address(value: AddressLike) -> str:
    """The canonical text of one address (``net.IP.String()``'s form)."""
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value.ip)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if not isinstance(value, str):
        raise InvalidParameter(f"not an IP address: {value!r}")
    try:
        if "/" in value:
            return str(ipaddress.ip_interface(value.strip()).ip)
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InvalidParameter(f"not an IP address: {value!r}") from None


def _addresses(ip) -> list:
    if ip is None:
        return []
    if isinstance(ip, (str, ipaddress.IPv4Address, ipaddress.IPv6Address,
                       ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return [_address(ip)]
    return [_address(a) for a in ip]


def _check_ip_text(ip) -> str:
    """An extra host's address: validated, written as given (libnetwork
    writes the string the user passed)."""
    text = str(ip)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"not an IP address: {ip!r}") from None
    return text


# ================================================================= hosts

class Record(NamedTuple):
    """One hosts line: ``hosts`` (one or more space-separated names) and
    ``ip`` -- the field order of libnetwork's ``etchosts.Record``."""

    hosts: str
    ip: str

    def line(self) -> str:
        return f"{self.ip}\t{self.hosts}\n"


DEFAULT_HOSTS: tuple = (
    Record("localhost", "127.0.0.1"),
    Record("localhost ip6-localhost ip6-loopback", "::1"),
    Record("ip6-localnet", "fe00::0"),
    Record("ip6-mcastprefix", "ff00::0"),
    Record("ip6-allnodes", "ff02::1"),
    Record("ip6-allrouters", "ff02::2"),
)

_BAD_NAME_CHARS = re.compile(r"[\t\n\r\f\v]")
_WHITESPACE = re.compile(r"\s")


def _record(rec) -> Record:
    try:
        hosts, ip = rec
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"a hosts record is a (names, ip) pair, not {rec!r}") from None
    if not isinstance(hosts, str) or not hosts.strip() \
            or _BAD_NAME_CHARS.search(hosts):
        raise InvalidParameter(f"bad host name(s) {hosts!r}")
    return Record(hosts, _check_ip_text(ip))


def _records(recs) -> list:
    return [_record(r) for r in (recs or ())]


def own_hosts_names(hostname: str, domainname: str = "") -> str:
    """The names of the sandbox's own record: ``"FQDN SHORT"`` when the FQDN
    has a dot, else the bare hostname (libnetwork's updateHostsFile)."""
    for what, v in (("hostname", hostname), ("domainname", domainname)):
        if not isinstance(v, str) or _WHITESPACE.search(v):
            raise InvalidParameter(f"bad {what} {v!r}")
    if not hostname:
        raise InvalidParameter("an own hosts record needs a hostname")
    fqdn = f"{hostname}.{domainname}" if domainname else hostname
    short, dot, _ = fqdn.partition(".")
    return f"{fqdn} {short}" if dot else fqdn


def hosts_content(*, ip=None, ip6=None, hostname: str = "",
                  domainname: str = "", extra_hosts: Iterable = ()) -> str:
    """The hosts file of a sandbox: the defaults, the extra hosts, then one
    own line per address of ``ip`` and then of ``ip6`` (each None, one
    address -- str, ``ipaddress`` address or interface, ``"a.b.c.d/len"``
    -- or a sequence of them; either may hold IPv4 or IPv6 addresses).

    Without a ``hostname`` no own line is written (libnetwork would write
    ``"IP\t"``, a line naming nothing).
    """
    recs = list(DEFAULT_HOSTS) + _records(extra_hosts)
    addrs = _addresses(ip) + _addresses(ip6)
    names = own_hosts_names(hostname, domainname) if hostname else None
    if addrs and names:
        recs.extend(Record(names, a) for a in addrs)
    return "".join(r.line() for r in recs)


def hosts_add_content(current: str, records: Iterable) -> str:
    """``etchosts.Add`` on text: the records appended, one line each."""
    return current + "".join(r.line() for r in _records(records))


def hosts_delete_content(current: str, records: Iterable) -> str:
    """``etchosts.Delete`` on text: drop every line that ends in
    ``"\\t" + names`` of a record (the address is not compared), drop blank
    lines, keep comments; every kept line ends in a newline."""
    suffixes = tuple("\t" + r.hosts for r in _records(records))
    out = []
    # bufio.ScanLines: split on \n, drop one trailing \r
    lines = current.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        if line[0] == "#" or not line.endswith(suffixes):
            out.append(line + "\n")
    return "".join(out)


_GO_S = r"[\t\n\f\r ]"        # Go's \s
_GO_NS = r"[^\t\n\f\r ]"      # Go's \S


def hosts_update_content(current: str, ip: AddressLike, hostname: str) -> str:
    """``etchosts.Update`` on text: every ``ADDR\\tHOSTNAME`` followed by
    whitespace or a dot gets ``ip`` as its address."""
    if not isinstance(hostname, str) or not hostname:
        raise InvalidParameter(f"bad hostname {hostname!r}")
    new = _address(ip)
    pattern = re.compile(
        f"({_GO_NS}*)(\\t{re.escape(hostname)})({_GO_S}|\\.)")
    return pattern.sub(lambda m: new + m.group(2) + m.group(3), current)


def build_hosts(path: str, *, ip=None, ip6=None, hostname: str,
                domainname: str = "", extra_hosts: Iterable = ()) -> str:
    """Write the sandbox's hosts file (see :func:`hosts_content`), creating
    its directory if needed; returns the content written."""
    content = hosts_content(ip=ip, ip6=ip6, hostname=hostname,
                            domainname=domainname, extra_hosts=extra_hosts)
    with _path_lock(path):
        _make_parent(path)
        _write_file(path, _encode(content))
    return content


def add_hosts(path: str, records: Iterable) -> None:
    """Append ``(names, ip)`` records to an existing hosts file."""
    records = _records(records)
    if not records:
        return
    with _path_lock(path):
        _write_file(path, _encode(hosts_add_content(_read(path), records)))


def delete_hosts(path: str, records: Iterable) -> None:
    """Remove the lines of ``(names, ip)`` records (matched by names)."""
    records = _records(records)
    if not records:
        return
    with _path_lock(path):
        _write_file(path,
                      _encode(hosts_delete_content(_read(path), records)))


def update_hosts(path: str, ip: AddressLike, hostname: str) -> None:
    """Point every line naming ``hostname`` first at ``ip``."""
    with _path_lock(path):
        _write_file(path, _encode(
            hosts_update_content(_read(path), ip, hostname)))


# =========================================================== resolv.conf

HOST_RESOLV_CONF = "/etc/resolv.conf"
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
DEFAULT_IPV4_DNS = ("8.8.8.8", "8.8.4.4")
DEFAULT_IPV6_DNS = ("2001:4860:4860::8888", "2001:4860:4860::8844")

_IPV4_BLOCK = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV4 = rf"(?:{_IPV4_BLOCK}\.){{3}}{_IPV4_BLOCK}"
# libnetwork's deliberately loose IPv6 pattern (with an optional zone)
_IPV6 = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%[0-9A-Za-z_]+)?"
_NS_LINE = re.compile(
    rf"{_GO_S}*nameserver{_GO_S}+(?P<addr>{_IPV4}|{_IPV6}){_GO_S}*\Z")
_KEYWORD = {kw: re.compile(rf"{_GO_S}*{kw}(?:{_GO_S}(?P<rest>.*))?\Z",
                           re.DOTALL)
            for kw in ("search", "options")}


def _strip_comment(line: str) -> str:
    i = line.find("#")
    return line if i < 0 else line[:i]


def _nameserver_of(line: str) -> Optional[str]:
    """The address of a nameserver line (comments ignored), else None."""
    m = _NS_LINE.match(_strip_comment(line))
    return m.group("addr") if m else None


def _is_ipv6(addr: str) -> bool:
    return ":" in addr


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def nameservers(text: str, family: Optional[int] = None) -> list:
    """The nameserver addresses of resolv.conf ``text``, in order, as
    written (``GetNameservers``); ``family`` 4 or 6 keeps only those."""
    if family not in (None, 4, 6):
        raise InvalidParameter(f"family must be None, 4 or 6, not {family!r}")
    out = []
    for line in text.split("\n"):
        addr = _nameserver_of(line)
        if addr is None:
            continue
        if family is None or (family == 6) == _is_ipv6(addr):
            out.append(addr)
    return out


def _last_keyword_fields(text: str, keyword: str) -> list:
    regex = _KEYWORD[keyword]
    fields: list = []
    for line in text.split("\n"):
        m = regex.match(_strip_comment(line))
        if m:
            fields = (m.group("rest") or "").split()
    return fields


def search_domains(text: str) -> list:
    """The search domains of the *last* ``search`` line (GetSearchDomains)."""
    return _last_keyword_fields(text, "search")


def options(text: str) -> list:
    """The options of the *last* ``options`` line (GetOptions)."""
    return _last_keyword_fields(text, "options")


def _lines_keepends(text: str) -> list:
    """``text`` split after each ``\\n`` (and only there)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def filter_resolv_conf(text: str, ipv6: bool = False) -> str:
    """``FilterResolvDNS``: drop loopback nameservers (and IPv6 ones unless
    ``ipv6``); add Google's servers if none is left."""
    out = []
    swallow = False          # libnetwork's `\\s*\\n*` after a removed line
    for line in _lines_keepends(text):
        if swallow:
            line = line.lstrip("\t\n\f\r ")
            if not line:
                continue
            swallow = False
        addr = _nameserver_of(line.removesuffix("\n"))
        if addr is not None and (_is_loopback(addr)
                                 or (not ipv6 and _is_ipv6(addr))):
            swallow = True
            continue
        out.append(line)
    cleaned = "".join(out)
    if not nameservers(cleaned):
        servers = list(DEFAULT_IPV4_DNS)
        if ipv6:
            servers += DEFAULT_IPV6_DNS
        cleaned += "\n" + "\n".join("nameserver " + s for s in servers)
    return cleaned


def _tokens(values, what: str) -> list:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str) or not v or _WHITESPACE.search(v):
            raise InvalidParameter(f"bad {what} {v!r}")
        out.append(v)
    return out


def _dns_list(values) -> list:
    if values is None:
        return []
    if isinstance(values, (str, ipaddress.IPv4Address,
                           ipaddress.IPv6Address)):
        values = [values]
    return [_check_ip_text(v) for v in values]


def format_resolv_conf(dns: Sequence[str] = (), search: Sequence[str] = (),
                       options: Sequence[str] = ()) -> str:
    """``resolvconf.Build``'s content: ``search`` (none when the list is
    just ``"."``), then one ``nameserver`` line each, then ``options``."""
    search = _tokens(search, "search domain")
    opts = _tokens(options, "option")
    out = []
    if search and " ".join(search).strip(" ") != ".":
        out.append("search " + " ".join(search) + "\n")
    out.extend("nameserver " + d + "\n" for d in _dns_list(dns))
    if opts:
        out.append("options " + " ".join(opts) + "\n")
    return "".join(out)


def resolv_conf_content(host_content: str = "", *, dns=None, search=None,
                        options=None, ipv6: bool = False) -> str:
    """A sandbox's resolv.conf derived from the host's ``host_content``.

    ``dns``, ``search`` and ``options`` are lists (None or empty: not
    given, libnetwork's ``len() > 0`` test); ``search=["."]`` means no
    search domains.  Given ``dns`` addresses are written as given, loopback
    ones included (they mean the sandbox's own loopback).
    """
    dns_l = _dns_list(dns)
    search_l = _tokens(search, "search domain")
    opts_l = _tokens(options, "option")
    if not (dns_l or search_l or opts_l):
        return filter_resolv_conf(host_content, ipv6)
    if not dns_l:
        dns_l = nameservers(filter_resolv_conf(host_content, ipv6))
    if not search_l:
        search_l = _last_keyword_fields(host_content, "search")
    if not opts_l:       # (the parameter shadows the options() parser here)
        opts_l = _last_keyword_fields(host_content, "options")
    return format_resolv_conf(dns_l, search_l, opts_l)


def content_hash(content: Union[str, bytes]) -> str:
    """``ioutils.HashData``: ``"sha256:" + hex digest``."""
    if isinstance(content, str):
        content = _encode(content)
    return "sha256:" + hashlib.sha256(content).hexdigest()


def hash_path(path: str) -> str:
    """Where the hash of the resolv.conf at ``path`` is kept."""
    return path + ".hash"


def host_resolv_conf_path(default: str = HOST_RESOLV_CONF,
                          alternate: str = SYSTEMD_RESOLV_CONF) -> str:
    """``resolvconf.Path``: ``alternate`` (systemd-resolved's real upstream
    list) when ``default`` names 127.0.0.53 as its only nameserver, else
    ``default``.  A controller may pass the result as ``host_resolv``."""
    try:
        text = _read(default)
    except OSError:
        return default
    return alternate if nameservers(text) == ["127.0.0.53"] else default


def _write_resolv(path: str, content: str) -> None:
    data = _encode(content)
    _write_file(path, data)
    _write_file(hash_path(path), content_hash(data).encode("ascii"))


def build_resolv_conf(path: str, *, host_resolv: str = HOST_RESOLV_CONF,
                      dns=None, search=None, options=None,
                      ipv6: bool = False) -> str:
    """Write the sandbox's resolv.conf (see :func:`resolv_conf_content`;
    a missing ``host_resolv`` counts as empty) and its hash file; returns
    the content written."""
    content = resolv_conf_content(_read_or_empty(host_resolv), dns=dns,
                                  search=search, options=options, ipv6=ipv6)
    with _path_lock(path):
        _make_parent(path)
        _write_resolv(path, content)
    return content


def update_resolv_conf(path: str, *, host_resolv: str = HOST_RESOLV_CONF,
                       dns=None, search=None, options=None,
                       ipv6: bool = False) -> bool:
    """Rebuild the resolv.conf from the host's current one, unless the file
    was changed since it was written: True when rewritten, False when left
    alone (its content no longer has the recorded hash, or it was removed
    while a hash is recorded).  Without a hash file it is rewritten."""
    with _path_lock(path):
        try:
            recorded = _read(hash_path(path)).strip()
        except FileNotFoundError:
            recorded = ""
        if recorded:
            try:
                with open(path, "rb") as f:
                    current = f.read()
            except FileNotFoundError:
                return False
            if content_hash(current) != recorded:
                return False
        content = resolv_conf_content(_read_or_empty(host_resolv), dns=dns,
                                      search=search, options=options,
                                      ipv6=ipv6)
        _make_parent(path)
        _write_resolv(path, content)
        return True
