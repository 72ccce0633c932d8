# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The routes to the other nodes' container subnets, from their variables.

Pure Python on the controller (the filter netplumb.linux.bridge_network_peer_routes
calls it): no Ansible import, tested by tests/unit/test_bridge_network_peers.py.
Everything else the bridge_network role derives is node_network's, on the node.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Per family: the peer's subnet and the node address it is routed through.
PAIRS = (("bridge_network_cidr", "bridge_network_node_address"),
         ("bridge_network_cidr6", "bridge_network_node_address6"))
VARIABLES = tuple(name for pair in PAIRS for name in pair)


def peer_routes(peers):
    """Routes to the peers' container subnets: for each peer (a dict of its
    bridge_network_* variables), per family, when it sets both the subnet and
    its node address."""
    routes = []
    for peer in peers:
        for cidr, gateway in PAIRS:
            if peer.get(cidr) and peer.get(gateway):
                routes.append({"dst": peer[cidr], "gateway": peer[gateway]})
    return routes
