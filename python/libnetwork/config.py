"""Controller configuration as functional options (libnetwork's config).

    controller = libnetwork.new(
        config.option_data_dir("/var/lib/libnetwork"),
        config.option_driver_config("bridge", {...}))

Every option is also a keyword argument of :func:`libnetwork.new`.
Defaults come from the environment when not given: ``LIBNETWORK_DATA_DIR``
(``/var/lib/libnetwork``), ``LIBNETWORK_EXEC_ROOT`` (``/run/libnetwork``),
``LIBNETWORK_BACKEND`` (``native``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import checks
from .errors import InvalidParameter

DEFAULT_DATA_DIR = "/var/lib/libnetwork"
DEFAULT_EXEC_ROOT = "/run/libnetwork"
_UNSET = object()


@dataclass
class Config:
    data_dir: object = _UNSET          # str, or None for an in-memory store
    exec_root: Optional[str] = None
    backend: Optional[str] = None
    default_address_pools: Optional[list] = None
    driver_config: dict = field(default_factory=dict)
    root_namespace: Optional[str] = None   # None: the process's namespace
    host_resolv_conf: str = "/etc/resolv.conf"
    warm_pool: int = 0                     # prepared sandboxes (pool.py)

    def resolved(self) -> "Config":
        """A copy with environment defaults filled in, its paths checked
        (strings without NUL)."""
        c = Config(**self.__dict__)
        if c.data_dir is _UNSET:
            c.data_dir = os.environ.get("LIBNETWORK_DATA_DIR", DEFAULT_DATA_DIR)
        if c.exec_root is None:
            c.exec_root = os.environ.get("LIBNETWORK_EXEC_ROOT",
                                         DEFAULT_EXEC_ROOT)
        if c.backend is None:
            c.backend = os.environ.get("LIBNETWORK_BACKEND") or "native"
        for key in ("data_dir", "exec_root", "root_namespace",
                    "host_resolv_conf"):
            # None: an in-memory store, the process's own namespace
            if getattr(c, key) is not None or key not in ("data_dir",
                                                          "root_namespace"):
                checks.path(getattr(c, key), key)
        checks.text(c.backend, "backend")
        c.warm_pool = warm_pool_size(c.warm_pool)
        return c


Option = Callable[[Config], None]

MAX_WARM_POOL = 1024


def warm_pool_size(n) -> int:
    """A warm pool's size: an int from 0 (off) to :data:`MAX_WARM_POOL`
    (bools, floats and text are refused: InvalidParameter)."""
    if type(n) is not int:
        raise InvalidParameter(f"warm_pool={n!r}: expected an int from 0 "
                               f"to {MAX_WARM_POOL}")
    return checks.integer(n, "warm_pool", 0, MAX_WARM_POOL)


def option_driver_config(network_type: str, options: dict) -> Option:
    """Generic options for one network driver (``OptionDriverConfig``)."""
    if not isinstance(network_type, str) or not network_type:
        raise InvalidParameter(f"driver name {network_type!r}")
    options = checks.mapping(options, f"options of driver {network_type!r}")

    def apply(c: Config):
        c.driver_config[network_type] = dict(options)
    return apply


def option_data_dir(path: Optional[str]) -> Option:
    """Where the store lives (``<path>/local.db``); None keeps state in
    memory only."""
    def apply(c: Config):
        c.data_dir = path
    return apply


def option_exec_root(path: str) -> Option:
    """Where namespaces and sandbox files live (``/run/libnetwork``)."""
    def apply(c: Config):
        c.exec_root = path
    return apply


def option_backend(name: str) -> Option:
    """``"native"`` (the C core) or ``"pyroute2"``."""
    def apply(c: Config):
        c.backend = name
    return apply


def option_default_address_pools(pools: list) -> Option:
    """Pools to cut network subnets from: ``[{"base": "10.10.0.0/16",
    "size": 24}, ...]`` (replaces the local defaults)."""
    def apply(c: Config):
        c.default_address_pools = [dict(p) for p in pools]
    return apply


def option_root_namespace(path: Optional[str]) -> Option:
    """The namespace that plays the host (bridges live there); default:
    the process's own.  Tests and benchmarks use a private one."""
    def apply(c: Config):
        c.root_namespace = path
    return apply


def option_host_resolv_conf(path: str) -> Option:
    """The resolv.conf that sandbox resolv.conf files derive from."""
    def apply(c: Config):
        c.host_resolv_conf = path
    return apply


def option_warm_pool(n: int) -> Option:
    """Keep ``n`` sandboxes prepared ahead of time (their namespaces made,
    ``lo`` up, a veth into the network last attached to): ``attach`` takes
    them and a background thread makes new ones (docs/pool.md).  0, the
    default, is off."""
    n = warm_pool_size(n)

    def apply(c: Config):
        c.warm_pool = n
    return apply


__all__ = [
    "Config", "Option", "option_driver_config", "option_data_dir",
    "option_exec_root", "option_backend", "option_default_address_pools",
    "option_root_namespace", "option_host_resolv_conf", "option_warm_pool",
]
