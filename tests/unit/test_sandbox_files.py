"""The sandbox_files package as a whole: its one import surface, and how
its files are written (libnetwork.sandbox_files.fileio).  The contents are
tested in test_hosts.py and test_resolv_conf.py.  No root; every file
lives under tmp_path.
"""

from __future__ import annotations

import importlib

from libnetwork import sandbox_files as sf
from libnetwork.sandbox_files import fileio


def test_every_name_is_exported_from_the_package():
    owners = {name: importlib.import_module(f"libnetwork.sandbox_files.{m}")
              for m in ("hosts", "resolvconf", "fileio")
              for name in importlib.import_module(
                  f"libnetwork.sandbox_files.{m}").__all__}
    for name in sf.__all__:
        assert getattr(sf, name) is getattr(owners[name], name), name


def test_files_are_rewritten_in_place(tmp_path):
    # a runtime bind-mounts each file: its inode must never change
    hosts = tmp_path / "sb" / "hosts"
    sf.build_hosts(str(hosts), ip="10.0.0.2", hostname="a")
    ino = hosts.stat().st_ino
    sf.add_hosts(str(hosts), [("db", "10.0.0.9")])
    sf.update_hosts(str(hosts), "10.0.0.3", "a")
    sf.delete_hosts(str(hosts), [("db", "10.0.0.9")])
    sf.build_hosts(str(hosts), hostname="a")
    assert hosts.stat().st_ino == ino

    host = tmp_path / "host-resolv.conf"
    host.write_text("nameserver 192.0.2.1\n")
    resolv = tmp_path / "sb" / "resolv.conf"
    sf.build_resolv_conf(str(resolv), host_resolv=str(host))
    ino = resolv.stat().st_ino
    host.write_text("nameserver 192.0.2.2\n")
    assert sf.update_resolv_conf(str(resolv), host_resolv=str(host))
    assert resolv.read_text() == "nameserver 192.0.2.2\n"
    sf.build_resolv_conf(str(resolv), host_resolv=str(host), dns=["1.1.1.1"])
    assert resolv.stat().st_ino == ino


def test_one_lock_per_path_whatever_its_spelling(tmp_path):
    path = str(tmp_path / "hosts")
    lock = fileio.path_lock(path)
    assert fileio.path_lock(f"{tmp_path}/./hosts") is lock
    assert fileio.path_lock(f"{tmp_path}/x/../hosts") is lock
    # reentrant: an update may call a build under the same path's lock
    with lock, fileio.path_lock(path):
        pass
    # no state per path: forgetting a path leaves the locks as they were
    others = {fileio.path_lock(str(tmp_path / f"f{i}")) for i in range(500)}
    sf.forget_path(path)
    assert fileio.path_lock(path) is lock
    assert others <= set(fileio._locks) and len(fileio._locks) == 64
