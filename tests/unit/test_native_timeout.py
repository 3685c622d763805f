"""The native backend's receive timeout: SO_RCVTIMEO on its sockets, 30 s
by default (the core's NLC_TIMEOUT_MS, pyroute2's), else the backend's
``timeout`` argument or ``$LIBNETWORK_NETLINK_TIMEOUT`` (seconds).

Read back with getsockopt on a duplicate of the socket's descriptor (no
root, no namespace).  What a timeout does to an exchange (-ETIMEDOUT for
every request without an ack) is tests/c/test_msg.c's fake kernel's.
"""

from __future__ import annotations

import os
import socket
import struct

import pytest

from libnetwork import _binding

if not _binding.AVAILABLE:
    pytest.skip(f"the native core is not built: {_binding.IMPORT_ERROR}",
                allow_module_level=True)

from libnetwork.backends import native  # noqa: E402
from libnetwork.backends.native import NativeBackend  # noqa: E402
from libnetwork.errors import InvalidParameter  # noqa: E402

lib = _binding.lib


def rcvtimeo(sock):
    """SO_RCVTIMEO of an nlc_sock, in seconds (the kernel keeps it in
    jiffies: compared to a few ms)."""
    fd = os.dup(lib.nlc_sock_fd(sock))
    s = socket.socket(fileno=fd)
    try:
        raw = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)
    finally:
        s.close()
    sec, usec = struct.unpack("qq", raw)
    return sec + usec / 1e6


def about(seconds):
    """seconds, to the kernel's jiffy; 0 (forever) exactly."""
    return 0.0 if seconds == 0 else pytest.approx(seconds, abs=0.011)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(native.TIMEOUT_ENV, raising=False)


def test_default_is_the_cores():
    assert lib.NLC_TIMEOUT_MS == 30000
    with NativeBackend() as be:
        assert rcvtimeo(be._root_sock) == about(30.0)


@pytest.mark.parametrize("timeout, want", [(1.5, 1.5), (2, 2.0),
                                           (0, 0.0), (0.0001, 0.001)])
# (0.0001 s: 1 ms, not 0 -- that would wait forever)
def test_argument(timeout, want):
    with NativeBackend(timeout=timeout) as be:
        got = rcvtimeo(be._root_sock)
        assert got == about(want) and (got > 0) == (want > 0)


def test_environment(monkeypatch):
    monkeypatch.setenv(native.TIMEOUT_ENV, "4.25")
    with NativeBackend() as be:
        assert rcvtimeo(be._root_sock) == about(4.25)
    with NativeBackend(timeout=1) as be:           # the argument wins
        assert rcvtimeo(be._root_sock) == about(1.0)


@pytest.mark.parametrize("bad", [-1, "3", True, float("nan"), 2**32, None])
def test_refused(monkeypatch, bad):
    if bad is None:
        monkeypatch.setenv(native.TIMEOUT_ENV, "soon")
    with pytest.raises(InvalidParameter):
        NativeBackend(timeout=bad)


def test_set_timeout_on_a_socket():
    p = _binding.ffi.new("struct nlc_sock **")
    assert lib.nlc_sock_open(p, 0) == 0
    try:
        assert rcvtimeo(p[0]) == about(30.0)
        assert lib.nlc_sock_set_timeout(p[0], 250) == 0
        assert rcvtimeo(p[0]) == about(0.25)
        assert lib.nlc_sock_set_timeout(p[0], 0) == 0
        assert rcvtimeo(p[0]) == about(0.0)
    finally:
        lib.nlc_sock_close(p[0])
