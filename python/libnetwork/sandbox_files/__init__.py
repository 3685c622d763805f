"""A sandbox's ``/etc/hosts`` and ``/etc/resolv.conf``, in libnetwork's format.

This package is the one import the rest of the code uses
(``from libnetwork import sandbox_files as files``); it re-exports:

* :mod:`.hosts`: the hosts file, built and edited (``etchosts``);
* :mod:`.resolvconf`: the resolv.conf, parsed, filtered or built, with
  the hash that keeps a user's edits (``resolvconf``);
* :mod:`.fileio`: how both are read and written (in place, per-path lock);
* :mod:`.syntax`: the text rules both share.

Each file has pure functions that return the content (so it can be checked
byte for byte) and thin functions that write files.

Source matched: moby/libnetwork, branch ``master`` at commit
``3797618f9a38372e8107d8c06f6ae199e1133ae8`` (2023-10-20, the Docker 20.10
line): ``etchosts/etchosts.go``, ``resolvconf/resolvconf.go``,
``resolvconf/dns/resolvconf.go`` and ``sandbox_dns_unix.go``.
"""

from .fileio import forget_path
from .hosts import (
    DEFAULT_HOSTS,
    Record,
    add_hosts,
    build_hosts,
    delete_hosts,
    hosts_add_content,
    hosts_content,
    hosts_delete_content,
    hosts_update_content,
    own_hosts_names,
    update_hosts,
)
from .resolvconf import (
    DEFAULT_IPV4_DNS,
    DEFAULT_IPV6_DNS,
    HOST_RESOLV_CONF,
    SYSTEMD_RESOLV_CONF,
    ResolvCache,
    build_resolv_conf,
    content_hash,
    filter_resolv_conf,
    format_resolv_conf,
    hash_path,
    host_resolv_conf_path,
    nameservers,
    options,
    resolv_conf_content,
    search_domains,
    update_resolv_conf,
)

__all__ = [
    # hosts
    "Record", "DEFAULT_HOSTS", "hosts_content", "own_hosts_names",
    "build_hosts", "add_hosts", "delete_hosts", "update_hosts",
    "hosts_add_content", "hosts_delete_content", "hosts_update_content",
    # resolv.conf
    "DEFAULT_IPV4_DNS", "DEFAULT_IPV6_DNS", "HOST_RESOLV_CONF",
    "SYSTEMD_RESOLV_CONF", "nameservers", "search_domains", "options",
    "filter_resolv_conf", "format_resolv_conf", "resolv_conf_content",
    "content_hash", "hash_path", "build_resolv_conf", "update_resolv_conf",
    "host_resolv_conf_path", "ResolvCache",
    # both
    "forget_path",
]
