"""The ipvlan driver: each endpoint an ipvlan device over the network's
parent interface, sharing the parent's MAC (``-o ipvlan_mode=l2|l3|l3s``;
l2 by default).  In l3 modes the parent routes: the default route goes
through the device itself, with no gateway.  See :mod:`.lower`."""

from __future__ import annotations

import socket

from ..backends import ops as O
from . import Phase, Step
from .lower import LowerDriver


class IpvlanDriver(LowerDriver):
    type = "ipvlan"
    mode_option = "ipvlan_mode"
    modes = O.IPVLAN_MODES
    default_mode = "l2"

    def lower_op(self, nw, ep, sb, ifname):
        st = nw.driver_state
        return O.LinkAddIpvlan(ifname, st["parent"], mode=st["mode"],
                               netns=sb.key(), mtu=st["mtu"],
                               group=st["group"])

    def routes(self, nw, ep, ns, link):
        if nw.driver_state["mode"] == "l2":
            return super().routes(nw, ep, ns, link)
        if nw.spec.internal:
            return []
        return [Step(O.RouteAdd(oif=link, family=fam, ns=ns),
                     phase=Phase.SANDBOX_CONFIG)
                for addr, fam in ((ep.addr, socket.AF_INET),
                                  (ep.addr6, socket.AF_INET6))
                if addr is not None]
