"""Sandbox: a container's network stack (a network namespace) and files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional

from . import checks, marks
from .errors import InvalidParameter
from .options import of_kind

__all__ = [
    "Sandbox", "SandboxSpec", "InterfaceStatistics", "option_hostname",
    "option_domainname", "option_extra_host", "option_dns",
    "option_dns_search", "option_dns_options", "option_hosts_path",
    "option_resolv_conf_path", "option_use_default_sandbox",
    "option_labels", "option_netns_path",
]


@dataclass
class SandboxSpec:
    hostname: str = ""
    domainname: str = ""
    extra_hosts: list = field(default_factory=list)    # [(name, ip)]
    dns: list = field(default_factory=list)
    dns_search: list = field(default_factory=list)
    dns_options: list = field(default_factory=list)
    hosts_path: Optional[str] = None
    resolv_conf_path: Optional[str] = None
    use_default_sandbox: bool = False
    #: an existing namespace the sandbox uses (a runtime's): never created,
    #: marked or deleted by the controller
    netns_path: Optional[str] = None
    labels: dict = field(default_factory=dict)

    def to_json(self):
        d = dict(self.__dict__)
        d["extra_hosts"] = [list(h) for h in self.extra_hosts]
        return d

    @classmethod
    def from_json(cls, d):
        s = cls(**{"netns_path": None, **d})
        s.extra_hosts = [tuple(h) for h in s.extra_hosts]
        return s


SandboxOption = Callable[[SandboxSpec], None]
_DEFAULT_SPEC = SandboxSpec().to_json()


_kind = of_kind("sandbox")


def option_hostname(name: str) -> SandboxOption:
    name = checks.token(name, "hostname", empty=True)

    def apply(s):
        s.hostname = name
    return _kind(apply)


def option_domainname(name: str) -> SandboxOption:
    name = checks.token(name, "domain name", empty=True)

    def apply(s):
        s.domainname = name
    return _kind(apply)


def option_extra_host(name: str, ip: str) -> SandboxOption:
    """An ``IP<TAB>name`` line in the sandbox's hosts file."""
    name = checks.token(name, "extra host name")
    ip = checks.address(ip, f"address of extra host {name!r}")

    def apply(s):
        s.extra_hosts.append((name, ip))
    return _kind(apply)


def option_dns(server: str) -> SandboxOption:
    server = checks.address(server, "DNS server")

    def apply(s):
        s.dns.append(server)
    return _kind(apply)


def option_dns_search(domain: str) -> SandboxOption:
    domain = checks.token(domain, "DNS search domain")

    def apply(s):
        s.dns_search.append(domain)
    return _kind(apply)


def option_dns_options(opt: str) -> SandboxOption:
    opt = checks.token(opt, "DNS option")

    def apply(s):
        s.dns_options.append(opt)
    return _kind(apply)


def option_hosts_path(path: str) -> SandboxOption:
    path = checks.path(path, "hosts path")

    def apply(s):
        s.hosts_path = path
    return _kind(apply)


def option_resolv_conf_path(path: str) -> SandboxOption:
    path = checks.path(path, "resolv.conf path")

    def apply(s):
        s.resolv_conf_path = path
    return _kind(apply)


def option_use_default_sandbox() -> SandboxOption:
    """Share the host's network namespace (for ``host`` networks)."""
    def apply(s):
        s.use_default_sandbox = True
    return _kind(apply)


def option_netns_path(path: str) -> SandboxOption:
    """Use the namespace bound at ``path`` (made by someone else, e.g. a
    container runtime) instead of creating one (libnetwork's
    ``OptionUseExternalKey`` with ``SetKey``).  The controller only adds
    and removes its endpoints' interfaces in it: it never creates, marks
    or deletes that namespace.  The path must exist when the sandbox is
    created."""
    path = os.path.abspath(checks.path(path, "netns path"))

    def apply(s):
        s.netns_path = path
    return _kind(apply)


def option_labels(labels: dict) -> SandboxOption:
    labels = checks.mapping(labels, "sandbox labels", str_values=True)

    def apply(s):
        s.labels.update(labels)
    return _kind(apply)


_KW = {
    "hostname": option_hostname, "domainname": option_domainname,
    "hosts_path": option_hosts_path,
    "resolv_conf_path": option_resolv_conf_path, "labels": option_labels,
    "netns_path": option_netns_path,
}


def spec_options_from_kwargs(kw: dict) -> list:
    out = []
    for k, fn in _KW.items():
        if k in kw:
            out.append(fn(kw.pop(k)))
    extra = kw.pop("extra_hosts", None) or ()
    if not isinstance(extra, Mapping):
        extra = [checks.sequence(h, "extra host (name, address)")
                 for h in checks.sequence(extra, "extra_hosts")]
        if any(len(h) != 2 for h in extra):
            raise InvalidParameter(f"extra_hosts={extra!r}: expected "
                                   "(name, address) pairs")
    for name, ip in (extra.items() if isinstance(extra, Mapping) else extra):
        out.append(option_extra_host(name, ip))
    for k, fn in (("dns", option_dns), ("dns_search", option_dns_search),
                  ("dns_options", option_dns_options)):
        values = kw.pop(k, None)
        for v in () if values is None else checks.sequence(values, k):
            out.append(fn(v))
    if checks.flag(kw.pop("use_default_sandbox", False),
                   "use_default_sandbox"):
        out.append(option_use_default_sandbox())
    if kw:
        raise InvalidParameter(f"unknown sandbox option(s): {sorted(kw)}")
    return out


