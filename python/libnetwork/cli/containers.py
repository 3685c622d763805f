"""``attach``, ``detach``, ``run`` and ``port``: containers on networks."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

from . import parse, progress
from .common import (UserError, add_output_flags, controller, dump_json,
                     find_network, find_sandbox, out, ports_of,
                     print_endpoints)


def add_endpoint_flags(p) -> None:
    p.add_argument("-p", "--publish", type=parse.port_spec, action="append",
                   default=[], metavar="[IP:]HOST:CONTAINER[/PROTO]",
                   help="publish a port (HOST empty: any free port; a range "
                   "a-b: the first free one)")
    p.add_argument("--ip", type=parse.address, help="the IPv4 address")
    p.add_argument("--mac", help="the MAC address")


def register(sub) -> None:
    a = sub.add_parser("attach", help="a sandbox and an endpoint for each "
                       "container, joined (one batch)")
    a.add_argument("network", metavar="NETWORK")
    a.add_argument("containers", nargs="+", metavar="CONTAINER")
    add_endpoint_flags(a)
    a.add_argument("--hostname", help="the sandboxes' hostname")
    add_output_flags(a)
    a.set_defaults(func=attach)

    d = sub.add_parser("detach", help="undo attach: the containers' "
                       "sandboxes and their endpoints")
    d.add_argument("containers", nargs="+", metavar="CONTAINER")
    d.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing")
    d.set_defaults(func=detach)

    r = sub.add_parser("run", help="run a command in a new sandbox on a "
                       "network", usage="%(prog)s [options] NETWORK -- "
                       "CMD [ARG...]")
    r.add_argument("network", metavar="NETWORK")
    r.add_argument("--name", help="the container id (default: run-<hex>)")
    r.add_argument("--keep", action="store_true",
                   help="leave the sandbox attached afterwards")
    add_endpoint_flags(r)
    r.add_argument("--hostname", help="the sandbox's hostname")
    r.add_argument("cmd", nargs="+", metavar="CMD")
    r.set_defaults(func=run)

    p = sub.add_parser("port", help="a container's published ports")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (keys: docs/cli.md)")
    p.set_defaults(func=port)


def endpoint_kwargs(args) -> dict:
    kw = {}
    if args.publish:
        kw["port_mapping"] = parse.bindings(args.publish)
    if args.ip:
        kw["ipv4"] = args.ip
    if args.mac:
        kw["mac"] = args.mac
    return kw


def _attach_kwargs(args, count: int) -> dict:
    kw = endpoint_kwargs(args)
    if args.ip and count > 1:
        raise UserError("--ip names one address: attach one container")
    if args.mac and count > 1:
        raise UserError("--mac names one address: attach one container")
    if getattr(args, "hostname", None):
        kw["hostname"] = args.hostname
    return kw


def attach(args) -> int:
    cids = list(args.containers)
    if len(set(cids)) != len(cids):
        raise UserError("a container is named twice")
    kw = _attach_kwargs(args, len(cids))
    with controller(args) as c:
        nw = find_network(c, args.network)
        eps = []
        for part in progress.chunks(cids, "attach"):
            eps += c.attach(nw, part, **kw)
        print_endpoints(args, eps)
    return 0


def detach(args) -> int:
    cids = list(dict.fromkeys(args.containers))
    with controller(args) as c:
        for cid in cids:                # every name checked first
            find_sandbox(c, cid)
        ids = [find_sandbox(c, cid).container_id() for cid in cids]
        for part in progress.chunks(ids, "detach"):
            c.detach(part)
    if not args.quiet:
        for cid in cids:
            out(cid)
    return 0


def _enter(key: str):
    """A preexec function: join the sandbox's network namespace."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000

    def enter():
        fd = os.open(key, os.O_RDONLY | os.O_CLOEXEC)
        if libc.setns(fd, clone_newnet) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {key}: {os.strerror(err)}")
        os.close(fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)   # ignored in the CLI
    return enter


def run(args) -> int:
    name = args.name or f"run-{secrets.token_hex(6)}"
    kw = _attach_kwargs(args, 1)
    with controller(args) as c:
        nw = find_network(c, args.network)
        c.attach(nw, [name], **kw)
        key = c.sandbox_by_container(name).key()
    # the controller is stopped: no helper threads while the child forks,
    # no store held while the command runs
    status = _execute(args.cmd, key)
    if not args.keep:
        with controller(args) as c:
            c.detach([name])
    return status


def _execute(cmd: list, key: str) -> int:
    """Run ``cmd`` in the namespace at ``key`` with this terminal; its exit
    status (128+N when signal N killed it, 127 when it cannot start)."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)   # the child's to get
    try:
        proc = subprocess.Popen(cmd, preexec_fn=_enter(key),
                                restore_signals=True)
    except (OSError, subprocess.SubprocessError) as exc:
        signal.signal(signal.SIGINT, old)
        why = getattr(exc, "strerror", None) or str(exc)
        print(f"libnetwork: {cmd[0]}: {why}", file=sys.stderr)
        return 126 if isinstance(exc, PermissionError) else 127
    try:
        status = proc.wait()
    finally:
        signal.signal(signal.SIGINT, old)
    return 128 - status if status < 0 else status


def port(args) -> int:
    with controller(args) as c:
        sb = find_sandbox(c, args.container)
        rows = [(ep, b) for ep in sb.endpoints() for b in ports_of(ep)]
        if args.json:
            from .common import port_json
            dump_json([dict(port_json(b), endpoint=ep.name(),
                            network=ep.network()) for ep, b in rows])
            return 0
        for _, b in rows:
            host = b.host_ip or "0.0.0.0"
            host = f"[{host}]" if ":" in host else host
            out(f"{b.port}/{b.proto} -> {host}:{b.host_port}")
    return 0


__all__ = ["register", "attach", "detach", "run", "port"]
