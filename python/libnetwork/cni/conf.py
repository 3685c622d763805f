"""What a CNI runtime hands the plugin: the environment (``CNI_*``) and the
network configuration on stdin, checked and turned into :class:`Request`;
and the plugin's errors with their CNI codes.

Error codes (CNI spec): 1 incompatible version, 2 unsupported field,
3 container unknown or does not exist (its namespace is gone: nothing to
clean up), 4 invalid necessary environment variables, 5 I/O failure,
6 failed to decode content, 7 invalid network configuration, 11 try again
later; the plugin's own from 100 (see :data:`PLUGIN_CODES`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["CniError", "Request", "parse", "SUPPORTED", "PLUGIN_TYPE",
           "PLUGIN_CODES", "DEFAULT_DATA_DIR", "DEFAULT_EXEC_ROOT"]

PLUGIN_TYPE = "libnetwork-cni"
SUPPORTED = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]
DEFAULT_DATA_DIR = "/var/lib/libnetwork-cni"
DEFAULT_EXEC_ROOT = "/run/libnetwork-cni"

#: the plugin's own codes (100 and up)
PLUGIN_CODES = {
    100: "address pool exhausted",
    101: "port already allocated",
    102: "check failed: the kernel or the store disagrees with the result",
    103: "conflict with existing state",
    104: "the kernel refused the change",
    110: "internal error",
}

_CID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_COMMANDS = ("ADD", "DEL", "CHECK", "VERSION")


class CniError(Exception):
    """An error the runtime receives as JSON, with its CNI ``code``."""

    def __init__(self, code: int, msg: str, details: str = ""):
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details

    def to_json(self, version: str) -> dict:
        return {"cniVersion": version, "code": self.code, "msg": self.msg,
                "details": self.details}


@dataclass
class Request:
    command: str
    version: str = "1.0.0"
    container_id: str = ""
    netns: Optional[str] = None
    ifname: str = ""
    conf: dict = field(default_factory=dict)
    name: str = ""
    subnet: Optional[str] = None
    gateway: Optional[str] = None
    bridge: Optional[str] = None
    ip_masq: bool = True
    mtu: Optional[int] = None
    default_gateway: bool = True
    data_dir: str = DEFAULT_DATA_DIR
    exec_root: str = DEFAULT_EXEC_ROOT
    backend: Optional[str] = None
    root_namespace: Optional[str] = None
    port_mappings: list = field(default_factory=list)
    prev_result: Optional[dict] = None


def _decode(raw: bytes) -> dict:
    try:
        conf = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CniError(6, "failed to decode the network configuration",
                       str(exc)) from None
    if not isinstance(conf, dict):
        raise CniError(6, "failed to decode the network configuration",
                       "expected a JSON object")
    return conf


def _version(conf: dict) -> str:
    v = conf.get("cniVersion")
    if not isinstance(v, str) or not v:
        raise CniError(7, "invalid network configuration",
                       "cniVersion: a version string is required")
    if v not in SUPPORTED:
        raise CniError(1, f"incompatible CNI version {v}",
                       f"supported: {', '.join(SUPPORTED)}")
    return v


def _typed(conf, key, types, what, default=None):
    v = conf.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) and bool not in types or not isinstance(v, types):
        raise CniError(7, "invalid network configuration",
                       f"{key}={v!r}: {what}")
    return v


def _env(name: str, required: bool) -> Optional[str]:
    v = os.environ.get(name) or None
    if required and v is None:
        raise CniError(4, f"{name} is not set", f"{name} is required")
    return v


def _port_mappings(conf) -> list:
    rc = conf.get("runtimeConfig") or {}
    if not isinstance(rc, dict):
        raise CniError(7, "invalid network configuration",
                       "runtimeConfig: an object")
    maps = rc.get("portMappings") or []
    if not isinstance(maps, list):
        raise CniError(7, "invalid network configuration",
                       "runtimeConfig.portMappings: a list")
    out = []
    for m in maps:
        ok = isinstance(m, dict)
        host, cont = (m.get("hostPort"), m.get("containerPort")) if ok \
            else (None, None)
        proto = (m.get("protocol") or "tcp") if ok else None
        hip = (m.get("hostIP") or "") if ok else None
        if not (ok and all(isinstance(p, int) and not isinstance(p, bool)
                           and 0 <= p <= 65535 for p in (host, cont))
                and cont and isinstance(proto, str)
                and proto.lower() in ("tcp", "udp", "sctp")
                and isinstance(hip, str)):
            raise CniError(7, "invalid network configuration",
                           f"runtimeConfig.portMappings entry {m!r}: "
                           "{hostPort, containerPort, protocol "
                           "(tcp|udp|sctp), hostIP}")
        out.append(dict(proto=proto.lower(), port=cont, host_port=host,
                        host_ip=hip))
    return out


def _network_fields(req: Request, conf: dict) -> None:
    if conf.get("type", PLUGIN_TYPE) != PLUGIN_TYPE:
        raise CniError(7, "invalid network configuration",
                       f"type={conf.get('type')!r}: this plugin is "
                       f"{PLUGIN_TYPE!r}")
    name = conf.get("name")
    if not isinstance(name, str) or not _CID.fullmatch(name) \
            or len(name) > 255:
        raise CniError(7, "invalid network configuration",
                       f"name={name!r}: letters, digits, '_', '.', '-'")
    req.name = name
    for key in ("subnet", "gateway"):
        v = _typed(conf, key, (str,), "an address string")
        try:
            if v is not None:
                (ipaddress.ip_network if key == "subnet"
                 else ipaddress.ip_address)(v)
        except ValueError as exc:
            raise CniError(7, "invalid network configuration",
                           f"{key}={v!r}: {exc}") from None
        setattr(req, key, v)
    req.bridge = _typed(conf, "bridge", (str,), "an interface name")
    req.ip_masq = _typed(conf, "ipMasq", (bool,), "true or false", True)
    req.mtu = _typed(conf, "mtu", (int,), "an integer")
    req.default_gateway = _typed(conf, "isDefaultGateway", (bool,),
                                 "true or false", True)
    req.backend = os.environ.get("LIBNETWORK_BACKEND") or _typed(
        conf, "backend", (str,), "native or pyroute2")
    req.data_dir = os.environ.get("LIBNETWORK_DATA_DIR") or _typed(
        conf, "dataDir", (str,), "a directory", DEFAULT_DATA_DIR)
    req.exec_root = os.environ.get("LIBNETWORK_EXEC_ROOT") or _typed(
        conf, "execRoot", (str,), "a directory", DEFAULT_EXEC_ROOT)
    req.root_namespace = os.environ.get("LIBNETWORK_ROOT_NAMESPACE") or \
        _typed(conf, "rootNamespace", (str,), "a namespace path")
    req.port_mappings = _port_mappings(conf)
    prev = conf.get("prevResult")
    if prev is not None and not isinstance(prev, dict):
        raise CniError(7, "invalid network configuration",
                       "prevResult: an object")
    req.prev_result = prev


def parse(stdin: bytes) -> Request:
    """The request of this invocation; raises :class:`CniError`."""
    command = os.environ.get("CNI_COMMAND") or ""
    if command not in _COMMANDS:
        raise CniError(4, f"CNI_COMMAND={command!r}",
                       f"one of {', '.join(_COMMANDS)}")
    req = Request(command)
    if command == "VERSION":
        if stdin.strip():
            conf = _decode(stdin)
            v = conf.get("cniVersion")
            if isinstance(v, str) and v:
                req.version = v
        return req
    conf = _decode(stdin)
    req.conf = conf
    req.version = _version(conf)
    if command == "CHECK" and req.version in ("0.3.0", "0.3.1"):
        raise CniError(1, f"CHECK is not defined for CNI version "
                       f"{req.version}", "CHECK needs 0.4.0 or later")
    req.container_id = _env("CNI_CONTAINERID", True)
    if not _CID.fullmatch(req.container_id) or len(req.container_id) > 255:
        raise CniError(4, f"CNI_CONTAINERID={req.container_id!r}",
                       "letters, digits, '_', '.', '-'")
    req.netns = _env("CNI_NETNS", command != "DEL")
    req.ifname = _env("CNI_IFNAME", True)
    if len(req.ifname.encode()) > 15 or re.search(r"[/:%\s]", req.ifname) \
            or req.ifname in (".", ".."):
        raise CniError(4, f"CNI_IFNAME={req.ifname!r}",
                       "an interface name of 1 to 15 bytes")
    _network_fields(req, conf)
    return req
