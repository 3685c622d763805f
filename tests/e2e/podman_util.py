"""A private podman for the end-to-end tests (``test_podman*.py``).

podman (4.x, CNI network backend, runc) runs as root on the test machine,
but nothing it does may reach the host: the suite runs inside
``python -m libnetwork.isolate`` (own network and mount namespaces, tmpfs
on /run), and this module closes what is left open there:

* **config**: podman reads only the files written here
  (``CONTAINERS_CONF``, ``CONTAINERS_STORAGE_CONF``,
  ``CONTAINERS_REGISTRIES_CONF``); storage (vfs) and the CNI config dir
  are temporary directories, the run root and lock/tmp dirs are in /run.
* **paths podman writes whatever the config says**: the CNI result cache
  (``/var/lib/cni``), the blob info cache (``/var/lib/containers/cache``),
  the short-name alias cache (``/var/cache/containers``) and the shm lock
  segment (``/dev/shm/libpod_lock``).  :func:`hide_dirs` mounts a fresh
  tmpfs on /var/lib, /var/cache and /dev/shm in *our* mount namespace:
  the host's are neither changed nor reachable from the tests (nothing
  else in the suite reads them).
* **cgroups**: isolate's fresh sysfs hides /sys/fs/cgroup, and runc cannot
  run without cgroups; :func:`mount_cgroups` mounts the host's hierarchies
  again in our mount namespace.  The containers' cgroups are kernel state
  shared with the host, so every container gets a cgroup parent of this
  run's own (``Podman.cgroup_parent``), removed at the end
  (:func:`remove_cgroup`).
* **orphans**: conmon detaches from podman and outlives it; its parent
  becomes the nearest subreaper.  :class:`Reaper` makes the test process
  that subreaper and reaps after every podman command (see there).

Every podman command runs under ``nsenter --net=<host>``: the "podman
host" is a fresh network namespace per test, so bridges, veths and
firewall rules made for the containers go away with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPS_SCRIPT = ROOT / ".ci" / "podman-deps"
IMAGE = "localhost/busybox-local"
#: busybox applets the image links (its whole userland)
APPLETS = ("sh", "ping", "nc", "httpd", "ip", "sleep", "wget", "cat", "ls",
           "echo", "ifconfig", "hostname", "true")
INDEX = "hello from busybox-local\n"
#: podman writes below these whatever its config says (module doc)
HIDDEN_DIRS = ("/var/lib", "/var/cache", "/dev/shm")

_libc = ctypes.CDLL(None, use_errno=True)
MS_BIND, MS_REC = 0x1000, 0x4000
PR_SET_CHILD_SUBREAPER = 36


# ---------------------------------------------------------------- checks

def _exe(name, *fallbacks):
    return shutil.which(name) or next(
        (p for p in fallbacks if os.access(p, os.X_OK)), None)


def missing_prereqs() -> list:
    """The Debian packages missing for the podman tests (empty: none)."""
    need = {"podman": _exe("podman"),
            "runc": _exe("runc", "/usr/sbin/runc"),
            "busybox-static": _exe("busybox", "/bin/busybox"),
            "util-linux": _exe("nsenter")}
    return [pkg for pkg, path in need.items() if path is None]


def reference_plugins_missing() -> bool:
    return not all(os.access(f"/usr/lib/cni/{p}", os.X_OK)
                   for p in ("bridge", "host-local", "portmap"))


def _same_ns(kind: str) -> bool:
    """Is our ``kind`` ("net", "mnt") namespace PID 1's?  Where PID 1's
    namespace links cannot be read (some sandboxes deny it), what the two
    namespaces show is compared instead: the links (/proc/PID/net/dev) or
    the mounts (/proc/PID/mountinfo)."""
    try:
        return os.readlink(f"/proc/self/ns/{kind}") == \
            os.readlink(f"/proc/1/ns/{kind}")
    except OSError:
        pass
    what = {"net": "net/dev", "mnt": "mountinfo"}[kind]
    with open(f"/proc/self/{what}") as mine, open(f"/proc/1/{what}") as init:
        return mine.read() == init.read()


def check_private() -> None:
    """Refuse (AssertionError) unless our network and mount namespaces are
    not PID 1's: every mount below is meant for a private namespace."""
    for kind in ("net", "mnt"):
        assert not _same_ns(kind), (
            f"the {kind} namespace is PID 1's: refusing to mount anything; "
            "run under `python -m libnetwork.isolate`")


# ---------------------------------------------------------------- mounts

