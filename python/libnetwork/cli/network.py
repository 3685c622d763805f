"""``libnetwork network create|ls|inspect|rm``."""

from __future__ import annotations

from . import parse
from .common import (add_output_flags, controller, dump_json, find_network,
                     network_json, out, short, table)


def register(sub) -> None:
    p = sub.add_parser("network", help="manage networks")
    s = p.add_subparsers(dest="network_command", metavar="COMMAND",
                         required=True)

    c = s.add_parser("create", help="create a network")
    c.add_argument("-d", "--driver", default="bridge",
                   help="bridge (default), macvlan, ipvlan, host, null")
    c.add_argument("--subnet", type=parse.cidr, action="append", default=[],
                   help="the subnet (CIDR); repeat for IPv4 and IPv6")
    c.add_argument("--gateway", type=parse.address, action="append",
                   default=[], help="the gateway of the n-th --subnet")
    c.add_argument("--ip-range", type=parse.cidr, action="append",
                   default=[], help="allocate container addresses from this "
                   "part of the n-th --subnet")
    c.add_argument("--ipv6", action="store_true", help="enable IPv6")
    c.add_argument("--internal", action="store_true",
                   help="no traffic to or from outside the network")
    c.add_argument("-o", "--opt", type=parse.key_value, action="append",
                   default=[], metavar="KEY=VALUE",
                   help="a driver option, e.g. "
                   "com.docker.network.bridge.enable_icc=false, parent=eth0")
    c.add_argument("--label", type=parse.key_value, action="append",
                   default=[], metavar="KEY=VALUE", help="a label")
    c.add_argument("name", metavar="NAME")
    c.set_defaults(func=create)

    ls = s.add_parser("ls", aliases=["list"], help="list networks")
    add_output_flags(ls)
    ls.set_defaults(func=ls_)

    i = s.add_parser("inspect", help="show networks in detail (JSON)")
    i.add_argument("refs", nargs="+", metavar="NAME|ID")
    i.set_defaults(func=inspect)

    r = s.add_parser("rm", aliases=["remove"], help="remove networks")
    r.add_argument("refs", nargs="+", metavar="NAME|ID")
    r.set_defaults(func=rm)


def ipam_confs(subnets, gateways, ranges) -> tuple:
    """``--subnet``/``--gateway``/``--ip-range`` as (IPv4, IPv6) lists of
    IpamConf keyword dicts; the n-th gateway and range go with the n-th
    subnet."""
    import ipaddress
    from .common import UserError
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise UserError("--gateway and --ip-range each need a --subnet")
    v4, v6 = [], []
    for n, subnet in enumerate(subnets):
        conf = dict(preferred_pool=subnet,
                    gateway=gateways[n] if n < len(gateways) else None,
                    sub_pool=ranges[n] if n < len(ranges) else None)
        net = ipaddress.ip_network(subnet)
        for key in ("gateway", "sub_pool"):
            if conf[key] is None:
                continue
            item = (ipaddress.ip_address(conf[key]) if key == "gateway"
                    else ipaddress.ip_network(conf[key]))
            if item.version != net.version or (
                    item not in net if key == "gateway"
                    else not item.subnet_of(net)):
                flag = "--gateway" if key == "gateway" else "--ip-range"
                raise UserError(f"{flag} {conf[key]} is not in subnet "
                                f"{subnet}")
        (v6 if net.version == 6 else v4).append(conf)
    return v4, v6


def create_kwargs(args) -> dict:
    """The keyword arguments of ``new_network`` for ``network create``."""
    v4, v6 = ipam_confs(args.subnet, args.gateway, args.ip_range)
    kw = {}
    if v4 or v6:
        from ..network import IpamConf
        if v4:
            kw["ipv4"] = [IpamConf(**c) for c in v4]
        if v6:
            kw["ipv6"] = [IpamConf(**c) for c in v6]
    if args.ipv6 or v6:
        kw["enable_ipv6"] = True
    if args.internal:
        kw["internal"] = True
    if args.opt:
        kw["generic"] = dict(args.opt)
    if args.label:
        kw["labels"] = dict(args.label)
    return kw


def create(args) -> int:
    kw = create_kwargs(args)
    with controller(args) as c:
        nw = c.new_network(args.driver, args.name, **kw)
        out(nw.id())
    return 0


def ls_(args) -> int:
    with controller(args) as c:
        nets = sorted(c.networks(), key=lambda n: n.name())
        if args.json:
            dump_json([network_json(n) for n in nets])
        elif args.quiet:
            for n in nets:
                out(n.id())
        else:
            table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                  [[short(n.id()), n.name(), n.type(), n.info().scope()]
                   for n in nets])
    return 0


def inspect(args) -> int:
    with controller(args) as c:
        dump_json([network_json(find_network(c, r)) for r in args.refs])
    return 0


def rm(args) -> int:
    with controller(args) as c:
        # every name checked before anything goes
        nets = [find_network(c, r) for r in args.refs]
        for ref, nw in zip(args.refs, nets):
            nw.delete()
            out(ref)
    return 0
