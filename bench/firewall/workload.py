"""The published-ports workload shared by every firewall peer.

Port ``i`` of N: host port ``HOST_PORT0 + i`` (TCP) forwarded to
``10.1.x.y:80``, the address endpoint ``i`` of the wiring workload gets
(``wiring.workload.endpoint``), behind bridge ``br0`` on 10.1.0.0/16; and
once per run, masquerade for that subnet leaving through anything but
``br0``.  That is what ``attach(..., port_mapping=[PortBinding("tcp",
80)])`` of N containers asks of the firewall on one network.
"""

from __future__ import annotations

import subprocess

from wiring.workload import BRIDGE, PREFIX, endpoint

SUBNET = f"10.1.0.0/{PREFIX}"
PROTO = "tcp"
CONTAINER_PORT = 80
HOST_PORT0 = 32768            # the start of Linux's ip_local_port_range
MAX_N = 61000 - HOST_PORT0


def port(i: int) -> tuple[int, str, int]:
    """``(host port, container address, container port)`` of port ``i``."""
    if not 0 <= i < MAX_N:
        raise ValueError(f"port index must be 0..{MAX_N - 1}")
    return HOST_PORT0 + i, endpoint(i)[1].split("/")[0], CONTAINER_PORT


def run(cmd: list[str], what: str) -> str:
    """Run ``cmd`` untimed; its stdout, or RuntimeError with its stderr."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode:
        raise RuntimeError(f"{what}: `{' '.join(cmd)}` exited "
                           f"{p.returncode}: {p.stderr.strip()[:300]}")
    return p.stdout


__all__ = ["BRIDGE", "SUBNET", "PROTO", "CONTAINER_PORT", "HOST_PORT0",
           "MAX_N", "port", "run"]
