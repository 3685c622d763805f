"""The exec peers: the firewall work of N published ports and masquerade
for one subnet, done as a script or Docker does it, one process per change.

* ``nft-rule`` -- a script's usual way: once, untimed, a table ``ip
  bench_nat`` with a ``prerouting`` (dstnat) and a ``postrouting``
  (srcnat) nat chain; timed, one ``nft add rule ... masquerade`` for the
  subnet and then, per published port, one
  ``nft add rule ip bench_nat prerouting tcp dport HOSTPORT dnat to ADDR:80``.
* ``nft-element`` -- the same process per port into a table laid out as
  libnetwork's (the rules constant, a map of ports, a set of masqueraded
  subnets): ``nft add element ip bench_map ports { tcp . HOSTPORT : ADDR .
  80 }``.  The kernel work is that of one libnetwork element; the
  difference is the process and the transaction per port.
* ``iptables`` -- Docker's bridge driver in iptables mode, through
  ``iptables-nft``: once, untimed, the ``DOCKER`` chains of ``nat`` and
  ``filter`` and the jumps to them (as at daemon start); timed, the
  network's ``POSTROUTING -s SUBNET ! -o br0 -j MASQUERADE`` and, per
  published port, the three rules of Docker's per-port setup: the DNAT in
  ``nat DOCKER``, the ACCEPT in ``filter DOCKER`` and the hairpin
  MASQUERADE in ``nat POSTROUTING`` (each with ``--wait``, as Docker runs
  them).  Docker also runs ``-C`` (check) before each append; that is left
  out, so this is a lower bound of Docker's cost.

Each command is one ``subprocess.run`` waited for before the next, as a
script (or Docker's Go code) runs them; a failure stops the run, as
``set -e`` would.  The tables are made and removed untimed, in the
namespace of this process (inside ``libnetwork.isolate``).
"""

from __future__ import annotations

import json
import shutil
import subprocess

from wiring.peer import Unavailable

from .workload import BRIDGE, PROTO, SUBNET, port, run

_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _which(name: str):
    return shutil.which(name, path=_PATH)


def _nft() -> str:
    nft = _which("nft")
    if not nft:
        raise Unavailable("nft not installed (Debian: apt-get install "
                          "nftables)")
    return nft


def _iptables_nft() -> str:
    """iptables-nft (Debian's name), or an ``iptables`` that reports the
    nf_tables backend; else Unavailable."""
    exe = _which("iptables-nft")
    if exe:
        return exe
    exe = _which("iptables")
    if exe:
        v = subprocess.run([exe, "--version"], capture_output=True,
                           text=True).stdout
        if "nf_tables" in v:
            return exe
        raise Unavailable(f"{exe} is {v.strip()}, not iptables-nft")
    raise Unavailable("iptables-nft not installed (Debian: apt-get install "
                      "iptables)")


class ExecPeer:
    """One process per command.  ``prepare()`` (untimed) makes the
    tables, ``publish(n)`` (timed) runs the commands of ``n`` ports,
    ``check(n)`` (untimed) reads the rules back, ``cleanup()`` removes the
    tables."""

    label = "?"

    def prepare(self) -> None:
        raise NotImplementedError

    def commands(self, n: int) -> list[list[str]]:
        raise NotImplementedError

    def count(self) -> int:
        """Commands per published port."""
        raise NotImplementedError

    def check(self, n: int) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def publish(self, n: int) -> None:
        for cmd in self.commands(n):
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if p.returncode:
                raise RuntimeError(f"{self.label}: `{' '.join(cmd)}` exited "
                                   f"{p.returncode}: "
                                   f"{p.stderr.decode()[:300].strip()}")


class NftRulePeer(ExecPeer):
    """One ``nft add rule`` per published port."""

    label = "nft-rule"
    TABLE = "bench_nat"

    def __init__(self):
        self.nft = _nft()

    def count(self):
        return 1

    def prepare(self):
        self.cleanup()
        t = self.TABLE
        for cmd in (f"add table ip {t}",
                    f"add chain ip {t} prerouting {{ type nat hook "
                    f"prerouting priority dstnat; }}",
                    f"add chain ip {t} postrouting {{ type nat hook "
                    f"postrouting priority srcnat; }}"):
            run([self.nft, *cmd.split()], self.label)

    def commands(self, n):
        nft, t = self.nft, self.TABLE
        out = [[nft, "add", "rule", "ip", t, "postrouting", "ip", "saddr",
                SUBNET, "oifname", "!=", BRIDGE, "masquerade"]]
        for i in range(n):
            hport, addr, cport = port(i)
            out.append([nft, "add", "rule", "ip", t, "prerouting", PROTO,
                        "dport", str(hport), "dnat", "to",
                        f"{addr}:{cport}"])
        return out

    def check(self, n):
        text = run([self.nft, "list", "table", "ip", self.TABLE], self.label)
        d, m = text.count(" dnat to "), text.count(" masquerade")
        assert (d, m) == (n, 1), (f"{self.label}: {d} dnat and {m} "
                                  f"masquerade rules, want {n} and 1")

    def cleanup(self):
        subprocess.run([self.nft, "delete", "table", "ip", self.TABLE],
                       capture_output=True)


