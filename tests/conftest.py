"""Shared test configuration.

* The package is imported from the installed wheel when there is one, else
  straight from ``python/`` (a source checkout without a build: the native
  backend then reports itself unavailable and its tests skip).
* Everything under ``tests/kernel/`` is marked ``kernel``; those tests
  refuse to run (skip, with the reason) unless the run is root *and* inside
  a private network namespace made for it, see :func:`kernel_skip_reason`.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

try:
    import libnetwork  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the tests are run
    sys.path.insert(0, str(ROOT / "python"))

ISOLATED_ENV = "LIBNETWORK_ISOLATED"
HOW = ("run them as root under `python -m libnetwork.isolate -- "
       "python -m pytest tests/kernel` (a private network + mount "
       "namespace)")


def _ns_id(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def kernel_skip_reason() -> str | None:
    """Why kernel tests must not run here, or None when they may.

    They may when (1) we are root, (2) the runner says it made a private
    world (``LIBNETWORK_ISOLATED=1``, set by ``libnetwork.isolate``), and
    (3) as a cross-check of (2), our network namespace is not PID 1's.
    """
    if os.geteuid() != 0:
        return "kernel tests need root; " + HOW
    if os.environ.get(ISOLATED_ENV) != "1":
        return f"{ISOLATED_ENV}=1 is not set; " + HOW
    mine, init = _ns_id("self"), _ns_id("1")
    if mine is not None and mine == init:
        return (f"{ISOLATED_ENV}=1 but this is PID 1's network namespace "
                f"({mine}): refusing to touch it; " + HOW)
    return None


@pytest.fixture(scope="session")
def private_world():
    """Skip (saying why) unless kernel tests may run here; kernel
    conftests make this autouse for their directory."""
    reason = kernel_skip_reason()
    if reason:
        pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    kernel_dir = ROOT / "tests" / "kernel"
    for item in items:
        if kernel_dir in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kernel)
