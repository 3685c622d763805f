"""The null driver: the sandbox gets no interface but ``lo``."""

from .host import HostDriver


class NullDriver(HostDriver):
    type = "null"
