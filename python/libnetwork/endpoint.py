"""Endpoint: a network's attachment point, joined to at most one sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from . import checks, netlabel
from .errors import InvalidParameter
from .ipam.compact import parse_interface
from .options import of_kind
from .sandbox import Sandbox
from .types import PortBinding, TransportPort, port_binding

__all__ = [
    "Endpoint", "EndpointSpec", "PortBinding", "TransportPort", "create_option_ipam",
    "create_option_mac_address", "create_option_exposed_ports",
    "create_option_port_mapping", "create_option_alias",
    "create_option_dns", "endpoint_option_generic", "create_option_ifname",
    "create_option_no_default_route",
]


@dataclass
class EndpointSpec:
    ipv4: Optional[str] = None
    ipv6: Optional[str] = None
    ipam_options: dict = field(default_factory=dict)
    mac: Optional[str] = None
    exposed_ports: list = field(default_factory=list)
    port_mapping: list = field(default_factory=list)
    aliases: dict = field(default_factory=dict)
    dns: list = field(default_factory=list)
    generic: dict = field(default_factory=dict)
    ifname: Optional[str] = None     # the name inside the sandbox
    default_route: bool = True       # may carry the sandbox's default route


EndpointOption = Callable[[EndpointSpec], None]


_kind = of_kind("endpoint")


def _address(value, what):
    """An address asked for (``""``: none); its pool is checked at
    allocation."""
    if value is None or value == "":
        return None
    return checks.address(value, what, prefix=True)


def create_option_ipam(ipv4=None, ipv6=None, ll_ips=None,
                       ipam_options=None) -> EndpointOption:
    """``CreateOptionIpam``: requested addresses and IPAM options."""
    ipv4 = _address(ipv4, "endpoint ipv4 address")
    ipv6 = _address(ipv6, "endpoint ipv6 address")
    ipam_options = checks.mapping(ipam_options, "endpoint IPAM options")

    def apply(s: EndpointSpec):
        s.ipv4 = ipv4
        s.ipv6 = ipv6
        s.ipam_options.update(ipam_options)
    return _kind(apply)


def create_option_mac_address(mac: str) -> EndpointOption:
    """The endpoint's MAC (else 02:42 followed by its IPv4 address): a
    unicast, non-zero ``aa:bb:cc:dd:ee:ff``, checked now."""
    mac = checks.mac(mac)

    def apply(s: EndpointSpec):
        s.mac = mac
    return _kind(apply)


def create_option_exposed_ports(ports) -> EndpointOption:
    """``CreateOptionExposedPorts``: ``[TransportPort(proto, port), ...]``
    (or ``(proto, port)`` pairs); recorded, reported in ``driver_info``."""
    pairs = [tuple(checks.sequence(p, "exposed port (proto, port)"))
             for p in checks.sequence(ports, "exposed ports")]
    for p in pairs:
        if len(p) != 2:
            raise InvalidParameter(f"exposed port {p!r}: expected a "
                                   "(proto, port) pair")
    pairs = [TransportPort(*p) for p in pairs]

    def apply(s: EndpointSpec):
        s.exposed_ports = list(pairs)
    return _kind(apply)


def create_option_port_mapping(bindings) -> EndpointOption:
    """``CreateOptionPortMapping``: ``[PortBinding("tcp", 80,
    host_port=8080), ...]`` (or mappings with PortBinding's field names),
    checked now; the bridge driver publishes them when the endpoint is
    created (host ports picked where not given) and removes them when it
    is deleted.  The bindings applied are ``driver_info()[PORT_MAP]``."""
    maps = [port_binding(b)
            for b in checks.sequence(bindings, "port mappings")]

    def apply(s: EndpointSpec):
        s.port_mapping = list(maps)
    return _kind(apply)


def create_option_alias(name: str, alias: str) -> EndpointOption:
    name = checks.token(name, "alias key")
    alias = checks.token(alias, "alias")

    def apply(s: EndpointSpec):
        s.aliases[name] = alias
    return _kind(apply)


def create_option_dns(servers) -> EndpointOption:
    servers = [checks.address(x, "endpoint DNS server")
               for x in checks.sequence(servers, "endpoint DNS servers")]

    def apply(s: EndpointSpec):
        s.dns = list(servers)
    return _kind(apply)


def endpoint_option_generic(generic: dict) -> EndpointOption:
    """``EndpointOptionGeneric``; ``netlabel.MAC_ADDRESS`` sets the MAC
    (checked now, as :func:`create_option_mac_address`)."""
    g = checks.mapping(generic, "generic endpoint options")
    mac = g.pop(netlabel.MAC_ADDRESS, None)
    mac = None if mac is None else checks.mac(mac)

    def apply(s: EndpointSpec):
        if mac is not None:
            s.mac = mac
        s.generic.update(g)
    return _kind(apply)


def create_option_ifname(name: str) -> EndpointOption:
    """The interface's name inside the sandbox when the endpoint joins
    (else the first free ``ethN``), e.g. a CNI runtime's ``CNI_IFNAME``."""
    name = checks.ifname(name, "ifname")

    def apply(s: EndpointSpec):
        s.ifname = name
    return _kind(apply)


def create_option_no_default_route() -> EndpointOption:
    """The endpoint never carries its sandbox's default route (its
    network's gateway is not the sandbox's way out)."""
    def apply(s: EndpointSpec):
        s.default_route = False
    return _kind(apply)


def spec_options_from_kwargs(kw: dict) -> list:
    out = []
    if any(k in kw for k in ("ipv4", "ipv6", "ipam_options")):
        out.append(create_option_ipam(kw.pop("ipv4", None),
                                      kw.pop("ipv6", None), None,
                                      kw.pop("ipam_options", None)))
    if "mac" in kw:
        out.append(create_option_mac_address(kw.pop("mac")))
    if "exposed_ports" in kw:
        out.append(create_option_exposed_ports(kw.pop("exposed_ports")))
    if "port_mapping" in kw:
        out.append(create_option_port_mapping(kw.pop("port_mapping")))
    for name, alias in checks.mapping(kw.pop("aliases", None),
                                      "aliases").items():
        out.append(create_option_alias(name, alias))
    if "dns" in kw:
        out.append(create_option_dns(kw.pop("dns")))
    if "generic" in kw:
        out.append(endpoint_option_generic(kw.pop("generic")))
    if kw.get("ifname") is not None:
        out.append(create_option_ifname(kw.pop("ifname")))
    kw.pop("ifname", None)
    if not checks.flag(kw.pop("default_route", True), "default_route"):
        out.append(create_option_no_default_route())
    if kw:
        raise InvalidParameter(f"unknown endpoint option(s): {sorted(kw)}")
    return out


class InterfaceInfo:
    """``ep.info().iface()``"""

    def __init__(self, ep):
        self._ep = ep

    def mac_address(self) -> Optional[str]:
        return self._ep.mac

    def address(self):
        return self._ep.addr

    def address_ipv6(self):
        return self._ep.addr6

    def link_local_addresses(self) -> list:
        return []

    def srcname(self) -> Optional[str]:
        """The interface's name inside the sandbox (``eth0``) when joined."""
        return self._ep.ifname


class EndpointInfo:
    """``ep.info()``: libnetwork's EndpointInfo."""

    def __init__(self, ep):
        self._ep = ep

    def iface(self) -> Optional[InterfaceInfo]:
        return None if self._ep.mac is None else InterfaceInfo(self._ep)

    def gateway(self):
        gw = self._ep._nw.gateway4()
        return None if gw is None or self._ep.addr is None else gw.ip

    def gateway_ipv6(self):
        gw = self._ep._nw.gateway6()
        return None if gw is None or self._ep.addr6 is None else gw.ip

    def static_routes(self) -> list:
        return []

    def sandbox(self):
        return self._ep.sandbox()

    def loopback(self) -> bool:
        return False


_OF_ADDR = object()     # Endpoint._mac: the MAC derived from the address
_DEFAULT_SPEC = EndpointSpec()  # the records' "spec": null (never changed)


class Endpoint:
    """An endpoint of a network (create with ``network.create_endpoint``)."""

    __slots__ = ("_nw", "_c", "_id", "_name", "spec", "created", "addr",
                 "addr6", "pool_v4", "pool_v6", "_mac", "host_ifname",
                 "ifname", "sandbox_id", "ports", "__weakref__")

    def __init__(self, network, id_, name, spec, created=0.0):
        self._nw = network
        self._c = network._c
        self._id = id_
        self._name = name
        self.spec = spec
        self.created = created
        self.addr = None          # IPv4Interface (pool mask)
        self.addr6 = None         # IPv6Interface
        self.pool_v4 = None       # IPAM pool id of addr
        self.pool_v6 = None
        self._mac = None
        self.host_ifname = None   # veth end on the bridge
        self.ifname = None        # name inside the sandbox while joined
        self.sandbox_id = None
        self.ports = ()           # applied PortBindings (host port set)

    @property
    def mac(self) -> Optional[str]:
        """The MAC address (``aa:bb:cc:dd:ee:ff``) or None.  The usual one,
        02:42 followed by the IPv4 address, is derived when asked, not
        stored."""
        m = self._mac
        if m is _OF_ADDR:
            return "02:42:" + ":".join(f"{b:02x}" for b in self.addr.packed)
        return m

    @mac.setter
    def mac(self, value) -> None:
        a = self.addr
        if value is not None and a is not None and a.version == 4 and \
                value == "02:42:" + ":".join(f"{b:02x}" for b in a.packed):
            value = _OF_ADDR
        self._mac = value

    # ----------------------------------------------- libnetwork surface

    def name(self) -> str:
        return self._name

    def id(self) -> str:
        return self._id

    def network(self) -> str:
        """The network's name (libnetwork's ``Endpoint.Network()``)."""
        return self._nw.name()

    def network_object(self):
        return self._nw

    def join(self, sandbox, *options) -> None:
        """Attach to ``sandbox``: ``ip link add ... netns <sandbox>``, the
        address, the default route.  A second join raises AlreadyJoined."""
        checks.owned(self._c, sandbox, Sandbox, "sandbox")
        self._c._join_many([(self, sandbox)])

    def leave(self, sandbox, *options) -> None:
        """Detach from ``sandbox`` (NotJoined if not joined to it)."""
        checks.owned(self._c, sandbox, Sandbox, "sandbox")
        self._c._leave_many([(self, sandbox)])

    def delete(self, force: bool = False) -> None:
        """Release addresses and forget the endpoint; refused while joined
        unless ``force`` (which leaves first)."""
        self._c._delete_endpoints([self], force)

    def info(self) -> EndpointInfo:
        return EndpointInfo(self)

    def driver_info(self) -> dict:
        """Driver facts keyed by netlabel (MAC address, ports)."""
        out = {}
        if self.mac is not None:
            out[netlabel.MAC_ADDRESS] = self.mac
        if self.spec.exposed_ports:
            out[netlabel.EXPOSED_PORTS] = list(self.spec.exposed_ports)
        if self.ports or self.spec.port_mapping:
            out[netlabel.PORT_MAP] = list(self.ports or
                                          self.spec.port_mapping)
        return out

    def sandbox(self):
        return None if self.sandbox_id is None else \
            self._c._sandboxes.get(self.sandbox_id)

    # ---------------------------------------------------- conveniences

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._id in self._nw._endpoints:
            self.delete(force=True)

    def __repr__(self):
        return (f"<Endpoint {self._name!r} of {self._nw.name()!r} "
                f"{self.addr or ''} {self._id[:12]}>")

    # ------------------------------------------------------- internals

    def to_json(self):
        s = self.spec
        if s is _DEFAULT_SPEC or s == _DEFAULT_SPEC:
            spec = None         # the usual spec is left out of the record
        else:
            spec = dict(ipv4=s.ipv4, ipv6=s.ipv6,
                        ipam_options=s.ipam_options, mac=s.mac,
                        exposed_ports=[list(p) for p in s.exposed_ports],
                        port_mapping=[b.to_dict() for b in s.port_mapping],
                        aliases=s.aliases, dns=s.dns, generic=s.generic,
                        ifname=s.ifname, default_route=s.default_route)
        return dict(
            id=self._id, name=self._name, network=self._nw.id(),
            created=self.created,
            addr=None if self.addr is None else str(self.addr),
            addr6=None if self.addr6 is None else str(self.addr6),
            pool_v4=self.pool_v4, pool_v6=self.pool_v6, mac=self.mac,
            host_ifname=self.host_ifname, ifname=self.ifname,
            sandbox=self.sandbox_id, spec=spec,
            ports=[b.to_dict() for b in self.ports])

    @classmethod
    def from_json(cls, network, d, specs=None):
        """The endpoint of record ``d``; ``specs`` (a list the caller
        keeps for a restore) lets endpoints of equal specs share one."""
        sd = d["spec"]
        if sd is None:
            spec = _DEFAULT_SPEC
        else:
            spec = None
        if sd is not None and specs is not None:
            for known, made in specs:
                if known == sd:
                    spec = made
                    break
        if spec is None:
            raw = sd
            sd = dict(sd)
            sd["exposed_ports"] = [TransportPort(*p)
                                   for p in sd["exposed_ports"]]
            sd["port_mapping"] = [port_binding(b)
                                  for b in sd["port_mapping"]]
            spec = EndpointSpec(**sd)
            if specs is not None:
                specs.insert(0, (raw, spec))
                del specs[8:]
        ep = cls(network, d["id"], d["name"], spec, d.get("created", 0.0))
        a, a6 = d["addr"], d["addr6"]
        ep.addr = None if a is None else parse_interface(a)
        ep.addr6 = None if a6 is None else parse_interface(a6)
        ep.pool_v4, ep.pool_v6 = d["pool_v4"], d["pool_v6"]
        ep.mac, ep.host_ifname = d["mac"], d["host_ifname"]
        ep.ifname, ep.sandbox_id = d["ifname"], d["sandbox"]
        ports = d.get("ports")
        if ports:
            ep.ports = [PortBinding(**b) for b in ports]
        return ep

