"""Fixtures of the podman end-to-end tests (see podman_util.py for how
podman is kept off the host).

* ``podman_world`` (session): prerequisites checked, the private mounts
  made, podman's config written and the busybox image imported once.
* ``netns`` (test): a fresh network namespace, the podman host: podman
  runs inside it, so the bridge and the containers' host ends live there
  (``client`` from tests/kernel/firewall_util.py links a client host to
  it).
* ``podman`` (test): ``podman(*args, timeout=60, check=True)`` bound to
  that host; at teardown every container is removed and podman's
  orphans reaped.
* ``cni_network(name, plugins)``: a conflist in podman's CNI config dir
  for the test's duration.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import podman_util as pu  # noqa: E402
from kernel_util import RUN_DIR, drop_netns, make_netns  # noqa: E402


@dataclass
class World:
    top: Path            # config + storage (a temporary directory)
    run: Path            # run root, podman's tmp dir (tmpfs /run)
    env: dict            # CONTAINERS_CONF & co.
    plugins: Path        # a CNI plugin dir of ours (first in the list)
    cni_dir: Path        # podman's CNI config dir
    cgroup_parent: str   # every container's cgroup is below it
    timings: dict


def _prereqs() -> None:
    missing = pu.missing_prereqs()
    if missing:
        # not installed from here: the test process is in a namespace of
        # its own with no route out, and apt-get needs the network
        pytest.fail(f"podman tests: missing {', '.join(missing)}; install "
                    f"them with `{pu.DEPS_SCRIPT}` (as root, outside the "
                    f"isolated namespace; `.ci/dev test` does it)",
                    pytrace=False)


@pytest.fixture(scope="session")
def podman_world(private_world, tmp_path_factory):
    _prereqs()
    pu.check_private()
    os.makedirs(RUN_DIR, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="podman-", dir=RUN_DIR))
    pu.mount_cgroups()
    pu.hide_dirs(pu.HIDDEN_DIRS)

    top = tmp_path_factory.mktemp("podman")
    plugins = top / "plugins"
    plugins.mkdir()
    env = pu.write_config(top, run, [plugins, "/usr/lib/cni"])
    world = World(top=top, run=run, env=env, plugins=plugins,
                  cni_dir=top / "cni",
                  cgroup_parent=f"/libnetwork-e2e-{os.getpid()}",
                  timings={})
    tar = pu.rootfs_tar(top / "rootfs.tar", pu._exe("busybox", "/bin/busybox"))
    with pu.Reaper() as reaper:
        podman = pu.Podman(env, None, world.cgroup_parent, reaper)
        podman("import", "--change", 'CMD ["/bin/sh"]', tar, pu.IMAGE,
               timeout=180)
        world.timings["import"] = podman.log[-1][1]
    yield world
    left = pu.remove_cgroup(world.cgroup_parent)
    if left:
        warnings.warn(f"cgroups still busy, left in place: {left}")
    pu.safe_rmtree(str(run))


@pytest.fixture
def nsdir(podman_world):
    d = tempfile.mkdtemp(prefix="t-", dir=podman_world.run)
    yield d
    for top, _dirs, files in os.walk(d, topdown=False):
        for f in files:
            drop_netns(os.path.join(top, f))
    pu.safe_rmtree(d)


@pytest.fixture
def make_ns(nsdir):
    counter = itertools.count()

    def make(name=None):
        return make_netns(os.path.join(nsdir, name or f"ns{next(counter)}"))

    return make


@pytest.fixture
def netns(make_ns):
    """The podman host: a fresh network namespace, lo up."""
    ns = make_ns("host")
    subprocess.run(["nsenter", f"--net={ns}", "ip", "link", "set", "lo",
                    "up"], check=True, timeout=10)
    return ns


@pytest.fixture
def podman(podman_world, netns):
    with pu.Reaper() as reaper:
        p = pu.Podman(podman_world.env, netns, podman_world.cgroup_parent,
                      reaper)
        yield p
        p.remove_all()
        # conmon exits after the container it watches: reap it while we
        # are still its subreaper (what is left goes to PID 1 after us)
        reaper.wait_orphans(timeout=15)
    podman_world.timings.setdefault("commands", []).extend(p.log)


@pytest.fixture
def cni_network(podman_world):
    made = []

    def make(name, plugins, version="1.0.0"):
        path = podman_world.cni_dir / f"{name}.conflist"
        path.write_text(json.dumps({"cniVersion": version, "name": name,
                                    "plugins": plugins}, indent=1))
        made.append(path)
        return name

    yield make
    for path in made:
        path.unlink(missing_ok=True)
