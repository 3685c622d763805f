"""A sandbox's ``/etc/resolv.conf``: parsed, filtered or built, and written.

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
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from typing import Optional, Sequence, Union

from ..errors import InvalidParameter
from .fileio import (
    encode,
    make_parent,
    path_lock,
    read,
    read_or_empty,
    write_file,
)
from .syntax import GO_S, WHITESPACE, check_ip_text

__all__ = [
    "DEFAULT_IPV4_DNS", "DEFAULT_IPV6_DNS", "HOST_RESOLV_CONF",
    "SYSTEMD_RESOLV_CONF", "nameservers", "search_domains", "options",
    "filter_resolv_conf", "format_resolv_conf", "resolv_conf_content",
    "content_hash", "hash_path", "build_resolv_conf", "update_resolv_conf",
    "host_resolv_conf_path", "ResolvCache",
]

HOST_RESOLV_CONF = "/etc/resolv.conf"
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
DEFAULT_IPV4_DNS = ("8.8.8.8", "8.8.4.4")
DEFAULT_IPV6_DNS = ("2001:4860:4860::8888", "2001:4860:4860::8844")

_IPV4_BLOCK = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV4 = rf"(?:{_IPV4_BLOCK}\.){{3}}{_IPV4_BLOCK}"
# libnetwork's deliberately loose IPv6 pattern (with an optional zone)
_IPV6 = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%[0-9A-Za-z_]+)?"
_NS_LINE = re.compile(
    rf"{GO_S}*nameserver{GO_S}+(?P<addr>{_IPV4}|{_IPV6}){GO_S}*\Z")
_KEYWORD = {kw: re.compile(rf"{GO_S}*{kw}(?:{GO_S}(?P<rest>.*))?\Z",
                           re.DOTALL)
            for kw in ("search", "options")}


# ------------------------------------------------------------- parsing

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


# ------------------------------------------------------------- content

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
        if not isinstance(v, str) or not v or WHITESPACE.search(v):
            raise InvalidParameter(f"bad {what} {v!r}")
        out.append(v)
    return out


def _dns_list(values) -> list:
    if values is None:
        return []
    if isinstance(values, (str, ipaddress.IPv4Address,
                           ipaddress.IPv6Address)):
        values = [values]
    return [check_ip_text(v) for v in values]


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


# --------------------------------------------------------- files, hash

def content_hash(content: Union[str, bytes]) -> str:
    """``ioutils.HashData``: ``"sha256:" + hex digest``."""
    if isinstance(content, str):
        content = encode(content)
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
        text = read(default)
    except OSError:
        return default
    return alternate if nameservers(text) == ["127.0.0.53"] else default


class ResolvCache:
    """The resolv.conf contents the sandboxes get: the host's file is read
    again only when it changed (its inode, size or mtime differ) and each
    distinct set of options is built and hashed once, however many
    sandboxes share it.  A controller keeps one."""

    __slots__ = ("_host", "_built", "_looked")
    _MAX = 64                           # distinct option sets kept

    def __init__(self):
        self._host: dict = {}           # host path -> (its stat, its text)
        self._built: dict = {}          # arguments -> (content, data, hash)
        self._looked: set = set()       # host files looked at this batch

    def batch(self) -> "ResolvCache":
        """A new batch of sandboxes: each host file is looked at (stat)
        again once, at its first use in the batch."""
        self._looked = set()
        return self

    def _host_text(self, path: str) -> str:
        known = self._host.get(path)
        if known is not None and path in self._looked:
            return known[1]
        self._looked.add(path)
        try:
            st = os.stat(path)
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            sig = None
        if known is not None and known[0] == sig:
            return known[1]
        # changed (or new): what was built from the old text goes
        self._built = {k: v for k, v in self._built.items() if k[0] != path}
        text = read_or_empty(path)
        self._host[path] = (sig, text)
        return text

    def get(self, host_resolv: str, dns, search, options, ipv6: bool):
        host = self._host_text(host_resolv)
        key = (host_resolv, _key(dns), _key(search), _key(options), ipv6)
        hit = self._built.get(key)
        if hit is None:
            if len(self._built) >= self._MAX:
                self._built.clear()
            content = resolv_conf_content(host, dns=dns, search=search,
                                          options=options, ipv6=ipv6)
            data = encode(content)
            hit = self._built[key] = (content, data,
                                      content_hash(data).encode("ascii"))
        return hit


def _key(seq):
    return None if seq is None else tuple(seq)


def _write_resolv(path: str, host_resolv: str, dns, search, options,
                  ipv6: bool, cache: "ResolvCache | None" = None,
                  parent: bool = True) -> str:
    """Builds the resolv.conf from the host's at ``host_resolv`` (missing:
    empty), writes it and its hash file; returns the content."""
    content, data, digest = (cache or ResolvCache()).get(
        host_resolv, dns, search, options, ipv6)
    if parent:
        make_parent(path)
    write_file(path, data)
    write_file(hash_path(path), digest)
    return content


def build_resolv_conf(path: str, *, host_resolv: str = HOST_RESOLV_CONF,
                      dns=None, search=None, options=None,
                      ipv6: bool = False, cache: "ResolvCache | None" = None,
                      parent: bool = True) -> str:
    """Write the sandbox's resolv.conf (see :func:`resolv_conf_content`;
    a missing ``host_resolv`` counts as empty) and its hash file; returns
    the content written.  ``cache`` shares the work among the sandboxes of
    one batch; ``parent=False``: the caller made the directory."""
    with path_lock(path):
        return _write_resolv(path, host_resolv, dns, search, options, ipv6,
                             cache, parent)


def update_resolv_conf(path: str, *, host_resolv: str = HOST_RESOLV_CONF,
                       dns=None, search=None, options=None,
                       ipv6: bool = False) -> bool:
    """Rebuild the resolv.conf from the host's current one, unless the file
    was changed since it was written: True when rewritten, False when left
    alone (its content no longer has the recorded hash, or it was removed
    while a hash is recorded).  Without a hash file it is rewritten."""
    with path_lock(path):
        recorded = read_or_empty(hash_path(path)).strip()
        if recorded:
            try:
                with open(path, "rb") as f:
                    current = f.read()
            except FileNotFoundError:
                return False
            if content_hash(current) != recorded:
                return False
        _write_resolv(path, host_resolv, dns, search, options, ipv6)
        return True
