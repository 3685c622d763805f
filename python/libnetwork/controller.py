"""Controller: the entry point of the Container Network Model.

    controller = libnetwork.new(...)
    network = controller.new_network("bridge", "network1", "")
    ep = network.create_endpoint("Endpoint1")
    sbx = controller.new_sandbox("container1", option_hostname("test"))
    ep.join(sbx)

This module is the public API and the lookups.  The work lives where its
name says: plans and their execution in :mod:`~libnetwork.plan`, joins in
:mod:`~libnetwork.join`, teardown in :mod:`~libnetwork.teardown`,
namespaces and files in :mod:`~libnetwork.osl`, addresses in
:mod:`~libnetwork.allocation`, restart in :mod:`~libnetwork.reconcile`.

Every user-visible change that sets something up runs in
:meth:`Controller._change`: under the controller's lock, inside one store
transaction, with an undo log; if anything in it fails, the applied plans
are undone and the transaction rolls back, so the kernel, the store and the
objects are as they were.  Teardown is best-effort instead: it does what it
can, records exactly that, and lists what failed.

The batch API (``create_endpoints``, ``new_sandboxes``, ``attach``,
``detach``) is the same code with lists: N sandboxes and their endpoints
cost one netns call, one sendmsg for all veths and one per sandbox, and
teardown uses the kernel's bulk path (a link group), not N deletions.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Optional

from . import (allocation, checks, intents, join, marks, osl, pool,
               reaper, reconcile, sync, teardown)
from . import sandbox_files as files
from .backends import select as select_backend
from .checks import mac as _check_mac, name as _check_name
from .config import Config
from .dirs import makedirs
from .drivers import HostView, builtin_drivers
from .endpoint import Endpoint, EndpointSpec, spec_options_from_kwargs as \
    ep_kwargs
from .errors import (
    Conflict, EndpointNameExists, Forbidden, InvalidParameter,
    NetworkNameExists, NoSuchNetwork, NoSuchSandbox, UnknownDriver)
from .ipam import Allocator
from .network import Network, NetworkSpec, spec_from_kwargs as nw_kwargs
from .plan import Change
from .sandbox import Sandbox
from .store import open_store

__all__ = ["Controller", "new"]

def new(*options, **kw) -> "Controller":
    """``libnetwork.New``: a controller restored from its store.

    Options are :mod:`libnetwork.config` functions; keyword arguments
    ``data_dir``, ``exec_root``, ``backend``, ``default_address_pools``,
    ``root_namespace``, ``host_resolv_conf``, ``warm_pool`` do the same.
    """
    cfg = Config()
    for opt in options:
        opt(cfg)
    for k, v in kw.items():
        if not hasattr(cfg, k) or k == "driver_config":
            raise InvalidParameter(f"unknown controller option {k!r}")
        setattr(cfg, k, v)
    return Controller(cfg.resolved())


class Controller:
    """Owns the networks, endpoints and sandboxes of one host."""

    pool = None          # the warm pool (pool.py), when asked for

    def __init__(self, config: Config):
        self.config = config
        self._lock = threading.RLock()
        self._networks: dict = {}        # id -> Network
        self._sandboxes: dict = {}       # id -> Sandbox
        self._by_container: dict = {}    # container id -> Sandbox
        self._seen = 0                   # the store's change count we know
        self._stopped = False
        self._markers: list = []         # committed intents' markers
        self._port_range = None          # ip_local_port_range, read once
        self._port_cursor: dict = {}     # proto -> next automatic port
        #: what this start repaired (reconcile.Report)
        self.reconciled = reconcile.Report()
        self.netns_dir = os.path.join(config.exec_root, "netns")
        self.files_dir = os.path.join(config.exec_root, "sandboxes")
        #: the sandboxes' resolv.conf, built once per host file and options
        self.resolv_cache = files.ResolvCache()
        makedirs(self.netns_dir, 0o755)
        makedirs(self.files_dir, 0o755)
        self.backend = select_backend(config.backend,
                                      root=config.root_namespace)
        try:
            self.store = open_store(config.data_dir, config.exec_root)
            #: this controller's name on the host (see marks.py)
            self.identity = marks.identity(self.store, config.data_dir)
            self.mark = marks.link_alias(self.identity)
            marks.register_owner(config.exec_root, self.identity,
                                 config.data_dir)
            self.intents = intents.Intents(config.exec_root, self.identity,
                                           config.data_dir is not None)
            backend = self.backend
            self.ipam = Allocator(
                store=self.store,
                host_networks=lambda: allocation.host_networks(backend),
                default_pools=config.default_address_pools)
            self._drivers = builtin_drivers(config.driver_config)
            with self._lock, self.store.transaction():
                reconcile.restore(self)
                intents.replay(self)
                reconcile.reconcile(self)
            #: prepared sandboxes (docs/pool.md), None when off
            self.pool = (pool.Pool(self, config.warm_pool)
                         if config.warm_pool else None)
        except BaseException:
            self.backend.close()
            raise

    # ======================================================= public API

    def drivers(self) -> list:
        """Built-in network drivers."""
        return sorted(self._drivers)

    def ipam_drivers(self) -> list:
        return ["default"]

    def new_network(self, network_type: str, name: str, id: str = "",
                    *options, **kw) -> Network:
        """``ip link add br-<id> type bridge`` plus IPAM: a new network."""
        _check_name("network", name)
        checks.object_id("network", id, empty=True)
        checks.text(network_type, "network type")
        options = checks.options(options, "network")
        driver = self._drivers.get(network_type)
        if driver is None:
            raise UnknownDriver(f"no network driver {network_type!r} "
                                f"(have: {', '.join(self.drivers())})")
        spec = NetworkSpec()
        for opt in list(options) + nw_kwargs(dict(kw)):
            opt(spec)
        with self._change() as ch:
            for nw in self._networks.values():
                if nw.name() == name:
                    raise NetworkNameExists(f"network {name!r} exists")
                if id and nw.id() == id:
                    raise Conflict(f"network id {id!r} exists")
                if driver.singleton and nw.type() == network_type:
                    raise Forbidden(f"only one instance of {network_type!r} "
                                    "network is allowed")
            nw = Network(self, id or osl.new_id(), name, network_type, spec,
                         driver.scope, time.time())
            if driver.needs_ipam:
                allocation.allocate_network(self.ipam, ch, nw)
            nw.driver_state["group"] = marks.network_group(self.store)
            nw.driver_state["mark"] = self.mark
            driver.configure_network(nw, list(self._networks.values()),
                                     HostView(lambda: self.backend.links()))
            ch.apply(driver.create_network(nw))
            self._networks[nw.id()] = nw
            ch.on_undo(lambda: self._networks.pop(nw.id(), None))
            self.store.put("network", nw.id(), nw.to_json())
            return nw

    def networks(self) -> list:
        with self._lock:
            self._look()
            return list(self._networks.values())

    def network_by_name(self, name: str) -> Network:
        _check_name("network", name)
        for nw in self.networks():
            if nw.name() == name:
                return nw
        raise NoSuchNetwork(f"no network named {name!r}")

    def network_by_id(self, id_: str) -> Network:
        checks.object_id("network", id_)
        self._look()
        nw = self._networks.get(id_)
        if nw is None:
            raise NoSuchNetwork(f"no network with id {id_!r}")
        return nw

    def walk_networks(self, walker) -> None:
        """Call ``walker(network)`` for each network until it returns True."""
        for nw in self.networks():
            if walker(nw):
                return

    def new_sandbox(self, container_id: str, *options, **kw) -> Sandbox:
        """``ip netns add``: the network stack of a container."""
        return self.new_sandboxes([container_id], *options, **kw)[0]

    def new_sandboxes(self, container_ids, *options, **kw) -> list:
        """Many sandboxes (same options) in one netns call and one change."""
        container_ids = checks.container_ids(container_ids)
        spec = osl.sandbox_spec(options, kw)
        with self._change() as ch:
            sbs, plan = osl.plan_sandboxes(self, list(container_ids), spec)
            ch.apply(plan)
            osl.commit_sandboxes(self, ch, sbs)
            return sbs

    def sandboxes(self) -> list:
        with self._lock:
            self._look()
            return list(self._sandboxes.values())

    def sandbox_by_id(self, id_: str) -> Sandbox:
        checks.object_id("sandbox", id_)
        self._look()
        sb = self._sandboxes.get(id_)
        if sb is None:
            raise NoSuchSandbox(f"no sandbox with id {id_!r}")
        return sb

    def sandbox_by_container(self, container_id: str) -> Sandbox:
        checks.container_id(container_id)
        self._look()
        sb = self._by_container.get(container_id)
        if sb is None:
            raise NoSuchSandbox(f"no sandbox for container {container_id!r}")
        return sb

    def sandbox_destroy(self, id_: str) -> None:
        """Delete the sandbox with that id (NoSuchSandbox if none)."""
        teardown.delete_sandboxes(self, [self.sandbox_by_id(id_)])

    def attach(self, network: Network, container_ids, *options,
               **kw) -> list:
        """For each container: a sandbox, an endpoint named after it in
        ``network``, and the join -- all in one change and one batch per
        socket.  Sandbox options (``option_*``) and endpoint options
        (``create_option_*``) may be mixed.  All or nothing."""
        checks.owned(self, network, Network, "network")
        cids = checks.container_ids(container_ids)
        sb_opts, ep_opts = self._split_options(options)
        spec = osl.sandbox_spec(sb_opts, {k: v for k, v in kw.items()
                                          if k not in _EP_KW})
        ep_kw = {k: v for k, v in kw.items() if k in _EP_KW}
        with self._change() as ch:
            self._live_network(network)
            pooled = self.pool.take(ch, network, spec, len(cids)) \
                if self.pool else ()
            sbs, plan = osl.plan_sandboxes(self, cids, spec, pooled)
            eps = self._prep_endpoints(ch, network, cids, ep_opts, ep_kw)
            pairs = list(zip(eps, sbs))
            join_plan, commit = join.plan_joins(self, pairs, fresh=True)
            # the sandboxes' files are written while the kernel wires them
            writer = osl.write_files(self, ch, pairs)
            try:
                ch.apply(plan + join_plan + self._publish(network, eps))
            except BaseException:
                writer.wait(quiet=True)
                raise
            writer.wait()
            # the join commit writes the records once
            osl.commit_sandboxes(self, ch, sbs, save=False, written=True)
            self._commit_endpoints(ch, network, eps, save=False)
            commit(ch, hosts=False)
        if self.pool is not None:
            self.pool.refill()      # after the change, not during it
        return eps

    def detach(self, container_ids, wait: bool = True) -> None:
        """Undo :meth:`attach`: every sandbox of these containers and every
        endpoint joined to it, with one bulk link deletion.  With
        ``wait=False``, return once the containers are unreachable and
        their objects gone; the kernel's slow part is finished by a reaper
        thread, which gives addresses and ports back after it
        (docs/teardown.md)."""
        wait = checks.flag(wait, "wait")
        cids = checks.container_ids(container_ids)
        if not wait:
            return teardown.delete_sandboxes_async(self, cids)
        self._look()                      # once, not once per container
        sbs = []
        for cid in cids:
            sb = self._by_container.get(cid)
            if sb is None:
                raise NoSuchSandbox(f"no sandbox for container {cid!r}")
            sbs.append(sb)
        teardown.delete_sandboxes(self, sbs, delete_endpoints=True)

    def stop(self) -> None:
        """Release the backend and the store; kernel state stays (a new
        controller on the same store picks it up), but for the warm pool,
        deleted.  Waits for the reaper of ``detach(wait=False)`` first."""
        if self.pool is not None and not self._stopped:
            self.pool.stop()
        reaper.stop(self)
        with self._lock:
            self._stopped = True
            self.backend.close()
            self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __iter__(self):
        return iter(self.networks())

    # ===================================================== the changes

    @contextlib.contextmanager
    def _change(self):
        """One setup change: under the lock, in one store transaction,
        with an undo log and an intent (:mod:`~libnetwork.intents`): the
        intent's marker commits with the records; after a crash an intent
        without one is undone at the next start."""
        with self._lock:
            intent = self.intents.begin("setup")
            ch = Change(self.backend, self.config.root_namespace, intent)
            try:
                with self.store.transaction():
                    sync.refresh(self)  # other processes' changes first
                    for old in self._markers:
                        self.store.delete(intents.KIND, old)
                    yield ch
                    sync.count_change(self)
                    if intent.written:
                        self.store.put(intents.KIND, intent.id, {})
            except BaseException:
                if ch.rollback():
                    intent.done()           # else the next start undoes it
                raise
            self._markers = [intent.id] if intent.written else []
            intent.done()

    def _look(self) -> None:
        """Before a lookup: other processes' changes, if any (a stopped
        controller answers from what it knew)."""
        with self._lock:
            if self._stopped:
                return
            with self.store.transaction():
                sync.refresh(self)

    def _live_network(self, nw: Network) -> None:
        if self._networks.get(nw.id()) is not nw:
            raise NoSuchNetwork(f"network {nw.name()!r} was deleted")

    @staticmethod
    def _split_options(options):
        """Sandbox options (``option_*``) apart from endpoint options
        (``create_option_*``), by the kind their constructor marks."""
        sb_opts, ep_opts = [], []
        for opt in options:
            kind = getattr(opt, "option_kind", None)
            if kind not in ("sandbox", "endpoint"):
                raise InvalidParameter(f"not a sandbox or endpoint option: "
                                       f"{opt!r}")
            (sb_opts if kind == "sandbox" else ep_opts).append(opt)
        return sb_opts, ep_opts

    # ------------------------------------- what the CNM objects call

    def _endpoint(self, eid: str) -> Optional[Endpoint]:
        for nw in list(self._networks.values()):
            ep = nw._endpoints.get(eid)
            if ep is not None:
                return ep
        return None

    def _create_endpoints(self, nw: Network, names, options, kw) -> list:
        with self._change() as ch:
            self._live_network(nw)
            eps = self._prep_endpoints(ch, nw, names, options, kw)
            ch.apply(self._publish(nw, eps))
            self._commit_endpoints(ch, nw, eps)
            return eps

    def _prep_endpoints(self, ch, nw: Network, names, options, kw) -> list:
        spec_opts = list(options) + ep_kwargs(dict(kw))
        seen = {ep.name() for ep in nw._endpoints.values()}
        driver = self._drivers[nw.type()]
        # one spec for the batch: the same options give the same spec, and
        # nothing changes a spec once made
        spec = EndpointSpec()
        for opt in spec_opts:
            opt(spec)
        eps = []
        with self.ipam.batch():
            for name in names:
                eps.append(self._prep_endpoint(ch, nw, name, spec, seen,
                                               driver))
        return eps

    def _prep_endpoint(self, ch, nw, name, spec, seen, driver):
        _check_name("endpoint", name)
        if name in seen:
            raise EndpointNameExists(f"endpoint {name!r} exists in "
                                     f"network {nw.name()!r}")
        seen.add(name)
        ep = Endpoint(nw, osl.new_id(), name, spec, time.time())
        if spec.mac is not None:
            ep.mac = _check_mac(spec.mac)
        if driver.needs_ipam:
            allocation.allocate_endpoint(self.ipam, ch, nw, ep, driver)
        driver.create_endpoint(nw, ep)
        if spec.port_mapping:
            allocation.allocate_ports(self, ch, nw, ep, driver)
        return ep

    def _publish(self, nw: Network, eps) -> list:
        """The plans publishing the endpoints' ports."""
        eps = [ep for ep in eps if ep.ports]
        return self._drivers[nw.type()].publish(nw, eps) if eps else []

    def _commit_endpoints(self, ch, nw: Network, eps, save=True) -> None:
        for ep in eps:
            nw._endpoints[ep.id()] = ep
        if save:
            self.store.put_many("endpoint",
                                [(ep.id(), ep.to_json()) for ep in eps])

        def undo():
            for ep in eps:
                nw._endpoints.pop(ep.id(), None)
        ch.on_undo(undo)

    def _delete_network(self, nw: Network) -> None:
        teardown.delete_network(self, nw)

    def _delete_endpoints(self, eps, force: bool) -> None:
        teardown.delete_endpoints(self, eps, force)

    def _join_many(self, pairs) -> None:
        with self._change() as ch:
            plan, commit = join.plan_joins(self, pairs)
            ch.apply(plan)
            commit(ch)

    def _leave_many(self, pairs) -> None:
        teardown.leave(self, pairs)

    def _delete_sandboxes(self, sbs) -> None:
        teardown.delete_sandboxes(self, sbs)

    def _refresh_sandbox(self, sb, options, kw) -> None:
        """Leave every endpoint (teardown), then join them again under the
        new options (a change)."""
        eps = sb.endpoints()
        spec = osl.sandbox_spec(options, kw)
        spec.use_default_sandbox = sb.spec.use_default_sandbox
        spec.netns_path = sb.spec.netns_path
        if eps:
            teardown.leave(self, [(ep, sb) for ep in eps])
        with self._change() as ch:
            old = sb.spec
            sb.spec = spec
            ch.on_undo(lambda: setattr(sb, "spec", old))
            osl.commit_sandboxes(self, ch, [sb])
            if eps:
                plan, commit = join.plan_joins(self,
                                               [(ep, sb) for ep in eps])
                ch.apply(plan)
                commit(ch)

    def _rename_sandbox(self, sb, name: str) -> None:
        _check_name("endpoint", name)
        with self._change() as ch:
            for ep in sb.endpoints():
                for other in ep._nw.endpoints():
                    if other is not ep and other.name() == name:
                        raise EndpointNameExists(
                            f"endpoint {name!r} exists in network "
                            f"{ep._nw.name()!r}")
            for ep in sb.endpoints():
                old = ep._name
                ep._name = name
                ch.on_undo(lambda ep=ep, old=old: setattr(ep, "_name", old))
                self.store.put("endpoint", ep.id(), ep.to_json())

    def _sandbox_statistics(self, sb) -> dict:
        return osl.statistics(self, sb)


_EP_KW = {"ipv4", "ipv6", "ipam_options", "mac", "exposed_ports",
          "port_mapping", "aliases", "generic", "ifname", "default_route"}
