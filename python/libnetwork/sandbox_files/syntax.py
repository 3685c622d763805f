"""The text rules the hosts file and resolv.conf share.

libnetwork matches both files with Go regular expressions, whose ``\\s``
and ``\\S`` differ from Python's (no ``\\v``, no Unicode spaces); the
classes below are Go's.  Addresses that a caller gave are checked here and
written as given.
"""

from __future__ import annotations

import ipaddress
import re

from ..errors import InvalidParameter

__all__ = ["GO_S", "GO_NS", "WHITESPACE", "check_ip_text"]

GO_S = r"[\t\n\f\r ]"        # Go's \s
GO_NS = r"[^\t\n\f\r ]"      # Go's \S
#: Any whitespace: never inside a name, a search domain or an option.
WHITESPACE = re.compile(r"\s")


def check_ip_text(ip) -> str:
    """An address a caller gave: validated, returned as given (libnetwork
    writes the string the user passed)."""
    text = str(ip)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"not an IP address: {ip!r}") from None
    return text
