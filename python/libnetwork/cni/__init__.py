"""``libnetwork-cni``: a CNI plugin (spec 1.0.0; 0.3.x and 0.4.0 configs
too) over a libnetwork controller.  See ``docs/cni.md``.

The runtime runs it once per operation: ``CNI_COMMAND`` (ADD, DEL, CHECK,
VERSION) and the other ``CNI_*`` variables in the environment, the network
configuration on stdin; the result or the error goes to stdout as JSON
(exit status 0, or 1 with an error).  State lives in a libnetwork store
shared by every invocation (its lock serializes them).
"""

from __future__ import annotations

import json
import logging
import sys

from .. import errors
from .conf import SUPPORTED, CniError, parse

__all__ = ["main", "run"]


def _cni_error(exc: BaseException) -> CniError:
    """The CNI error of a libnetwork error (or any other)."""
    if isinstance(exc, CniError):
        return exc
    text = str(exc)
    if isinstance(exc, errors.PoolExhausted):
        return CniError(100, "address pool exhausted", text)
    if isinstance(exc, errors.PortAlreadyAllocated):
        return CniError(101, "port already allocated", text)
    if isinstance(exc, errors.StoreUnusable):
        return CniError(5, "the libnetwork store is unusable", text)
    if isinstance(exc, errors.NoSuchSandbox):
        return CniError(3, "the container's network namespace does not "
                        "exist", text)
    if isinstance(exc, (errors.NetlinkError, errors.TeardownIncomplete)):
        return CniError(104, "the kernel refused the change", text)
    if isinstance(exc, errors.InvalidParameter):
        return CniError(7, "invalid network configuration", text)
    if isinstance(exc, errors.Conflict):
        return CniError(103, "conflict with existing state", text)
    if isinstance(exc, errors.LibnetworkError):
        return CniError(103, type(exc).__name__, text)
    if isinstance(exc, TimeoutError) or "database is locked" in text:
        return CniError(11, "the store is busy; try again later", text)
    if isinstance(exc, OSError):
        return CniError(5, "I/O failure", text)
    return CniError(110, "internal error", f"{type(exc).__name__}: {text}")


def run(stdin: bytes) -> "tuple[int, dict | None]":
    """One invocation: ``(exit status, JSON to print or None)``."""
    from . import commands
    version = "1.0.0"
    try:
        req = parse(stdin)
        version = req.version
        if req.command == "VERSION":
            return 0, {"cniVersion": req.version,
                       "supportedVersions": list(SUPPORTED)}
        if req.command == "ADD":
            if not commands.is_netns(req.netns):
                raise CniError(3, f"CNI_NETNS={req.netns!r} is not a "
                               "network namespace",
                               "the container does not exist (any more)")
            return 0, commands.add(req)
        if req.command == "DEL":
            commands.delete(req)
            return 0, None
        if not commands.is_netns(req.netns):
            raise CniError(3, f"CNI_NETNS={req.netns!r} is not a network "
                           "namespace")
        commands.check(req)
        return 0, None
    except BaseException as exc:       # every failure is a CNI error
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        err = _cni_error(exc)
        if err.code >= 100:
            logging.getLogger("libnetwork.cni").debug("failure",
                                                      exc_info=True)
        return 1, err.to_json(version)


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="libnetwork-cni: %(message)s")
    try:
        stdin = b"" if sys.stdin is None or sys.stdin.isatty() \
            else sys.stdin.buffer.read()
    except OSError as exc:
        stdin, status = b"", 1
        out = CniError(5, "cannot read stdin", str(exc)).to_json("1.0.0")
    else:
        status, out = run(stdin)
    if out is not None:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
