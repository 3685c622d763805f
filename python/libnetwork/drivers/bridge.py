"""The bridge driver: a Linux bridge per network, a veth per endpoint.

Kernel shape (``ip`` equivalents):

    network:  ip link add br-<id12> [mtu M] group G up type bridge
              ip link set br-<id12> alias "libnetwork <store>"
              ip addr add <gateway>/<plen> dev br-<id12>   (and IPv6, nodad)
    join:     ip link add veth<id11> master br-<id12> group G
                  numtxqueues 1 numrxqueues 1
                  type veth peer name ethN netns <sandbox> address <mac>
                  numtxqueues 1 numrxqueues 1
              ip -n <sandbox> link set ethN addrgenmode none   (IPv4-only)
              ip -n <sandbox> link set ethN up
              ip -n <sandbox> addr add <ip>/<plen> dev ethN  (and IPv6, nodad)
              ip -n <sandbox> route add default via <gateway> dev ethN
              ip link set veth<id11> alias "libnetwork <store>" \
                  [addrgenmode none]
              ip link set veth<id11> type bridge_slave hairpin on
              ip link set veth<id11> up

The sandbox's steps name ``ethN`` by the index the kernel echoed for the
veth's creation (its peer), so a join costs no name lookup.
    leave:    ip link del veth<id11>

Unlike Docker's libnetwork, which creates the pair at endpoint creation and
moves the container end at join, the pair is created at join, with the
container end born inside the sandbox with its final name, MAC and MTU: one
request instead of four, and no interface ever sits in the host namespace
under a temporary name (netavark does the same).

Every link of a network carries the network's link group: ownership is
visible in the kernel (reconcile finds our links after a crash) and the
kernel's bulk path can delete many links in one call.
"""

from __future__ import annotations

import ipaddress
import random
import secrets

import errno

from .. import checks, netlabel
from ..backends import ops as O
from ..errors import BridgeFull, Conflict, PoolOverlap
from ..firewall import plans as fw
from ..firewall import ruleset
from . import Driver, Phase, Step
from .steps import configure_interface, gateway_routes

DEFAULT_MTU = 1500
IPV6_EUI64 = netlabel.PREFIX + ".bridge.ipv6_eui64"
# tx/rx queues of each veth end: 1 (the default here) is the one queue a
# veth uses anyway, without the RCU grace period per end that the kernel's
# default (a queue per CPU, all but one switched off) costs; 0 asks for the
# kernel's default, for those who add queues later with ``ethtool -L``
VETH_QUEUES = netlabel.PREFIX + ".bridge.veth_queues"
DEFAULT_VETH_QUEUES = 1
BR_STATE_DISABLED = 0           # a bridge port that forwards nothing


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.lower() in ("1", "true", "yes", "on")
    return bool(v)


