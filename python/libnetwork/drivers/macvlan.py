"""The macvlan driver: each endpoint a macvlan device over the network's
parent interface, with a MAC of its own (``-o macvlan_mode=bridge|private|
vepa|passthru``; bridge by default).  See :mod:`.lower` for the shape."""

from __future__ import annotations

from ..backends import ops as O
from .bridge import mac_from_ipv4, random_mac
from .lower import LowerDriver


class MacvlanDriver(LowerDriver):
    type = "macvlan"
    mode_option = "macvlan_mode"
    modes = O.MACVLAN_MODES
    default_mode = "bridge"

    def create_endpoint(self, nw, ep):
        if ep.mac is None:
            ep.mac = (mac_from_ipv4(ep.addr.ip) if ep.addr is not None
                      else random_mac())

    def lower_op(self, nw, ep, sb, ifname):
        st = nw.driver_state
        return O.LinkAddMacvlan(ifname, st["parent"], mode=st["mode"],
                                netns=sb.key(), mac=ep.mac, mtu=st["mtu"],
                                group=st["group"])
