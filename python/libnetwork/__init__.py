"""libnetwork: container networking for Python (the Container Network Model).

The seed example, as in Docker's libnetwork README::

    import libnetwork
    from libnetwork import config, netlabel, options

    controller = libnetwork.new(config.option_driver_config(
        "bridge", {netlabel.GENERIC_DATA: options.Generic()}))
    network = controller.new_network("bridge", "network1", "")
    ep = network.create_endpoint("Endpoint1")
    sbx = controller.new_sandbox("container1",
                                 libnetwork.option_hostname("test"),
                                 libnetwork.option_domainname("docker.io"))
    ep.join(sbx)
    mac = ep.driver_info()[netlabel.MAC_ADDRESS]
"""

from . import config, errors, netlabel, options, types
from .controller import Controller, new
from .recovery import recover
from .endpoint import (
    Endpoint, create_option_alias, create_option_dns,
    create_option_exposed_ports, create_option_ifname, create_option_ipam,
    create_option_no_default_route,
    create_option_mac_address, create_option_port_mapping,
    endpoint_option_generic)
from .network import (
    IpamConf, IpamInfo, Network, network_option_driver_opts,
    network_option_enable_ipv6, network_option_generic,
    network_option_internal_network, network_option_ipam,
    network_option_labels)
from .sandbox import (
    Sandbox, option_dns, option_dns_options, option_dns_search,
    option_domainname, option_extra_host, option_hostname, option_hosts_path,
    option_labels, option_netns_path, option_resolv_conf_path,
    option_use_default_sandbox)

from .types import PortBinding, TransportPort

__version__ = "0.1.0"

__all__ = [
    "new", "recover", "Controller", "Network", "Endpoint", "Sandbox", "IpamConf",
    "IpamInfo", "config", "errors", "netlabel", "options", "types",
    "PortBinding", "TransportPort",
    "network_option_generic", "network_option_enable_ipv6",
    "network_option_internal_network", "network_option_labels",
    "network_option_ipam", "network_option_driver_opts",
    "create_option_ipam", "create_option_mac_address",
    "create_option_exposed_ports", "create_option_port_mapping",
    "create_option_alias", "create_option_dns", "endpoint_option_generic",
    "option_hostname", "option_domainname", "option_extra_host",
    "option_dns", "option_dns_search", "option_dns_options",
    "option_hosts_path", "option_resolv_conf_path",
    "option_use_default_sandbox", "option_labels", "option_netns_path",
    "create_option_ifname", "create_option_no_default_route", "__version__",
]
