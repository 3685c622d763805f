"""Run a command in a private network world: ``python -m libnetwork.isolate``.

    python -m libnetwork.isolate [--] COMMAND [ARGS...]

The command runs in a new network namespace and a new mount namespace
(``unshare --net --mount --propagation private``) with a tmpfs on ``/run``,
``/sys`` remounted so that ``/sys/class/net`` shows the private namespace,
and ``lo`` up.  Nothing it does to links, addresses, routes or the firewall
can reach the host's.  ``LIBNETWORK_ISOLATED=1`` is set inside, and the
tests refuse to touch the kernel without it.  Needs root.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import socket
import struct
import sys

ENV = "LIBNETWORK_ISOLATED"
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def _mount(libc, source, target, fstype, flags=0, data=None):
    if libc.mount(source.encode(), target.encode(), fstype.encode(), flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} on {target}: {os.strerror(err)}")


def _lo_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, _SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo",
                                                  flags | _IFF_UP))


def _inner(argv):
    libc = ctypes.CDLL(None, use_errno=True)
    _mount(libc, "tmpfs", "/run", "tmpfs", data="mode=0755")
    _mount(libc, "sysfs", "/sys", "sysfs")
    _lo_up()
    os.environ[ENV] = "1"
    os.execvp(argv[0], argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    inner = bool(argv) and argv[0] == "--inner"
    if inner:
        argv.pop(0)
    if argv and argv[0] == "--":
        argv.pop(0)
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if inner:
        _inner(argv)
    if os.geteuid() != 0:
        print("libnetwork.isolate: needs root (network namespaces)",
              file=sys.stderr)
        return 1
    unshare = shutil.which("unshare")
    if unshare is None:
        print("libnetwork.isolate: 'unshare' (util-linux) not found",
              file=sys.stderr)
        return 1
    os.execv(unshare, [unshare, "--net", "--mount", "--propagation",
                       "private", "--", sys.executable, "-m",
                       "libnetwork.isolate", "--inner", "--", *argv])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
