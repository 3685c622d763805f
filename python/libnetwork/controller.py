"""Controller: the entry point of the Container Network Model.

    controller = libnetwork.new(...)
    network = controller.new_network("bridge", "network1", "")
    ep = network.create_endpoint("Endpoint1")
    sbx = controller.new_sandbox("container1", option_hostname("test"))
    ep.join(sbx)

Every user-visible change runs in :meth:`Controller._change`: under the
controller's lock, inside one store transaction, with an undo log.  Kernel
work goes through plans (lists of ``(op, undo)``) executed in one backend
batch; if anything later in the change fails, the applied plans are undone
in reverse and the store transaction rolls back, so a failed change leaves
the kernel, the store and the objects as they were.

The batch API (``create_endpoints``, ``new_sandboxes``, ``attach``,
``detach``) is the same code with lists: N sandboxes and their endpoints
cost one netns call, one sendmsg for all veths and one batch per sandbox,
and teardown uses the kernel's bulk path (a link group), not N deletions.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import secrets
import shutil
import threading
import time
from typing import Optional

from . import netlabel
from . import sandbox_files as files
from .backends import ops as O
from .backends import select as select_backend
from .config import Config
from .drivers import builtin_drivers
from .endpoint import Endpoint, EndpointSpec, spec_options_from_kwargs as \
    ep_kwargs
from .errors import (
    ActiveContainer, ActiveEndpoints, AlreadyJoined, BridgeFull, Conflict,
    EndpointNameExists, Forbidden, InvalidName, InvalidParameter,
    LibnetworkError, NetlinkError, NetworkNameExists, NoSuchEndpoint,
    NoSuchNetwork,
    NoSuchSandbox, NotJoined, SandboxExists, UnknownDriver)
from .ipam import Allocator
from .network import IpamConf, IpamInfo, Network, NetworkSpec, \
    spec_from_kwargs as nw_kwargs
from .sandbox import InterfaceStatistics, Sandbox, SandboxSpec, \
    spec_options_from_kwargs as sb_kwargs
from .store import open_store

__all__ = ["Controller", "new"]

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
GROUP_BASE = 0x4C4E0000      # "LN": link groups of networks (ownership)
GROUP_TEMP = 0x4C4F0000      # "LO": short-lived groups for bulk deletion
GROUP_MASK = 0xFFFE0000


def _check_name(kind: str, name) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 255:
        raise InvalidName(f"invalid {kind} name {name!r}: expected "
                          "[a-zA-Z0-9][a-zA-Z0-9_.-]*")
    return name


def _check_mac(mac) -> str:
    if not isinstance(mac, str) or not _MAC.match(mac) or \
            int(mac[:2], 16) & 1:
        raise InvalidParameter(f"invalid MAC address {mac!r}: expected a "
                               "unicast aa:bb:cc:dd:ee:ff")
    return mac.lower()


def _new_id() -> str:
    return secrets.token_hex(32)


class _Change:
    """The undo log of one user-visible change."""

    def __init__(self, controller):
        self._c = controller
        self._undo: list = []

    def apply(self, plan, missing_ok: bool = False) -> None:
        """Execute a plan; on failure undo its applied steps and raise.
        ``missing_ok``: deleting a link that is already gone succeeds."""
        undos = self._c._run_plan(plan, missing_ok)
        if undos:
            self._undo.append(("ops", undos))

    def on_undo(self, fn) -> None:
        self._undo.append(("fn", fn))

    def rollback(self) -> None:
        for kind, item in reversed(self._undo):
            try:
                if kind == "ops":
                    self._c._undo_ops(item)
                else:
                    item()
            except Exception:       # best effort: the original error wins
                pass


def new(*options, **kw) -> "Controller":
    """``libnetwork.New``: a controller restored from its store.

    Options are :mod:`libnetwork.config` functions; keyword arguments
    ``data_dir``, ``exec_root``, ``backend``, ``default_address_pools``,
    ``root_namespace``, ``host_resolv_conf`` do the same.
    """
    cfg = Config()
    for opt in options:
        opt(cfg)
    for k, v in kw.items():
        if not hasattr(cfg, k) or k == "driver_config":
            raise InvalidParameter(f"unknown controller option {k!r}")
        setattr(cfg, k, v)
    return Controller(cfg.resolved())


def group_sandbox_steps(plan: list, root) -> list:
    """``plan`` (``[(op, undo)]``) with, within each run of consecutive
    steps inside sandboxes, the steps of one sandbox together, in their
    order: each sandbox then is one batch on its socket rather than one per
    kind of step (``lo`` up of every new sandbox, then every join ...).
    A run is left as it is when one of its steps moves a link between
    namespaces (``netns``, ``peer_ns``): only then could one sandbox's steps
    depend on another's."""
    out: list = []
    i, n = 0, len(plan)

    def in_sandbox(op):
        return not isinstance(op, O.NetnsCreate) and op.ns is not None \
            and op.ns != root
    while i < n:
        if not in_sandbox(plan[i][0]):
            out.append(plan[i])
            i += 1
            continue
        j = i
        while j < n and in_sandbox(plan[j][0]):
            j += 1
        run = plan[i:j]
        if any(getattr(s[0], "netns", None) is not None or
               getattr(s[0], "peer_ns", None) is not None for s in run):
            out += run
        else:
            by_ns: dict = {}
            for s in run:
                by_ns.setdefault(s[0].ns, []).append(s)
            for steps in by_ns.values():
                out += steps
        i = j
    return out


