"""Network drivers: the contract between the CNM layer and a driver, and the
registry of built-in drivers.

A driver decides what the kernel must look like for its networks and
endpoints; it never talks to the kernel itself.  Each method that changes
the kernel returns a *plan* (a list of :class:`~libnetwork.plan.Step`): an
operation, the operation that reverses it, the phase it belongs to and, if
the driver wants to say more than the kernel's errno, how to explain its
failure.  The plan executor merges the plans of many endpoints by phase
(keeping each plan's own order within a phase), sends them in one backend
batch, and reverses applied steps when a later one fails; it never rewrites
an operation.

A driver gets what it needs as arguments: its options at construction
(``option_driver_config``), the network with its IPAM results, the other
networks where a rule spans them.  It holds no reference to the controller.

Built in: bridge, host, null, macvlan, ipvlan.  Later: overlay, remote.
"""

from __future__ import annotations

import abc
from typing import Optional

from ..backends import ops as O
from ..plan import Phase, Plan, Step

__all__ = ["Driver", "HostView", "Phase", "Plan", "Step", "DRIVERS",
           "builtin_drivers"]


class HostView:
    """What a driver may read of the host's (the root) namespace while it
    checks a network's options: read from the kernel once, on first use."""

    def __init__(self, read_links):
        self._read = read_links
        self._links = None

    def links(self) -> dict:
        """name -> :class:`~libnetwork.backends.ops.Link` (``ip link``)."""
        if self._links is None:
            self._links = {link.name: link for link in self._read()}
        return self._links


