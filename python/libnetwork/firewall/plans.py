"""The bridge driver's firewall work as plan steps: the table with the
first network, elements with each network and published port, the table
gone with the last network, and a whole rebuild after a restart.

Every step is in :data:`~libnetwork.plan.Phase.FIREWALL`, the last phase
of a change, so a change's nftables operations are consecutive and the
backend sends them as one transaction.
"""

from __future__ import annotations

import ipaddress

from ..backends import nft_ops as N
from ..backends import ops as O
from ..plan import Phase, Step
from . import elements as E
from . import ruleset

__all__ = ["forwarding_steps", "network_steps", "network_teardown",
           "publish_steps", "unpublish_ops", "rebuild_steps"]

FW = Phase.FIREWALL


def forwarding_steps(nw) -> list:
    """The namespace's forwarding (and ``bridge-nf-call-iptables``, which
    ICC, isolation and hairpin rely on), and ``route_localnet`` on the
    bridge where asked: sysctls, logged when they change."""
    st = nw.driver_state
    steps = [Step(O.Sysctl("net/ipv4/ip_forward", "1")),
             Step(O.Sysctl("net/bridge/bridge-nf-call-iptables", "1",
                           missing_ok=True))]
    if nw.spec.enable_ipv6:
        steps += [Step(O.Sysctl("net/ipv6/conf/all/forwarding", "1")),
                  Step(O.Sysctl("net/bridge/bridge-nf-call-ip6tables", "1",
                                missing_ok=True))]
    if st.get("route_localnet"):
        steps.append(Step(O.Sysctl(
            f"net/ipv4/conf/{st['bridge']}/route_localnet", "1")))
    return steps


def _subnets(nw) -> list:
    return [i.pool for i in list(nw.ipam_v4) + list(nw.ipam_v6)]


def _net_elems(nw) -> dict:
    return E.network_elems(nw.driver_state, _subnets(nw), nw.spec.internal)


def _ep_elems(nw, ep) -> dict:
    return E.binding_elems(
        ep.ports, None if ep.addr is None else ep.addr.ip,
        None if ep.addr6 is None else ep.addr6.ip,
        bool(nw.driver_state.get("route_localnet")))


def _table(nw) -> str:
    return nw.driver_state["fw_table"]


def _comment(nw) -> str:
    return nw.driver_state.get("mark") or "libnetwork"


def _fresh_table(table: str, comment: str) -> list:
    """Create the table, replacing a table of the same name (ours: the
    name carries our identity) left by an earlier life, in one
    transaction: add (a no-op when it exists), delete, create."""
    return [Step(N.NftTableAdd(table), phase=FW),
            Step(N.NftTableDel(table), phase=FW)] + [
        Step(op, N.NftTableDel(table, missing_ok=True) if i == 0 else None,
             FW) for i, op in enumerate(ruleset.table_ops(table, comment))]


def network_steps(nw, first: bool) -> list:
    """The firewall steps of a new network: with ``first`` (no other
    bridge network) the whole table too."""
    table = _table(nw)
    elems = _net_elems(nw)
    adds = E.add_ops(table, elems)
    if first:
        return _fresh_table(table, _comment(nw)) + [
            Step(op, phase=FW) for op in adds]
    dels = E.del_ops(table, elems, missing_ok=True)
    return [Step(op, d, FW) for op, d in zip(adds, dels)]


def network_teardown(nw, last: bool) -> list:
    """Operations removing a network's elements, or, with ``last``, the
    table (missing pieces are no error)."""
    if last:
        return [N.NftTableDel(_table(nw), missing_ok=True)]
    return E.del_ops(_table(nw), _net_elems(nw), missing_ok=True)


def publish_steps(nw, eps) -> list:
    """The elements of the endpoints' applied bindings, one operation per
    set for all of them (undo: their removal)."""
    elems = E.merge(*(_ep_elems(nw, ep) for ep in eps if ep.ports))
    if not elems:
        return []
    adds = E.add_ops(_table(nw), elems)
    dels = E.del_ops(_table(nw), elems, missing_ok=True)
    return [Step(op, d, FW) for op, d in zip(adds, dels)]


def unpublish_ops(nw, eps) -> list:
    """Operations removing the endpoints' published ports."""
    elems = E.merge(*(_ep_elems(nw, ep) for ep in eps if ep.ports))
    return E.del_ops(_table(nw), elems, missing_ok=True) if elems else []


def rebuild_steps(networks: list) -> list:
    """After a restart: the table exactly as the store says, in one
    transaction (elements of vanished endpoints gone, missing ones back);
    with no bridge network, no table."""
    if not networks:
        return []
    nw0 = networks[0]
    parts = []
    for nw in networks:
        parts.append(_net_elems(nw))
        for ep in nw.endpoints():
            parts.append(_ep_elems(nw, ep))
    table = _table(nw0)
    return _fresh_table(table, _comment(nw0)) + [
        Step(op, phase=FW) for op in E.add_ops(table, E.merge(*parts))]


def host_address(value, what: str, version: int):
    """An option's host address, checked (None when unset)."""
    from ..errors import InvalidParameter
    if value in (None, ""):
        return None
    try:
        a = ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter(f"{what}={value!r}: not an IP address") \
            from None
    if a.version != version:
        raise InvalidParameter(f"{what}={value!r}: not an IPv{version} "
                               "address")
    return str(a)
