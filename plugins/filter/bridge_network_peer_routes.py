# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bridge_network_peer_routes
short_description: Routes to the other nodes' container subnets, from their variables
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - Takes the other hosts of the peer group (each as C(hostvars[peer])) and returns, per host and family, a route
    to its container subnet through its node address, for M(netplumb.linux.node_network)'s O(netplumb.linux.node_network#module:routes).
  - Only C(bridge_network_cidr), C(bridge_network_node_address), C(bridge_network_cidr6) and
    C(bridge_network_node_address6) are read; a peer that lacks one of a pair gets no route for that family.
  - Made for the bridge_network role; the logic is Python with unit tests, in the collection's
    C(plugins/plugin_utils/bridge_network_peers.py).
options:
  _input:
    description: The other hosts of the peer group, in its order, each as its variables.
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Routes to every other node's container subnet
  ansible.builtin.debug:
    msg: >-
      {{ groups['all'] | reject('equalto', inventory_hostname) | map('extract', hostvars)
         | netplumb.linux.bridge_network_peer_routes }}
# [{'dst': '198.51.101.0/24', 'gateway': '203.0.113.12'}]
'''

RETURN = r'''
_value:
  description: The routes, C(dst) and C(gateway) each.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.six import string_types

from ansible_collections.netplumb.linux.plugins.plugin_utils import bridge_network_peers


def _peer_value(peer, name):
    """A peer's variable, '' when it has none (what default('') gave)."""
    try:
        value = peer[name]
    except Exception:  # pylint: disable=broad-except
        # KeyError, or an undefined variable raised by the templating of hostvars.
        return ""
    if value is None or type(value).__name__.endswith("Undefined"):
        return ""
    return value if isinstance(value, string_types) else str(value)


def bridge_network_peer_routes(peers):
    if not is_sequence(peers):
        raise AnsibleFilterError("bridge_network_peer_routes: the input must be a list of hosts' variables, not %r"
                                 % (peers,))
    return bridge_network_peers.peer_routes(
        [dict((name, _peer_value(peer, name)) for name in bridge_network_peers.VARIABLES) for peer in peers])


class FilterModule(object):
    def filters(self):
        return {"bridge_network_peer_routes": bridge_network_peer_routes}