class Controller:
    """Owns the networks, endpoints and sandboxes of one host."""

    def __init__(self, config: Config):
        self.config = config
        self._lock = threading.RLock()
        self._networks: dict = {}        # id -> Network
        self._sandboxes: dict = {}       # id -> Sandbox
        self._by_container: dict = {}    # container id -> Sandbox
        self._temp_group = 0
        self.netns_dir = os.path.join(config.exec_root, "netns")
        self.files_dir = os.path.join(config.exec_root, "sandboxes")
        os.makedirs(self.netns_dir, mode=0o755, exist_ok=True)
        os.makedirs(self.files_dir, mode=0o755, exist_ok=True)
        self.backend = select_backend(config.backend,
                                      root=config.root_namespace)
        try:
            self.store = open_store(config.data_dir)
            self.ipam = Allocator(store=self.store,
                                  host_networks=self._host_networks,
                                  default_pools=config.default_address_pools)
            self._drivers = builtin_drivers(self)
            with self._lock, self.store.transaction():
                self._restore()
                self._reconcile()
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
        if id != "" and (not isinstance(id, str) or not _NAME.match(id)):
            raise InvalidParameter(f"invalid network id {id!r}: expected "
                                   "[a-zA-Z0-9][a-zA-Z0-9_.-]* or ''")
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
            nw = Network(self, id or _new_id(), name, network_type, spec,
                         driver.scope, time.time())
            if not driver.singleton:
                self._allocate_network(ch, nw)
                driver.configure_network(nw, self._networks.values())
            nw.driver_state["group"] = self._network_group()
            try:
                ch.apply(driver.create_network(nw))
            except NetlinkError as exc:
                if isinstance(exc.op, O.LinkAddBridge) and exc.errno == 17:
                    raise Conflict(f"bridge {exc.op.name!r} already exists "
                                   "in the kernel") from exc
                raise
            self._networks[nw.id()] = nw
            ch.on_undo(lambda: self._networks.pop(nw.id(), None))
            self.store.put("network", nw.id(), nw.to_json())
            return nw

    def networks(self) -> list:
        return list(self._networks.values())

    def network_by_name(self, name: str) -> Network:
        for nw in self._networks.values():
            if nw.name() == name:
                return nw
        raise NoSuchNetwork(f"no network named {name!r}")

    def network_by_id(self, id_: str) -> Network:
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
        spec = self._sandbox_spec(options, kw)
        with self._change() as ch:
            sbs, plan = self._prep_sandboxes(list(container_ids), spec)
            ch.apply(plan)
            self._commit_sandboxes(ch, sbs)
            return sbs

    def sandboxes(self) -> list:
        return list(self._sandboxes.values())

    def sandbox_by_id(self, id_: str) -> Sandbox:
        sb = self._sandboxes.get(id_)
        if sb is None:
            raise NoSuchSandbox(f"no sandbox with id {id_!r}")
        return sb

    def sandbox_by_container(self, container_id: str) -> Sandbox:
        sb = self._by_container.get(container_id)
        if sb is None:
            raise NoSuchSandbox(f"no sandbox for container {container_id!r}")
        return sb

    def sandbox_destroy(self, id_: str) -> None:
        """Delete the sandbox with that id (NoSuchSandbox if none)."""
        self._delete_sandboxes([self.sandbox_by_id(id_)])

    def attach(self, network: Network, container_ids, *options,
               **kw) -> list:
        """For each container: a sandbox, an endpoint named after it in
        ``network``, and the join -- all in one change and one batch per
        socket.  Sandbox options (``option_*``) and endpoint options
        (``create_option_*``) may be mixed.  All or nothing."""
        cids = list(container_ids)
        sb_opts, ep_opts = self._split_options(options)
        spec = self._sandbox_spec(sb_opts, {k: v for k, v in kw.items()
                                            if k not in _EP_KW})
        ep_kw = {k: v for k, v in kw.items() if k in _EP_KW}
        with self._change() as ch:
            self._live_network(network)
            sbs, plan = self._prep_sandboxes(cids, spec)
            eps = self._prep_endpoints(ch, network, cids, ep_opts, ep_kw)
            pairs = list(zip(eps, sbs))
            join_plan, commit = self._prep_joins(pairs, fresh=True)
            ch.apply(plan + join_plan)
            # the join commit writes the endpoints and hosts files once
            self._commit_sandboxes(ch, sbs, hosts=False)
            self._commit_endpoints(ch, network, eps, save=False)
            commit(ch)
            return eps

    def detach(self, container_ids) -> None:
        """Undo :meth:`attach`: every sandbox of these containers and every
        endpoint joined to it, with one bulk link deletion."""
        sbs = [self.sandbox_by_container(c) for c in container_ids]
        self._delete_sandboxes(sbs, delete_endpoints=True)

    def stop(self) -> None:
        """Release the backend and the store; kernel state stays (a new
        controller on the same store picks it up)."""
        with self._lock:
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
        with self._lock, self.store.transaction():
            ch = _Change(self)
            try:
                yield ch
            except BaseException:
                ch.rollback()
                raise

    def _run_plan(self, plan, missing_ok: bool = False) -> list:
        """Execute ``[(op, undo)]`` as one batch, phase-ordered: namespace
        creation, then the root namespace, then inside sandboxes (stable,
        so each endpoint's own order holds).  Returns the undo ops of the
        applied steps; on failure undoes them and raises the first error."""
        if not plan:
            return []
        root = self.config.root_namespace
        creates = (O.LinkAddBridge, O.LinkAddVeth)

        def phase(step):
            op = step[0]
            if isinstance(op, O.NetnsCreate):
                return 0
            in_root = op.ns is None or op.ns == root
            if in_root and type(op) is O.LinkSet and op.up:
                return 5
            sandbox = 0 if in_root else 2
            return sandbox + (1 if isinstance(op, creates) else 2)
        # namespaces; links created in the root namespace, then what uses
        # them there; the same inside sandboxes; last, root links brought
        # up (a veth's host end once its sandbox end is up: an end that is
        # up without carrier costs an RCU grace period in the kernel's link
        # watch, under the RTNL lock).  Stable, so each driver plan keeps
        # its own order within a phase, and N endpoints' steps form a
        # handful of runs (one sendmsg each), not N.
        plan = sorted(plan, key=phase)
        plan = group_sandbox_steps(plan, root)
        results = self.backend.execute([s[0] for s in plan],
                                       stop_on_error=True)
        undos = [s[1] for s, r in zip(plan, results)
                 if r.ok and s[1] is not None]
        failed = next((r for r in results if not r.ok and not (
            missing_ok and r.errno == errno.ENODEV and isinstance(
                r.op, (O.LinkDel, O.LinkDelGroup)))), None)
        if failed is not None:
            try:
                self._undo_ops(undos)
            finally:
                raise self._translate(failed)
        return undos

    @staticmethod
    def _translate(result) -> LibnetworkError:
        exc = result.exception()
        if result.errno == errno.EXFULL and isinstance(result.op, O.LinkAddVeth):
            err = BridgeFull(f"bridge {result.op.master!r} has the kernel's "
                             "maximum of 1023 ports")
            err.__cause__ = exc
            return err
        return exc

    def _undo_ops(self, undos) -> None:
        """Reverse applied steps: links in bulk (a temporary link group per
        namespace, one kernel deletion), then everything else in reverse,
        namespaces last."""
        dels: dict = {}
        rest, nsdel = [], []
        for op in reversed(undos):
            if isinstance(op, O.LinkDel):
                dels.setdefault(op.ns, []).append(op.link)
            elif isinstance(op, O.NetnsDelete):
                nsdel.append(op)
            else:
                rest.append(op)
        batch = []
        for ns, links in dels.items():
            batch += self._bulk_delete(links, ns)
        self.backend.execute(batch + rest + nsdel)

    def _bulk_delete(self, links, ns=None) -> list:
        """Ops deleting ``links`` with one RCU grace period, not one each."""
        if len(links) == 1:
            return [O.LinkDel(links[0], ns=ns)]
        self._temp_group = (self._temp_group + 1) & 0xFFFF
        group = GROUP_TEMP | (os.getpid() & 0xFF) << 8 | (self._temp_group
                                                          & 0xFF)
        return ([O.LinkSet(link, group=group, ns=ns) for link in links]
                + [O.LinkDelGroup(group, ns=ns)])

    def _network_group(self) -> int:
        used = {nw.driver_state.get("group") for nw in self._networks.values()}
        for k in range(1, 0x10000):
            if GROUP_BASE | k not in used:
                return GROUP_BASE | k
        raise Conflict("no free link group for another network")

    # --------------------------------------------------------- networks

    def _allocate_network(self, ch, nw: Network) -> None:
        spec = nw.spec
        local, _ = self.ipam.get_default_address_spaces()
        spec.address_space = spec.address_space or local
        if spec.ipam_driver != "default":
            raise UnknownDriver(f"no IPAM driver {spec.ipam_driver!r}")
        if spec.enable_ipv6 and not spec.ipv6:
            raise InvalidParameter("IPv6 is enabled but no IPv6 pool was "
                                   "given (network_option_ipam(ipv6=...))")
        nw.ipam_v4 = [self._allocate_pool(ch, spec, c, False)
                      for c in (spec.ipv4 or [IpamConf()])]
        if spec.enable_ipv6:
            nw.ipam_v6 = [self._allocate_pool(ch, spec, c, True)
                          for c in spec.ipv6]

    def _allocate_pool(self, ch, spec, conf: IpamConf, v6: bool) -> IpamInfo:
        ipam = self.ipam
        pool_id, pool, meta = ipam.request_pool(
            spec.address_space, conf.preferred_pool, conf.sub_pool,
            spec.ipam_options, v6)
        ch.on_undo(lambda: ipam.release_pool(pool_id))
        gw = ipam.request_address(
            pool_id, conf.gateway,
            {netlabel.REQUEST_ADDRESS_TYPE: netlabel.GATEWAY})
        ch.on_undo(lambda: ipam.release_address(pool_id, gw.ip))
        aux = {}
        for name, ip in (conf.aux_addresses or {}).items():
            a = ipam.request_address(pool_id, ip, None)
            ch.on_undo(lambda a=a: ipam.release_address(pool_id, a.ip))
            aux[name] = a
        return IpamInfo(pool_id, pool, gw, aux, dict(meta or {}))

    def _release_network_ipam(self, nw: Network) -> None:
        for info in nw.ipam_v4 + nw.ipam_v6:
            for a in list(info.aux_addresses.values()) + [info.gateway]:
                if a is not None:
                    self.ipam.release_address(info.pool_id, a.ip)
            self.ipam.release_pool(info.pool_id)

    def _delete_network(self, nw: Network) -> None:
        driver = self._drivers[nw.type()]
        with self._change() as ch:
            self._live_network(nw)
            if driver.singleton:
                raise Forbidden(f"{nw.type()!r} network {nw.name()!r} cannot "
                                "be deleted")
            if nw._endpoints:
                raise ActiveEndpoints(
                    f"network {nw.name()!r} has active endpoints: "
                    f"{', '.join(ep.name() for ep in nw.endpoints())}")
            ch.apply(driver.delete_network(nw), missing_ok=True)
            self._release_network_ipam(nw)
            self.store.delete("network", nw.id())
            self._networks.pop(nw.id())
            ch.on_undo(lambda: self._networks.__setitem__(nw.id(), nw))

    def _live_network(self, nw: Network) -> None:
        if self._networks.get(nw.id()) is not nw:
            raise NoSuchNetwork(f"network {nw.name()!r} was deleted")

    # -------------------------------------------------------- endpoints

    def _endpoint(self, eid: str) -> Optional[Endpoint]:
        for nw in self._networks.values():
            ep = nw._endpoints.get(eid)
            if ep is not None:
                return ep
        return None

    def _create_endpoints(self, nw: Network, names, options, kw) -> list:
        with self._change() as ch:
            self._live_network(nw)
            eps = self._prep_endpoints(ch, nw, names, options, kw)
            self._commit_endpoints(ch, nw, eps)
            return eps

    def _prep_endpoints(self, ch, nw: Network, names, options, kw) -> list:
        spec_opts = list(options) + ep_kwargs(dict(kw))
        seen = {ep.name() for ep in nw._endpoints.values()}
        driver = self._drivers[nw.type()]
        eps = []
        for name in names:
            _check_name("endpoint", name)
            if name in seen:
                raise EndpointNameExists(f"endpoint {name!r} exists in "
                                         f"network {nw.name()!r}")
            seen.add(name)
            spec = EndpointSpec()
            for opt in spec_opts:
                opt(spec)
            ep = Endpoint(nw, _new_id(), name, spec, time.time())
            if spec.mac is not None:
                ep.mac = _check_mac(spec.mac)
            if not driver.singleton:
                self._allocate_endpoint(ch, nw, ep, driver)
            driver.create_endpoint(nw, ep)
            eps.append(ep)
        return eps

    def _allocate_endpoint(self, ch, nw, ep, driver) -> None:
        ipam, spec = self.ipam, ep.spec
        if nw.ipam_v4:
            info = self._pool_for(nw.ipam_v4, spec.ipv4)
            ep.addr = ipam.request_address(info.pool_id, spec.ipv4,
                                           spec.ipam_options)
            ep.pool_v4 = info.pool_id
            ch.on_undo(lambda: ipam.release_address(info.pool_id, ep.addr.ip))
        if nw.ipam_v6:
            info6 = self._pool_for(nw.ipam_v6, spec.ipv6)
            want = spec.ipv6
            if want is None and getattr(driver, "wants_eui64", None) and \
                    driver.wants_eui64(nw):
                from .drivers.bridge import eui64, mac_from_ipv4
                mac = ep.mac or (mac_from_ipv4(ep.addr.ip) if ep.addr else None)
                if mac is not None and info6.pool.prefixlen == 64:
                    ep.mac = mac
                    want = str(eui64(info6.pool, mac))
            ep.addr6 = ipam.request_address(info6.pool_id, want,
                                            spec.ipam_options)
            ep.pool_v6 = info6.pool_id
            ch.on_undo(lambda: ipam.release_address(info6.pool_id,
                                                    ep.addr6.ip))

    @staticmethod
    def _pool_for(infos, want) -> IpamInfo:
        if want is not None:
            try:
                ip = ipaddress.ip_address(str(want).split("/")[0])
            except ValueError:
                raise InvalidParameter(f"invalid address {want!r}") from None
            for info in infos:
                if ip in info.pool:
                    return info
        return infos[0]

    def _commit_endpoints(self, ch, nw: Network, eps, save=True) -> None:
        for ep in eps:
            nw._endpoints[ep.id()] = ep
            if save:
                self.store.put("endpoint", ep.id(), ep.to_json())

        def undo():
            for ep in eps:
                nw._endpoints.pop(ep.id(), None)
        ch.on_undo(undo)

    def _delete_endpoints(self, eps, force: bool) -> None:
        with self._change() as ch:
            joined = [ep for ep in eps if ep.sandbox_id is not None]
            if joined and not force:
                raise ActiveContainer(
                    f"endpoint {joined[0].name()!r} is attached to sandbox "
                    f"{joined[0].sandbox().container_id()!r}; leave first "
                    "or delete(force=True)")
            if joined:
                self._leave(ch, [(ep, ep.sandbox()) for ep in joined])
            self._drop_endpoints(ch, eps)

    def _drop_endpoints(self, ch, eps) -> None:
        for ep in eps:
            nw = ep._nw
            if nw._endpoints.get(ep.id()) is not ep:
                continue
            self._drivers[nw.type()].delete_endpoint(nw, ep)
            if ep.addr is not None:
                self.ipam.release_address(ep.pool_v4, ep.addr.ip)
            if ep.addr6 is not None:
                self.ipam.release_address(ep.pool_v6, ep.addr6.ip)
            self.store.delete("endpoint", ep.id())
            del nw._endpoints[ep.id()]
            ch.on_undo(lambda nw=nw, ep=ep:
                       nw._endpoints.__setitem__(ep.id(), ep))

    # ------------------------------------------------------ join, leave

    def _join_many(self, pairs) -> None:
        with self._change() as ch:
            plan, commit = self._prep_joins(pairs)
            ch.apply(plan)
            commit(ch)

    def _prep_joins(self, pairs, fresh=False):
        """Validate joins and plan them; returns (plan, commit(ch)).
        ``fresh``: the endpoints and sandboxes are being created by the same
        change (attach), so they are not registered yet."""
        plan, staged = [], []
        taken: dict = {}                       # sandbox id -> ifnames
        gw_new: dict = {}                      # sandbox id -> endpoint
        seen = set()
        for ep, sb in pairs:
            nw = ep._nw
            self._live_network(nw)
            if not fresh and nw._endpoints.get(ep.id()) is not ep:
                raise NoSuchEndpoint(f"endpoint {ep.name()!r} was deleted")
            if not fresh and self._sandboxes.get(sb.id()) is not sb:
                raise NoSuchSandbox(f"sandbox {sb.container_id()!r} was "
                                    "deleted")
            if ep.sandbox_id is not None or ep.id() in seen:
                raise AlreadyJoined(f"endpoint {ep.name()!r} is already "
                                    "joined to a sandbox")
            seen.add(ep.id())
            driver = self._drivers[nw.type()]
            if (nw.type() == "host") != sb.spec.use_default_sandbox:
                raise Forbidden(
                    f"endpoint {ep.name()!r} of {nw.type()!r} network cannot "
                    f"join {'the host' if sb.spec.use_default_sandbox else 'a private'}"
                    " sandbox: host endpoints join sandboxes made with "
                    "option_use_default_sandbox(), others private ones")
            names = taken.setdefault(sb.id(), {
                e.ifname for e in sb.endpoints() if e.ifname})
            ifname = None
            if nw.type() not in ("host", "null"):
                n = 0
                while f"eth{n}" in names:
                    n += 1
                ifname = f"eth{n}"
                names.add(ifname)
            plan += driver.join(nw, ep, sb, ifname)
            if (sb.gw_endpoint is None and sb.id() not in gw_new):
                routes = driver.default_routes(nw, ep, sb, ifname)
                if routes:
                    plan += routes
                    gw_new[sb.id()] = ep
            staged.append((ep, sb, ifname))

        def commit(ch):
            for ep, sb, ifname in staged:
                old = (ep.sandbox_id, ep.ifname, list(sb.endpoint_ids),
                       sb.gw_endpoint)
                ep.sandbox_id, ep.ifname = sb.id(), ifname
                sb.endpoint_ids.append(ep.id())
                if gw_new.get(sb.id()) is ep:
                    sb.gw_endpoint = ep.id()

                def undo(ep=ep, sb=sb, old=old):
                    ep.sandbox_id, ep.ifname = old[0], old[1]
                    sb.endpoint_ids[:] = old[2]
                    sb.gw_endpoint = old[3]
                ch.on_undo(undo)
                self.store.put("endpoint", ep.id(), ep.to_json())
            for sb in {id(sb): sb for _, sb, _ in staged}.values():
                self.store.put("sandbox", sb.id(), sb.to_json())
                self._write_hosts(sb)
        return plan, commit

    def _leave_many(self, pairs) -> None:
        with self._change() as ch:
            self._leave(ch, pairs)

    def _leave(self, ch, pairs) -> None:
        """Leave ``pairs``: host veths deleted in bulk, a new default route
        for sandboxes that lose their gateway endpoint."""
        by_ns: dict = {}
        plan_other = []
        leaving = set()
        for ep, sb in pairs:
            if sb is None or ep.sandbox_id != sb.id():
                where = "any sandbox" if sb is None else \
                    f"sandbox {sb.container_id()!r}"
                raise NotJoined(f"endpoint {ep.name()!r} is not joined to "
                                f"{where}")
            leaving.add(ep.id())
            for op, _ in self._drivers[ep._nw.type()].leave(ep._nw, ep, sb):
                if isinstance(op, O.LinkDel):
                    by_ns.setdefault(op.ns, []).append(op.link)
                else:
                    plan_other.append(op)
        batch = []
        for ns, links in by_ns.items():
            batch += self._bulk_delete(links, ns)
        gw_plan, gw_next = [], {}
        sbs = {id(sb): sb for _, sb in pairs}.values()
        for sb in sbs:
            if sb.gw_endpoint in leaving:
                for e in sb.endpoints():
                    if e.id() in leaving:
                        continue
                    routes = self._drivers[e._nw.type()].default_routes(
                        e._nw, e, sb, e.ifname)
                    if routes:
                        gw_plan += [op for op, _ in routes]
                        gw_next[sb.id()] = e.id()
                        break
        results = self.backend.execute(batch + plan_other + gw_plan)
        for r in results:
            # a link already gone (deleted by hand, or its sandbox vanished)
            # is what leave wants; anything else is an error
            if not r.ok and not (r.errno == errno.ENODEV and isinstance(
                    r.op, (O.LinkSet, O.LinkDel, O.LinkDelGroup))):
                raise r.exception()
        for ep, sb in pairs:
            old = (ep.sandbox_id, ep.ifname, list(sb.endpoint_ids),
                   sb.gw_endpoint)

            def undo(ep=ep, sb=sb, old=old):
                ep.sandbox_id, ep.ifname = old[0], old[1]
                sb.endpoint_ids[:] = old[2]
                sb.gw_endpoint = old[3]
            ch.on_undo(undo)
            ep.sandbox_id = ep.ifname = None
            if ep.id() in sb.endpoint_ids:
                sb.endpoint_ids.remove(ep.id())
            if sb.gw_endpoint == ep.id():
                sb.gw_endpoint = gw_next.get(sb.id())
            self.store.put("endpoint", ep.id(), ep.to_json())
        for sb in sbs:
            if self._sandboxes.get(sb.id()) is sb:
                self.store.put("sandbox", sb.id(), sb.to_json())
                self._write_hosts(sb)

    # -------------------------------------------------------- sandboxes

    def _sandbox_spec(self, options, kw) -> SandboxSpec:
        spec = SandboxSpec()
        for opt in list(options) + sb_kwargs(dict(kw)):
            opt(spec)
        return spec

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

    def _prep_sandboxes(self, cids, spec):
        plan, sbs, seen = [], [], set()
        root_key = self._root_key()
        for cid in cids:
            if not isinstance(cid, str) or not cid.strip():
                raise InvalidName(f"invalid container id {cid!r}")
            if cid in self._by_container or cid in seen:
                raise SandboxExists(f"container {cid!r} has a sandbox")
            seen.add(cid)
            sid = _new_id()
            if spec.use_default_sandbox:
                key = root_key
            else:
                key = os.path.join(self.netns_dir, sid[:12])
                plan += [(O.NetnsCreate(key), O.NetnsDelete(key)),
                         (O.LinkSet("lo", up=True, ns=key), None)]
            sbs.append(Sandbox(self, sid, cid, key, spec, time.time()))
        return sbs, plan

    def _commit_sandboxes(self, ch, sbs, hosts=True) -> None:
        for sb in sbs:
            d = os.path.join(self.files_dir, sb.id())
            os.makedirs(d, mode=0o755, exist_ok=True)
            ch.on_undo(lambda d=d: shutil.rmtree(d, ignore_errors=True))
            sb.hosts_path = sb.spec.hosts_path or os.path.join(d, "hosts")
            sb.resolv_conf_path = (sb.spec.resolv_conf_path
                                   or os.path.join(d, "resolv.conf"))
            if hosts:
                self._write_hosts(sb)
            # a refresh leaves a resolv.conf the user edited alone
            write = (files.update_resolv_conf
                     if os.path.exists(sb.resolv_conf_path)
                     else files.build_resolv_conf)
            write(sb.resolv_conf_path,
                  host_resolv=self.config.host_resolv_conf,
                  dns=sb.spec.dns or None, search=sb.spec.dns_search or None,
                  options=sb.spec.dns_options or None,
                  ipv6=any(ep._nw.spec.enable_ipv6 for ep in sb.endpoints()))
            self._sandboxes[sb.id()] = sb
            self._by_container[sb.container_id()] = sb
            self.store.put("sandbox", sb.id(), sb.to_json())

        def undo():
            for sb in sbs:
                self._sandboxes.pop(sb.id(), None)
                self._by_container.pop(sb.container_id(), None)
        ch.on_undo(undo)

    def _write_hosts(self, sb: Sandbox) -> None:
        ip = ip6 = None
        for ep in sb.endpoints():
            if ep.addr is not None and ip is None:
                ip = ep.addr.ip
            if ep.addr6 is not None and ip6 is None:
                ip6 = ep.addr6.ip
        files.build_hosts(sb.hosts_path, ip=ip, ip6=ip6,
                          hostname=sb.spec.hostname,
                          domainname=sb.spec.domainname,
                          extra_hosts=sb.spec.extra_hosts)

    def _delete_sandboxes(self, sbs, delete_endpoints: bool = False) -> None:
        sbs = list({id(sb): sb for sb in sbs}.values())   # a mention twice
        with self._change() as ch:
            pairs, eps = [], []
            for sb in sbs:
                if self._sandboxes.get(sb.id()) is not sb:
                    raise NoSuchSandbox(f"sandbox {sb.container_id()!r} "
                                        "was deleted")
                for ep in sb.endpoints():
                    pairs.append((ep, sb))
                    eps.append(ep)
            if pairs:
                self._leave(ch, pairs)
            if delete_endpoints:
                self._drop_endpoints(ch, eps)
            private = [sb for sb in sbs if not sb.spec.use_default_sandbox]
            results = self.backend.execute(
                [O.NetnsDelete(sb.key()) for sb in private])
            for r in results:
                if not r.ok and r.errno != errno.ENOENT:   # gone already: fine
                    raise r.exception()
            for sb in sbs:
                self.store.delete("sandbox", sb.id())
                del self._sandboxes[sb.id()]
                del self._by_container[sb.container_id()]
                ch.on_undo(lambda sb=sb: (
                    self._sandboxes.__setitem__(sb.id(), sb),
                    self._by_container.__setitem__(sb.container_id(), sb)))
            for sb in sbs:
                shutil.rmtree(os.path.join(self.files_dir, sb.id()),
                              ignore_errors=True)

    def _refresh_sandbox(self, sb: Sandbox, options, kw) -> None:
        eps = sb.endpoints()
        spec = self._sandbox_spec(options, kw)
        spec.use_default_sandbox = sb.spec.use_default_sandbox
        with self._change() as ch:
            if eps:
                self._leave(ch, [(ep, sb) for ep in eps])
            old = sb.spec
            sb.spec = spec
            ch.on_undo(lambda: setattr(sb, "spec", old))
            self._commit_sandboxes(ch, [sb])
            if eps:
                plan, commit = self._prep_joins([(ep, sb) for ep in eps])
                ch.apply(plan)
                commit(ch)

    def _rename_sandbox(self, sb: Sandbox, name: str) -> None:
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

    def _sandbox_statistics(self, sb: Sandbox) -> dict:
        ns = None if sb.spec.use_default_sandbox else sb.key()
        stats = self.backend.link_stats(ns)
        out = {}
        for ep in sb.endpoints():
            s = stats.get(ep.ifname)
            if s is not None:
                out[ep.ifname] = InterfaceStatistics(*s)
        return out

    def _root_key(self) -> str:
        return self.config.root_namespace or f"/proc/{os.getpid()}/ns/net"

    # --------------------------------------------------- host knowledge

    def _host_networks(self) -> list:
        """Subnets the host routes (main table, not default): automatic
        pools skip them, as libnetwork's CheckRouteOverlaps does."""
        nets = []
        for r in self.backend.routes(None):
            if r.table == 254 and r.dst.prefixlen > 0:
                nets.append(r.dst)
        for a in self.backend.addresses(None):
            if not a.address.ip.is_loopback and not a.address.ip.is_link_local:
                nets.append(a.address.network)
        return nets

    # ------------------------------------------------- restore, reconcile

    def _restore(self) -> None:
        for _, d in self.store.list("network"):
            nw = Network.from_json(self, d)
            self._networks[nw.id()] = nw
        for _, d in self.store.list("endpoint"):
            nw = self._networks.get(d["network"])
            if nw is None:                       # orphan record
                self.store.delete("endpoint", d["id"])
                continue
            ep = Endpoint.from_json(nw, d)
            nw._endpoints[ep.id()] = ep
        for _, d in self.store.list("sandbox"):
            sb = Sandbox.from_json(self, d)
            self._sandboxes[sb.id()] = sb
            self._by_container[sb.container_id()] = sb

    def _mounts(self) -> set:
        out = set()
        with open("/proc/self/mountinfo") as f:
            for line in f:
                out.add(line.split()[4].replace("\\040", " "))
        return out

    def _reconcile(self) -> None:
        """Make the records and the kernel agree after a restart.

        Kernel objects we own without a record go (namespaces in our
        directory, links in our link groups); records whose kernel objects
        vanished are cleaned (a sandbox whose namespace is gone is
        forgotten, an endpoint whose veth is gone is no longer joined); a
        network whose bridge vanished gets it back.  Addresses held by
        endpoint records stay allocated in IPAM throughout."""
        mounts = self._mounts()
        keys = {sb.key() for sb in self._sandboxes.values()}
        batch = []
        for fname in sorted(os.listdir(self.netns_dir)):
            path = os.path.join(self.netns_dir, fname)
            if path not in keys:
                batch.append(O.NetnsDelete(path))
        for sb in list(self._sandboxes.values()):
            if sb.spec.use_default_sandbox or sb.key() in mounts:
                continue
            for ep in sb.endpoints():
                ep.sandbox_id = ep.ifname = None
                self.store.put("endpoint", ep.id(), ep.to_json())
            self.store.delete("sandbox", sb.id())
            del self._sandboxes[sb.id()]
            del self._by_container[sb.container_id()]
            shutil.rmtree(os.path.join(self.files_dir, sb.id()),
                          ignore_errors=True)
        links = {l.name: l for l in self.backend.links(None)}
        groups = {nw.driver_state.get("group"): nw
                  for nw in self._networks.values()}
        joined = {ep.host_ifname: ep for nw in self._networks.values()
                  for ep in nw.endpoints() if ep.sandbox_id and ep.host_ifname}
        stale = []
        for l in links.values():
            if l.group & GROUP_MASK != GROUP_BASE & GROUP_MASK:
                continue
            nw = groups.get(l.group)
            if nw is not None and (l.name == nw.driver_state.get("bridge")
                                   or l.name in joined):
                continue
            stale.append(l.name)
        batch = self._bulk_delete(stale) + batch if stale else batch
        if batch:
            self.backend.execute(batch)
        for ep in joined.values():
            if ep.host_ifname not in links:
                sb = self._sandboxes.get(ep.sandbox_id)
                ep.sandbox_id = ep.ifname = None
                self.store.put("endpoint", ep.id(), ep.to_json())
                if sb is not None:
                    if ep.id() in sb.endpoint_ids:
                        sb.endpoint_ids.remove(ep.id())
                    if sb.gw_endpoint == ep.id():
                        sb.gw_endpoint = None
                    self.store.put("sandbox", sb.id(), sb.to_json())
        for nw in self._networks.values():
            driver = self._drivers[nw.type()]
            br = nw.driver_state.get("bridge")
            if br and br not in links:
                # the bridge went (its ports stay, unenslaved): bring it
                # back and give it its joined veths again
                self._run_plan(driver.create_network(nw) + [
                    (O.LinkSet(ep.host_ifname, master=br), None)
                    for ep in nw.endpoints()
                    if ep.sandbox_id and ep.host_ifname in links])


_EP_KW = {"ipv4", "ipv6", "ipam_options", "mac", "exposed_ports",
          "port_mapping", "aliases", "generic"}
