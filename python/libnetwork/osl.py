"""Sandboxes in the operating system (libnetwork's ``osl``): the plans that
create a container's network namespace, its files (hosts, resolv.conf) and
their bookkeeping in the controller and the store.

A sandbox is a namespace bound at ``<exec root>/netns/<id12>`` with ``lo``
up, or the host's own namespace for ``option_use_default_sandbox()``, or a
namespace someone else made for ``option_netns_path(path)`` (used as it is,
never created nor deleted here); its
files live in ``<exec root>/sandboxes/<id>/`` unless the user names them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time

from . import checks, marks
from . import sandbox_files as files
from .backends import ops as O
from .dirs import makedirs
from .errors import InvalidParameter, NoSuchSandbox, SandboxExists
from .plan import Phase, Step
from .sandbox import (InterfaceStatistics, Sandbox, SandboxSpec,
                      spec_options_from_kwargs)

__all__ = ["new_id", "sandbox_spec", "plan_sandboxes", "commit_sandboxes",
           "forget_sandbox", "write_hosts", "files_dir", "statistics",
           "is_netns"]


def new_id() -> str:
    return secrets.token_hex(32)


def sandbox_spec(options, kw) -> SandboxSpec:
    spec = SandboxSpec()
    for opt in (checks.options(options, "sandbox")
                + spec_options_from_kwargs(dict(kw))):
        opt(spec)
    return spec


def namespace_steps(key) -> list:
    """The steps that make a sandbox's namespace at ``key`` (what a warm
    pool, :mod:`~libnetwork.pool`, does ahead of time)."""
    return [Step(O.NetnsCreate(key), O.NetnsDelete(key), Phase.NAMESPACE),
            Step(O.LinkSet("lo", up=True, ns=key),
                 phase=Phase.SANDBOX_CONFIG)]


def plan_sandboxes(c, cids, spec, pooled=()):
    """New sandboxes for container ids ``cids`` and the plan creating their
    namespaces: ``(sandboxes, plan)``.  ``pooled``: namespaces a warm pool
    made ahead (:class:`~libnetwork.pool.Entry`), used by the first
    sandboxes instead of new ones."""
    plan, sbs, seen = [], [], set()
    root_key = c.config.root_namespace or f"/proc/{os.getpid()}/ns/net"
    if spec.netns_path is not None:
        if spec.use_default_sandbox:
            raise InvalidParameter("netns_path and use_default_sandbox "
                                   "exclude each other")
        if len(cids) != 1:
            raise InvalidParameter(f"netns_path {spec.netns_path!r}: one "
                                   "sandbox per namespace")
        if not is_netns(spec.netns_path):
            raise NoSuchSandbox(f"netns_path {spec.netns_path!r}: no "
                                "network namespace there")
        for sb in c._sandboxes.values():
            if sb.key() == spec.netns_path:
                raise SandboxExists(f"namespace {spec.netns_path!r} is the "
                                    f"sandbox of container "
                                    f"{sb.container_id()!r}")
    for cid in cids:
        checks.container_id(cid)
        if cid in c._by_container or cid in seen:
            raise SandboxExists(f"container {cid!r} has a sandbox")
        seen.add(cid)
        entry = pooled[len(sbs)] if len(sbs) < len(pooled) else None
        sid = new_id() if entry is None else entry.sid
        if spec.use_default_sandbox:
            key = root_key
        elif spec.netns_path is not None:
            key = spec.netns_path       # someone else's: used as it is
        elif entry is not None:
            key = entry.path            # made ahead, at its final path
        else:
            key = os.path.join(c.netns_dir, marks.netns_name(c.identity,
                                                              sid))
            plan += namespace_steps(key)
        sb = Sandbox(c, sid, cid, key, spec, time.time())
        if entry is not None and entry.wired is not None:
            sb.prewired = entry.wired   # its veth: the driver's join uses it
        sbs.append(sb)
    return sbs, plan


def is_netns(path: str) -> bool:
    """Is ``path`` a network namespace (a bound nsfs file or a
    ``/proc/PID/ns/net`` link)?"""
    try:
        return os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return False


def files_dir(c, sb) -> str:
    return os.path.join(c.files_dir, sb.id())


def commit_sandboxes(c, ch, sbs, hosts=True, save=True,
                     written=False) -> None:
    """Write the sandboxes' files and register them in the controller and
    the store (undone with the change; ``save=False``: the caller writes
    the records; ``written``: :func:`write_files` did the files).  One
    controller builds each distinct resolv.conf once."""
    records = []
    if not written:
        c.resolv_cache.batch()
    for sb in sbs:
        if not written:
            _undo_dir(ch, c, sb)
            _files(c, sb, None if hosts else False)
        c._sandboxes[sb.id()] = sb
        c._by_container[sb.container_id()] = sb
        if save:
            records.append((sb.id(), sb.to_json()))
    c.store.put_many("sandbox", records)

    def undo():
        for sb in sbs:
            c._sandboxes.pop(sb.id(), None)
            c._by_container.pop(sb.container_id(), None)
            for path in (sb.hosts_path, sb.resolv_conf_path):
                if path:
                    files.forget_path(path)
    ch.on_undo(undo)


def _undo_dir(ch, c, sb) -> None:
    d = files_dir(c, sb)
    ch.on_undo(lambda d=d: shutil.rmtree(d, ignore_errors=True))


def _files(c, sb, ep) -> None:
    """One sandbox's directory and files: ``ep`` None: the hosts file from
    its endpoints; False: no hosts file; an endpoint: from it (the one it
    is about to join)."""
    d = files_dir(c, sb)
    fresh = _mkdir(d)
    sb.hosts_path = sb.spec.hosts_path or os.path.join(d, "hosts")
    sb.resolv_conf_path = (sb.spec.resolv_conf_path
                           or os.path.join(d, "resolv.conf"))
    if ep is None:
        write_hosts(sb)
    elif ep is not False:
        _hosts(sb, ep.addr.ip if ep.addr is not None else None,
               ep.addr6.ip if ep.addr6 is not None else None)
    ipv6 = any(e._nw.spec.enable_ipv6 for e in sb.endpoints())
    own = sb.spec.resolv_conf_path is None
    if (fresh and own) or not os.path.exists(sb.resolv_conf_path):
        files.build_resolv_conf(
            sb.resolv_conf_path, host_resolv=c.config.host_resolv_conf,
            dns=sb.spec.dns or None, search=sb.spec.dns_search or None,
            options=sb.spec.dns_options or None, ipv6=ipv6,
            cache=c.resolv_cache, parent=not own)
    else:   # a refresh leaves a resolv.conf the user edited alone
        files.update_resolv_conf(
            sb.resolv_conf_path, host_resolv=c.config.host_resolv_conf,
            dns=sb.spec.dns or None, search=sb.spec.dns_search or None,
            options=sb.spec.dns_options or None, ipv6=ipv6)


class _Writer(threading.Thread):
    """:func:`write_files` on a thread of its own."""

    def __init__(self, c, pairs):
        super().__init__(name="libnetwork-files", daemon=True)
        self._c, self._pairs, self.error = c, pairs, None

    def run(self):
        try:
            for ep, sb in self._pairs:
                _files(self._c, sb, ep)
        except BaseException as exc:        # noqa: BLE001 - handed over
            self.error = exc

    def wait(self, quiet=False):
        self.join()
        if self.error is not None and not quiet:
            raise self.error


class _Done:
    error = None

    def wait(self, quiet=False):
        pass


#: from this many sandboxes on, their files are written on a thread while
#: the kernel wires them (the thread costs more than a few files)
FILES_THREAD_MIN = 32


def write_files(c, ch, pairs):
    """The directories and files of fresh sandboxes, each about to join
    the endpoint it is paired with (``[(endpoint, sandbox)]``): written
    at once for a few, on a thread for many (the caller's plan runs in
    the kernel meanwhile, without the GIL).  Returns what to ``wait()``
    on; its error is raised there.  Undone with the change."""
    for _, sb in pairs:
        _undo_dir(ch, c, sb)
    c.resolv_cache.batch()
    if len(pairs) < FILES_THREAD_MIN:
        for ep, sb in pairs:
            _files(c, sb, ep)
        return _Done()
    w = _Writer(c, list(pairs))
    w.start()
    return w


def _mkdir(d: str) -> bool:
    """Make the sandbox's directory; True when it is new."""
    try:
        os.mkdir(d, 0o755)
        os.chmod(d, 0o755)              # whatever the umask
        return True
    except FileExistsError:
        return False
    except FileNotFoundError:           # the files directory went
        makedirs(d, 0o755)
        return True


