"""A sandbox's ``/etc/hosts``: its content, and the file built and edited.

:func:`hosts_content` produces what a joined container's hosts file holds
after libnetwork's sandbox set-up: ``etchosts.Build`` is called *without*
an IP (``sandbox.buildHostsFile``), which writes the six default records and
then the extra hosts; the sandbox's own record(s) are appended afterwards by
``sandbox.updateHostsFile`` through ``etchosts.Add`` -- one line per address,
IPv4 first, then IPv6 (``endpoint.sbJoin``).  Every record is
``fmt.Sprintf("%s\\t%s\\n", IP, Hosts)``, so the file always ends in a
newline.  The own record's names are ``"FQDN SHORT"`` when the FQDN
(``hostname.domainname``, or a hostname that already holds a dot) has a dot,
else just the hostname.

:func:`add_hosts`, :func:`delete_hosts` and :func:`update_hosts` are
``etchosts.Add``, ``Delete`` and ``Update``, including their quirks
(``Delete`` matches a line by its *names* only, drops blank lines and keeps
``#`` comments; ``Update`` rewrites the address of every line whose names
start with ``hostname`` followed by whitespace or a dot); the
``hosts_*_content`` functions do the same on text.  libnetwork rewrites
hosts files freely: no hash is kept.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable, NamedTuple, Union

from ..errors import InvalidParameter
from .fileio import encode, make_parent, path_lock, read, write_file
from .syntax import GO_NS, GO_S, WHITESPACE, check_ip_text

__all__ = [
    "Record", "DEFAULT_HOSTS", "hosts_content", "own_hosts_names",
    "build_hosts", "add_hosts", "delete_hosts", "update_hosts",
    "hosts_add_content", "hosts_delete_content", "hosts_update_content",
]

AddressLike = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address,
                    ipaddress.IPv4Interface, ipaddress.IPv6Interface]


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


def _record(rec) -> Record:
    try:
        hosts, ip = rec
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"a hosts record is a (names, ip) pair, not {rec!r}") from None
    if not isinstance(hosts, str) or not hosts.strip() \
            or _BAD_NAME_CHARS.search(hosts):
        raise InvalidParameter(f"bad host name(s) {hosts!r}")
    return Record(hosts, check_ip_text(ip))


def _records(recs) -> list:
    return [_record(r) for r in (recs or ())]


def own_hosts_names(hostname: str, domainname: str = "") -> str:
    """The names of the sandbox's own record: ``"FQDN SHORT"`` when the FQDN
    has a dot, else the bare hostname (libnetwork's updateHostsFile)."""
    for what, v in (("hostname", hostname), ("domainname", domainname)):
        if not isinstance(v, str) or WHITESPACE.search(v):
            raise InvalidParameter(f"bad {what} {v!r}")
    if not hostname:
        raise InvalidParameter("an own hosts record needs a hostname")
    fqdn = f"{hostname}.{domainname}" if domainname else hostname
    short, dot, _ = fqdn.partition(".")
    return f"{fqdn} {short}" if dot else fqdn


# ------------------------------------------------------------- content

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


def hosts_update_content(current: str, ip: AddressLike, hostname: str) -> str:
    """``etchosts.Update`` on text: every ``ADDR\\tHOSTNAME`` followed by
    whitespace or a dot gets ``ip`` as its address."""
    if not isinstance(hostname, str) or not hostname:
        raise InvalidParameter(f"bad hostname {hostname!r}")
    new = _address(ip)
    pattern = re.compile(
        f"({GO_NS}*)(\\t{re.escape(hostname)})({GO_S}|\\.)")
    return pattern.sub(lambda m: new + m.group(2) + m.group(3), current)


# --------------------------------------------------------------- files

def build_hosts(path: str, *, ip=None, ip6=None, hostname: str,
                domainname: str = "", extra_hosts: Iterable = (),
                parent: bool = True) -> str:
    """Write the sandbox's hosts file (see :func:`hosts_content`), creating
    its directory if needed (``parent=False``: the caller made it);
    returns the content written."""
    content = hosts_content(ip=ip, ip6=ip6, hostname=hostname,
                            domainname=domainname, extra_hosts=extra_hosts)
    with path_lock(path):
        if parent:
            make_parent(path)
        write_file(path, encode(content))
    return content


def _edit(path: str, change) -> None:
    """Rewrites the hosts file at ``path`` as ``change(its text)``."""
    with path_lock(path):
        write_file(path, encode(change(read(path))))


def add_hosts(path: str, records: Iterable) -> None:
    """Append ``(names, ip)`` records to an existing hosts file."""
    records = _records(records)
    if records:
        _edit(path, lambda text: hosts_add_content(text, records))


def delete_hosts(path: str, records: Iterable) -> None:
    """Remove the lines of ``(names, ip)`` records (matched by names)."""
    records = _records(records)
    if records:
        _edit(path, lambda text: hosts_delete_content(text, records))


def update_hosts(path: str, ip: AddressLike, hostname: str) -> None:
    """Point every line naming ``hostname`` first at ``ip``."""
    _edit(path, lambda text: hosts_update_content(text, ip, hostname))