def mac_from_ipv4(ip: ipaddress.IPv4Address) -> str:
    """libnetwork's GenerateMACFromIP: 02:42 followed by the address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def random_mac() -> str:
    """A locally administered unicast MAC (02:42 prefix, as Docker)."""
    return "02:42:" + ":".join(f"{random.getrandbits(8):02x}"
                               for _ in range(4))


def eui64(prefix: ipaddress.IPv6Network, mac: str) -> ipaddress.IPv6Address:
    """The address of ``mac`` in a /64 (modified EUI-64, RFC 4291)."""
    b = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([b[0] ^ 0x02]) + b[1:3] + b"\xff\xfe" + b[3:6]
    return ipaddress.IPv6Address(prefix.network_address.packed[:8] + iid)


class BridgeDriver(Driver):
    type = "bridge"
    publishes_ports = True

    def __init__(self, options=None):
        super().__init__(options)
        self._first: dict = {}    # network id -> no other bridge network

    # ------------------------------------------------------- networks

    def configure_network(self, nw, others, host):
        """Fill ``nw.driver_state`` from options; refuse conflicts with the
        other bridge networks (same bridge name, overlapping subnet)."""
        opts = dict(self.options.get(netlabel.GENERIC_DATA, {}) or {})
        opts.update(nw.spec.generic)
        name = checks.ifname(opts.get(netlabel.BRIDGE_NAME)
                             or f"br-{nw.id()[:12]}", netlabel.BRIDGE_NAME)
        mtu = checks.mtu(opts.get(netlabel.DRIVER_MTU),
                         netlabel.DRIVER_MTU) or DEFAULT_MTU
        # 0: the kernel's default
        queues = checks.integer(opts.get(VETH_QUEUES, DEFAULT_VETH_QUEUES),
                                VETH_QUEUES, 0, O.MAX_QUEUES)
        for other in others:
            if other.type() != self.type:
                continue
            if other.driver_state.get("bridge") == name:
                raise Conflict(f"bridge {name!r} is used by network "
                               f"{other.name()!r}")
            for mine in nw.subnets():
                for theirs in other.subnets():
                    if mine.version == theirs.version and mine.overlaps(theirs):
                        raise PoolOverlap(
                            f"subnet {mine} overlaps {theirs} of bridge "
                            f"network {other.name()!r}")
        binding = fw.host_address(
            opts.get(netlabel.BRIDGE_HOST_BINDING_IPV4),
            netlabel.BRIDGE_HOST_BINDING_IPV4, 4) or "0.0.0.0"
        nw.driver_state.update(
            bridge=name, mtu=mtu,
            icc=_truthy(opts.get(netlabel.BRIDGE_ENABLE_ICC, True)),
            masquerade=_truthy(opts.get(netlabel.BRIDGE_ENABLE_IP_MASQUERADE,
                                        True)),
            ip6_masquerade=_truthy(opts.get(
                netlabel.BRIDGE_ENABLE_IP6_MASQUERADE, False)),
            host_ipv4=fw.host_address(opts.get(netlabel.HOST_IPV4),
                                      netlabel.HOST_IPV4, 4),
            host_ipv6=fw.host_address(opts.get(netlabel.HOST_IPV6),
                                      netlabel.HOST_IPV6, 6),
            host_binding_ipv4=binding,
            route_localnet=_truthy(opts.get(netlabel.BRIDGE_ROUTE_LOCALNET,
                                            False)),
            ipv6_eui64=_truthy(opts.get(IPV6_EUI64, False)),
            veth_queues=queues,
            fw_table=ruleset.table_name(
                (nw.driver_state.get("mark") or "").rsplit(" ", 1)[-1]
                or nw.id()))
        self._first[nw.id()] = not any(o.type() == self.type
                                       for o in others)

    def create_network(self, nw):
        first = self._first.pop(nw.id(), True)
        return (self._bridge_plan(nw) + fw.forwarding_steps(nw)
                + fw.network_steps(nw, first))

    def _bridge_plan(self, nw):
        st = nw.driver_state
        br = st["bridge"]

        def explain(r):
            if r.errno == errno.EEXIST:
                return Conflict(f"bridge {br!r} already exists in the kernel")
            return None
        plan = [Step(O.LinkAddBridge(br, mtu=st["mtu"], up=True,
                                     group=st["group"]), O.LinkDel(br),
                     Phase.ROOT_CREATE, explain)]
        if st.get("mark"):
            plan.append(Step(O.LinkSet(br, alias=st["mark"])))
        for info in nw.ipam_v4:
            if info.gateway is not None:
                plan.append(Step(O.AddrAdd(br, info.gateway)))
        for info in nw.ipam_v6:
            if info.gateway is not None:
                plan.append(Step(O.AddrAdd(br, info.gateway, nodad=True)))
        return plan

    def delete_network(self, nw, others=()):
        last = not any(o.type() == self.type and o.id() != nw.id()
                       for o in others)
        return [Step(O.LinkDel(nw.driver_state["bridge"]))] + [
            Step(op, phase=Phase.FIREWALL)
            for op in fw.network_teardown(nw, last)]

    def network_links(self, nw):
        return [nw.driver_state["bridge"]]

    def repair_network(self, nw, present, joined):
        br = nw.driver_state["bridge"]
        if br in present:
            return []
        # the bridge went (its ports stay, unenslaved): bring it back and
        # give it its joined veths again (the firewall: restore())
        return self._bridge_plan(nw) + fw.forwarding_steps(nw) + [
            Step(O.LinkSet(ep.host_ifname, master=br))
            for ep in joined if ep.host_ifname in present]

    # ------------------------------------------------------ endpoints

    def create_endpoint(self, nw, ep):
        if ep.mac is None:
            ep.mac = (mac_from_ipv4(ep.addr.ip) if ep.addr is not None
                      else random_mac())
        ep.host_ifname = "veth" + ep.id()[:11]
        # never a name the kernel may still hold (a detached endpoint's
        # host end not yet reaped): another id then
        from .. import reaper
        while reaper.held(ep._c, ep.host_ifname):
            ep._id = secrets.token_hex(32)
            ep.host_ifname = "veth" + ep.id()[:11]

    def ipv6_address(self, nw, ep, pool):
        """With ``ipv6_eui64``: the address of the endpoint's MAC in a /64
        (the MAC then follows the IPv4 address, as Docker's)."""
        if not nw.driver_state.get("ipv6_eui64") or pool.prefixlen != 64:
            return None
        mac = ep.mac or (mac_from_ipv4(ep.addr.ip) if ep.addr else None)
        if mac is None:
            return None
        ep.mac = mac
        return str(eui64(pool, mac))

    def endpoint_link(self, nw, ep):
        return ep.host_ifname

    def cut_off(self, nw, ep):
        # a disabled bridge port forwards nothing from now on; setting the
        # link down would wait for an RCU grace period
        return O.BridgePortSet(ep.host_ifname, hairpin=None,
                               state=BR_STATE_DISABLED)

    def publish(self, nw, eps):
        return fw.publish_steps(nw, eps)

    def unpublish(self, nw, eps):
        return [Step(op, phase=Phase.FIREWALL)
                for op in fw.unpublish_ops(nw, eps)]

    def restore(self, networks):
        if not networks:
            return []
        steps = []
        for nw in networks:
            steps += fw.forwarding_steps(nw)
        return steps + fw.rebuild_steps(networks)

    def join(self, nw, ep, sb, ifname, gateway):
        st = nw.driver_state
        ns = sb.key()
        br = st["bridge"]
        wired = getattr(sb, "prewired", None)
        if wired is not None and wired.network == nw.id():
            sb.prewired = None          # a warm pool's veth: used once
            return self._join_prewired(nw, ep, ns, ifname, gateway, wired)

        def explain(r):
            if r.errno == errno.EXFULL:
                return BridgeFull(f"bridge {br!r} has the kernel's maximum "
                                  "of 1023 ports")
            return None
        veth = O.LinkAddVeth(ep.host_ifname, ifname, peer_ns=ns, master=br,
                             mtu=st["mtu"], group=st["group"],
                             peer_mtu=st["mtu"], peer_mac=ep.mac,
                             queues=st.get("veth_queues",
                                           DEFAULT_VETH_QUEUES) or None)
        eth = O.IndexOf(veth, peer=True)
        # the host end is born down and comes up last (Phase.ROOT_UP): a
        # veth end up before its peer has no carrier, and the kernel's link
        # watch then waits an RCU grace period for it, holding RTNL
        plan = [Step(veth, O.LinkDel(ep.host_ifname), Phase.ROOT_CREATE,
                     explain)]
        v4only = not nw.spec.enable_ipv6
        if v4only:
            plan.append(_no_ipv6(ep.host_ifname))
        # the sandbox end named by the index the veth's creation echoes
        plan += configure_interface(nw, ep, ns, ifname, eth)
        if gateway:
            plan += gateway_routes(nw, ep, ns, eth)
        # hairpin: a container's connection to its own published port is
        # DNATed back to the bridge, which sends it out the port it came in
        # by (enhanced DAD ignores its own reflected solicitations)
        plan.append(Step(O.BridgePortSet(ep.host_ifname, hairpin=True),
                         phase=Phase.ROOT_UP))
        # the host end gets our mark: with IPv6 off (IPv4-only) in the
        # message that brings it up; else, with no link-local address, in
        # the message before (the kernel applies IFLA_AF_SPEC after the up)
        mark = st.get("mark")
        if v4only:
            plan.append(Step(O.LinkSet(ep.host_ifname, alias=mark, up=True),
                             phase=Phase.ROOT_UP))
            return plan
        if mark:
            plan.append(Step(O.LinkSet(ep.host_ifname, alias=mark),
                             phase=Phase.ROOT_UP))
        plan.append(Step(O.LinkSet(ep.host_ifname, up=True),
                         phase=Phase.ROOT_UP))
        return plan

    # ------------------------------------------------- warm pools

    def prewire(self, nw, ns, host, peer):
        """The veth of a warm pool's sandbox (:mod:`libnetwork.pool`), made
        ahead as :meth:`join` makes it, but for what is the endpoint's: host
        end ``host`` in the bridge, marked, hairpin, down; sandbox end
        ``peer`` in ``ns``, down.  The first step creates the pair (its
        result's value: the ends' indexes)."""
        st = nw.driver_state
        veth = O.LinkAddVeth(host, peer, peer_ns=ns, master=st["bridge"],
                             mtu=st["mtu"], group=st["group"],
                             peer_mtu=st["mtu"],
                             queues=st.get("veth_queues",
                                           DEFAULT_VETH_QUEUES) or None)
        v4only = not nw.spec.enable_ipv6
        plan = [Step(veth, O.LinkDel(host), Phase.ROOT_CREATE),
                Step(O.LinkSet(O.IndexOf(veth), alias=st.get("mark"),
                               ipv6_ll=False if v4only else None)),
                Step(O.BridgePortSet(O.IndexOf(veth), hairpin=True))]
        if v4only:
            plan.append(_no_ipv6(host))
            plan.append(Step(O.LinkSet(O.IndexOf(veth, peer=True),
                                       ipv6_ll=False, ns=ns),
                             phase=Phase.SANDBOX_CONFIG))
        return plan

    def _join_prewired(self, nw, ep, ns, ifname, gateway, w):
        """:meth:`join` with the veth made ahead (:meth:`prewire`): the
        sandbox end gets its name, MAC, addresses, routes and comes up,
        then the host end comes up -- the same kernel state as a join,
        from two messages and the addresses and routes.  The host end
        keeps the name the pool gave it (``veth`` and 11 hex digits, as
        any: renaming costs the kernel more than the rest of the join)."""
        peer = w.peer_index
        ep.host_ifname = w.host
        plan = [Step(O.LinkSet(peer, name=None if ifname == w.peer
                               else ifname, mac=ep.mac, up=True, ns=ns),
                     O.LinkDel(w.host_index), Phase.SANDBOX_CONFIG)]
        for addr, nodad in ((ep.addr, False), (ep.addr6, True)):
            if addr is not None:
                plan.append(Step(O.AddrAdd(peer, addr, nodad=nodad, ns=ns),
                                 phase=Phase.SANDBOX_CONFIG))
        if gateway:
            plan += gateway_routes(nw, ep, ns, peer)
        plan.append(Step(O.LinkSet(w.host_index, up=True),
                         phase=Phase.ROOT_UP))
        return plan

    def default_routes(self, nw, ep, sb):
        return gateway_routes(nw, ep, sb.key(), ep.ifname)

    def leave(self, nw, ep, sb):
        return [Step(O.LinkDel(ep.host_ifname))]


def _no_ipv6(host: str) -> Step:
    """No IPv6 on the host end of an IPv4-only network: else each end
    brought up adds a multicast route to the host's one IPv6 table, and
    every later up walks that whole table (``fib6_ifup``): the cost per
    container would grow with their number (docs/performance.md)."""
    return Step(O.Sysctl(f"net/ipv6/conf/{host}/disable_ipv6", "1",
                         missing_ok=True), phase=Phase.ROOT_CONFIG)
