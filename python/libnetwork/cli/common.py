"""What every command shares: the controller, lookups, output, errors."""

from __future__ import annotations

import contextlib
import json
import sys

PROG = "libnetwork"


class UserError(Exception):
    """A mistake of the user's the command line found itself."""


def fail(exc: BaseException) -> int:
    """Report ``exc`` as one line on stderr; the exit status (1)."""
    from ..errors import LibnetworkError
    if isinstance(exc, (UserError, LibnetworkError)):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = (f"{exc.strerror}: {exc.filename}" if exc.filename and
                exc.strerror else str(exc))
    else:
        text = (f"internal error: {type(exc).__name__}: {exc} "
                "(--debug shows the traceback)")
    line = " ".join(text.split()) or type(exc).__name__
    print(f"{PROG}: {line}", file=sys.stderr)
    return 1


@contextlib.contextmanager
def controller(args):
    """A controller on the global flags' directories, stopped on exit."""
    import libnetwork
    kw = {}
    if args.data_dir:
        kw["data_dir"] = args.data_dir
    if args.exec_root:
        kw["exec_root"] = args.exec_root
    if args.backend:
        kw["backend"] = args.backend
    if args.root_namespace:
        kw["root_namespace"] = args.root_namespace
    c = libnetwork.new(**kw)
    try:
        yield c
    finally:
        c.stop()


# ---------------------------------------------------------------- lookups

def _by_prefix(kind: str, ref: str, items: list, ident):
    hits = [x for x in items if ident(x).startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise UserError(f'{kind} "{ref}" is ambiguous: {len(hits)} ids '
                        "start with it")
    raise UserError(f'{kind} "{ref}" not found')


def _find(kind, ref, items, name_of):
    """The item named ``ref``, else the one whose id is or starts with it."""
    for item in items:
        if name_of(item) == ref:
            return item
    return _by_prefix(kind, ref, items, lambda x: x.id())


def find_network(c, ref: str):
    """A network by name, id, or unique id prefix."""
    return _find("network", ref, c.networks(), lambda n: n.name())


def find_sandbox(c, ref: str):
    """A sandbox by container id, sandbox id, or unique id prefix."""
    return _find("sandbox", ref, c.sandboxes(), lambda s: s.container_id())


def find_endpoint(nw, ref: str):
    return _find(f"endpoint of network {nw.name()}", ref, nw.endpoints(),
                 lambda e: e.name())


# ----------------------------------------------------------------- output

def out(line: str = "") -> None:
    print(line)


def table(headers: list, rows: list) -> None:
    """Columns aligned to their widest cell, three spaces apart."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row)]
    for row in [headers] + rows:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)]
        print("   ".join(cells).rstrip())


def dump_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def add_output_flags(p, quiet: bool = True) -> None:
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (keys: docs/cli.md)")
    if quiet:
        p.add_argument("-q", "--quiet", action="store_true",
                       help="only ids, one a line")


# ------------------------------------------------------------ description

def short(id_: str) -> str:
    return id_[:12]


def network_json(nw) -> dict:
    info = nw.info()
    _, _, confs4, confs6 = info.ipam_config()
    ranges = {c.preferred_pool: c.sub_pool for c in confs4 + confs6
              if c.preferred_pool}
    v4, v6 = info.ipam_info()
    subnets = [dict(subnet=str(i.pool),
                    gateway=None if i.gateway is None else str(i.gateway.ip),
                    ip_range=ranges.get(str(i.pool)))
               for i in v4 + v6]
    return dict(id=nw.id(), name=nw.name(), driver=nw.type(),
                scope=info.scope(), internal=info.internal(),
                ipv6=info.ipv6_enabled(), created=info.created(),
                subnets=subnets, options=_plain(info.driver_options()),
                labels=dict(info.labels()),
                endpoints=sorted(ep.name() for ep in nw.endpoints()))


def _plain(d) -> dict:
    return {str(k): (v if isinstance(v, (str, int, float, bool, type(None)))
                     else str(v)) for k, v in (d or {}).items()}


def ports_of(ep) -> list:
    from .. import netlabel
    return [b for b in ep.driver_info().get(netlabel.PORT_MAP, [])]


def port_json(b) -> dict:
    return dict(proto=b.proto, port=b.port, host_ip=b.host_ip or "0.0.0.0",
                host_port=b.host_port, host_port_end=b.host_port_end)


def endpoint_json(ep) -> dict:
    iface = ep.info().iface()
    sb = ep.sandbox()
    addr = iface.address() if iface else None
    addr6 = iface.address_ipv6() if iface else None
    return dict(id=ep.id(), name=ep.name(), network=ep.network(),
                network_id=ep.network_object().id(),
                ipv4=None if addr is None else str(addr),
                ipv6=None if addr6 is None else str(addr6),
                mac=iface.mac_address() if iface else None,
                sandbox=None if sb is None else sb.id(),
                container=None if sb is None else sb.container_id(),
                ports=[port_json(b) for b in ports_of(ep)])


def sandbox_json(sb) -> dict:
    eps = sb.endpoints()
    return dict(id=sb.id(), container=sb.container_id(), key=sb.key(),
                hostname=sb.spec.hostname or None,
                endpoints=[dict(id=e.id(), name=e.name(),
                                network=e.network()) for e in eps])


def endpoint_row(ep) -> list:
    d = endpoint_json(ep)
    return [d["name"], d["network"], d["ipv4"] or "", d["mac"] or "",
            short(d["sandbox"]) if d["sandbox"] else ""]


ENDPOINT_HEADERS = ["NAME", "NETWORK", "IPV4", "MAC", "SANDBOX"]


def print_endpoints(args, eps: list) -> None:
    if args.json:
        dump_json([endpoint_json(ep) for ep in eps])
    elif args.quiet:
        for ep in eps:
            out(ep.id())
    else:
        table(ENDPOINT_HEADERS, [endpoint_row(ep) for ep in eps])
