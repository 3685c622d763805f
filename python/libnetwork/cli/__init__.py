"""The ``libnetwork`` command line (``python -m libnetwork``).

Commands in the habits of ``docker network`` and ``ip``; see docs/cli.md.
Nothing heavy is imported here: the library is imported by the command
that needs it, so ``--help`` and usage errors stay instant.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import admin, containers, network, objects
from .common import UserError, fail

PROG = "libnetwork"
_GROUPS = (network, containers, objects, admin)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Container networking: networks, sandboxes, "
        "endpoints, published ports.")
    env = os.environ.get
    p.add_argument("--data-dir", default=env("LIBNETWORK_DATA_DIR"),
                   help="the store's directory (env LIBNETWORK_DATA_DIR; "
                   "default /var/lib/libnetwork)")
    p.add_argument("--exec-root", default=env("LIBNETWORK_EXEC_ROOT"),
                   help="namespaces and sandbox files (env "
                   "LIBNETWORK_EXEC_ROOT; default /run/libnetwork)")
    p.add_argument("--backend", default=env("LIBNETWORK_BACKEND"),
                   choices=("native", "pyroute2"),
                   help="netlink backend (env LIBNETWORK_BACKEND; "
                   "default native)")
    p.add_argument("--root-namespace", metavar="PATH",
                   default=env("LIBNETWORK_ROOT_NAMESPACE"),
                   help="the namespace that plays the host (env "
                   "LIBNETWORK_ROOT_NAMESPACE; default this process's)")
    p.add_argument("--debug", action="store_true",
                   help="show a traceback on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (| head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:            # one line, unless --debug
        if args.debug:
            raise
        return fail(exc)


__all__ = ["main", "build_parser", "UserError"]
