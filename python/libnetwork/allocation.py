"""Addresses for networks and endpoints: the glue between the CNM objects
and IPAM.

A network gets its pools, gateways and auxiliary addresses; an endpoint its
IPv4 and IPv6 addresses (the driver may choose the IPv6 one, e.g. EUI-64);
every allocation registers its release on the change's undo log, so a
failed change gives everything back.  Also what IPAM must know of the host:
the networks it routes, which automatic pools skip.  And host ports for
published ports (:mod:`~libnetwork.firewall.ports`).
"""

from __future__ import annotations

import ipaddress

from . import netlabel
from .errors import InvalidParameter, UnknownDriver
from .firewall import ports
from .ipam.inputs import pool_address
from .network import IpamConf, IpamInfo

__all__ = ["host_networks", "allocate_network", "release_network",
           "allocate_endpoint", "release_endpoint", "allocate_ports"]


def host_networks(backend) -> list:
    """Subnets the host routes (main table, not default) and those of its
    addresses: automatic pools skip them, as libnetwork's
    CheckRouteOverlaps does."""
    nets = []
    for r in backend.routes(None):
        if r.table == 254 and r.dst.prefixlen > 0:
            nets.append(r.dst)
    for a in backend.addresses(None):
        if not a.address.ip.is_loopback and not a.address.ip.is_link_local:
            nets.append(a.address.network)
    return nets


def allocate_network(ipam, ch, nw) -> None:
    """The network's IPv4 pools (one default when none is asked for) and,
    with IPv6 enabled, its IPv6 pools, each with gateway and auxiliary
    addresses."""
    spec = nw.spec
    local, _ = ipam.get_default_address_spaces()
    spec.address_space = spec.address_space or local
    if spec.ipam_driver != "default":
        raise UnknownDriver(f"no IPAM driver {spec.ipam_driver!r}")
    if spec.enable_ipv6 and not spec.ipv6:
        raise InvalidParameter("IPv6 is enabled but no IPv6 pool was "
                               "given (network_option_ipam(ipv6=...))")
    nw.ipam_v4 = [_allocate_pool(ipam, ch, spec, c, False)
                  for c in (spec.ipv4 or [IpamConf()])]
    if spec.enable_ipv6:
        nw.ipam_v6 = [_allocate_pool(ipam, ch, spec, c, True)
                      for c in spec.ipv6]


def _allocate_pool(ipam, ch, spec, conf: IpamConf, v6: bool) -> IpamInfo:
    pool_id, pool, meta = ipam.request_pool(
        spec.address_space, conf.preferred_pool, conf.sub_pool,
        spec.ipam_options, v6)
    ch.on_undo(lambda: ipam.release_pool(pool_id))
    # an automatic pool is known only now: a prefix length given with the
    # gateway or an auxiliary address must be its own
    for what, ip in [("gateway", conf.gateway)] + sorted(
            (conf.aux_addresses or {}).items()):
        if ip is not None and ip != "":
            pool_address(ip, pool, what)
    gw = ipam.request_address(
        pool_id, conf.gateway,
        {netlabel.REQUEST_ADDRESS_TYPE: netlabel.GATEWAY})
    ch.on_undo(lambda: ipam.release_address(pool_id, gw.ip))
    aux = {}
    for name, ip in (conf.aux_addresses or {}).items():
        a = ipam.request_address(pool_id, ip, None)
        ch.on_undo(lambda a=a: ipam.release_address(pool_id, a.ip))
        aux[name] = a
    return IpamInfo(pool_id, pool, gw, aux, dict(meta or {}))


def release_network(ipam, nw) -> None:
    """Give back the network's addresses and pools."""
    for info in nw.ipam_v4 + nw.ipam_v6:
        for a in list(info.aux_addresses.values()) + [info.gateway]:
            if a is not None:
                ipam.release_address(info.pool_id, a.ip)
        ipam.release_pool(info.pool_id)


def allocate_endpoint(ipam, ch, nw, ep, driver) -> None:
    """The endpoint's addresses: the one asked for, else the next free; for
    IPv6 the driver may choose (:meth:`Driver.ipv6_address`)."""
    spec = ep.spec
    if nw.ipam_v4:
        info = _pool_for(nw.ipam_v4, spec.ipv4)
        if spec.ipv4:
            pool_address(spec.ipv4, info.pool, "endpoint ipv4 address")
        ep.addr = ipam.request_address(info.pool_id, spec.ipv4,
                                       spec.ipam_options)
        ep.pool_v4 = info.pool_id
        ch.on_undo(lambda: ipam.release_address(info.pool_id, ep.addr.ip))
    if nw.ipam_v6:
        info6 = _pool_for(nw.ipam_v6, spec.ipv6)
        want = spec.ipv6
        if want:
            pool_address(want, info6.pool, "endpoint ipv6 address")
        if want is None:
            want = driver.ipv6_address(nw, ep, info6.pool)
        ep.addr6 = ipam.request_address(info6.pool_id, want,
                                        spec.ipam_options)
        ep.pool_v6 = info6.pool_id
        ch.on_undo(lambda: ipam.release_address(info6.pool_id, ep.addr6.ip))


def release_endpoint(ipam, ep) -> None:
    """Give back the endpoint's addresses."""
    if ep.addr is not None:
        ipam.release_address(ep.pool_v4, ep.addr.ip)
    if ep.addr6 is not None:
        ipam.release_address(ep.pool_v6, ep.addr6.ip)


def _pool_for(infos, want) -> IpamInfo:
    if want is not None:
        try:
            ip = ipaddress.ip_address(str(want).split("/")[0])
        except ValueError:
            raise InvalidParameter(f"invalid address {want!r}") from None
        for info in infos:
            if ip in info.pool:
                return info
    return infos[0]


def allocate_ports(c, ch, nw, ep, driver) -> None:
    """Host ports for the endpoint's port mapping (``ep.ports``): refused
    on drivers that do not publish and on internal networks; the index of
    held ports is built once per change from every endpoint's bindings."""
    if not driver.publishes_ports:
        raise InvalidParameter(f"network {nw.name()!r} ({nw.type()}) does "
                               "not publish ports")
    if nw.spec.internal:
        raise InvalidParameter(f"network {nw.name()!r} is internal: it "
                               "publishes no ports")
    index = ch.cache.get("ports")
    if index is None:
        from . import reaper        # detached endpoints not yet reaped
        index = ch.cache["ports"] = ports.PortIndex(
            [e for n in c._networks.values() for e in n._endpoints.values()]
            + reaper.port_holders(c))
    if c._port_range is None:
        c._port_range = ports.read_range(c.config.root_namespace)
    st = nw.driver_state
    ep.ports = ports.allocate(
        index, ep, ep.spec.port_mapping,
        st.get("host_binding_ipv4") or "0.0.0.0",
        bool(st.get("route_localnet")), c._port_range, c._port_cursor)
