"""``sandbox create|ls|inspect|rm`` and ``endpoint
create|ls|inspect|rm|join|leave``: the CNM objects one by one."""

from __future__ import annotations

from .common import (add_output_flags, controller, dump_json, endpoint_json,
                     find_endpoint, find_network, find_sandbox, out,
                     print_endpoints, sandbox_json, short, table)
from .containers import add_endpoint_flags, endpoint_kwargs


def register(sub) -> None:
    p = sub.add_parser("sandbox", help="manage sandboxes (a container's "
                       "network namespace)")
    s = p.add_subparsers(dest="sandbox_command", metavar="COMMAND",
                         required=True)
    c = s.add_parser("create", help="create sandboxes (one batch)")
    c.add_argument("containers", nargs="+", metavar="CONTAINER")
    c.add_argument("--hostname", help="the hostname")
    c.add_argument("--domainname", help="the domain name")
    c.add_argument("-q", "--quiet", action="store_true",
                   help="only ids (the default prints them too)")
    c.set_defaults(func=sandbox_create)
    ls = s.add_parser("ls", aliases=["list"], help="list sandboxes")
    add_output_flags(ls)
    ls.set_defaults(func=sandbox_ls)
    i = s.add_parser("inspect", help="show sandboxes in detail (JSON)")
    i.add_argument("refs", nargs="+", metavar="CONTAINER|ID")
    i.set_defaults(func=sandbox_inspect)
    r = s.add_parser("rm", aliases=["remove"], help="remove sandboxes "
                     "(their endpoints leave, and stay)")
    r.add_argument("refs", nargs="+", metavar="CONTAINER|ID")
    r.set_defaults(func=sandbox_rm)

    p = sub.add_parser("endpoint", help="manage endpoints")
    s = p.add_subparsers(dest="endpoint_command", metavar="COMMAND",
                         required=True)
    c = s.add_parser("create", help="create an endpoint")
    c.add_argument("network", metavar="NETWORK")
    c.add_argument("name", metavar="NAME")
    add_endpoint_flags(c)
    add_output_flags(c)
    c.set_defaults(func=endpoint_create)
    ls = s.add_parser("ls", aliases=["list"], help="list endpoints")
    ls.add_argument("network", nargs="?", metavar="NETWORK",
                    help="only this network's")
    add_output_flags(ls)
    ls.set_defaults(func=endpoint_ls)
    i = s.add_parser("inspect", help="show endpoints in detail (JSON)")
    i.add_argument("network", metavar="NETWORK")
    i.add_argument("refs", nargs="+", metavar="NAME|ID")
    i.set_defaults(func=endpoint_inspect)
    r = s.add_parser("rm", aliases=["remove"], help="remove endpoints")
    r.add_argument("network", metavar="NETWORK")
    r.add_argument("refs", nargs="+", metavar="NAME|ID")
    r.add_argument("-f", "--force", action="store_true",
                   help="leave the sandbox first")
    r.set_defaults(func=endpoint_rm)
    for verb in ("join", "leave"):
        j = s.add_parser(verb, help=f"{verb} a sandbox")
        j.add_argument("network", metavar="NETWORK")
        j.add_argument("endpoint", metavar="ENDPOINT")
        j.add_argument("sandbox", metavar="CONTAINER")
        j.set_defaults(func=endpoint_join if verb == "join"
                       else endpoint_leave)


# ---------------------------------------------------------------- sandbox

def sandbox_create(args) -> int:
    kw = {}
    if args.hostname:
        kw["hostname"] = args.hostname
    if args.domainname:
        kw["domainname"] = args.domainname
    with controller(args) as c:
        for sb in c.new_sandboxes(list(args.containers), **kw):
            out(sb.id())
    return 0


def sandbox_ls(args) -> int:
    with controller(args) as c:
        sbs = sorted(c.sandboxes(), key=lambda s: s.container_id())
        if args.json:
            dump_json([sandbox_json(sb) for sb in sbs])
        elif args.quiet:
            for sb in sbs:
                out(sb.id())
        else:
            table(["CONTAINER", "SANDBOX ID", "KEY", "ENDPOINTS"],
                  [[sb.container_id(), short(sb.id()), sb.key(),
                    ",".join(e.name() for e in sb.endpoints()) or "-"]
                   for sb in sbs])
    return 0


def sandbox_inspect(args) -> int:
    with controller(args) as c:
        dump_json([sandbox_json(find_sandbox(c, r)) for r in args.refs])
    return 0


def sandbox_rm(args) -> int:
    with controller(args) as c:
        sbs = [find_sandbox(c, r) for r in args.refs]
        for ref, sb in zip(args.refs, sbs):
            sb.delete()
            out(ref)
    return 0


# --------------------------------------------------------------- endpoint

def endpoint_create(args) -> int:
    with controller(args) as c:
        nw = find_network(c, args.network)
        ep = nw.create_endpoint(args.name, **endpoint_kwargs(args))
        print_endpoints(args, [ep])
    return 0


def endpoint_ls(args) -> int:
    with controller(args) as c:
        nets = ([find_network(c, args.network)] if args.network
                else sorted(c.networks(), key=lambda n: n.name()))
        eps = [ep for nw in nets
               for ep in sorted(nw.endpoints(), key=lambda e: e.name())]
        print_endpoints(args, eps)
    return 0


def endpoint_inspect(args) -> int:
    with controller(args) as c:
        nw = find_network(c, args.network)
        dump_json([endpoint_json(find_endpoint(nw, r)) for r in args.refs])
    return 0


def endpoint_rm(args) -> int:
    with controller(args) as c:
        nw = find_network(c, args.network)
        eps = [find_endpoint(nw, r) for r in args.refs]
        for ref, ep in zip(args.refs, eps):
            ep.delete(force=args.force)
            out(ref)
    return 0


def endpoint_join(args) -> int:
    with controller(args) as c:
        ep = find_endpoint(find_network(c, args.network), args.endpoint)
        ep.join(find_sandbox(c, args.sandbox))
    return 0


def endpoint_leave(args) -> int:
    with controller(args) as c:
        ep = find_endpoint(find_network(c, args.network), args.endpoint)
        ep.leave(find_sandbox(c, args.sandbox))
    return 0
