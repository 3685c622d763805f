"""The bad-input catalogue: arguments of the wrong type, shape or value at
the API boundary (``libnetwork.checks``), each refused with one exact
:class:`~libnetwork.errors.LibnetworkError` subclass whose message names
what was wrong, and followed by a kernel + store snapshot comparison
(``cnm_util.snapshot``): a refused call changes nothing.  The cases are
in ``bad_input_cases.py``.

``docs/bad-input.md`` lists every case (the call, the error, why);
:func:`test_the_document_lists_every_case` keeps the two in step.
"""

from __future__ import annotations

import os
import re

import pytest

import libnetwork
from libnetwork import IpamConf, errors

from cnm_util import *  # noqa: F401,F403
from cnm_util import assert_unchanged, nsexec, snapshot
from bad_input_cases import CASES, DOC


class World:
    pass


@pytest.fixture
def world(ctl, make_ctl, make_ns, netns, nsdir):
    """A bridge network (10.60.0.0/24) with a joined and a free endpoint,
    two sandboxes, a veth ``up0`` to be a macvlan parent, and a second
    controller with a network and a sandbox of its own (no kernel objects:
    a null network, a sandbox in its root namespace).  The second
    controller has a root namespace of its own: at start it reconciles its
    root, where links of the first would look like its orphans."""
    w = World()
    w.c, w.make_ctl, w.nsdir = ctl, make_ctl, nsdir
    w.net = ctl.new_network("bridge", "net1", ipv4=[IpamConf("10.60.0.0/24")])
    w.joined = w.net.create_endpoint("joined")
    w.free = w.net.create_endpoint("free")
    w.sb = ctl.new_sandbox("c1", hostname="c1")
    w.sb2 = ctl.new_sandbox("c2")
    w.joined.join(w.sb)
    r = nsexec(netns, "ip", "link", "add", "up0", "type", "veth", "peer",
               "name", "up1")
    assert r.returncode == 0, r.stderr
    w.other = make_ctl(data_dir=None, exec_root=os.path.join(nsdir, "other"),
                       root_namespace=make_ns("other-root"))
    w.onet = w.other.new_network("null", "none")
    w.osb = w.other.new_sandbox("oc",
                                libnetwork.option_use_default_sandbox())
    return w


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(world, backend, case):
    _, call, exc, text = case
    before = snapshot(world.c, backend)
    with pytest.raises(errors.LibnetworkError) as ei:
        call(world)
    assert ei.type is exc, f"{ei.type.__name__} is not {exc.__name__}"
    assert text in str(ei.value), f"{text!r} not in {str(ei.value)!r}"
    assert_unchanged(before, world.c, backend)
    # and the world still works: the next endpoint gets the next address
    nxt = world.net.create_endpoint("after")
    assert str(nxt.info().iface().address()) == "10.60.0.4/24"


def test_the_document_lists_every_case():
    """docs/bad-input.md has one row per case, in the same order, with the
    same error type."""
    rows = []
    with open(DOC) as f:
        for line in f:
            m = re.match(r"\| `([a-z0-9-]+)` \| .* \| `(\w+)` \| .+ \|$",
                         line.rstrip("\n"))
            if m:
                rows.append(m.groups())
    assert rows == [(c[0], c[2].__name__) for c in CASES]


def test_snapshot_sees_what_it_claims(world, backend, netns):
    """Each part of the snapshot notices a change to what it covers."""
    def changed(change):
        before = snapshot(world.c, backend)
        change()
        after = snapshot(world.c, backend)
        return {k for k in before if before[k] != after[k]}

    bridge = world.net.driver_state["bridge"]
    assert changed(lambda: nsexec(netns, "ip", "link", "set", bridge,
                                  "mtu", "1400")) == {"root_links"}
    assert changed(lambda: nsexec(world.sb.key(), "ip", "link", "set",
                                  "eth0", "down")) >= {"ns_contents"}
    with open(world.sb2.hosts_path, "a") as f:
        assert changed(lambda: (f.write("# edited\n"), f.flush())) \
            == {"files"}
    assert changed(lambda: setattr(world.free, "mac",
                                   "02:42:00:00:00:99")) == {"objects"}
    assert changed(lambda: world.c.store.put("sandbox", "x", {})) >= {
        "store"}
