"""Helpers for the reaper tests (``test_reaper*.py``): namespaces held open
(so the kernel keeps a deleted sandbox's namespace, and its veths, until
the test lets go), IPAM's free count, and polling."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time

from cnm_util import ns_links
from kernel_util import settled  # noqa: F401  (for the reaper tests)

POOL = "10.170.0.0/24"


def free(c, subnet=None) -> int:
    """IPAM's free addresses in ``subnet`` (default: the only one)."""
    (sub,) = [s for s in c.ipam.dump().values()
              if subnet is None or s["subnet"] == subnet]
    return sub["free"]


@contextlib.contextmanager
def held(paths):
    """The namespaces at ``paths`` held open: unmounting one does not
    destroy it (nor its veths) until the block ends."""
    fds = [os.open(p, os.O_RDONLY | os.O_CLOEXEC) for p in paths]
    try:
        yield fds
    finally:
        for fd in fds:
            os.close(fd)



def veths(netns) -> dict:
    """name -> Link of the root namespace's veth host ends."""
    return {n: link for n, link in ns_links(netns).items()
            if n.startswith("veth")}


def records(c) -> dict:
    return dict(c.store.list("reaping"))


def port_states(netns) -> dict:
    """``bridge link show`` in ``netns``: {port name: its STP state}
    ("forwarding", "disabled", ...) as the kernel reports it."""
    out = subprocess.run(["nsenter", f"--net={netns}", "bridge", "-j",
                          "link", "show"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return {p["ifname"]: p["state"] for p in json.loads(out or "[]")}