def forget_sandbox(c, sb) -> None:
    """Drop a sandbox whose namespace is gone: its record, its files."""
    c.store.delete("sandbox", sb.id())
    c._sandboxes.pop(sb.id(), None)
    c._by_container.pop(sb.container_id(), None)
    shutil.rmtree(files_dir(c, sb), ignore_errors=True)
    for path in (sb.hosts_path, sb.resolv_conf_path):
        if path:
            files.forget_path(path)


def write_hosts(sb) -> None:
    ip = ip6 = None
    for ep in sb.endpoints():
        if ep.addr is not None and ip is None:
            ip = ep.addr.ip
        if ep.addr6 is not None and ip6 is None:
            ip6 = ep.addr6.ip
    _hosts(sb, ip, ip6)


def _hosts(sb, ip, ip6) -> None:
    kw = dict(ip=ip, ip6=ip6, hostname=sb.spec.hostname,
              domainname=sb.spec.domainname, extra_hosts=sb.spec.extra_hosts)
    try:        # the directory of our own hosts file exists
        files.build_hosts(sb.hosts_path, parent=sb.spec.hosts_path is not None,
                          **kw)
    except FileNotFoundError:           # ... unless someone removed it
        files.build_hosts(sb.hosts_path, **kw)


def statistics(c, sb) -> dict:
    """``ip -s link`` of the sandbox's endpoint interfaces."""
    ns = None if sb.spec.use_default_sandbox else sb.key()
    stats = c.backend.link_stats(ns)
    out = {}
    for ep in sb.endpoints():
        s = stats.get(ep.ifname)
        if s is not None:
            out[ep.ifname] = InterfaceStatistics(*s)
    return out
