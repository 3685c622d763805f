"""The bad-input catalogue's cases (run by test_bad_input.py): one row per
refused call -- its id, the call on a prepared world, the exact error
type, a text its message must contain -- with the helpers the rows share.
"""

from __future__ import annotations

import os

import libnetwork
from libnetwork import IpamConf, config, netlabel
from libnetwork.errors import (
    AddressOutOfRange, AlreadyAllocated, InvalidName, InvalidParameter,
    NoSuchSandbox)

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                   "bad-input.md")
MTU = netlabel.DRIVER_MTU
BRIDGE = netlabel.BRIDGE_NAME
QUEUES = "com.docker.network.bridge.veth_queues"


def _net(w, **kw):
    """A new bridge network "o" on a free pool, with ``kw``."""
    kw.setdefault("ipv4", [IpamConf("10.70.0.0/24")])
    return w.c.new_network("bridge", "o", **kw)


def _pool(w, *conf, v6=False, **kw):
    """A new bridge network "o" asking for ``IpamConf(*conf, **kw)``."""
    if v6:
        return w.c.new_network("bridge", "o", enable_ipv6=True,
                               ipv6=[IpamConf(*conf, **kw)])
    return w.c.new_network("bridge", "o", ipv4=[IpamConf(*conf, **kw)])


def _macvlan(w, **opts):
    opts.setdefault("parent", "up0")
    return w.c.new_network("macvlan", "m", ipv4=[IpamConf("10.90.0.0/24")],
                           options=opts)


def _sandbox(w, **kw):
    return w.c.new_sandbox("n", **kw)


