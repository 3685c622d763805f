"""Checks of what callers pass at the API boundary, by type.

One function per kind of argument (names, ids, container ids, lists,
mappings, MACs, MTUs and other integers, subnets and gateways, interface
names, options, CNM objects of a controller).  Each returns the value in
the form the caller keeps, or raises a
:class:`~libnetwork.errors.LibnetworkError` subclass (``InvalidName``,
``InvalidParameter``, ``AddressOutOfRange``) that names the argument,
shows the value and says what was expected.

The option constructors (``network_option_*``, ``create_option_*``,
``option_*``), the drivers' option parsing and the public methods call
them before anything changes.  Patterns are matched with ``re.fullmatch``:
``re.match`` with ``$`` lets a trailing newline through.  Subnets and the
addresses of a pool are parsed by :mod:`libnetwork.ipam.inputs`, the IPAM's
own reader, so the option and the allocation cannot disagree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Optional

from .errors import InvalidName, InvalidParameter
from .ipam import inputs

__all__ = [
    "name", "object_id", "container_id", "container_ids", "sequence",
    "mapping", "text", "token", "path", "address", "mac", "flag", "integer",
    "mtu", "ipam_conf", "ifname", "owned", "options", "IFNAMSIZ",
    "MAX_NAME",
]

#: the longest network, endpoint or container name or id
MAX_NAME = 255
#: the kernel's IFNAMSIZ: interface names are 1 to 15 bytes
IFNAMSIZ = 16

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_MAC = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")
_INT = re.compile(r"[+-]?[0-9]{1,12}")
# the kernel's dev_valid_name refuses '/', ':' and isspace(); a '%' makes
# it expand the name ("br%d" becomes "br0") or fail
_IFNAME_BAD = re.compile(r"[/:%\s]", re.ASCII)


def _show(value) -> str:
    """``repr(value)``, cut short for messages."""
    r = repr(value)
    return r if len(r) <= 80 else r[:77] + "..."


def _a(word: str) -> str:
    """The article of ``word``."""
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


# ------------------------------------------------------- names and ids

def name(kind: str, value) -> str:
    """A network, endpoint or sandbox name: ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``,
    at most 255 characters, matched in full (InvalidName)."""
    if (not isinstance(value, str) or len(value) > MAX_NAME
            or not _NAME.fullmatch(value)):
        raise InvalidName(f"invalid {kind} name {_show(value)}: expected "
                          f"[a-zA-Z0-9][a-zA-Z0-9_.-]* of at most {MAX_NAME} "
                          "characters")
    return value


def object_id(kind: str, value, empty: bool = False) -> str:
    """A network, endpoint or sandbox id: the pattern of names; ``""``
    too when ``empty`` (InvalidParameter)."""
    if empty and value == "":
        return value
    if (not isinstance(value, str) or len(value) > MAX_NAME
            or not _NAME.fullmatch(value)):
        raise InvalidParameter(f"invalid {kind} id {_show(value)}: expected "
                               "[a-zA-Z0-9][a-zA-Z0-9_.-]*"
                               + (" or ''" if empty else ""))
    return value


def container_id(value) -> str:
    """A container id: 1 to 255 printable characters, no space
    (InvalidName)."""
    if (not isinstance(value, str) or not 0 < len(value) <= MAX_NAME
            or not value.isprintable() or " " in value):
        raise InvalidName(f"invalid container id {_show(value)}: expected 1 "
                          f"to {MAX_NAME} printable characters without "
                          "spaces")
    return value


def container_ids(value) -> list:
    """A list of container ids (not one id as a string)."""
    return [container_id(c) for c in sequence(value, "container ids")]


# ------------------------------------------------------------- shapes

def sequence(value, what: str) -> list:
    """A list, tuple, set or other iterable as a list -- not a string (the
    characters of ``"abc"`` are not three items) nor a mapping."""
    if (isinstance(value, (str, bytes, bytearray, memoryview, Mapping))
            or not isinstance(value, Iterable)):
        raise InvalidParameter(f"{what}: expected a list, got "
                               f"{type(value).__name__} {_show(value)}")
    return list(value)


def mapping(value, what: str, str_values: bool = False) -> dict:
    """A mapping with str keys (None: empty) as a dict; with
    ``str_values`` its values are strings too.  No NUL anywhere."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameter(f"{what}: expected a mapping, got "
                               f"{type(value).__name__} {_show(value)}")
    for k, v in value.items():
        text(k, f"{what} key")
        if str_values:
            text(v, f"{what}[{k!r}]")
    return dict(value)


