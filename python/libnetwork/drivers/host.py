"""The host driver: the sandbox shares the host's network namespace.

No kernel work: a host endpoint has no interface of its own, and joins only
the host's sandbox (``option_use_default_sandbox()``).
"""

from . import Driver


class HostDriver(Driver):
    type = "host"
    singleton = True
    needs_ipam = False
    has_interface = False
    joins_host = True
