"""Helpers for the CNI plugin tests (``test_cni_*.py``): the real console
script run as a subprocess, as a runtime runs it (environment + stdin),
against the test's namespaces.

The plugin's controller has the test's namespace (``netns``) as its root
(``rootNamespace``), its store in ``tmp_path`` and its exec root under the
test's ``nsdir``; containers are namespaces the test makes, as a runtime
would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

__all__ = ["PLUGIN", "cni", "Cni"]

PLUGIN = os.path.join(os.path.dirname(sys.executable), "libnetwork-cni")


class Cni:
    """``run(command, ...)``: one plugin invocation; returns
    ``(exit status, decoded stdout or None)``."""

    def __init__(self, base_conf: dict):
        self.conf = base_conf

    def env(self, command, cid="c1", netns=None, ifname="eth0", **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CNI_", "LIBNETWORK_"))}
        env.update(CNI_COMMAND=command, CNI_CONTAINERID=cid,
                   CNI_IFNAME=ifname, CNI_PATH="/opt/cni/bin")
        if netns is not None:
            env["CNI_NETNS"] = netns
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def stdin(self, conf=None, **fields) -> bytes:
        c = dict(self.conf if conf is None else conf)
        c.update(fields)
        return json.dumps(c).encode()

    def start(self, command, stdin=None, **kw):
        return subprocess.Popen([PLUGIN], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                env=self.env(command, **kw)), \
            (self.stdin() if stdin is None else stdin)

    def run(self, command, stdin=None, timeout=60, **kw):
        p, data = self.start(command, stdin, **kw)
        out, err = p.communicate(data, timeout=timeout)
        return p.returncode, self.decode(out, err)

    @staticmethod
    def decode(out: bytes, err: bytes):
        if not out.strip():
            return None
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError(f"stdout is not JSON: {out!r}; "
                                 f"stderr: {err!r}") from None

    def ok(self, command, **kw):
        rc, out = self.run(command, **kw)
        assert rc == 0, out
        return out


@pytest.fixture
def cni(backend, netns, nsdir, tmp_path):
    """A :class:`Cni` whose base configuration names the network ``cninet``
    on 10.88.0.0/24 in the test's store, with the test's namespace as
    the plugin's root, on the parametrized backend."""
    assert os.access(PLUGIN, os.X_OK), f"{PLUGIN} is not installed"
    return Cni({
        "cniVersion": "1.0.0", "name": "cninet", "type": "libnetwork-cni",
        "subnet": "10.88.0.0/24", "bridge": "cni-br0",
        "dataDir": str(tmp_path / "data"),
        "execRoot": os.path.join(nsdir, "exec"),
        "backend": backend.name, "rootNamespace": netns,
    })
