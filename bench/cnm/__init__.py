"""Workloads through libnetwork's public CNM API (``libnetwork.new``,
``new_network``, ``attach``, ``detach``):

* :mod:`.world` -- a controller rooted in a fresh namespace, its networks,
  RSS, restore (a second ``libnetwork.new()`` on the same store);
* :mod:`.scale` -- attach/detach of N containers per backend, with the
  memory per endpoint and the restore time at each N;
* :mod:`.latency` -- one container at a time: attach and detach, with and
  without a warm pool; ``detach(wait=False)`` and the reaper;
* :mod:`.large` -- 10,000 containers in 10 networks (``--large``).

Options the library does not have yet (``warm_pool``, ``wait=False``)
make their cells "not available" (:class:`wiring.peer.Unavailable`).
"""
