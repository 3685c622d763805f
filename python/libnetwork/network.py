"""Network: a named domain of endpoints that can talk to each other.

``controller.new_network(type, name, id, *options)`` creates one;
options are libnetwork's functional options (``network_option_*``), or the
same as keyword arguments::

    nw = controller.new_network("bridge", "net1", "",
                                network_option_enable_ipv6(True))
    nw = controller.new_network("bridge", "net1", enable_ipv6=True,
                                ipv4=[IpamConf(preferred_pool="10.5.0.0/24")])
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import checks
from .errors import InvalidParameter, NoSuchEndpoint
from .options import of_kind

__all__ = [
    "Network", "NetworkSpec", "IpamConf", "IpamInfo",
    "network_option_generic", "network_option_enable_ipv6",
    "network_option_internal_network", "network_option_labels",
    "network_option_ipam", "network_option_driver_opts",
]


@dataclass
class IpamConf:
    """One requested pool (libnetwork's IpamConf)."""
    preferred_pool: Optional[str] = None
    sub_pool: Optional[str] = None
    gateway: Optional[str] = None
    aux_addresses: dict = field(default_factory=dict)

    def to_json(self):
        return dict(preferred_pool=self.preferred_pool, sub_pool=self.sub_pool,
                    gateway=self.gateway, aux_addresses=dict(self.aux_addresses))


@dataclass
class IpamInfo:
    """One allocated pool (libnetwork's IpamInfo)."""
    pool_id: str
    pool: object                       # IPv4Network / IPv6Network
    gateway: object = None             # IPv4Interface / IPv6Interface
    aux_addresses: dict = field(default_factory=dict)   # name -> interface
    meta: dict = field(default_factory=dict)

    def to_json(self):
        return dict(pool_id=self.pool_id, pool=str(self.pool),
                    gateway=None if self.gateway is None else str(self.gateway),
                    aux_addresses={k: str(v) for k, v in
                                   self.aux_addresses.items()},
                    meta=dict(self.meta))

    @classmethod
    def from_json(cls, d):
        return cls(d["pool_id"], ipaddress.ip_network(d["pool"]),
                   None if d["gateway"] is None
                   else ipaddress.ip_interface(d["gateway"]),
                   {k: ipaddress.ip_interface(v)
                    for k, v in d["aux_addresses"].items()},
                   dict(d.get("meta") or {}))


@dataclass
class NetworkSpec:
    """What the options asked for."""
    enable_ipv6: bool = False
    internal: bool = False
    labels: dict = field(default_factory=dict)
    generic: dict = field(default_factory=dict)
    ipam_driver: str = "default"
    address_space: str = ""
    ipam_options: dict = field(default_factory=dict)
    ipv4: list = field(default_factory=list)     # [IpamConf]
    ipv6: list = field(default_factory=list)

    def to_json(self):
        return dict(enable_ipv6=self.enable_ipv6, internal=self.internal,
                    labels=dict(self.labels), generic=dict(self.generic),
                    ipam_driver=self.ipam_driver,
                    address_space=self.address_space,
                    ipam_options=dict(self.ipam_options),
                    ipv4=[c.to_json() for c in self.ipv4],
                    ipv6=[c.to_json() for c in self.ipv6])

    @classmethod
    def from_json(cls, d):
        s = cls(**{k: v for k, v in d.items() if k not in ("ipv4", "ipv6")})
        s.ipv4 = [IpamConf(**c) for c in d["ipv4"]]
        s.ipv6 = [IpamConf(**c) for c in d["ipv6"]]
        return s


NetworkOption = Callable[[NetworkSpec], None]


_kind = of_kind("network")


def _confs(confs, v6: bool):
    what = "ipv6" if v6 else "ipv4"
    return [checks.ipam_conf(c, v6, f"{what}[{i}]") for i, c in
            enumerate(checks.sequence(() if confs is None else confs,
                                      f"{what} (IpamConf list)"))]


def network_option_generic(generic: dict) -> NetworkOption:
    """Driver options (``NetworkOptionGeneric``); ``netlabel.ENABLE_IPV6``
    and ``netlabel.INTERNAL`` keys are honoured as in libnetwork."""
    g = checks.mapping(generic, "generic network options")
    v6 = g.pop("com.docker.network.enable_ipv6", None)
    v6 = None if v6 is None else checks.flag(v6, "enable_ipv6")
    internal = g.pop("com.docker.network.internal", None)
    internal = None if internal is None else checks.flag(internal, "internal")
    inner = g.pop("com.docker.network.generic", None)
    if isinstance(inner, Mapping):
        g.update(checks.mapping(inner, "com.docker.network.generic"))

    def apply(s: NetworkSpec):
        if v6 is not None:
            s.enable_ipv6 = v6
        if internal is not None:
            s.internal = internal
        s.generic.update(g)
    return _kind(apply)


def network_option_driver_opts(opts: dict) -> NetworkOption:
    """``NetworkOptionDriverOpts``: string options for the driver."""
    opts = checks.mapping(opts, "driver options")

    def apply(s: NetworkSpec):
        s.generic.update(opts)
    return _kind(apply)


def network_option_enable_ipv6(enable: bool = True) -> NetworkOption:
    enable = checks.flag(enable, "enable_ipv6")

    def apply(s: NetworkSpec):
        s.enable_ipv6 = enable
    return _kind(apply)


def network_option_internal_network() -> NetworkOption:
    """No default route and no outside connectivity."""
    def apply(s: NetworkSpec):
        s.internal = True
    return _kind(apply)


def network_option_labels(labels: dict) -> NetworkOption:
    labels = checks.mapping(labels, "network labels", str_values=True)

    def apply(s: NetworkSpec):
        s.labels.update(labels)
    return _kind(apply)


def network_option_ipam(driver: str = "default", address_space: str = "",
                        ipv4=None, ipv6=None, options=None) -> NetworkOption:
    """``NetworkOptionIpam``: the IPAM driver, address space and pools
    (each pool checked now: a usable subnet of the family, its gateway
    and auxiliary addresses inside it)."""
    driver = checks.text(driver or "default", "IPAM driver")
    address_space = checks.text(address_space or "", "address space")
    v4, v6 = _confs(ipv4, False), _confs(ipv6, True)
    options = checks.mapping(options, "IPAM options")

    def apply(s: NetworkSpec):
        s.ipam_driver = driver
        s.address_space = address_space
        s.ipv4 = list(v4)
        s.ipv6 = list(v6)
        s.ipam_options = dict(options)
    return _kind(apply)


def spec_from_kwargs(kw: dict) -> list:
    """Keyword arguments of ``new_network`` as options."""
    out = []
    if "enable_ipv6" in kw:
        out.append(network_option_enable_ipv6(kw.pop("enable_ipv6")))
    if checks.flag(kw.pop("internal", False), "internal"):
        out.append(network_option_internal_network())
    if "labels" in kw:
        out.append(network_option_labels(kw.pop("labels")))
    if "options" in kw:
        out.append(network_option_generic(kw.pop("options")))
    if "generic" in kw:
        out.append(network_option_generic(kw.pop("generic")))
    ipam = {k: kw.pop(k) for k in ("ipam_driver", "address_space", "ipv4",
                                   "ipv6", "ipam_options") if k in kw}
    if ipam:
        out.append(network_option_ipam(
            ipam.get("ipam_driver", "default"), ipam.get("address_space", ""),
            ipam.get("ipv4"), ipam.get("ipv6"), ipam.get("ipam_options")))
    if kw:
        raise InvalidParameter(f"unknown network option(s): {sorted(kw)}")
    return out


class NetworkInfo:
    """``network.info()``: libnetwork's NetworkInfo."""

    def __init__(self, nw: "Network"):
        self._nw = nw

    def ipam_config(self):
        """(driver, options, ipv4 confs, ipv6 confs)"""
        s = self._nw.spec
        return s.ipam_driver, dict(s.ipam_options), list(s.ipv4), list(s.ipv6)

    def ipam_info(self):
        """(ipv4 IpamInfo list, ipv6 IpamInfo list)"""
        return list(self._nw.ipam_v4), list(self._nw.ipam_v6)

    def driver_options(self) -> dict:
        return dict(self._nw.spec.generic)

    def scope(self) -> str:
        return self._nw.scope

    def ipv6_enabled(self) -> bool:
        return self._nw.spec.enable_ipv6

    def internal(self) -> bool:
        return self._nw.spec.internal

    def labels(self) -> dict:
        return dict(self._nw.spec.labels)

    def created(self) -> float:
        return self._nw.created


class Network:
    """A network of the controller (create with ``new_network``)."""

    def __init__(self, controller, id_, name, type_, spec, scope="local",
                 created=0.0):
        self._c = controller
        self._id = id_
        self._name = name
        self._type = type_
        self.spec = spec
        self.scope = scope
        self.created = created
        self.ipam_v4: list = []
        self.ipam_v6: list = []
        self.driver_state: dict = {}
        self._endpoints: dict = {}      # id -> Endpoint, creation order

    # ----------------------------------------------- libnetwork surface

    def name(self) -> str:
        return self._name

    def id(self) -> str:
        return self._id

    def type(self) -> str:
        return self._type

    def info(self) -> NetworkInfo:
        return NetworkInfo(self)

    def create_endpoint(self, name: str, *options, **kw):
        """``ip link add`` happens at join; this reserves the endpoint's
        addresses and MAC.  Options: ``create_option_*``."""
        return self._c._create_endpoints(
            self, [name], checks.options(options, "endpoint"), kw)[0]

    def create_endpoints(self, names, *options, **kw) -> list:
        """Many endpoints at once, in one store transaction (all or none)."""
        return self._c._create_endpoints(
            self, checks.sequence(names, "endpoint names"),
            checks.options(options, "endpoint"), kw)

    def endpoints(self) -> list:
        return list(self._endpoints.values())

    def endpoint_by_name(self, name: str):
        checks.name("endpoint", name)
        for ep in self.endpoints():
            if ep.name() == name:
                return ep
        raise NoSuchEndpoint(f"no endpoint {name!r} in network {self._name!r}")

    def endpoint_by_id(self, id_: str):
        checks.object_id("endpoint", id_)
        ep = self._endpoints.get(id_)
        if ep is None:
            raise NoSuchEndpoint(f"no endpoint with id {id_!r} in network "
                                 f"{self._name!r}")
        return ep

    def walk_endpoints(self, walker) -> None:
        """Call ``walker(ep)`` for each endpoint until it returns True."""
        for ep in self.endpoints():
            if walker(ep):
                return

    def delete(self) -> None:
        """Remove the network; refused while it has endpoints."""
        self._c._delete_network(self)

    # ---------------------------------------------------- conveniences

    def __iter__(self):
        return iter(self.endpoints())

    def __len__(self):
        return len(self._endpoints)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._c._networks.get(self._id) is self:
            for ep in self.endpoints():
                ep.delete(force=True)
            self.delete()

    def __repr__(self):
        return f"<Network {self._name!r} {self._type} {self._id[:12]}>"

    # ------------------------------------------------------- internals

    def subnets(self) -> list:
        return [i.pool for i in self.ipam_v4 + self.ipam_v6]

    def gateway4(self):
        for i in self.ipam_v4:
            if i.gateway is not None:
                return i.gateway
        return None

    def gateway6(self):
        for i in self.ipam_v6:
            if i.gateway is not None:
                return i.gateway
        return None

    def to_json(self):
        return dict(id=self._id, name=self._name, type=self._type,
                    scope=self.scope, created=self.created,
                    spec=self.spec.to_json(),
                    ipam_v4=[i.to_json() for i in self.ipam_v4],
                    ipam_v6=[i.to_json() for i in self.ipam_v6],
                    driver_state=dict(self.driver_state))

    @classmethod
    def from_json(cls, controller, d):
        nw = cls(controller, d["id"], d["name"], d["type"],
                 NetworkSpec.from_json(d["spec"]), d.get("scope", "local"),
                 d.get("created", 0.0))
        nw.ipam_v4 = [IpamInfo.from_json(i) for i in d["ipam_v4"]]
        nw.ipam_v6 = [IpamInfo.from_json(i) for i in d["ipam_v6"]]
        nw.driver_state = dict(d["driver_state"])
        return nw
