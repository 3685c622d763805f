"""The bridge networks' firewall on nftables: the constant ruleset
(:mod:`.ruleset`), the elements that carry networks and published ports
(:mod:`.elements`), and host-port allocation (:mod:`.ports`)."""
