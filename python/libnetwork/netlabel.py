"""Well-known labels, as libnetwork's netlabel package names them.

Options and driver data are dicts keyed by these strings, so that code and
data written for Docker's libnetwork read the same here.
"""

PREFIX = "com.docker.network"
DRIVER_PREFIX = PREFIX + ".driver"

GENERIC_DATA = PREFIX + ".generic"
ENABLE_IPV6 = PREFIX + ".enable_ipv6"
INTERNAL = "com.docker.network.internal"
MAC_ADDRESS = PREFIX + ".endpoint.macaddress"
EXPOSED_PORTS = PREFIX + ".endpoint.exposedports"
PORT_MAP = PREFIX + ".portmap"
DNS_SERVERS = PREFIX + ".dns_servers"
DRIVER_MTU = DRIVER_PREFIX + ".mtu"
GATEWAY = PREFIX + ".gateway"
IPAM_SERIAL = PREFIX + ".ipam.serial"          # ipamapi.AllocSerialPrefix
REQUEST_ADDRESS_TYPE = "RequestAddressType"    # ipamapi option key

# bridge driver options (drivers/bridge/labels)
BRIDGE_NAME = PREFIX + ".bridge.name"
BRIDGE_ENABLE_ICC = PREFIX + ".bridge.enable_icc"
BRIDGE_ENABLE_IP_MASQUERADE = PREFIX + ".bridge.enable_ip_masquerade"
BRIDGE_DEFAULT_BRIDGE = PREFIX + ".bridge.default_bridge"
BRIDGE_HOST_BINDING_IPV4 = PREFIX + ".bridge.host_binding_ipv4"
# a fixed source address for outbound traffic instead of masquerade
HOST_IPV4 = PREFIX + ".host_ipv4"
HOST_IPV6 = PREFIX + ".host_ipv6"
# published ports also answer on 127.0.0.0/8 from the controller's own
# namespace (sets net.ipv4.conf.<bridge>.route_localnet=1); off by default
BRIDGE_ROUTE_LOCALNET = PREFIX + ".bridge.route_localnet"
# IPv6 masquerade of the network's IPv6 subnets (Docker: ip6tables mode);
# off by default
BRIDGE_ENABLE_IP6_MASQUERADE = PREFIX + ".bridge.enable_ip6_masquerade"
