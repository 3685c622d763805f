"""The firewall comparison: N published ports and masquerade for one
subnet, by libnetwork's firewall and by the tools a script or Docker runs.

* :mod:`.workload` -- the ports (host port, container address and port),
  the subnet, the untimed table checks;
* :mod:`.peers` -- the exec peers: one ``nft`` per published port (a DNAT
  rule, or a map element), and ``iptables-nft`` per rule as Docker runs it;
* :mod:`.library` -- libnetwork itself: a controller in a fresh namespace
  attaching N containers with or without a published port each, and one
  nfnetlink transaction of port elements through a backend;
* :mod:`.rounds` -- the report's schedule of these measurements.

Everything here runs only inside ``python -m libnetwork.isolate``.
"""
