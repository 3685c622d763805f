"""libnetwork's options package: ``Generic`` is a plain option dictionary."""


class Generic(dict):
    """``options.Generic``: a map of option names to values."""


__all__ = ["Generic"]
