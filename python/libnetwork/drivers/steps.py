"""Plan fragments the drivers share: an endpoint's interface configured
inside its sandbox, and the sandbox's default routes through the network's
gateways."""

from __future__ import annotations

from ..backends import ops as O
from ..plan import Phase, Step

__all__ = ["configure_interface", "gateway_routes"]


def configure_interface(nw, ep, ns, name, link) -> list:
    """``ip -n NS link set NAME [addrgenmode none] up`` and its addresses.

    ``name`` is the interface's name in the sandbox, ``link`` how the
    address steps name it (an :class:`~O.IndexOf` where the index comes
    with the plan).  IPv4-only networks get no IPv6 link-local address
    (the kernel skips the address, DAD and MLD, most of its cost of
    bringing an interface up); the mode is set before up, as the kernel
    applies it after the flags of one request."""
    plan = []
    if not nw.spec.enable_ipv6:
        plan.append(Step(O.LinkSet(name, ipv6_ll=False, ns=ns),
                         phase=Phase.SANDBOX_CONFIG))
    plan.append(Step(O.LinkSet(name, up=True, ns=ns),
                     phase=Phase.SANDBOX_CONFIG))
    if ep.addr is not None:
        plan.append(Step(O.AddrAdd(link, ep.addr, ns=ns),
                         phase=Phase.SANDBOX_CONFIG))
    if ep.addr6 is not None:
        plan.append(Step(O.AddrAdd(link, ep.addr6, nodad=True, ns=ns),
                         phase=Phase.SANDBOX_CONFIG))
    return plan


def gateway_routes(nw, ep, ns, link) -> list:
    """``ip -n NS route add default via GATEWAY dev LINK`` for each family
    the endpoint has an address and the network a gateway in; none on an
    internal network."""
    if nw.spec.internal:
        return []
    return [Step(O.RouteAdd(gateway=str(gw.ip), oif=link, ns=ns),
                 phase=Phase.SANDBOX_CONFIG)
            for addr, gw in ((ep.addr, nw.gateway4()),
                             (ep.addr6, nw.gateway6()))
            if addr is not None and gw is not None]
