"""ADD, DEL and CHECK on a libnetwork controller.

The network named in the configuration is a bridge network of the store,
created on first use; a container is a sandbox on the runtime's namespace
(``CNI_NETNS``, never created or deleted here) and, per network, one
endpoint named after the container id, joined as ``CNI_IFNAME``.
"""

from __future__ import annotations

import contextlib

import libnetwork
from libnetwork import errors, netlabel

from ..osl import is_netns
from .conf import CniError, Request

__all__ = ["controller", "add", "delete", "check", "is_netns"]


def controller(req: Request):
    kw = dict(data_dir=req.data_dir, exec_root=req.exec_root)
    if req.backend:
        kw["backend"] = req.backend
    if req.root_namespace:
        kw["root_namespace"] = req.root_namespace
    return libnetwork.new(**kw)


def _network(c, req: Request):
    """The configuration's network, created on first use (another process
    may create it at the same moment: then that one is used)."""
    with contextlib.suppress(errors.NoSuchNetwork):
        return c.network_by_name(req.name)
    generic = {netlabel.BRIDGE_ENABLE_IP_MASQUERADE: req.ip_masq}
    if req.bridge:
        generic[netlabel.BRIDGE_NAME] = req.bridge
    if req.mtu is not None:
        generic[netlabel.DRIVER_MTU] = req.mtu
    kw = {"generic": generic}
    if req.subnet:
        kw["ipv4"] = [libnetwork.IpamConf(req.subnet, gateway=req.gateway)]
    try:
        return c.new_network("bridge", req.name, **kw)
    except errors.NetworkNameExists:
        return c.network_by_name(req.name)


def _sandbox(c, cid):
    try:
        return c.sandbox_by_container(cid)
    except errors.NoSuchSandbox:
        return None


def _endpoint(nw, cid):
    for ep in nw.endpoints():
        if ep.name() == cid:
            return ep
    return None


def _ep_kw(req: Request) -> dict:
    kw = {"ifname": req.ifname}
    if not req.default_gateway:
        kw["default_route"] = False
    if req.port_mappings:
        kw["port_mapping"] = req.port_mappings
    return kw


def add(req: Request) -> dict:
    with controller(req) as c:
        nw = _network(c, req)
        sb = _sandbox(c, req.container_id)
        ep = _endpoint(nw, req.container_id)
        if sb is not None and sb.key() != req.netns:
            raise CniError(103, f"container {req.container_id!r} is "
                           f"attached through namespace {sb.key()}",
                           f"not {req.netns}; DEL it first")
        if ep is not None:
            if ep.sandbox() is sb and sb is not None and \
                    ep.info().iface().srcname() == req.ifname:
                return result(c, req, nw, ep)      # ADD again: the same
            raise CniError(103, f"container {req.container_id!r} has an "
                           f"endpoint in network {req.name!r}",
                           "DEL it first")
        if sb is None:
            (ep,) = c.attach(nw, [req.container_id], netns_path=req.netns,
                             **_ep_kw(req))
        else:                 # another network of a container we know
            ep = nw.create_endpoint(req.container_id, **_ep_kw(req))
            try:
                ep.join(sb)
            except BaseException:
                with contextlib.suppress(Exception):
                    ep.delete()
                raise
        return result(c, req, nw, ep)


def result(c, req: Request, nw, ep) -> dict:
    """The CNI result of a joined endpoint (shape of ``req.version``)."""
    st = nw.driver_state
    host = {link.name: link for link in c.backend.links(None)}
    br = host.get(st.get("bridge"))
    veth = host.get(ep.host_ifname)
    ifaces = [{"name": st.get("bridge"), "mac": br.mac if br else ""},
              {"name": ep.host_ifname, "mac": veth.mac if veth else ""},
              {"name": req.ifname, "mac": ep.mac, "sandbox": req.netns}]
    ips, routes = [], []
    for addr, gw, dst in ((ep.addr, nw.gateway4(), "0.0.0.0/0"),
                          (ep.addr6, nw.gateway6(), "::/0")):
        if addr is None:
            continue
        ip = {"address": str(addr), "interface": 2}
        if gw is not None:
            ip["gateway"] = str(gw.ip)
            if req.default_gateway:
                routes.append({"dst": dst, "gw": str(gw.ip)})
        if not req.version.startswith("1."):
            ip["version"] = "4" if addr.version == 4 else "6"
        ips.append(ip)
    return {"cniVersion": req.version, "interfaces": ifaces, "ips": ips,
            "routes": routes, "dns": {}}


def delete(req: Request) -> None:
    """Remove what ADD made, whatever of it is left; never fails because
    something is gone already."""
    with controller(req) as c:
        try:
            nw = c.network_by_name(req.name)
        except errors.NoSuchNetwork:
            nw = None
        ep = None if nw is None else _endpoint(nw, req.container_id)
        if ep is not None:
            with contextlib.suppress(errors.NotFound):
                ep.delete(force=True)
        sb = _sandbox(c, req.container_id)
        if sb is not None and not sb.endpoints():
            with contextlib.suppress(errors.NotFound):
                sb.delete()


def check(req: Request) -> None:
    with controller(req) as c:
        try:
            nw = c.network_by_name(req.name)
        except errors.NoSuchNetwork:
            raise CniError(3, f"network {req.name!r} is unknown",
                           "no ADD made it") from None
        sb = _sandbox(c, req.container_id)
        ep = _endpoint(nw, req.container_id)
        if ep is None:
            raise CniError(3, f"container {req.container_id!r} is not "
                           f"attached to network {req.name!r}")
        if sb is None or ep.sandbox() is not sb:
            # the store knows it, the kernel lost it (a restart saw the
            # interface or the namespace gone)
            raise CniError(102, f"interface {req.ifname!r} of container "
                           f"{req.container_id!r} is gone from "
                           f"{req.netns}", "DEL and ADD again")
        if sb.key() != req.netns:
            raise CniError(102, f"container {req.container_id!r} is "
                           f"attached through namespace {sb.key()}",
                           f"not {req.netns}")
        if ep.info().iface().srcname() != req.ifname:
            raise CniError(102, f"container {req.container_id!r} has "
                           f"interface {ep.info().iface().srcname()!r} in "
                           f"network {req.name!r}", f"not {req.ifname!r}")
        links = {link.name: link for link in c.backend.links(req.netns)}
        link = links.get(req.ifname)
        if link is None:
            raise CniError(102, f"interface {req.ifname!r} is missing in "
                           f"{req.netns}")
        have = {str(a.address) for a in c.backend.addresses(req.netns)
                if a.index == link.index}
        want = {str(a) for a in (ep.addr, ep.addr6) if a is not None}
        for ip in (req.prev_result or {}).get("ips") or ():
            if isinstance(ip, dict) and isinstance(ip.get("address"), str):
                want.add(ip["address"])
        missing = sorted(want - have)
        if missing:
            raise CniError(102, f"interface {req.ifname!r} in {req.netns} "
                           f"lacks address(es) {', '.join(missing)}")
        if link.mac.lower() != (ep.mac or "").lower():
            raise CniError(102, f"interface {req.ifname!r} has MAC "
                           f"{link.mac}, not {ep.mac}")