#: (id, call on the world, the exact error type, text its message holds)
CASES = [
    # ---------------------------------- a list of str, not a str
    ("attach-str", lambda w: w.c.attach(w.net, "abc"),
     InvalidParameter, "container ids: expected a list, got str"),
    ("attach-bytes", lambda w: w.c.attach(w.net, b"abc"),
     InvalidParameter, "container ids: expected a list, got bytes"),
    ("attach-int", lambda w: w.c.attach(w.net, 5),
     InvalidParameter, "container ids: expected a list, got int"),
    ("attach-none-ids", lambda w: w.c.attach(w.net, None),
     InvalidParameter, "container ids: expected a list"),
    ("new-sandboxes-str", lambda w: w.c.new_sandboxes("abc"),
     InvalidParameter, "container ids: expected a list"),
    ("new-sandboxes-dict", lambda w: w.c.new_sandboxes({"a": 1}),
     InvalidParameter, "container ids: expected a list, got dict"),
    ("detach-str", lambda w: w.c.detach("c1"),
     InvalidParameter, "container ids: expected a list"),
    ("detach-none", lambda w: w.c.detach(None),
     InvalidParameter, "container ids: expected a list"),
    ("detach-wait-str", lambda w: w.c.detach(["c1"], wait="soon"),
     InvalidParameter, "wait='soon': expected a bool"),
    ("create-endpoints-str", lambda w: w.net.create_endpoints("abc"),
     InvalidParameter, "endpoint names: expected a list"),
    ("create-endpoints-none", lambda w: w.net.create_endpoints(None),
     InvalidParameter, "endpoint names: expected a list"),
    ("network-ipv4-str", lambda w: _net(w, ipv4="10.70.0.0/24"),
     InvalidParameter, "ipv4 (IpamConf list): expected a list"),
    ("network-ipv4-str-item", lambda w: _net(w, ipv4=["10.70.0.0/24"]),
     InvalidParameter, "ipv4[0]: expected an IpamConf, got str"),
    ("network-ipv4-unknown-field",
     lambda w: _net(w, ipv4=[{"pool": "10.70.0.0/24"}]),
     InvalidParameter, "unknown IpamConf field(s) ['pool']"),
    ("sandbox-dns-str", lambda w: _sandbox(w, dns="192.0.2.1"),
     InvalidParameter, "dns: expected a list"),
    ("sandbox-dns-search-str",
     lambda w: _sandbox(w, dns_search="example.com"),
     InvalidParameter, "dns_search: expected a list"),
    ("sandbox-dns-options-str", lambda w: _sandbox(w, dns_options="ndots:2"),
     InvalidParameter, "dns_options: expected a list"),
    ("sandbox-extra-hosts-str", lambda w: _sandbox(w, extra_hosts="h"),
     InvalidParameter, "extra_hosts: expected a list"),
    ("sandbox-extra-host-str-pair",
     lambda w: _sandbox(w, extra_hosts=["ab"]),
     InvalidParameter, "extra host (name, address): expected a list"),
    ("attach-dns-str", lambda w: w.c.attach(w.net, ["n1"], dns="192.0.2.1"),
     InvalidParameter, "dns: expected a list"),
    ("endpoint-dns-str", lambda w: w.net.create_endpoint(
        "x", libnetwork.create_option_dns("192.0.2.1")),
     InvalidParameter, "endpoint DNS servers: expected a list"),
    ("endpoint-exposed-ports-str",
     lambda w: w.net.create_endpoint("x", exposed_ports="80/tcp"),
     InvalidParameter, "exposed ports: expected a list"),
    ("endpoint-exposed-port-str",
     lambda w: w.net.create_endpoint("x", exposed_ports=["tcp"]),
     InvalidParameter, "exposed port (proto, port): expected a list"),
    ("endpoint-port-mapping-str",
     lambda w: w.net.create_endpoint("x", port_mapping="80:80"),
     InvalidParameter, "port mappings: expected a list"),
    ("sandbox-netns-path-missing",
     lambda w: _sandbox(w, netns_path="/run/no-such-netns"),
     NoSuchSandbox, "no network namespace there"),
    ("sandbox-netns-path-and-default", lambda w: _sandbox(
        w, netns_path="/run/no-such-netns", use_default_sandbox=True),
     InvalidParameter, "exclude each other"),
    ("attach-netns-path-many", lambda w: w.c.attach(
        w.net, ["n1", "n2"], netns_path="/run/no-such-netns"),
     InvalidParameter, "one sandbox per namespace"),
    ("endpoint-ifname-slash",
     lambda w: w.net.create_endpoint("x", ifname="a/b"),
     InvalidParameter, "not a valid interface name"),
    ("endpoint-ifname-long",
     lambda w: w.net.create_endpoint("x", ifname="x" * 16),
     InvalidParameter, "1 to 15 bytes"),
    ("port-mapping-proto", lambda w: w.net.create_endpoint(
        "x", port_mapping=[{"proto": "icmp", "port": 1}]),
     InvalidParameter, "protocol 'icmp'"),
    ("port-mapping-port-0", lambda w: w.net.create_endpoint(
        "x", port_mapping=[("tcp", 0)]),
     InvalidParameter, "port 0"),
    ("port-mapping-range-backwards", lambda w: w.net.create_endpoint(
        "x", port_mapping=[("tcp", 80, 9000, "", 8999)]),
     InvalidParameter, "the end is before the start"),
    ("port-mapping-host-ip", lambda w: w.net.create_endpoint(
        "x", port_mapping=[("tcp", 80, 8080, "300.1.1.1")]),
     InvalidParameter, "not an IP address"),
    ("port-mapping-loopback", lambda w: w.net.create_endpoint(
        "x", port_mapping=[("tcp", 80, 8080, "127.0.0.1")]),
     InvalidParameter, "route_localnet"),
    ("port-mapping-no-ipv6", lambda w: w.net.create_endpoint(
        "x", port_mapping=[("tcp", 80, 8080, "fd00::1")]),
     InvalidParameter, "no IPv6 address"),
    ("network-host-binding-ipv4", lambda w: _net(w, generic={
        netlabel.BRIDGE_HOST_BINDING_IPV4: "fd00::1"}),
     InvalidParameter, "not an IPv4 address"),
    ("network-host-ipv4", lambda w: _net(w, generic={
        netlabel.HOST_IPV4: "nowhere"}),
     InvalidParameter, "not an IP address"),

    # --------------------------- objects: a Network, a Sandbox of ours
    ("attach-network-none", lambda w: w.c.attach(None, ["n1"]),
     InvalidParameter, "expected a network (libnetwork.Network), got "
     "NoneType"),
    ("attach-network-name", lambda w: w.c.attach("net1", ["n1"]),
     InvalidParameter, "expected a network (libnetwork.Network), got str"),
    ("attach-network-endpoint", lambda w: w.c.attach(w.free, ["n1"]),
     InvalidParameter, "got Endpoint"),
    ("attach-network-other-controller",
     lambda w: w.c.attach(w.onet, ["n1"]),
     InvalidParameter, "belongs to another controller"),
    ("join-none", lambda w: w.free.join(None),
     InvalidParameter, "expected a sandbox (libnetwork.Sandbox), got "
     "NoneType"),
    ("join-container-id", lambda w: w.free.join("c2"),
     InvalidParameter, "expected a sandbox (libnetwork.Sandbox), got str"),
    ("join-endpoint", lambda w: w.free.join(w.joined),
     InvalidParameter, "got Endpoint"),
    ("join-network", lambda w: w.free.join(w.net),
     InvalidParameter, "got Network"),
    ("join-other-controller", lambda w: w.free.join(w.osb),
     InvalidParameter, "belongs to another controller"),
    ("leave-container-id", lambda w: w.joined.leave("c1"),
     InvalidParameter, "expected a sandbox (libnetwork.Sandbox), got str"),
    ("leave-network", lambda w: w.joined.leave(w.net),
     InvalidParameter, "got Network"),
    ("leave-other-controller", lambda w: w.joined.leave(w.osb),
     InvalidParameter, "belongs to another controller"),
    ("new-network-option-str",
     lambda w: w.c.new_network("bridge", "o", "", "internal"),
     InvalidParameter, "expected a network option, got str 'internal'"),
    ("new-network-endpoint-option", lambda w: w.c.new_network(
        "bridge", "o", "",
        libnetwork.create_option_mac_address("02:42:00:00:00:01")),
     InvalidParameter, "expected a network option, got an endpoint option"),
    ("create-endpoint-sandbox-option", lambda w: w.net.create_endpoint(
        "x", libnetwork.option_hostname("h")),
     InvalidParameter, "expected an endpoint option, got a sandbox option"),
    ("new-sandbox-network-option", lambda w: w.c.new_sandbox(
        "n", libnetwork.network_option_internal_network()),
     InvalidParameter, "expected a sandbox option, got a network option"),
    ("new-sandbox-option-none", lambda w: w.c.new_sandbox("n", None),
     InvalidParameter, "expected a sandbox option, got NoneType None"),
    ("refresh-option-str", lambda w: w.sb2.refresh("hostname=x"),
     InvalidParameter, "expected a sandbox option, got str"),
    ("attach-option-str", lambda w: w.c.attach(w.net, ["n1"], "x"),
     InvalidParameter, "not a sandbox or endpoint option"),
    ("network-type-none", lambda w: w.c.new_network(None, "o"),
     InvalidParameter, "network type: expected a string"),
    ("network-type-list", lambda w: w.c.new_network(["bridge"], "o"),
     InvalidParameter, "network type: expected a string"),
    ("network-by-name-none", lambda w: w.c.network_by_name(None),
     InvalidName, "invalid network name None"),
    ("network-by-id-none", lambda w: w.c.network_by_id(None),
     InvalidParameter, "invalid network id None"),
    ("sandbox-by-id-none", lambda w: w.c.sandbox_by_id(None),
     InvalidParameter, "invalid sandbox id None"),
    ("sandbox-by-container-none", lambda w: w.c.sandbox_by_container(None),
     InvalidName, "invalid container id None"),
    ("sandbox-destroy-none", lambda w: w.c.sandbox_destroy(None),
     InvalidParameter, "invalid sandbox id None"),
    ("endpoint-by-name-none", lambda w: w.net.endpoint_by_name(None),
     InvalidName, "invalid endpoint name None"),
    ("endpoint-by-id-int", lambda w: w.net.endpoint_by_id(5),
     InvalidParameter, "invalid endpoint id 5"),
    ("network-labels-str", lambda w: _net(w, labels="a=b"),
     InvalidParameter, "network labels: expected a mapping, got str"),
    ("network-label-value-int", lambda w: _net(w, labels={"a": 1}),
     InvalidParameter, "network labels['a']: expected a string"),
    ("network-generic-str", lambda w: _net(w, generic="mtu=1400"),
     InvalidParameter, "generic network options: expected a mapping"),
    ("sandbox-labels-list", lambda w: _sandbox(w, labels=["a"]),
     InvalidParameter, "sandbox labels: expected a mapping, got list"),
    ("enable-ipv6-text", lambda w: _net(w, enable_ipv6="yes"),
     InvalidParameter, "enable_ipv6='yes': expected a bool"),
    ("generic-enable-ipv6-text", lambda w: _net(
        w, generic={netlabel.ENABLE_IPV6: "no"}),
     InvalidParameter, "enable_ipv6='no': expected a bool"),
    ("internal-text", lambda w: _net(w, internal="no"),
     InvalidParameter, "internal='no': expected a bool"),
    ("use-default-sandbox-text",
     lambda w: _sandbox(w, use_default_sandbox="no"),
     InvalidParameter, "use_default_sandbox='no': expected a bool"),
    ("driver-config-str",
     lambda w: config.option_driver_config("bridge", "mtu=1400"),
     InvalidParameter, "options of driver 'bridge': expected a mapping"),

    # ------------------------------ names in full, NUL nowhere
    ("network-name-newline", lambda w: w.c.new_network("bridge", "o\n"),
     InvalidName, "invalid network name 'o\\n'"),
    ("network-name-nul", lambda w: w.c.new_network("bridge", "o\0"),
     InvalidName, "invalid network name 'o\\x00'"),
    ("network-name-unicode", lambda w: w.c.new_network("bridge", "n\u00e9t"),
     InvalidName, "invalid network name"),
    ("network-name-long", lambda w: w.c.new_network("bridge", "a" * 256),
     InvalidName, "at most 255 characters"),
    ("network-id-newline", lambda w: w.c.new_network("bridge", "o", "i\n"),
     InvalidParameter, "invalid network id 'i\\n'"),
    ("network-by-name-newline", lambda w: w.c.network_by_name("net1\n"),
     InvalidName, "invalid network name 'net1\\n'"),
    ("endpoint-name-newline", lambda w: w.net.create_endpoint("x\n"),
     InvalidName, "invalid endpoint name 'x\\n'"),
    ("endpoint-name-nul", lambda w: w.net.create_endpoint("x\0"),
     InvalidName, "invalid endpoint name 'x\\x00'"),
    ("batch-endpoint-name-newline",
     lambda w: w.net.create_endpoints(["ok", "x\n"]),
     InvalidName, "invalid endpoint name 'x\\n'"),
    ("rename-newline", lambda w: w.sb.rename("web\n"),
     InvalidName, "invalid endpoint name 'web\\n'"),
    ("container-id-newline", lambda w: w.c.new_sandbox("n\n"),
     InvalidName, "invalid container id 'n\\n'"),
    ("container-id-nul", lambda w: w.c.new_sandbox("n\0"),
     InvalidName, "invalid container id 'n\\x00'"),
    ("container-id-space", lambda w: w.c.new_sandbox("n 1"),
     InvalidName, "invalid container id 'n 1'"),
    ("container-id-int", lambda w: w.c.new_sandbox(5),
     InvalidName, "invalid container id 5"),
    ("container-id-long", lambda w: w.c.new_sandbox("c" * 256),
     InvalidName, "1 to 255 printable characters"),
    ("attach-container-id-nul", lambda w: w.c.attach(w.net, ["n1", "n\0"]),
     InvalidName, "invalid container id 'n\\x00'"),
    ("detach-container-id-newline", lambda w: w.c.detach(["c1\n"]),
     InvalidName, "invalid container id 'c1\\n'"),
    ("sandbox-by-container-newline",
     lambda w: w.c.sandbox_by_container("c1\n"),
     InvalidName, "invalid container id 'c1\\n'"),
    ("hostname-nul", lambda w: _sandbox(w, hostname="h\0"),
     InvalidParameter, "invalid hostname 'h\\x00'"),
    ("hostname-newline", lambda w: _sandbox(w, hostname="h\n"),
     InvalidParameter, "invalid hostname 'h\\n'"),
    ("domainname-int", lambda w: _sandbox(w, domainname=5),
     InvalidParameter, "invalid domain name 5"),
    ("dns-search-nul", lambda w: _sandbox(w, dns_search=["a\0"]),
     InvalidParameter, "invalid DNS search domain 'a\\x00'"),
    ("dns-server-nul", lambda w: _sandbox(w, dns=["192.0.2.1\0"]),
     InvalidParameter, "invalid DNS server '192.0.2.1\\x00'"),
    ("extra-host-address-nul",
     lambda w: _sandbox(w, extra_hosts={"h": "192.0.2.1\0"}),
     InvalidParameter, "invalid address of extra host 'h'"),
    ("hosts-path-nul", lambda w: _sandbox(w, hosts_path="/tmp/h\0"),
     InvalidParameter, "invalid hosts path '/tmp/h\\x00'"),
    ("resolv-conf-path-nul",
     lambda w: _sandbox(w, resolv_conf_path="/tmp/r\0"),
     InvalidParameter, "invalid resolv.conf path '/tmp/r\\x00'"),
    ("network-label-key-nul", lambda w: _net(w, labels={"a\0": "b"}),
     InvalidParameter, "network labels key: expected a string without NUL"),
    ("alias-nul", lambda w: w.net.create_endpoint(
        "x", libnetwork.create_option_alias("a\0", "b")),
     InvalidParameter, "invalid alias key 'a\\x00'"),
    ("ipam-driver-nul", lambda w: w.c.new_network(
        "bridge", "o", "", libnetwork.network_option_ipam("default\0")),
     InvalidParameter, "IPAM driver: expected a string without NUL"),
    ("bridge-name-nul", lambda w: _net(w, generic={BRIDGE: "br\0x"}),
     InvalidParameter, "com.docker.network.bridge.name='br\\x00x'"),
    ("controller-exec-root-nul", lambda w: w.make_ctl(
        data_dir=None, exec_root=os.path.join(w.nsdir, "e\0")),
     InvalidParameter, "invalid exec_root"),

    # --------------------------------- MACs, checked at option time
    ("mac-zero", lambda w: w.net.create_endpoint(
        "x", mac="00:00:00:00:00:00"),
     InvalidParameter, "'00:00:00:00:00:00': all zero"),
    ("mac-broadcast", lambda w: w.net.create_endpoint(
        "x", mac="ff:ff:ff:ff:ff:ff"),
     InvalidParameter, "'ff:ff:ff:ff:ff:ff': multicast"),
    ("mac-newline", lambda w: w.net.create_endpoint(
        "x", mac="02:42:0a:3c:00:63\n"),
     InvalidParameter, "invalid MAC address '02:42:0a:3c:00:63\\n'"),
    ("mac-dashes", lambda w: w.net.create_endpoint(
        "x", mac="02-42-0a-3c-00-63"),
     InvalidParameter, "expected aa:bb:cc:dd:ee:ff"),
    ("mac-int", lambda w: w.net.create_endpoint("x", mac=0x02420a3c0063),
     InvalidParameter, "invalid MAC address 2482662801507"),
    ("mac-option-multicast",
     lambda w: libnetwork.create_option_mac_address("01:00:5e:00:00:01"),
     InvalidParameter, "'01:00:5e:00:00:01': multicast"),
    ("mac-option-generic-zero",
     lambda w: libnetwork.endpoint_option_generic(
         {netlabel.MAC_ADDRESS: "00:00:00:00:00:00"}),
     InvalidParameter, "all zero"),
    ("attach-mac-zero", lambda w: w.c.attach(
        w.net, ["n1"], mac="00:00:00:00:00:00"),
     InvalidParameter, "all zero"),

    # ------------------------------------ MTUs and other integers
    ("mtu-str-low", lambda w: _net(w, generic={MTU: "67"}),
     InvalidParameter, "com.docker.network.driver.mtu='67': out of range "
     "68 to 65535"),
    ("mtu-int-high", lambda w: _net(w, generic={MTU: 65536}),
     InvalidParameter, "mtu=65536: out of range 68 to 65535"),
    ("mtu-str-high", lambda w: _net(w, generic={MTU: "65536"}),
     InvalidParameter, "mtu='65536': out of range"),
    ("mtu-negative", lambda w: _net(w, generic={MTU: "-1"}),
     InvalidParameter, "mtu='-1': out of range"),
    ("mtu-float", lambda w: _net(w, generic={MTU: 1500.5}),
     InvalidParameter, "mtu=1500.5: expected an integer"),
    ("mtu-float-whole", lambda w: _net(w, generic={MTU: 1500.0}),
     InvalidParameter, "mtu=1500.0: expected an integer"),
    ("mtu-text", lambda w: _net(w, generic={MTU: "abc"}),
     InvalidParameter, "mtu='abc': expected an integer"),
    ("mtu-newline", lambda w: _net(w, generic={MTU: "1500\n"}),
     InvalidParameter, "mtu='1500\\n': expected an integer"),
    ("mtu-bool", lambda w: _net(w, generic={MTU: True}),
     InvalidParameter, "mtu=True: expected an integer"),
    ("mtu-huge-text", lambda w: _net(w, generic={MTU: "9" * 5000}),
     InvalidParameter, "expected an integer from 68 to 65535"),
    ("macvlan-mtu-float", lambda w: _macvlan(w, **{MTU: 1500.5}),
     InvalidParameter, "mtu=1500.5: expected an integer"),
    ("macvlan-mtu-high", lambda w: _macvlan(w, **{MTU: 70000}),
     InvalidParameter, "mtu=70000: out of range"),
    ("veth-queues-float", lambda w: _net(w, generic={QUEUES: 1.5}),
     InvalidParameter, "veth_queues=1.5: expected an integer"),
    ("veth-queues-bool", lambda w: _net(w, generic={QUEUES: True}),
     InvalidParameter, "veth_queues=True: expected an integer"),

    # --------------------------------------------- unusable subnets
    ("pool-loopback", lambda w: _pool(w, "127.0.0.0/24"),
     InvalidParameter, "pool 127.0.0.0/24 overlaps the loopback range"),
    ("pool-over-loopback", lambda w: _pool(w, "96.0.0.0/3"),
     InvalidParameter, "overlaps the loopback range 127.0.0.0/8"),
    ("pool-multicast", lambda w: _pool(w, "224.1.0.0/16"),
     InvalidParameter, "overlaps the multicast range 224.0.0.0/4"),
    ("pool-multicast-239", lambda w: _pool(w, "239.0.0.0/24"),
     InvalidParameter, "multicast"),
    ("pool-link-local", lambda w: _pool(w, "169.254.0.0/16"),
     InvalidParameter, "overlaps the link-local range 169.254.0.0/16"),
    ("pool-link-local-part", lambda w: _pool(w, "169.254.10.0/24"),
     InvalidParameter, "link-local"),
    ("pool-unspecified", lambda w: _pool(w, "0.0.0.0/24"),
     InvalidParameter, "holds the unspecified address 0.0.0.0"),
    ("pool-everything", lambda w: _pool(w, "0.0.0.0/0"),
     InvalidParameter, "unspecified"),
    ("pool6-loopback", lambda w: _pool(w, "::1/128", v6=True),
     InvalidParameter, "overlaps the loopback range ::1/128"),
    ("pool6-unspecified", lambda w: _pool(w, "::/64", v6=True),
     InvalidParameter, "holds the unspecified address ::"),
    ("pool6-link-local", lambda w: _pool(w, "fe80::/64", v6=True),
     InvalidParameter, "overlaps the link-local range fe80::/10"),
    ("pool6-multicast", lambda w: _pool(w, "ff02::/64", v6=True),
     InvalidParameter, "overlaps the multicast range ff00::/8"),
    ("pool-option-loopback", lambda w: libnetwork.network_option_ipam(
        ipv4=[IpamConf("127.0.0.0/8")]),
     InvalidParameter, "loopback"),
    ("pool-v6-in-ipv4", lambda w: _pool(w, "fd70::/64"),
     InvalidParameter, "pool fd70::/64 is IPv6"),
    ("pool-host-bits", lambda w: _pool(w, "10.70.0.1/24"),
     InvalidParameter, "invalid pool '10.70.0.1/24'"),
    ("sub-pool-outside", lambda w: _pool(w, "10.70.0.0/24", "10.71.0.0/25"),
     InvalidParameter, "sub-pool 10.71.0.0/25 is not inside pool"),

    # ------------------------------------------- gateways and addresses
    ("gateway-prefix-mismatch",
     lambda w: _pool(w, "10.70.0.0/24", gateway="10.70.0.1/16"),
     InvalidParameter, "gateway '10.70.0.1/16': prefix length /16 "
     "disagrees with the pool 10.70.0.0/24"),
    ("gateway-prefix-mismatch-auto-pool",
     lambda w: _pool(w, gateway="172.17.0.1/24"),
     InvalidParameter, "prefix length /24 disagrees with the pool "
     "172.17.0.0/16"),
    ("gateway-outside-pool",
     lambda w: _pool(w, "10.70.0.0/24", gateway="10.71.0.1"),
     AddressOutOfRange, "gateway '10.71.0.1' is outside the pool"),
    ("gateway-other-family",
     lambda w: _pool(w, "10.70.0.0/24", gateway="fd70::1"),
     AddressOutOfRange, "gateway 'fd70::1' is outside the pool"),
    ("gateway-not-an-address",
     lambda w: _pool(w, "10.70.0.0/24", gateway="gw"),
     InvalidParameter, "invalid address 'gw'"),
    ("gateway-network-address",
     lambda w: _pool(w, "10.70.0.0/24", gateway="10.70.0.0"),
     AlreadyAllocated, "address 10.70.0.0 is reserved"),
    ("aux-prefix-mismatch", lambda w: _pool(
        w, "10.70.0.0/24", aux_addresses={"r": "10.70.0.5/25"}),
     InvalidParameter, "r '10.70.0.5/25': prefix length /25 disagrees"),
    ("aux-outside-pool", lambda w: _pool(
        w, "10.70.0.0/24", aux_addresses={"r": "10.99.0.5"}),
     AddressOutOfRange, "r '10.99.0.5' is outside the pool"),
    ("aux-not-a-mapping", lambda w: _pool(
        w, "10.70.0.0/24", aux_addresses=["10.70.0.5"]),
     InvalidParameter, "aux_addresses: expected a mapping"),
    ("endpoint-ipv4-prefix-mismatch",
     lambda w: w.net.create_endpoint("x", ipv4="10.60.0.9/16"),
     InvalidParameter, "endpoint ipv4 address '10.60.0.9/16': prefix "
     "length /16 disagrees with the pool 10.60.0.0/24"),
    ("endpoint-ipv4-not-an-address",
     lambda w: w.net.create_endpoint("x", ipv4="nope"),
     InvalidParameter, "invalid endpoint ipv4 address 'nope'"),
    ("endpoint-ipv4-nul",
     lambda w: w.net.create_endpoint("x", ipv4="10.60.0.9\0"),
     InvalidParameter, "invalid endpoint ipv4 address"),

    # ------------------------------------------------ interface names
    ("bridge-name-percent-d", lambda w: _net(w, generic={BRIDGE: "br%d"}),
     InvalidParameter, "'%' in an interface name is expanded by the kernel"),
    ("bridge-name-percent", lambda w: _net(w, generic={BRIDGE: "br%s"}),
     InvalidParameter, "'%' in an interface name"),
    ("bridge-name-dot", lambda w: _net(w, generic={BRIDGE: "."}),
     InvalidParameter, "not a valid interface name"),
    ("bridge-name-dotdot", lambda w: _net(w, generic={BRIDGE: ".."}),
     InvalidParameter, "not a valid interface name"),
    ("bridge-name-colon", lambda w: _net(w, generic={BRIDGE: "br:0"}),
     InvalidParameter, "not a valid interface name"),
    ("bridge-name-tab", lambda w: _net(w, generic={BRIDGE: "br\t0"}),
     InvalidParameter, "not a valid interface name"),
    ("bridge-name-16-bytes",
     lambda w: _net(w, generic={BRIDGE: "\u00e9" * 8}),
     InvalidParameter, "1 to 15 bytes, not 16"),
    ("bridge-name-int", lambda w: _net(w, generic={BRIDGE: 5}),
     InvalidParameter, "bridge.name=5: an interface name is a string"),
    ("macvlan-parent-percent-d", lambda w: _macvlan(w, parent="up%d"),
     InvalidParameter, "parent='up%d': '%' in an interface name"),
    ("macvlan-parent-colon", lambda w: _macvlan(w, parent="up0:1"),
     InvalidParameter, "parent='up0:1': not a valid interface name"),
    ("macvlan-parent-long", lambda w: _macvlan(w, parent="x" * 16),
     InvalidParameter, "1 to 15 bytes, not 16"),
    ("macvlan-parent-int", lambda w: _macvlan(w, parent=5),
     InvalidParameter, "needs -o parent=INTERFACE"),
    ("macvlan-vlan-id-not-ascii",
     lambda w: _macvlan(w, parent="up0.\u0663"),
     InvalidParameter, "parent interface 'up0.\u0663' does not exist"),
    ("macvlan-mode-list", lambda w: _macvlan(w, macvlan_mode=["bridge"]),
     InvalidParameter, "macvlan_mode=['bridge']: one of"),
]
