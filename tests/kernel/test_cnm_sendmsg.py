"""No hidden exchanges: interface indexes travel with the plan, so
attaching N sandboxes costs N + a constant ``sendmsg`` calls (one lookup of
the bridge, one batch of veths, one batch per sandbox, one batch bringing
the host ends up), and detaching them one.  Counted by the backend's own
statistics."""

from __future__ import annotations

import pytest

import libnetwork

from cnm_util import *  # noqa: F401,F403
from cnm_util import ctl, make_ctl  # noqa: F401


def sent(c) -> int:
    return c.backend.stats()["sendmsg"]


@pytest.mark.parametrize("n", [1, 10, 40])
def test_attach_is_n_plus_constant(ctl, n):
    nw = ctl.new_network("bridge", "n", ipv4=[
        libnetwork.IpamConf(preferred_pool="10.66.0.0/16")])
    cids = [f"c{i}" for i in range(n)]
    before = sent(ctl)
    eps = ctl.attach(nw, cids)
    assert sent(ctl) - before == n + 3
    assert all(ep.sandbox() is not None for ep in eps)
    before = sent(ctl)
    ctl.detach(cids)
    assert sent(ctl) - before == 1


def test_join_of_one_endpoint(ctl):
    nw = ctl.new_network("bridge", "n")
    ep = nw.create_endpoint("e")
    sb = ctl.new_sandbox("c")
    before = sent(ctl)
    ep.join(sb)
    # bridge lookup, the veth, the sandbox's batch, the host end up
    assert sent(ctl) - before == 4
