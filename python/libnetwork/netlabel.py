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