class InterfaceStatistics(NamedTuple):
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int


class Sandbox:
    """A container's network namespace (create with ``new_sandbox``)."""

    __slots__ = ("_c", "_id", "_container_id", "_key", "spec", "created",
                 "endpoint_ids", "gw_endpoint", "_hosts", "_resolv",
                 "prewired", "__weakref__")

    def __init__(self, controller, id_, container_id, key, spec, created=0.0):
        self._c = controller
        self._id = id_
        self._container_id = container_id
        # None: the usual place, derived when asked (nothing stored)
        self._key = None if key == self._own_key() else key
        self.spec = spec
        self.created = created
        self.endpoint_ids: list = []     # join order
        self.gw_endpoint: Optional[str] = None
        # the files' paths when they are not the usual ones (None: the
        # usual, derived when asked: nothing stored per sandbox)
        self._hosts = spec.hosts_path
        self._resolv = spec.resolv_conf_path
        #: a warm pool's veth for the first join (pool.py), else None
        self.prewired = None

    def _own_key(self) -> str:
        c = self._c
        prefix = getattr(c, "_netns_prefix", None)
        if prefix is None:      # <netns dir>/<identity's 8>- (computed once)
            prefix = c._netns_prefix = \
                f"{c.netns_dir}/{marks.netns_name(c.identity, '')}"
        return prefix + self._id[:12]

    def _own(self, name: str) -> str:
        return f"{self._c.files_dir}/{self._id}/{name}"

    @property
    def hosts_path(self) -> str:
        """The hosts file (``<exec root>/sandboxes/<id>/hosts`` unless the
        sandbox names another)."""
        return self._hosts if self._hosts is not None else self._own("hosts")

    @hosts_path.setter
    def hosts_path(self, path) -> None:
        self._hosts = None if path == self._own("hosts") else path

    @property
    def resolv_conf_path(self) -> str:
        return (self._resolv if self._resolv is not None
                else self._own("resolv.conf"))

    @resolv_conf_path.setter
    def resolv_conf_path(self, path) -> None:
        self._resolv = None if path == self._own("resolv.conf") else path

    # ----------------------------------------------- libnetwork surface

    def id(self) -> str:
        return self._id

    def container_id(self) -> str:
        return self._container_id

    def key(self) -> str:
        """The path the network namespace is bound at."""
        key = self._key
        return key if key is not None else self._own_key()

    def external(self) -> bool:
        """Is the namespace someone else's (``option_netns_path``)?"""
        return self.spec.netns_path is not None

    def labels(self) -> dict:
        return dict(self.spec.labels)

    def endpoints(self) -> list:
        eps = []
        for eid in list(self.endpoint_ids):
            ep = self._c._endpoint(eid)
            if ep is not None:
                eps.append(ep)
        return eps

    def statistics(self) -> dict:
        """Per-interface counters read inside the namespace:
        ``{ifname: InterfaceStatistics}`` (``ip -s link``)."""
        return self._c._sandbox_statistics(self)

    def refresh(self, *options, **kw) -> None:
        """Leave every endpoint, apply ``options`` anew, rebuild the files
        and join again (libnetwork's ``Refresh``)."""
        self._c._refresh_sandbox(self, options, kw)

    def rename(self, name: str) -> None:
        """Rename every attached endpoint (libnetwork's ``Rename``)."""
        self._c._rename_sandbox(self, name)

    def delete(self) -> None:
        """Leave every endpoint and remove the namespace and the files."""
        self._c._delete_sandboxes([self])

    # ---------------------------------------------------- conveniences

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._c._sandboxes.get(self._id) is self:
            self.delete()

    def __iter__(self):
        return iter(self.endpoints())

    def __repr__(self):
        return f"<Sandbox {self._container_id!r} {self.key()}>"

    # ------------------------------------------------------- internals

    def to_json(self):
        spec = self.spec.to_json()
        return dict(id=self._id, container_id=self._container_id,
                    key=self.key(),
                    # the usual spec is left out (a smaller record to read)
                    spec=None if spec == _DEFAULT_SPEC else spec,
                    created=self.created, endpoints=list(self.endpoint_ids),
                    gw_endpoint=self.gw_endpoint, hosts_path=self.hosts_path,
                    resolv_conf_path=self.resolv_conf_path)

    @classmethod
    def from_json(cls, controller, d, specs=None):
        """The sandbox of record ``d``; ``specs`` (a list the caller keeps
        for a restore) lets sandboxes of equal specs share one."""
        sd = d["spec"]
        if sd is None:
            sd = _DEFAULT_SPEC
        spec = None
        if specs is not None:
            for known, made in specs:
                if known == sd:
                    spec = made
                    break
        if spec is None:
            spec = SandboxSpec.from_json(sd)
            if specs is not None:
                specs.insert(0, (sd, spec))
                del specs[8:]
        sb = cls(controller, d["id"], d["container_id"], d["key"], spec,
                 d.get("created", 0.0))
        sb.endpoint_ids = list(d["endpoints"])
        sb.gw_endpoint = d["gw_endpoint"]
        sb.hosts_path = d["hosts_path"]
        sb.resolv_conf_path = d["resolv_conf_path"]
        return sb
