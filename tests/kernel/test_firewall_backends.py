"""Both backends make the same firewall, and removals that may find their
object gone (``missing_ok``: the kernel's DESTROY messages) behave as
promised.

The same two networks and three published ports, built by one controller
on each backend in namespaces of their own, list the same ruleset
(``nft -j list ruleset``, normalised: handles, the table's name and
comment -- they carry each store's identity -- and element order).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess

import libnetwork
from backend_util import ok
from libnetwork import IpamConf, PortBinding, netlabel
from libnetwork.backends import nft_ops as N
from libnetwork.firewall import ruleset

NFT = shutil.which("nft") or "/usr/sbin/nft"
T = "libnetwork_t"
S = ruleset.SETS


def nft_json(ns) -> list:
    out = subprocess.run(["nsenter", f"--net={ns}", NFT, "-j", "list",
                          "ruleset"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["nftables"]


def normalised(ns) -> list:
    """The ruleset without what differs between two stores."""
    out = []
    for obj in nft_json(ns):
        if "metainfo" in obj:
            continue
        (kind, body), = obj.items()
        body = dict(body)
        body.pop("handle", None)
        body.pop("comment", None)
        if kind == "table":
            body["name"] = "X"
        elif "table" in body:
            body["table"] = "X"
        if "elem" in body:
            body["elem"] = sorted(body["elem"], key=json.dumps)
        out.append({kind: body})
    return out


def build(backend, ns, tmp):
    c = libnetwork.new(backend=backend, root_namespace=ns,
                       data_dir=os.path.join(tmp, backend, "data"),
                       exec_root=os.path.join(tmp, backend, "exec"))
    try:
        web = c.new_network("bridge", "web", ipv4=[IpamConf("10.120.0.0/24")],
                            generic={netlabel.BRIDGE_NAME: "br-web",
                                     netlabel.BRIDGE_ENABLE_ICC: False})
        db = c.new_network("bridge", "db", ipv4=[IpamConf("10.121.0.0/24")],
                           generic={netlabel.BRIDGE_NAME: "br-db",
                                    netlabel.HOST_IPV4: "192.0.2.9"})
        web.create_endpoint("a", port_mapping=[
            PortBinding("tcp", 80, 8080), PortBinding("udp", 53, 5353,
                                                      "192.0.2.10")])
        db.create_endpoint("b", port_mapping=[PortBinding("tcp", 5432,
                                                          5432)])
        return normalised(ns)
    finally:
        c.stop()


def test_both_backends_make_the_same_ruleset(make_ns, tmp_path):
    native = build("native", make_ns("n"), str(tmp_path))
    pyroute2 = build("pyroute2", make_ns("p"), str(tmp_path))
    assert native == pyroute2
    # and it holds what was asked: two bridges, ICC off on one, SNAT on
    # the other, three ports
    by_name = {o[k]["name"]: o[k] for o in native for k in o
               if k in ("set", "map")}
    assert sorted(by_name["bridges"]["elem"]) == ["br-db", "br-web"]
    assert len(by_name["any4"]["elem"]) == 2
    assert len(by_name["ports4"]["elem"]) == 1
    assert len(by_name["snat4"]["elem"]) == 1
    assert sum("rule" in o for o in native) == ruleset.RULE_COUNT


def _key(name, *values):
    return N.pack(S[name][0], values)


def test_destroy_forgives_what_is_gone_delete_does_not(backend, netns):
    ok(backend, ruleset.table_ops(T, "libnetwork test"))
    a = N.NftElem(_key("bridges", "br-a"))
    b = N.NftElem(_key("bridges", "br-b"))
    ok(backend, [N.NftElemAdd(T, "bridges", (a,))])
    # delete: an element not there fails the transaction (nothing goes)
    res = backend.execute([N.NftElemDel(T, "bridges", (a, b))])
    assert res[0].errno == errno.ENOENT, res
    assert _bridges(netns) == ["br-a"]
    # destroy: the one there goes, the one not there is no error
    ok(backend, [N.NftElemDel(T, "bridges", (a, b), missing_ok=True)])
    assert _bridges(netns) == []
    ok(backend, [N.NftTableDel(T, missing_ok=True)])
    ok(backend, [N.NftTableDel(T, missing_ok=True)])      # gone: fine
    res = backend.execute([N.NftTableDel(T)])
    assert res[0].errno == errno.ENOENT, res


def _bridges(ns) -> list:
    for obj in nft_json(ns):
        if obj.get("set", {}).get("name") == "bridges":
            return sorted(obj["set"].get("elem", []))
    raise AssertionError("no set bridges")
