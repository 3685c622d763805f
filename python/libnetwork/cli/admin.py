"""``restore``, ``gc`` and ``version``."""

from __future__ import annotations

import os

from .common import controller, dump_json, out

_LINES = (                      # Report field, what a human line says
    ("changes_undone", "undid {} change(s) a crash cut short"),
    ("teardowns_finished", "finished {} teardown(s) a crash cut short"),
    ("namespaces_removed", "removed orphan namespace {}"),
    ("links_removed", "removed orphan link {}"),
    ("sandboxes_forgotten", "forgot sandbox {} (its namespace was gone)"),
    ("endpoints_left", "endpoint {} left its sandbox (its interface was "
     "gone)"),
    ("networks_repaired", "recreated the kernel objects of network {}"),
    ("pool_removed", "removed warm pool namespace {} (a crash left it)"),
)
_GC = ("namespaces_removed", "links_removed")


def register(sub) -> None:
    r = sub.add_parser("restore", help="start a controller (which makes "
                       "the kernel and the store agree); print what it fixed")
    r.add_argument("--json", action="store_true",
                   help="machine-readable output (keys: docs/cli.md)")
    r.set_defaults(func=restore, only=None)
    g = sub.add_parser("gc", help="remove namespaces and links of this "
                       "store that no record explains; print what went")
    g.add_argument("--json", action="store_true",
                   help="machine-readable output (keys: docs/cli.md)")
    g.set_defaults(func=restore, only=_GC)
    v = sub.add_parser("version", help="package version, backend, kernel")
    v.add_argument("--json", action="store_true",
                   help="machine-readable output (keys: docs/cli.md)")
    v.set_defaults(func=version)


def restore(args) -> int:
    """A start is the repair (reconcile.py); its report, or the gc part."""
    with controller(args) as c:
        report = c.reconciled.to_json()
        counts = dict(networks=len(c.networks()),
                      sandboxes=len(c.sandboxes()))
    if args.only:
        report = {k: report[k] for k in args.only}
    if args.json:
        dump_json(report if args.only else dict(report, **counts))
        return 0
    said = False
    for key, text in _LINES:
        if key not in report or not report[key]:
            continue
        said = True
        if isinstance(report[key], int):
            out(text.format(report[key]))
        else:
            for item in report[key]:
                out(text.format(item))
    if not said:
        out("nothing to remove" if args.only else "nothing to fix")
    if not args.only:
        out(f"{counts['networks']} network(s), {counts['sandboxes']} "
            "sandbox(es) in the store")
    return 0


def version(args) -> int:
    from importlib import metadata
    try:
        ver = metadata.version("libnetwork")
    except metadata.PackageNotFoundError:
        from .. import __version__ as ver
    from ..backends import select
    be = select(args.backend, root=args.root_namespace)
    try:
        name = be.name
    finally:
        be.close()
    info = dict(version=ver, backend=name, kernel=os.uname().release)
    if args.json:
        dump_json(info)
    else:
        for k, v in info.items():
            out(f"{k + ':':9}{v}")
    return 0
