"""The one exception hierarchy of libnetwork.

Every error raised by the package is a :class:`LibnetworkError`.  Category
classes also inherit the matching builtin, so callers that know nothing of
libnetwork still catch them naturally (``except LookupError``), the way
PyNaCl's exceptions inherit builtins and libnetwork's Go errors carry
category markers (``NotFound()``, ``BadRequest()``).
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "LibnetworkError",
    "NotFound",
    "Conflict",
    "PortAlreadyAllocated",
    "InvalidParameter",
    "Forbidden",
    "PoolExhausted",
    "AlreadyAllocated",
    "NetlinkError",
    "NetlinkNotFound",
    "NetlinkConflict",
    "NetlinkInvalid",
    "netlink_error",
    "PoolOverlap", "AddressOutOfRange", "InvalidName", "UnknownDriver",
    "NoSuchNetwork", "NoSuchEndpoint", "NoSuchSandbox", "NetworkNameExists",
    "EndpointNameExists", "ActiveEndpoints", "ActiveContainer",
    "AlreadyJoined", "NotJoined", "SandboxExists", "BridgeFull",
    "ParentInUse", "TeardownIncomplete", "StoreUnusable",
]


class LibnetworkError(Exception):
    """Base of every libnetwork error."""


class NotFound(LibnetworkError, LookupError):
    """Something named does not exist (libnetwork's ErrNoSuchNetwork & kin)."""


class Conflict(LibnetworkError):
    """The request collides with existing state (duplicate name, overlap...)."""


class PortAlreadyAllocated(Conflict):
    """A host port is already published on an overlapping address
    (libnetwork's ``portallocator.ErrPortAlreadyAllocated``)."""


class InvalidParameter(LibnetworkError, ValueError):
    """The request itself is malformed (bad name, bad address, bad option)."""


class Forbidden(LibnetworkError, PermissionError):
    """The request is well-formed but not allowed (delete the host network)."""


class PoolExhausted(LibnetworkError):
    """No free ordinal or address is left in the pool or range asked for."""


class AlreadyAllocated(Conflict):
    """The specific ordinal or address asked for is already in use."""


class NetlinkError(LibnetworkError, OSError):
    """The kernel refused a request.

    ``errno`` is the kernel's error number, ``message`` its extended-ack
    text ("" when it gave none) and ``op`` the operation that failed.
    """

    def __init__(self, errno: int, message: str = "", op: object = None):
        self.message = message
        self.op = op
        text = os.strerror(errno)
        if message:
            text = f"{text}: {message}"
        if op is not None:
            text = f"{text} (in {op!r})"
        OSError.__init__(self, errno, text)

    def __reduce__(self):
        return (type(self), (self.errno, self.message, self.op))


class NetlinkNotFound(NetlinkError, NotFound):
    """The kernel says the object does not exist (ENODEV, ENOENT, ESRCH...)."""


class NetlinkConflict(NetlinkError, Conflict):
    """The kernel says the object exists or is busy (EEXIST, EBUSY...)."""


class NetlinkInvalid(NetlinkError, InvalidParameter):
    """The kernel rejected an argument (EINVAL, ERANGE...)."""


_BY_ERRNO = {
    _errno.ENODEV: NetlinkNotFound,
    _errno.ENOENT: NetlinkNotFound,
    _errno.ESRCH: NetlinkNotFound,
    _errno.EADDRNOTAVAIL: NetlinkNotFound,
    _errno.EEXIST: NetlinkConflict,
    _errno.EBUSY: NetlinkConflict,
    _errno.ENOTEMPTY: NetlinkConflict,
    _errno.EINVAL: NetlinkInvalid,
    _errno.ERANGE: NetlinkInvalid,
    _errno.EAFNOSUPPORT: NetlinkInvalid,
}


def netlink_error(errno: int, message: str = "", op: object = None) -> NetlinkError:
    """The most specific :class:`NetlinkError` subclass for ``errno``."""
    return _BY_ERRNO.get(errno, NetlinkError)(errno, message, op)


# ------------------------------------------------------------ IPAM errors

class PoolOverlap(Conflict):
    """The pool asked for overlaps one in use (libnetwork's ErrPoolOverlap)."""


class AddressOutOfRange(InvalidParameter):
    """The address is outside the pool or sub-pool (ErrIPOutOfRange)."""


# ------------------------------------------------------------- CNM errors

class InvalidName(InvalidParameter):
    """An empty or malformed network/endpoint/sandbox name (ErrInvalidName)."""


class UnknownDriver(NotFound):
    """No network or IPAM driver of that name (NetworkTypeError)."""


class NoSuchNetwork(NotFound):
    """ErrNoSuchNetwork."""


class NoSuchEndpoint(NotFound):
    """ErrNoSuchEndpoint."""


class NoSuchSandbox(NotFound):
    """No sandbox with that id."""


class NetworkNameExists(Conflict):
    """A network of that name exists (NetworkNameError)."""


class EndpointNameExists(Conflict):
    """The network has an endpoint of that name."""


class ActiveEndpoints(Forbidden):
    """The network still has endpoints (ActiveEndpointsError)."""


class ActiveContainer(Forbidden):
    """The endpoint is attached to a sandbox (ActiveContainerError)."""


class AlreadyJoined(Conflict):
    """The endpoint is joined to a sandbox already (ErrInvalidJoin)."""


class NotJoined(Conflict):
    """Leave of an endpoint that is not joined to that sandbox."""


class SandboxExists(Conflict):
    """The container has a sandbox already."""


class BridgeFull(Conflict):
    """The bridge has the kernel's maximum of 1023 ports (BR_MAX_PORTS is
    1024 port numbers, of which 0 is reserved)."""


class ParentInUse(Conflict):
    """The parent interface already carries a network of that driver (one
    macvlan or ipvlan network per parent, as libnetwork)."""


class StoreUnusable(LibnetworkError):
    """The store cannot be trusted (missing while the exec root holds this
    package's objects, empty, truncated, corrupt, of another schema,
    unreadable): start-up stops before anything in the kernel is touched.
    ``path`` names the file; the message says how to recover
    (:func:`libnetwork.recover`)."""

    def __init__(self, path: str, why: str, hint: str = ""):
        self.path = path
        self.why = why
        hint = hint or ("see libnetwork.recover(data_dir=...) to move it "
                        "aside and start empty")
        super().__init__(f"store {path}: {why}; {hint}")

    def __reduce__(self):
        return (type(self), (self.path, self.why))


class TeardownIncomplete(LibnetworkError):
    """A teardown (leave, delete, detach) tried every step and some failed.

    What succeeded is done and recorded; ``errors`` lists ``(what,
    exception)`` for each step that failed, and the same call again
    finishes the job.  ``__cause__`` is the first failure."""

    def __init__(self, errors: list):
        self.errors = list(errors)
        lines = "; ".join(f"{what}: {exc}" for what, exc in self.errors)
        n = len(self.errors)
        super().__init__(f"teardown incomplete, {n} step{'s' * (n != 1)} "
                         f"failed: {lines}")
        if self.errors:
            self.__cause__ = self.errors[0][1]

    def __reduce__(self):
        return (type(self), (self.errors,))