def _mount(source, target, fstype=None, flags=0, data=None):
    if _libc.mount(os.fsencode(source), os.fsencode(target),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _mountinfo(pid="self") -> list:
    """[(mount point, fs type, super options)] of ``pid``'s namespace."""
    out = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstype, _src, sopts = post.split()[:3]
            out.append((pre.split()[4], fstype, sopts))
    return out


def mount_cgroups() -> None:
    """Mount the cgroup hierarchies PID 1 sees at /sys/fs/cgroup (tmpfs +
    v1 controllers, or the v2 unified tree) in our mount namespace, unless
    they are there already."""
    check_private()
    host = [(mp, fs, o) for mp, fs, o in _mountinfo(1)
            if mp == "/sys/fs/cgroup" or mp.startswith("/sys/fs/cgroup/")]
    assert any(fs.startswith("cgroup") for _, fs, _ in host), (
        "no cgroup hierarchy mounted under /sys/fs/cgroup on this machine; "
        "runc needs one")
    # our mountinfo lists the host's hierarchies even when isolate's sysfs
    # covers them: whether they can be reached is what counts
    if all(os.path.ismount(mp) for mp, _, _ in host):
        return
    for mp, fs, sopts in host:
        opts = ",".join(o for o in sopts.split(",") if o not in ("rw", "ro"))
        os.makedirs(mp, exist_ok=True)
        _mount(fs, mp, fs, data=opts or None)


def cgroup_roots() -> list:
    return sorted({mp for mp, fs, _ in _mountinfo()
                   if fs in ("cgroup", "cgroup2")
                   and mp.startswith("/sys/fs/cgroup")})


def remove_cgroup(name: str) -> list:
    """rmdir the cgroup ``name`` (and what is below it) in every hierarchy;
    returns what could not be removed (a cgroup still holding a task)."""
    left = []
    for root in cgroup_roots():
        top = os.path.join(root, name.strip("/"))
        for d, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(d)
            except OSError:
                left.append(d)
    return left


def hide_dirs(paths) -> None:
    """A fresh, empty tmpfs on each of ``paths``, in our mount namespace
    only: podman's writes there stay private, and the host's content is
    not reachable from this namespace at all (so nothing the tests do,
    a recursive delete included, can change it)."""
    check_private()
    for path in paths:
        _mount("tmpfs", path, "tmpfs",
               data="mode=1777" if path == "/dev/shm" else "mode=0755")


def _mount_points() -> set:
    def unescape(p):  # mountinfo writes space, tab, \\ and newline in octal
        return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), p)
    return {os.path.realpath(unescape(mp)) for mp, _, _ in _mountinfo()}


def safe_rmtree(top: str) -> None:
    """Remove ``top`` and what is below it without ever entering a mount
    point (a bind mount there may lead anywhere, the host's files
    included): mount points (by /proc/self/mountinfo, which also knows
    bind mounts within one file system) are pruned before the walk goes
    down, and the directories holding them stay.  Symlinks are removed,
    never followed."""
    mounts = _mount_points()
    top = os.path.realpath(top)
    if top in mounts or not os.path.isdir(top):
        return
    order, keep = [], set()
    for d, dirs, files in os.walk(top):
        inner = [x for x in dirs + files if os.path.join(d, x) in mounts]
        if inner:
            p = d
            while p.startswith(top):
                keep.add(p)
                p = os.path.dirname(p)
        links = [x for x in dirs if os.path.islink(os.path.join(d, x))]
        dirs[:] = [x for x in dirs if x not in inner and x not in links]
        order.append((d, [x for x in files + links if x not in inner]))
    for d, files in reversed(order):
        for f in files:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(d, f))
        if d not in keep:
            with contextlib.suppress(OSError):
                os.rmdir(d)


# ------------------------------------------------------------- reaping

class Reaper:
    """The test process as the subreaper of podman's detached helpers.

    ``podman run -d`` leaves conmon running, detached (double fork): it is
    reparented to the nearest subreaper, else to PID 1, which on some
    machines never reaps (conmon zombies pile up).  Running the suite under
    ``tini -s`` would do, but only when the caller remembers to; instead
    the test process marks itself (``PR_SET_CHILD_SUBREAPER``) while the
    podman tests run, and :meth:`reap` collects every exited child after
    each podman command.  That is safe because commands run one at a time
    from the test's thread: when ``subprocess.run`` has returned, no child
    the test is waiting for is left, so every zombie is an orphan."""

    def __init__(self):
        self.reaped = 0

    def __enter__(self):
        if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"PR_SET_CHILD_SUBREAPER: {os.strerror(err)}")
        return self

    def reap(self) -> None:
        while True:
            try:
                got = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                return
            if got is None:
                return
            self.reaped += 1

    def wait_orphans(self, timeout: float) -> None:
        """Reap until no child is left or ``timeout`` passes (the
        children left are then adopted by PID 1 once we stop)."""
        deadline = time.monotonic() + timeout
        while _children() and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        self.reap()

    def __exit__(self, *exc):
        self.reap()
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _children() -> list:
    me, out = str(os.getpid()), []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            out.append(int(pid))
    return out


# -------------------------------------------------------------- config

