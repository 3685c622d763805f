"""The null driver: the sandbox gets no interface but ``lo``."""

from . import Driver


class NullDriver(Driver):
    type = "null"
    singleton = True
    needs_ipam = False
    has_interface = False
