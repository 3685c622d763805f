"""Networks over a parent interface: what the macvlan and ipvlan drivers
share.

A network names its parent (``-o parent=IF``); ``parent=IF.<vid>`` makes
the network create that 802.1Q sub-interface of ``IF`` (when it does not
exist), mark it with the network's link group and remove it with the
network.  One network per parent and driver, as libnetwork.  There is no
bridge and no NAT: endpoints sit on the parent's wire and use the user's
gateway (the IPAM gateway).  An endpoint's device is created directly
inside its sandbox (``IFLA_NET_NS_FD``, the parent resolved in the root
namespace) under its final name; the sandbox's later steps look it up
there once, declared in the plan (the kernel echoes a creation only in the
namespace the request came from).

Kernel shape (``ip`` equivalents), for macvlan:

    network:  [ip link add IF.VID link IF group G up type vlan id VID
               ip link set IF.VID alias "libnetwork <store>"]
    join:     ip link add ethN link PARENT netns SANDBOX address MAC
                  [mtu M] group G type macvlan mode MODE
              ip -n SANDBOX link set ethN addrgenmode none   (IPv4-only)
              ip -n SANDBOX link set ethN up
              ip -n SANDBOX addr add IP/PLEN dev ethN
              ip -n SANDBOX route add default via GATEWAY dev ethN
    leave:    ip -n SANDBOX link del ethN
"""

from __future__ import annotations

import re

from .. import checks, netlabel
from ..backends import ops as O
from ..errors import InvalidParameter, ParentInUse
from . import Driver, Phase, Step
from .steps import configure_interface, gateway_routes

PARENT = "parent"


class LowerDriver(Driver):
    """Base of drivers whose endpoints are devices over a parent link."""

    #: the driver option naming the mode, and the modes it accepts
    mode_option = ""
    modes: dict = {}
    default_mode = ""

    def configure_network(self, nw, others, host):
        opts = dict(self.options.get(netlabel.GENERIC_DATA, {}) or {})
        opts.update(nw.spec.generic)
        parent = opts.get(PARENT)
        if not isinstance(parent, str) or not parent:
            raise InvalidParameter(
                f"a {self.type} network needs -o {PARENT}=INTERFACE (the "
                "host interface its endpoints sit on)")
        checks.ifname(parent, PARENT)
        mode = opts.get(self.mode_option) or self.default_mode
        if not isinstance(mode, str) or mode not in self.modes:
            raise InvalidParameter(f"{self.mode_option}={mode!r}: one of "
                                   f"{', '.join(self.modes)}")
        mtu = checks.mtu(opts.get(netlabel.DRIVER_MTU), netlabel.DRIVER_MTU)
        for other in others:
            if other.type() == self.type and \
                    other.driver_state.get("parent") == parent:
                raise ParentInUse(f"{self.type} network {other.name()!r} "
                                  f"already uses parent interface "
                                  f"{parent!r}")
        links = host.links()
        base, dot, vid = parent.rpartition(".")
        vlan = None
        if parent not in links:
            if not (dot and re.fullmatch("[0-9]{1,4}", vid)
                    and 1 <= int(vid) <= 4094):
                raise InvalidParameter(f"parent interface {parent!r} does "
                                       "not exist")
            if base not in links:
                raise InvalidParameter(f"parent interface {base!r} of "
                                       f"{parent!r} does not exist")
            vlan = int(vid)
        nw.driver_state.update(parent=parent, mode=mode, mtu=mtu,
                               vlan=vlan, vlan_link=base if vlan else None)

    # ------------------------------------------------------- networks

    def create_network(self, nw):
        st = nw.driver_state
        if st.get("vlan") is None:
            return []
        name = st["parent"]
        plan = [Step(O.LinkAddVlan(name, st["vlan_link"], st["vlan"],
                                   group=st["group"], up=True),
                     O.LinkDel(name), Phase.ROOT_CREATE)]
        if st.get("mark"):
            plan.append(Step(O.LinkSet(name, alias=st["mark"])))
        return plan

    def delete_network(self, nw, others=()):
        st = nw.driver_state
        if st.get("vlan") is None:
            return []
        return [Step(O.LinkDel(st["parent"]))]

    def network_links(self, nw):
        st = nw.driver_state
        return [st["parent"]] if st.get("vlan") is not None else []

    def repair_network(self, nw, present, joined):
        st = nw.driver_state
        if st.get("vlan") is None or st["parent"] in present:
            return []
        return self.create_network(nw)

    # ------------------------------------------------------ join, leave

    def lower_op(self, nw, ep, sb, ifname):
        """The operation creating the endpoint's device in ``sb``."""
        raise NotImplementedError

    def join(self, nw, ep, sb, ifname, gateway):
        ns = sb.key()
        create = self.lower_op(nw, ep, sb, ifname)
        get = O.LinkGet(ifname, ns=ns)
        dev = O.IndexOf(get)
        plan = [Step(create, O.LinkDel(ifname, ns=ns), Phase.ROOT_CREATE),
                Step(get, phase=Phase.SANDBOX_CREATE)]
        plan += configure_interface(nw, ep, ns, ifname, dev)
        if gateway:
            plan += self.routes(nw, ep, ns, dev)
        return plan

    def default_routes(self, nw, ep, sb):
        return self.routes(nw, ep, sb.key(), ep.ifname)

    def routes(self, nw, ep, ns, link):
        """The sandbox's default routes through the interface ``link``:
        by default through the user's gateway."""
        return gateway_routes(nw, ep, ns, link)

    def leave(self, nw, ep, sb):
        return [Step(O.LinkDel(ep.ifname, ns=sb.key()))]