class NftElementPeer(NftRulePeer):
    """One ``nft add element`` per published port, into a map laid out as
    libnetwork's ruleset (constant rules)."""

    label = "nft-element"
    TABLE = "bench_map"

    def prepare(self):
        self.cleanup()
        t = self.TABLE
        script = f"""
table ip {t} {{
  map ports {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
  set masq {{ type ipv4_addr; flags interval; }}
  chain prerouting {{ type nat hook prerouting priority dstnat;
    fib daddr type local dnat ip to meta l4proto . th dport map @ports
  }}
  chain postrouting {{ type nat hook postrouting priority srcnat;
    ip saddr @masq oifname != "{BRIDGE}" masquerade
  }}
}}
"""
        p = subprocess.run([self.nft, "-f", "-"], input=script, text=True,
                           capture_output=True)
        if p.returncode:
            raise RuntimeError(f"{self.label}: table: {p.stderr.strip()}")

    def commands(self, n):
        nft, t = self.nft, self.TABLE
        out = [[nft, "add", "element", "ip", t, "masq", "{", SUBNET, "}"]]
        for i in range(n):
            hport, addr, cport = port(i)
            out.append([nft, "add", "element", "ip", t, "ports", "{",
                        PROTO, ".", str(hport), ":", addr, ".", str(cport),
                        "}"])
        return out

    def check(self, n):
        text = run([self.nft, "-j", "list", "table", "ip", self.TABLE],
                   self.label)
        elems = {o["map" if "map" in o else "set"]["name"]:
                 len(o.get("map", o.get("set", {})).get("elem", ()))
                 for o in json.loads(text)["nftables"]
                 if "map" in o or "set" in o}
        assert elems == {"ports": n, "masq": 1}, (
            f"{self.label}: elements {elems}, want ports {n}, masq 1")


class IptablesPeer(ExecPeer):
    """Docker's per-port rules through iptables-nft, three per port."""

    label = "iptables"

    def __init__(self):
        self.nft = _nft()            # to remove the tables afterwards
        self.ipt = _iptables_nft()

    def count(self):
        return 3

    def prepare(self):
        self.cleanup()
        ipt, br = self.ipt, BRIDGE
        for args in (
                "-t nat -N DOCKER",
                "-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
                "-t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type "
                "LOCAL -j DOCKER",
                "-t filter -N DOCKER",
                f"-t filter -A FORWARD -o {br} -j DOCKER",
                f"-t filter -A FORWARD -o {br} -m conntrack --ctstate "
                "RELATED,ESTABLISHED -j ACCEPT",
                f"-t filter -A FORWARD -i {br} ! -o {br} -j ACCEPT",
                f"-t filter -A FORWARD -i {br} -o {br} -j ACCEPT"):
            run([ipt, "--wait", *args.split()], self.label)

    def commands(self, n):
        ipt, br = self.ipt, BRIDGE
        out = [[ipt, "--wait", "-t", "nat", "-A", "POSTROUTING", "-s",
                SUBNET, "!", "-o", br, "-j", "MASQUERADE"]]
        for i in range(n):
            hport, addr, cport = port(i)
            hp, cp = str(hport), str(cport)
            out += [
                [ipt, "--wait", "-t", "nat", "-A", "DOCKER", "-p", PROTO,
                 "-d", "0/0", "--dport", hp, "-j", "DNAT",
                 "--to-destination", f"{addr}:{cp}", "!", "-i", br],
                [ipt, "--wait", "-t", "filter", "-A", "DOCKER", "!", "-i",
                 br, "-o", br, "-p", PROTO, "-d", addr, "--dport", cp, "-j",
                 "ACCEPT"],
                [ipt, "--wait", "-t", "nat", "-A", "POSTROUTING", "-p",
                 PROTO, "-s", addr, "-d", addr, "--dport", cp, "-j",
                 "MASQUERADE"]]
        return out

    def check(self, n):
        def rules(table, chain):
            text = run([self.ipt, "--wait", "-t", table, "-S", chain],
                       self.label)
            return sum(1 for l in text.splitlines()
                       if l.startswith(f"-A {chain} "))
        got = (rules("nat", "DOCKER"), rules("filter", "DOCKER"),
               rules("nat", "POSTROUTING"))
        assert got == (n, n, n + 1), (f"{self.label}: rules (nat DOCKER, "
                                      f"filter DOCKER, nat POSTROUTING) "
                                      f"{got}, want {(n, n, n + 1)}")

    def cleanup(self):
        for t in ("nat", "filter"):
            subprocess.run([self.nft, "delete", "table", "ip", t],
                           capture_output=True)


PEERS = {"nft-rule": NftRulePeer, "nft-element": NftElementPeer,
         "iptables": IptablesPeer}


def make(name: str) -> ExecPeer:
    """The exec peer called ``name``; Unavailable when its tool is
    missing."""
    try:
        return PEERS[name]()
    except KeyError:
        raise ValueError(f"unknown firewall peer {name!r}: one of "
                         f"{', '.join(PEERS)}") from None
