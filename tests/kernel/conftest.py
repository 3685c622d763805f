"""Kernel test fixtures: a fresh namespace per test, both backends, and an
oracle that reads the kernel without libnetwork.

Nothing here uses libnetwork to create, enter or inspect namespaces, so the
tests check the backends against an independent view of the kernel:

* namespaces are made by util-linux (``unshare --net=PATH true``) under a
  per-test directory in ``/run`` and torn down by umount + unlink;
* sockets inside a namespace are opened on a dedicated short-lived thread
  that ``setns``es and then dies, so no test thread ever moves;
* :class:`Oracle` reads links, addresses and routes with pyroute2's
  ``IPRoute`` on a socket opened inside the namespace, and ``ip -j`` (via
  ``nsenter --net=PATH``) gives a second, independent decoder.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile

import pytest

from kernel_util import BACKENDS, RUN_DIR, Oracle, drop_netns, make_netns


@pytest.fixture(autouse=True)
def _kernel_guard(private_world):
    """Every test here needs root in a private world (tests/conftest.py)."""


# -------------------------------------------------------------- fixtures

@pytest.fixture
def nsdir():
    """A private directory in /run for this test's namespaces; every
    namespace left in it is detached at teardown."""
    os.makedirs(RUN_DIR, exist_ok=True)
    d = tempfile.mkdtemp(prefix="t-", dir=RUN_DIR)
    yield d
    for top, dirs, files in os.walk(d, topdown=False):
        for f in files:
            drop_netns(os.path.join(top, f))
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_ns(nsdir):
    """``make_ns(name=None)``: one more fresh namespace; returns its path."""
    counter = itertools.count()

    def make(name=None):
        return make_netns(os.path.join(nsdir, name or f"ns{next(counter)}"))

    return make


@pytest.fixture
def netns(make_ns):
    """The test's own fresh network namespace: the backend's root."""
    return make_ns("root")


@pytest.fixture
def oracle(netns):
    """``oracle(path=None)``: an :class:`Oracle` (default: the root)."""
    return lambda path=None: Oracle(path or netns)


def _make_backend(name, root):
    if name == "native":
        from libnetwork import _binding
        if not _binding.AVAILABLE:
            pytest.skip(f"native backend not built: {_binding.IMPORT_ERROR}")
    from libnetwork.backends import select
    be = select(name, root=root)
    assert be.name == name
    return be


@pytest.fixture(params=BACKENDS)
def backend(request, netns):
    """``libnetwork.backends.select(name, root=<fresh netns>)``."""
    be = _make_backend(request.param, netns)
    yield be
    be.close()


@pytest.fixture
def make_backend():
    """``make_backend(name, root)`` for tests that need both at once."""
    made = []

    def make(name, root):
        be = _make_backend(name, root)
        made.append(be)
        return be

    yield make
    for be in made:
        be.close()
