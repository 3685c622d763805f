"""The "wire N endpoints" comparison: one module per job.

* :mod:`.workload` -- what is wired (names, addresses, the plan) and the
  untimed checks of the state it produced;
* :mod:`.peer` -- the one interface every peer implements;
* :mod:`.peer_backend`, :mod:`.peer_ip_batch`, :mod:`.peer_iproute` -- the
  peers: libnetwork's backends, ``ip -batch``, pyroute2's ``IPRoute`` API;
* :mod:`.registry` -- the peers by name;
* :mod:`.harness` -- drives one peer: untimed preparation and checks around
  the timed calls;
* :mod:`.measure` -- wall and CPU time of a phase, waiting for the kernel;
* :mod:`.rounds`, :mod:`.stages` -- the report's schedule of measurements.

Everything that touches the kernel runs only inside
``python -m libnetwork.isolate``; ``bench/README.md`` describes the
workload, the peers and what each number means.
"""