def text(value, what: str) -> str:
    """A string without NUL."""
    if not isinstance(value, str) or "\0" in value:
        raise InvalidParameter(f"{what}: expected a string without NUL, got "
                               f"{_show(value)}")
    return value


def token(value, what: str, empty: bool = False) -> str:
    """One word of a sandbox file (host name, domain, search domain,
    resolver option): printable, no whitespace; ``""`` when ``empty``."""
    if empty and value == "":
        return value
    if not isinstance(value, str) or not value or not value.isprintable() \
            or " " in value:
        raise InvalidParameter(f"invalid {what} {_show(value)}: expected one "
                               "word of printable characters")
    return value


def path(value, what: str) -> str:
    """A file path: a non-empty string without NUL."""
    if not isinstance(value, str) or not value or "\0" in value:
        raise InvalidParameter(f"invalid {what} {_show(value)}: expected a "
                               "file path")
    return value


# ---------------------------------------------------------- addresses

def address(value, what: str, prefix: bool = False) -> str:
    """An IP address as text (as given); with ``prefix``, a prefix length
    may follow it (``10.0.0.5/24``)."""
    kinds = (ipaddress.IPv4Address, ipaddress.IPv6Address)
    if prefix:
        kinds += (ipaddress.IPv4Interface, ipaddress.IPv6Interface)
    if isinstance(value, kinds):
        return str(value)
    expected = "an IP address" + (" (with or without a prefix length)"
                                  if prefix else "")
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        if prefix and "/" in value:
            ipaddress.ip_interface(value)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter(f"invalid {what} {_show(value)}: expected "
                               f"{expected}") from None
    return value


def mac(value) -> str:
    """A unicast, non-zero MAC as ``aa:bb:cc:dd:ee:ff`` (returned in lower
    case)."""
    if not isinstance(value, str) or not _MAC.fullmatch(value):
        raise InvalidParameter(f"invalid MAC address {_show(value)}: expected "
                               "aa:bb:cc:dd:ee:ff")
    if int(value[:2], 16) & 1:
        raise InvalidParameter(f"invalid MAC address {value!r}: multicast "
                               "(the first byte is odd); an interface needs "
                               "a unicast MAC")
    if value == "00:00:00:00:00:00":
        raise InvalidParameter(f"invalid MAC address {value!r}: all zero")
    return value.lower()


# ------------------------------------------------- flags and integers

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def flag(value, what: str) -> bool:
    """A bool, 0 or 1, or Go's ``strconv.ParseBool`` text (``"true"``,
    ``"0"`` ...): ``bool("false")`` is True, so text is parsed, never
    cast."""
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in _TRUE | _FALSE:
        return value in _TRUE
    raise InvalidParameter(f"{what}={_show(value)}: expected a bool (or "
                           "'true'/'false', '1'/'0')")


