"""The ``libnetwork`` console script as a subprocess, on the test's
namespace and directories.

Import the fixtures with ``from cli_util import *``.  ``cli(*args)`` runs
the installed script with ``--data-dir``/``--exec-root`` in the test's
directories and ``--root-namespace`` the test's namespace; it returns the
CompletedProcess (text).  ``ctl_on()`` opens a Python controller on the
same store, for checking what the command line made.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import libnetwork

__all__ = ["script", "cli_dirs", "cli", "ctl_on", "ok", "rows"]


def _script() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "libnetwork")
    return here if os.path.exists(here) else shutil.which("libnetwork")


@pytest.fixture
def script():
    path = _script()
    if not path:
        pytest.skip("the libnetwork console script is not installed")
    return path


@pytest.fixture
def cli_dirs(tmp_path, nsdir, netns):
    return dict(data_dir=str(tmp_path / "data"),
                exec_root=os.path.join(nsdir, "exec"), root_namespace=netns)


@pytest.fixture
def cli(script, cli_dirs):
    base = [script, "--data-dir", cli_dirs["data_dir"],
            "--exec-root", cli_dirs["exec_root"],
            "--root-namespace", cli_dirs["root_namespace"]]

    def run(*args, input=None, timeout=60, env=None):
        return subprocess.run(base + list(args), capture_output=True,
                              text=True, input=input, timeout=timeout,
                              env=env)
    return run


@pytest.fixture
def ctl_on(cli_dirs):
    made = []

    def make():
        c = libnetwork.new(**cli_dirs)
        made.append(c)
        return c
    yield make
    for c in made:
        with contextlib.suppress(Exception):
            c.stop()


def ok(proc, json_out: bool = False):
    """The stdout of a run that must succeed (its stderr shown if not)."""
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stderr == ""
    return json.loads(proc.stdout) if json_out else proc.stdout


def rows(text: str) -> list:
    """A table's lines split into cells (three or more spaces apart)."""
    import re
    return [re.split(r" {2,}", line.strip()) for line in text.splitlines()]
