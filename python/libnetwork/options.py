"""libnetwork's options package: ``Generic`` is a plain option dictionary."""


class Generic(dict):
    """``options.Generic``: a map of option names to values."""


def of_kind(kind: str):
    """A decorator marking an option function as a ``kind`` option
    (``"sandbox"`` or ``"endpoint"``): ``attach`` takes both kinds in one
    list and sorts them by this mark."""
    def mark(fn):
        fn.option_kind = kind
        return fn
    return mark


__all__ = ["Generic"]
