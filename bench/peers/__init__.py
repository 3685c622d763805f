"""The exec peers: networking done per container by the tools runtimes
exec, one container at a time, through the whole setup and teardown.

* :mod:`.netns` -- a container's network namespace made and removed the
  way a runtime does it (in-process: a thread's ``unshare`` + bind mount);
* :mod:`.cni` -- the reference CNI plugins (``cni-bridge``,
  ``cni-bridge-masq``, ``cni-bridge-portmap``), one process per plugin
  per ADD and DEL, chained as libcni chains a conflist;
* :mod:`.netavark` -- ``netavark setup`` / ``teardown`` per container;
* :mod:`.runner` -- the peers by name, and the timed sequential run of N
  containers (ADD of each, then DEL of each).

Everything runs only inside ``python -m libnetwork.isolate``.
"""
