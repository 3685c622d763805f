"""The libnetwork README example, line by line, in Python.

Run it with the README's demo command (it runs inside a private network
namespace, with the store under a temporary directory unless
LIBNETWORK_DATA_DIR says otherwise).
"""

import os
import tempfile

import libnetwork
from libnetwork import config, netlabel, options

if "LIBNETWORK_DATA_DIR" not in os.environ:
    os.environ["LIBNETWORK_DATA_DIR"] = tempfile.mkdtemp(prefix="libnetwork-")

# Create a new controller instance
controller = libnetwork.new(config.option_driver_config(
    "bridge", {netlabel.GENERIC_DATA: options.Generic()}))

# Create a network for containers to join.
network = controller.new_network("bridge", "network1", "")

# For each new container: allocate IP and interfaces. The returned network
# settings will be used for container infos (inspect and such), as well as
# iptables rules for port publishing.
ep = network.create_endpoint("Endpoint1")

# Create the sandbox for the container.
sbx = controller.new_sandbox("container1",
                             libnetwork.option_hostname("test"),
                             libnetwork.option_domainname("docker.io"))

# A sandbox can join the endpoint via the join api.
ep.join(sbx)

# libnetwork client can check the endpoint's operational data via the Info()
# API
mac = ep.driver_info()[netlabel.MAC_ADDRESS]
print(f"Joined endpoint {ep.name()} ({mac}) to sandbox "
      f"{sbx.container_id()} ({sbx.key()})")
