"""What a network and a published port add to the ruleset: set and map
elements (:mod:`.ruleset` holds the rules, which never change).

A network (bridge ``br``, subnets, options) adds::

    bridges  { br }                  internal { br }  (internal only)
    pairs    { br . br : accept }    (ICC off: drop)
    own4     { <subnet> . br }       own6 likewise
    masq4    { <subnet> }            (masquerade on, not internal, no host_ipv4)
    snat4    { <subnet> : <host_ipv4> }   (masquerade on, host_ipv4 set)
    masq6 / snat6                    (IPv6 masquerade asked for)

A published port (host address, protocol, host port -> container address,
port) adds one element to ``ports4``/``ports6`` (a given host address) or
``any4``/``any6`` (every host address; ``lo4`` as well where the network
allows 127.0.0.0/8).

Every function returns ``{set name: [NftElem, ...]}``; :func:`add_ops` and
:func:`del_ops` turn that into one operation per set.
"""

from __future__ import annotations

import functools
import ipaddress

from ..backends import nft_ops as N
from ..types import PROTOCOLS
from .ruleset import SETS

__all__ = ["network_elems", "binding_elems", "add_ops", "del_ops", "merge"]


_ip = functools.lru_cache(maxsize=1024)(ipaddress.ip_address)


def _key(set_name, *values) -> bytes:
    return N.pack(SETS[set_name][0], values)


def _data(set_name, *values) -> bytes:
    return N.pack(SETS[set_name][1], values)


def network_elems(st: dict, subnets: list, internal: bool) -> dict:
    """The elements of a bridge network: ``st`` its driver state
    (``bridge``, ``icc``, ``masquerade``, ``host_ipv4``, ``host_ipv6``,
    ``ip6_masquerade``), ``subnets`` its IPv4 and IPv6 networks."""
    br = st["bridge"]
    out: dict = {"bridges": [N.NftElem(_key("bridges", br))],
                 "pairs": [N.NftElem(_key("pairs", br, br), verdict=N.Verdict(
                     N.ACCEPT if st.get("icc", True) else N.DROP))]}
    if internal:
        out["internal"] = [N.NftElem(_key("internal", br))]
    for net in subnets:
        net = ipaddress.ip_network(net)
        v = "4" if net.version == 4 else "6"
        out.setdefault("own" + v, []).append(N.NftElem(
            _key("own" + v, net.network_address, br),
            key_end=_key("own" + v, net.broadcast_address, br)))
        if internal or not st.get("masquerade", True):
            continue
        if v == "6" and not st.get("ip6_masquerade"):
            continue
        fixed = st.get("host_ipv4" if v == "4" else "host_ipv6")
        if fixed:
            out.setdefault("snat" + v, []).extend(N.range_elems(
                net, data=_data("snat" + v, fixed)))
        else:
            out.setdefault("masq" + v, []).extend(N.range_elems(net))
    return out


def binding_elems(applied: list, addr4, addr6, localnet: bool) -> dict:
    """The elements of an endpoint's applied bindings (host address
    filled in: ``0.0.0.0``/``::`` for every address); ``addr4``/``addr6``
    the endpoint's addresses (``ip_address``), ``localnet`` whether its
    network publishes on 127.0.0.0/8 too."""
    out: dict = {}
    for b in applied:
        hip = _ip(b.host_ip)
        proto = PROTOCOLS[b.proto]
        v = "4" if hip.version == 4 else "6"
        target = addr4 if v == "4" else addr6
        if hip.is_unspecified:
            names = ["any" + v] + (["lo4"] if localnet and v == "4" else [])
            for name in names:
                out.setdefault(name, []).append(N.NftElem(
                    _key(name, proto, b.host_port),
                    data=_data(name, target, b.port)))
        else:
            name = "ports" + v
            out.setdefault(name, []).append(N.NftElem(
                _key(name, hip, proto, b.host_port),
                data=_data(name, target, b.port)))
    return out


def merge(*parts: dict) -> dict:
    out: dict = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, []).extend(v)
    return out


def add_ops(table: str, elems: dict, ns=None) -> list:
    """One ``NftElemAdd`` per set (in the ruleset's set order)."""
    return [N.NftElemAdd(table, name, tuple(elems[name]), ns=ns)
            for name in SETS if elems.get(name)]


def del_ops(table: str, elems: dict, missing_ok: bool = False,
            ns=None) -> list:
    """One ``NftElemDel`` per set; ``missing_ok``: elements already gone
    are no error."""
    return [N.NftElemDel(table, name, tuple(elems[name]),
                         missing_ok=missing_ok, ns=ns)
            for name in SETS if elems.get(name)]
