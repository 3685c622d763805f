"""The IPAM driver's store records: how a subnet is written and read back.

One store record per subnet: kind ``"ipam_pool"``, key ``<space>/<subnet>``,
value ``{"version", "space", "subnet", "pools": {pool_id: sub_pool|None},
"token"}`` and the serialized bitmap as the blob.  One more record, kind
``"ipam_meta"`` key ``"default"``, holds a token that changes whenever a
subnet record is created or deleted.  Every write stores a fresh random
token, so that a reader can tell whether a record changed since it read it.

A record that cannot be read whole and consistent raises LibnetworkError
rather than be guessed at or forgotten.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Container, Optional

from ..errors import LibnetworkError
from .subnet import Subnet, pool_texts, reserved

__all__ = ["STORE_KIND", "META_KIND", "META_KEY", "read_meta", "bump_meta",
           "write", "delete", "read", "read_all", "is_current", "decode"]

#: The store kind of the per-subnet records.
STORE_KIND = "ipam_pool"
#: The store kind and key of the record whose token changes with the set
#: of subnet records.
META_KIND = "ipam_meta"
META_KEY = "default"
RECORD_VERSION = 1


def _new_token() -> str:
    return os.urandom(12).hex()


def read_meta(store: Any) -> Optional[str]:
    """The meta token (None when there is none)."""
    value = store.get(META_KIND, META_KEY)
    return value.get("token") if isinstance(value, dict) else None


def bump_meta(store: Any) -> str:
    """Writes a new meta token and returns it."""
    token = _new_token()
    store.put(META_KIND, META_KEY, {"token": token})
    return token


def write(store: Any, subnet: Subnet, pools: dict) -> str:
    """Writes ``subnet`` holding ``pools``, and its bitmap; returns the
    record's new token."""
    token = _new_token()
    value = {
        "version": RECORD_VERSION,
        "space": subnet.space,
        "subnet": str(subnet.network),
        "pools": pool_texts(pools),
        "token": token,
    }
    store.put(STORE_KIND, subnet.key, value, blob=subnet.bitmap.to_bytes())
    return token


def delete(store: Any, key: str) -> None:
    store.delete(STORE_KIND, key)


def read(store: Any, key: str) -> object:
    """The value of the record of subnet ``key`` (None: there is none)."""
    return store.get(STORE_KIND, key)


def read_all(store: Any) -> dict:
    """``{key: value}`` of every subnet record."""
    return dict(store.list(STORE_KIND))


def is_current(subnet: Optional[Subnet], value: object) -> bool:
    """Whether memory's ``subnet`` is what the record ``value`` holds."""
    return (subnet is not None and subnet.token is not None
            and isinstance(value, dict)
            and value.get("token") == subnet.token)


def _corrupt(key: str, why: str) -> LibnetworkError:
    return LibnetworkError(
        f"IPAM store record {STORE_KIND}/{key} is unusable: {why}; refusing "
        f"to guess which addresses it held")


def _pools(key: str, net: Any, raw: object) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise _corrupt(key, "no pools")
    pools = {}
    for pid, sub in raw.items():
        if sub is None:
            if pid != key:
                raise _corrupt(key, f"pool id {pid!r} without sub-pool")
            pools[pid] = None
            continue
        try:
            subnet = ipaddress.ip_network(sub, strict=True)
        except (TypeError, ValueError) as exc:
            raise _corrupt(key, f"bad sub-pool {sub!r}: {exc}") from None
        if (subnet.version != net.version or not subnet.subnet_of(net)
                or pid != f"{key}/{subnet}"):
            raise _corrupt(key, f"bad sub-pool {pid!r}")
        pools[pid] = subnet
    return pools


def decode(store: Any, key: str, value: object, bitmap_cls: type,
           spaces: Container[str]) -> Subnet:
    """The subnet of record ``key`` whose value is ``value`` (its bitmap
    read from the store), checked against itself: a known address space
    in ``spaces``, a key that names it, sub-pools inside the subnet, a
    bitmap of the subnet's size with the reserved ordinals taken."""
    if not isinstance(value, dict):
        raise _corrupt(key, f"value is not an object: {value!r}")
    if value.get("version") != RECORD_VERSION:
        raise _corrupt(key, f"unknown version {value.get('version')!r}")
    space = value.get("space")
    if space not in spaces:
        raise _corrupt(key, f"unknown address space {space!r}")
    try:
        net = ipaddress.ip_network(value.get("subnet"), strict=True)
    except (TypeError, ValueError) as exc:
        raise _corrupt(key, f"bad subnet: {exc}") from None
    if key != f"{space}/{net}":
        raise _corrupt(key, f"key does not match {space}/{net}")
    pools = _pools(key, net, value.get("pools"))
    blob = store.get_blob(STORE_KIND, key)
    if blob is None:
        raise _corrupt(key, "the bitmap is missing")
    try:
        bitmap = bitmap_cls.from_bytes(bytes(blob))
    except (ValueError, TypeError) as exc:
        raise _corrupt(key, f"bad bitmap: {exc}") from None
    if bitmap.size != net.num_addresses:
        raise _corrupt(key, f"bitmap of {bitmap.size} ordinals for "
                            f"{net.num_addresses} addresses")
    for ordinal in reserved(net):
        if not bitmap.is_set(ordinal):
            raise _corrupt(key, f"reserved ordinal {ordinal} is free")
    return Subnet(space, net, bitmap, pools, value.get("token"))

