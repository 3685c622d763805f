"""pytest-benchmark: the firewall of issue 9.

    python -m libnetwork.isolate -- python -m pytest bench/bench_firewall.py
    LIBNETWORK_BENCH_SMOKE=1 ... pytest bench --benchmark-disable   # CI

``fw-attach-N``: ``controller.attach(network, N containers)`` on a bridge
network with masquerade (the default), with one published port each
(``port_mapping=[PortBinding("tcp", 80)]``, host ports picked by the
controller: the firewall's operations ride in the change as one nfnetlink
transaction) and without (``ports`` = ``none``, the baseline), per
backend.  ``fw-detach-N``: the detach of the same.  ``fw-txn-B``: one
``NftElemAdd`` of B port elements through each backend (the firewall's
kernel work alone; B = 1000).  ``fw-publish-N``: the exec peers publishing
N ports and masquerading the subnet -- one ``nft add rule`` per port, one
``nft add element`` per port, Docker's three ``iptables-nft`` rules per
port (``firewall/peers.py``).

Every round has its own untimed setup (``benchmark.pedantic``) and its
result checked untimed; the kernel is left to settle (the namespaces of a
detach are cleaned up in the background) before each timed call.  Skips
unless root inside ``python -m libnetwork.isolate``; a peer whose tool is
missing skips with the reason.  N = 500 (``LIBNETWORK_BENCH_FW_N``
overrides, e.g. "100 500"); with ``LIBNETWORK_BENCH_SMOKE=1``: N = 5,
B = 10, one round.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firewall.library import PortTransaction, World  # noqa: E402
from firewall.peers import PEERS, make  # noqa: E402
from firewall.rounds import BACKENDS  # noqa: E402
from wiring.measure import settle  # noqa: E402
from wiring.peer import Unavailable  # noqa: E402
from wiring.workload import require_isolated  # noqa: E402

SMOKE = os.environ.get("LIBNETWORK_BENCH_SMOKE") == "1"
NS = [5] if SMOKE else [500]
if os.environ.get("LIBNETWORK_BENCH_FW_N"):
    NS = [int(x) for x in os.environ["LIBNETWORK_BENCH_FW_N"].split()]
BATCH = 10 if SMOKE else 1000
ROUNDS = 1 if SMOKE else 3
WARMUP = 0 if SMOKE else 1
SETTLE = 0.5 if SMOKE else 2.0

_why = require_isolated()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(_why is not None, reason=_why or ""),
]


@pytest.fixture
def world():
    made = []

    def build(backend):
        try:
            w = World(backend)
        except Unavailable as exc:
            pytest.skip(f"{backend}: {exc}")
        made.append(w)
        return w
    yield build
    for w in made:
        w.close()
    settle(SETTLE)


def measure(benchmark, group, setup, target, **info):
    """``target(*args)`` timed over ROUNDS rounds, each after its own
    untimed ``setup()`` returning ``args``; asserts that it ran."""
    benchmark.group = group
    benchmark.extra_info.update(info)
    ran = []

    def timed(*args):
        target(*args)
        ran.append(True)

    benchmark.pedantic(timed, setup=lambda: (setup(), {}), rounds=ROUNDS,
                       iterations=1, warmup_rounds=WARMUP)
    assert ran, f"the {group} target never ran"


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("ports", ["port", "none"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_attach(benchmark, world, backend, ports, n):
    w, on = world(backend), ports == "port"

    def setup():
        if w.attached:                       # the previous round's
            w.check(n, on)
            w.detach(w.attached)
            w.check(0, on)
        settle(SETTLE)
        gc.collect()
        return (w.ids(n),)

    measure(benchmark, f"fw-attach-{n}", setup,
            lambda cids: w.attach(cids, on),
            backend=backend, ports=ports, n=n)
    w.check(n, on)
    w.detach(w.attached)
    w.check(0, on)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("ports", ["port", "none"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_detach(benchmark, world, backend, ports, n):
    w, on = world(backend), ports == "port"
    pending = []

    def setup():
        if pending:
            w.check(0, on)
            pending.pop()
        cids = w.ids(n)
        w.attach(cids, on)
        w.check(n, on)
        settle(SETTLE)
        gc.collect()
        return (cids,)

    def target(cids):
        w.detach(cids)
        pending.append(True)

    measure(benchmark, f"fw-detach-{n}", setup, target,
            backend=backend, ports=ports, n=n)
    w.check(0, on)


@pytest.mark.parametrize("backend", BACKENDS)
def test_port_transaction(benchmark, backend):
    try:
        txn = PortTransaction(backend)
    except Unavailable as exc:
        pytest.skip(f"{backend}: {exc}")
    added = []

    def setup():
        if added:                   # check and remove the previous round's
            added.pop()
            txn.remove()
        gc.collect()
        return ()

    inputs = txn.inputs(BATCH)

    def target():
        txn.add(inputs)
        added.append(True)

    try:
        measure(benchmark, f"fw-txn-{BATCH}", setup, target,
                backend=backend, n=BATCH)
        if added:
            txn.remove()
    finally:
        txn.close()


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("peer", list(PEERS))
def test_peer_publish(benchmark, peer, n):
    try:
        p = make(peer)
    except Unavailable as exc:
        pytest.skip(f"{peer}: {exc}")
    p.prepare()
    published = []

    def setup():
        if published:               # the previous round's: checked, gone
            published.pop()
            p.check(n)
            p.cleanup()
            p.prepare()
        settle(SETTLE, 0.05)
        return ()

    def target():
        p.publish(n)
        published.append(True)

    try:
        measure(benchmark, f"fw-publish-{n}", setup, target, peer=peer,
                n=n, execs=1 + p.count() * n)
        p.check(n)
    finally:
        p.cleanup()
