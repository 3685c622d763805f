"""The host driver: the sandbox shares the host's network namespace.

No kernel work: a host endpoint has no interface of its own.
"""


class HostDriver:
    type = "host"
    scope = "local"
    singleton = True

    def create_network(self, nw):
        return []

    def delete_network(self, nw):
        return []

    def create_endpoint(self, nw, ep):
        pass

    def delete_endpoint(self, nw, ep):
        pass

    def join(self, nw, ep, sb, ifname):
        return []

    def default_routes(self, nw, ep, sb, ifname):
        return []

    def leave(self, nw, ep, sb):
        return []