def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def write_config(top: Path, run: Path, plugin_dirs) -> dict:
    """podman's config files under ``top`` (state under ``top`` and
    ``run``); returns the environment that points podman at them."""
    for d in ("graph", "cni", "tmp"):
        (top / d).mkdir(parents=True, exist_ok=True)
    (top / "containers.conf").write_text(f"""\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = {_toml_list(plugin_dirs)}
network_config_dir = "{top / 'cni'}"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{top / 'events.log'}"
tmp_dir = "{run / 'libpod'}"
static_dir = "{top / 'graph' / 'libpod'}"
volume_path = "{top / 'graph' / 'volumes'}"
image_copy_tmp_dir = "{top / 'tmp'}"
""")
    (top / "storage.conf").write_text(f"""\
[storage]
driver = "vfs"
graphroot = "{top / 'graph'}"
runroot = "{run / 'storage'}"
""")
    (top / "registries.conf").write_text("unqualified-search-registries = []\n")
    return {"CONTAINERS_CONF": str(top / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(top / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(top / "registries.conf"),
            "TMPDIR": str(top / "tmp")}


def rootfs_tar(path: Path, busybox: str) -> Path:
    """A tarball of the image: static busybox, its applets, /www/index."""
    def add(tar, name, kind, data=b"", mode=0o755, link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.linkname, ti.size = kind, mode, link, len(data)
        tar.addfile(ti, io.BytesIO(data) if data else None)

    with tarfile.open(path, "w") as tar:
        for d in ("bin", "www", "etc", "tmp"):
            add(tar, d, tarfile.DIRTYPE)
        tar.add(busybox, "bin/busybox")
        for a in APPLETS:
            add(tar, f"bin/{a}", tarfile.SYMTYPE, link="busybox")
        add(tar, "www/index.html", tarfile.REGTYPE, INDEX.encode(), 0o644)
        add(tar, "etc/passwd", tarfile.REGTYPE,
            b"root:x:0:0:root:/:/bin/sh\n", 0o644)
        add(tar, "etc/group", tarfile.REGTYPE, b"root:x:0:\n", 0o644)
    return path


# -------------------------------------------------------------- running

class PodmanError(AssertionError):
    pass


@dataclass
class Podman:
    """``podman(*args, timeout=60, check=True)``: podman with the private
    environment, inside the podman host's network namespace (``host``;
    None: ours), always under a timeout; returns the CompletedProcess
    (text).  ``log`` lists (command, seconds)."""

    env: dict
    host: str | None
    cgroup_parent: str
    reaper: Reaper
    log: list = field(default_factory=list)

    def __call__(self, *args, timeout=60, check=True):
        args = [str(a) for a in args]
        what = "podman " + " ".join(args)
        argv = ["podman", *args]
        if self.host:
            argv[:0] = ["nsenter", f"--net={self.host}"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=timeout, env=dict(os.environ,
                                                         **self.env),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise PodmanError(f"{what}: no answer in {timeout}s; "
                              f"stderr: {exc.stderr!r}") from None
        finally:
            self.reaper.reap()
        self.log.append((what, round(time.monotonic() - t0, 2)))
        if check and r.returncode != 0:
            raise PodmanError(f"{what}: exit {r.returncode}\n"
                              f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def run(self, name, *args, network, timeout=60):
        """``podman run -d --name NAME --network NETWORK ARGS``: the new
        container's id (its cgroup under this run's parent)."""
        return self("run", "-d", "--name", name, "--network", network,
                    "--cgroup-parent", self.cgroup_parent, *args,
                    timeout=timeout).stdout.strip()

    def inspect(self, name) -> dict:
        (info,) = json.loads(self("inspect", "--type", "container",
                                  name).stdout)
        return info

    def address(self, name, network) -> str:
        nets = self.inspect(name)["NetworkSettings"]["Networks"]
        return nets[network]["IPAddress"]

    def remove_all(self):
        self("rm", "--all", "--force", "--time", "0", timeout=120,
             check=False)


def wait_until(fn, timeout: float, what: str, interval=0.2):
    """``fn()`` until it returns something true (returned) or raises
    nothing; a bounded wait for something that is under way (a server
    binding its port), never a measure of speed."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        try:
            got = fn()
            if got:
                return got
        except (OSError, AssertionError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not after {timeout}s "
                                 f"(last: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------ scenarios

def host_links(ns) -> list:
    """``ip -o link`` in ``ns``: [(name, kind, master)]."""
    r = subprocess.run(["nsenter", f"--net={ns}", "ip", "-d", "-j", "link",
                        "show"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return [(l["ifname"], l.get("linkinfo", {}).get("info_kind", ""),
             l.get("master", "")) for l in json.loads(r.stdout)]


def veths(ns) -> list:
    return sorted(n for n, kind, _ in host_links(ns) if kind == "veth")


def netns_files() -> list:
    """podman's container namespaces (bind mounts in /run/netns)."""
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def run_is_private_tmpfs() -> bool:
    """/run is a tmpfs in our mount namespace, not the one PID 1 sees."""
    mine = [fs for mp, fs, _ in _mountinfo() if mp == "/run"]
    return bool(mine) and mine[-1] == "tmpfs" and not _same_ns("mnt")


def http_get(call, ns, addr, port) -> str:
    """GET / from a socket in ``ns`` (``call`` is firewall_util.call);
    the response, or AssertionError when it is no HTTP answer."""
    got = call(ns, "tcp", addr, port,
               b"GET / HTTP/1.0\r\nHost: e2e\r\n\r\n", timeout=5)
    text = got.decode(errors="replace")
    assert text.startswith("HTTP/1."), f"not an HTTP answer: {text!r}"
    return text
