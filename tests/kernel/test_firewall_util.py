"""The firewall tests' own tools, checked without libnetwork: the client
host link, the listeners and calls (both outcomes), and the ``nft -j``
reader on a table written by hand with the same shapes of maps."""

from __future__ import annotations

from firewall_util import *  # noqa: F401,F403
from firewall_util import (CLIENT4, CLIENT6, HOST4, HOST6, Listener, answers,
                           delete_elements, elements_for_port, nft,
                           our_table, port_elements, rule_count, silent,
                           table_dump)

_TABLE = """
table inet libnetwork_0123456789abcdef {
  set bridges { type ifname; elements = { "br-x" } }
  map any4 {
    type inet_proto . inet_service : ipv4_addr . inet_service;
             elements = { tcp . 8080 : 10.0.0.2 . 80,
                          udp . 53 : 10.0.0.3 . 53 } }
  map ports4 {
    type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;
               elements = { 10.99.0.1 . tcp . 8080 : 10.0.0.4 . 80 } }
  map snat4 { type ipv4_addr : ipv4_addr; flags interval;
              elements = { 10.120.0.0/24 : 10.99.0.5 } }
  chain forward { type filter hook forward priority 0; policy accept;
    oifname @bridges drop
  }
}
"""


def test_client_link_and_calls(netns, client):
    for proto in ("tcp", "udp"):
        with Listener(netns, proto, 0, "host") as h, \
                Listener(client, proto, 0, "cli", v6=True) as c:
            assert answers(client, proto, HOST4, h.port, h) == CLIENT4
            assert answers(netns, proto, CLIENT6, c.port, c) == HOST6
            assert answers(netns, proto, CLIENT4, c.port, c) == HOST4
            # nothing listens there: silent passes, and it notices when
            # the listener is reached after all
            assert silent(client, proto, HOST4, h.port + 1, h) is None
            try:
                silent(client, proto, HOST4, h.port, h)
            except AssertionError:
                pass
            else:
                raise AssertionError("silent() missed an answer")


def test_nft_reader(netns):
    t = "libnetwork_0123456789abcdef"
    nft(netns, "-f", "-", stdin=_TABLE)
    assert our_table(netns) == t
    assert rule_count(netns, t) == 1
    assert port_elements(netns, t) == {
        ("any4", ("tcp", "8080"), ("10.0.0.2", "80")),
        ("any4", ("udp", "53"), ("10.0.0.3", "53")),
        ("ports4", ("10.99.0.1", "tcp", "8080"), ("10.0.0.4", "80"))}
    assert len(elements_for_port(netns, t, 8080)) == 2
    assert elements_for_port(netns, t, 53) == set()
    dump = table_dump(netns, t)
    assert all("handle" not in v for o in dump for v in o.values())
    delete_elements(netns, t, elements_for_port(netns, t, 8080))
    assert port_elements(netns, t) == {
        ("any4", ("udp", "53"), ("10.0.0.3", "53"))}
    assert table_dump(netns, t) != dump
