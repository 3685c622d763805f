"""No silent empty start: a store that is missing (while the exec root
holds our namespaces, or its identity file remains), empty, truncated or
corrupt, with live containers, stops start-up with StoreUnusable naming
the file, and the kernel is unchanged; libnetwork.recover() then moves it
aside (after an explicit confirmation) and removes the old store's
objects, and only those."""

from __future__ import annotations

import os
import time

import pytest

import libnetwork
from libnetwork.firewall.ruleset import table_name
from libnetwork import IpamConf
from libnetwork.errors import InvalidParameter, StoreUnusable

from cnm_util import *  # noqa: F401,F403
from cnm_util import is_netns, make_ctl, ns_links, nsexec  # noqa: F401
from kernel_util import make_netns


def live(make_ctl):
    c = make_ctl()
    nw = c.new_network("bridge", "n", ipv4=[IpamConf("10.140.0.0/24")])
    c.attach(nw, ["a", "b"])
    c.stop()
    return c


def kernel(c, netns):
    return sorted((link.name, link.alias) for link in
                  ns_links(netns).values()), sorted(os.listdir(c.netns_dir))


def damage(path, how):
    if how in ("missing", "missing-no-namespaces"):
        for extra in ("", "-wal", "-shm"):
            if os.path.exists(path + extra):
                os.unlink(path + extra)
        return
    data = bytearray(open(path, "rb").read())
    if how == "empty":
        data = b""
    elif how == "truncated":
        data = data[:len(data) // 2]
    else:
        for off in range(1024, len(data), 331):
            data[off:off + 48] = os.urandom(48)
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("how", ["missing", "missing-no-namespaces",
                                 "empty", "truncated", "corrupt"])
def test_untrusted_store_stops_start_up(make_ctl, netns, how):
    c = live(make_ctl)
    db = os.path.join(c.config.data_dir, "local.db")
    if how == "missing-no-namespaces":
        # even with the exec root emptied, the identity file tells
        for sb in c.sandboxes():
            nsexec(netns, "umount", sb.key())
            os.unlink(sb.key())
        # the kernel destroys them (and their veths) in the background
        deadline = time.monotonic() + 10
        while any(n.startswith("veth") for n in ns_links(netns)) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
    damage(db, how)
    before = kernel(c, netns)
    with pytest.raises(StoreUnusable) as ei:
        make_ctl()
    assert ei.value.path == db
    assert "recover" in str(ei.value)
    assert kernel(c, netns) == before


def test_recover_moves_aside_and_purges_only_its_own(make_ctl, netns,
                                                     tmp_path, nsdir):
    c = live(make_ctl)
    other = make_ctl(data_dir=str(tmp_path / "data-other"),
                     exec_root=c.config.exec_root)
    onw = other.new_network("bridge", "o", ipv4=[IpamConf("10.141.0.0/24")])
    other.attach(onw, ["x"])
    user_ns = make_netns(os.path.join(c.netns_dir, "user-ns"))
    r = nsexec(netns, "ip", "link", "add", "uveth", "type", "veth", "peer",
               "name", "upeer")
    assert r.returncode == 0, r.stderr
    db = os.path.join(c.config.data_dir, "local.db")
    damage(db, "corrupt")
    with pytest.raises(StoreUnusable):
        make_ctl()
    with pytest.raises(InvalidParameter, match="confirm=True"):
        libnetwork.recover(c.config.data_dir, c.config.exec_root,
                           root_namespace=netns)
    done = libnetwork.recover(c.config.data_dir, c.config.exec_root,
                              confirm=True, root_namespace=netns)
    assert done["identity"] == c.identity
    assert sorted(done["namespaces"]) == sorted(sb.key()
                                                for sb in c.sandboxes())
    assert os.path.exists(done["moved"][0]) and not os.path.exists(db)
    links = ns_links(netns)
    assert not any(link.alias == c.mark for link in links.values())
    assert {"uveth", "upeer"} <= set(links) and is_netns(user_ns)
    # the other store's containers are intact and still its own, and so
    # is its firewall table; ours is gone
    assert onw.driver_state["bridge"] in links
    assert all(is_netns(sb.key()) for sb in other.sandboxes())
    tables = nsexec(netns, "nft", "list", "tables").stdout.split()
    assert table_name(other.identity) in tables
    assert table_name(c.identity) not in tables
    fresh = make_ctl()
    assert fresh.networks() == [] and fresh.identity != c.identity
    assert fresh.new_network("bridge", "n", ipv4=[
        IpamConf("10.140.0.0/24")]) is not None