def integer(value, what: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]`` from an int or its decimal text; floats
    (never silently truncated) and bools are refused."""
    n = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _INT.fullmatch(value):
        n = int(value)
    if n is None:
        raise InvalidParameter(f"{what}={_show(value)}: expected an integer "
                               f"from {lo} to {hi}")
    if not lo <= n <= hi:
        raise InvalidParameter(f"{what}={_show(value)}: out of range {lo} to "
                               f"{hi}")
    return n


def mtu(value, what: str) -> Optional[int]:
    """An MTU from 68 to 65535 (int or decimal text); None, ``""``, 0 and
    ``"0"`` mean "not set" (None)."""
    if value is None or (type(value) in (int, str) and value in ("", 0, "0")):
        return None
    return integer(value, what, 68, 65535)


# ----------------------------------------------------------------- IPAM

def ipam_conf(conf, v6: bool, what: str):
    """An :class:`~libnetwork.network.IpamConf` (or a mapping of its
    fields): the pool a usable subnet of the family (not loopback,
    multicast, link-local or unspecified), the sub-pool inside it, the
    gateway and auxiliary addresses in it, with no prefix length that
    disagrees with it.  Returned as an IpamConf, its fields as given."""
    from .network import IpamConf       # network.py imports this module
    if isinstance(conf, Mapping):
        unknown = set(conf) - {"preferred_pool", "sub_pool", "gateway",
                               "aux_addresses"}
        if unknown:
            raise InvalidParameter(f"{what}: unknown IpamConf field(s) "
                                   f"{sorted(map(str, unknown))}")
        conf = IpamConf(**conf)
    if not isinstance(conf, IpamConf):
        raise InvalidParameter(f"{what}: expected an IpamConf, got "
                               f"{type(conf).__name__} {_show(conf)}")
    net, _ = inputs.pool_request(conf.preferred_pool, conf.sub_pool, v6)
    aux = mapping(conf.aux_addresses, f"{what} aux_addresses")
    for key, value in [("gateway", conf.gateway)] + sorted(aux.items()):
        if value is None or value == "":
            continue
        label = f"{what} {key}"
        if net is None:
            address(value, label, prefix=True)
        else:
            inputs.pool_address(value, net, label)
    return conf


# ----------------------------------------------------- interface names

def ifname(value, what: str) -> str:
    """An interface name the kernel takes as it is: 1 to 15 bytes, not
    ``.`` or ``..``, no ``/``, ``:``, whitespace or NUL, and no ``%``
    (which the kernel expands: ``br%d`` becomes ``br0``)."""
    if not isinstance(value, str):
        raise InvalidParameter(f"{what}={_show(value)}: an interface name "
                               "is a string")
    size = len(value.encode("utf-8", "surrogatepass"))
    if not 0 < size < IFNAMSIZ:
        raise InvalidParameter(f"{what}={_show(value)}: an interface name "
                               f"is 1 to {IFNAMSIZ - 1} bytes, not {size}")
    if "%" in value:
        raise InvalidParameter(f"{what}={_show(value)}: '%' in an interface "
                               "name is expanded by the kernel (%d: the "
                               "first free number)")
    if value in (".", "..") or _IFNAME_BAD.search(value) \
            or not value.isprintable():
        raise InvalidParameter(f"{what}={_show(value)}: not a valid interface "
                               "name (no '/', ':', whitespace or control "
                               "characters; not '.' or '..')")
    return value


# ------------------------------------------------ CNM objects, options

def owned(controller, value, cls: type, kind: str):
    """``value`` is a ``cls`` (Network, Endpoint, Sandbox) of
    ``controller``."""
    if not isinstance(value, cls):
        raise InvalidParameter(f"expected {_a(kind)} {kind} (libnetwork."
                               f"{cls.__name__}), got {type(value).__name__}"
                               f" {_show(value)}")
    if value._c is not controller:
        raise InvalidParameter(f"{kind} {_show(value)} belongs to another "
                               "controller")
    return value


def options(values, kind: str) -> list:
    """Option functions of ``kind`` (``"network"``, ``"endpoint"``,
    ``"sandbox"``): callables, and those made by this package's
    constructors of that kind."""
    out = []
    for opt in values:
        mark = getattr(opt, "option_kind", kind)
        if not callable(opt) or mark != kind:
            got = (f"{_a(mark)} {mark} option" if callable(opt)
                   else f"{type(opt).__name__} {_show(opt)}")
            raise InvalidParameter(f"expected {_a(kind)} {kind} option, got "
                                   f"{got}")
        out.append(opt)
    return out