class Driver(abc.ABC):
    """What the controller asks of a network driver (libnetwork's
    ``driverapi.Driver``).  Subclasses set the class attributes and
    implement the abstract methods; the others have the defaults of a
    driver without kernel objects."""

    #: the network type users name (``new_network("bridge", ...)``)
    type: str = ""
    #: ``"local"`` (this host) or ``"global"`` (a cluster store)
    scope: str = "local"
    #: at most one network of this type (host, null); it cannot be deleted
    singleton: bool = False
    #: networks get IPAM pools and endpoints addresses from them
    needs_ipam: bool = True
    #: an endpoint joins with an interface of its own (``ethN``) in the
    #: sandbox; False for drivers whose endpoints have none (host, null)
    has_interface: bool = True
    #: endpoints join the host's own namespace (sandboxes made with
    #: ``option_use_default_sandbox()``) rather than private sandboxes
    joins_host: bool = False
    #: endpoints may publish ports (``create_option_port_mapping``): the
    #: controller allocates host ports (``ep.ports``) and applies
    #: :meth:`publish`; other drivers refuse port mappings
    publishes_ports: bool = False

    def __init__(self, options: Optional[dict] = None):
        #: the driver's generic options (``option_driver_config``)
        self.options = dict(options or {})

    # ------------------------------------------------------- networks

    def configure_network(self, nw, others: list, host: HostView) -> None:
        """Check ``nw``'s options (``nw.spec.generic`` over the driver's
        own) and fill ``nw.driver_state``; IPAM results (``nw.ipam_v4``,
        ``nw.ipam_v6``), the network's link group
        (``nw.driver_state["group"]``) and the controller's mark
        (``nw.driver_state["mark"]``) are already in ``nw``.  Every link
        the driver creates in the root namespace carries that group (at
        creation) and that mark (``LinkSet(alias=...)``, in a later step
        of the same plan): they prove the link is the controller's.  ``others``
        are the existing networks, for rules that span networks; ``host``
        what the root namespace holds (a parent interface ...).  Raise a
        typed error (InvalidParameter, Conflict ...) for what cannot be;
        nothing has touched the kernel yet."""

    def create_network(self, nw) -> Plan:
        """The plan creating the network's kernel objects
        (``ip link add ... type bridge``)."""
        return []

    def delete_network(self, nw, others: list = ()) -> Plan:
        """The plan removing what :meth:`create_network` made; ``others``
        the networks that stay.  A link already gone is not an error
        (ENODEV counts as done)."""
        return []

    def restore(self, networks: list) -> Plan:
        """After a restart, once per driver: the plan bringing the kernel
        state that spans the driver's ``networks`` (all of them, with
        their endpoints) in line with the store -- the bridge's firewall
        is rebuilt in one transaction."""
        return []

    def network_links(self, nw) -> list:
        """Names of the root-namespace links the network itself owns (its
        bridge ...): reconcile keeps them and restores them when gone."""
        return []

    def repair_network(self, nw, present: set, joined: list) -> Plan:
        """After a restart: the plan recreating what of the network is
        missing from the kernel.  ``present`` holds the root namespace's
        link names, ``joined`` the network's joined endpoints."""
        return []

    # ------------------------------------------------------ endpoints

    def create_endpoint(self, nw, ep) -> None:
        """Fill the endpoint's driver fields (MAC, host interface name);
        its addresses are already allocated.  No kernel work."""

    def ipv6_address(self, nw, ep, pool) -> Optional[str]:
        """The IPv6 address the driver wants for ``ep`` in ``pool`` (an
        ``ip_network``) when the user asked for none, or None for the
        pool's next free address.  Called after the IPv4 allocation."""
        return None

    def delete_endpoint(self, nw, ep) -> None:
        """Forget the endpoint's driver fields.  No kernel work."""

    def publish(self, nw, eps: list) -> Plan:
        """The plan publishing the applied port bindings (``ep.ports``,
        host ports already allocated) of endpoints of ``nw`` (many at
        once: one operation per kind of kernel object for all), run when
        they are created; its undo removes them."""
        return []

    def unpublish(self, nw, eps: list) -> Plan:
        """The plan removing what :meth:`publish` added, run when the
        endpoints are deleted (not at leave: mappings live as long as the
        endpoint, as libnetwork's).  Already gone is not an error."""
        return []

    def endpoint_link(self, nw, ep) -> Optional[str]:
        """The root-namespace link whose presence proves that ``ep`` is
        joined (a veth's host end), or None when it has none."""
        return None

    def cut_off(self, nw, ep):
        """The operation that makes a joined ``ep`` unreachable at once
        through its :meth:`endpoint_link` (an asynchronous detach: the
        kernel deletes the link later): the link set down."""
        return O.LinkSet(self.endpoint_link(nw, ep), up=False)

    # ------------------------------------------------------ join, leave

    def join(self, nw, ep, sb, ifname: Optional[str],
             gateway: bool) -> Plan:
        """The plan giving sandbox ``sb`` the endpoint's interface, named
        ``ifname`` (None for drivers without interfaces), with its
        addresses; with ``gateway``, also the sandbox's default routes
        through it (see :meth:`default_routes`).  Later steps name the new
        interface by :class:`~libnetwork.backends.ops.IndexOf` its creation,
        so no name lookup is needed."""
        return []

    def default_routes(self, nw, ep, sb) -> Plan:
        """The plan adding the sandbox's default routes through the already
        joined ``ep`` (when the gateway endpoint left); [] for none (an
        internal network, a driver without gateway)."""
        return []

    def leave(self, nw, ep, sb) -> Plan:
        """The plan taking the endpoint's interface out of ``sb``.  A
        ``LinkDel`` of a leave is deleted together with the other links of
        the same teardown in one kernel call (a temporary link group)."""
        return []


def _registry() -> dict:
    from .bridge import BridgeDriver
    from .host import HostDriver
    from .ipvlan import IpvlanDriver
    from .macvlan import MacvlanDriver
    from .null import NullDriver
    return {d.type: d for d in (BridgeDriver, HostDriver, NullDriver,
                                MacvlanDriver, IpvlanDriver)}


#: network type -> driver class
DRIVERS = _registry()


def builtin_drivers(driver_config: dict) -> dict:
    """One instance of each built-in driver, with its options from
    ``driver_config`` (``{type: options}``)."""
    return {t: cls(driver_config.get(t)) for t, cls in DRIVERS.items()}
