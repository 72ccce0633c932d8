# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bridge_network_plan
short_description: What the bridge_network role derives from its variables
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - Takes the role's variables (without their C(bridge_network_) prefix) and returns, as data, everything the
    role's tasks loop over - the bridge's addresses, the containers as M(netplumb.linux.container_net) takes
    them, the masquerade rules and the ones they replace, the forward-accept rules, the port forwards with their
    IPv6 twins, the routes to the other nodes' container subnets, the IPv6 sysctl settings, and the teardown set.
  - Made for the role (its C(tasks/main.yml)); the logic is Python with unit tests, in the collection's
    C(plugins/plugin_utils/bridge_network_plan.py).
options:
  _input:
    description:
      - The role's variables without their C(bridge_network_) prefix - V(cidr), V(cidr6), V(gateway), V(gateway6),
        V(cluster_cidr), V(cluster_cidr6), V(containers), V(port_forwards), and V(peer_routes) when set (left out,
        the routes are computed from O(peers)).
    type: dict
    required: true
  uplink:
    description: The uplink M(netplumb.linux.net_facts) found - its C(name), and the C(names) a teardown removes rules for.
    type: dict
    default: {}
  peers:
    description:
      - The other hosts of the peer group, in its order, each as its variables (C(hostvars[peer])). Only
        C(bridge_network_cidr), C(bridge_network_node_address), C(bridge_network_cidr6) and
        C(bridge_network_node_address6) are read; a peer that lacks one of them gets no route for that family.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: The plan of the node's container network
  ansible.builtin.set_fact:
    plan: >-
      {{ {'cidr': '198.51.100.0/26', 'cidr6': '', 'gateway': '', 'gateway6': '', 'cluster_cidr': '',
          'cluster_cidr6': '', 'containers': [{'name': 'c1', 'address': '198.51.100.11'}],
          'port_forwards': [{'port': 80, 'to': '198.51.100.11:8080'}]}
         | netplumb.linux.bridge_network_plan(uplink={'name': 'eth0', 'names': ['eth0']}) }}
# plan.bridge_addresses: ['198.51.100.1/26']
# plan.port_forwards: [{'port': '80', 'protocol': 'tcp', 'to': '198.51.100.11:8080', 'family': 'ipv4'}]
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    gateway:
      description: The IPv4 gateway address on the bridge.
      type: str
    gateway6:
      description: The IPv6 gateway address on the bridge; empty on an IPv4-only node.
      type: str
    bridge_addresses:
      description: The bridge's addresses with the subnets' prefix lengths.
      type: list
      elements: str
    containers:
      description: The containers for M(netplumb.linux.container_net), addresses with prefix lengths.
      type: list
      elements: dict
    masquerades:
      description: One masquerade per subnet, C(source) and C(not_to) (the cluster CIDR of its family, or empty).
      type: list
      elements: dict
    masquerades_replaced:
      description: The masquerades with a C(not_to), whose plain (everything) form goes.
      type: list
      elements: dict
    forward_matches:
      description: The forward-accept rules, C(source) each subnet, then C(destination) each subnet.
      type: list
      elements: dict
    port_forwards:
      description: The port forwards as M(netplumb.linux.nat_rule) options, C(port), C(protocol), C(to), C(family); each IPv4
        one followed by its IPv6 twin on a dual-stack node.
      type: list
      elements: dict
    routes_to_peers:
      description: The routes to the other nodes' container subnets, C(dst) and C(gateway).
      type: list
      elements: dict
    sysctl6:
      description: The IPv6 sysctl settings (C(name), C(value)) for a dual-stack node.
      type: list
      elements: dict
    teardown:
      description: What a teardown removes - C(port_forwards) and C(masquerades) as C([rule, uplink name]) pairs for
        every name the uplink may have had, and C(sysctl6), the IPv6 sysctl names.
      type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.six import string_types

from ansible_collections.netplumb.linux.plugins.plugin_utils import bridge_network_plan as planner

PEER_VARIABLES = ("bridge_network_cidr", "bridge_network_node_address",
                  "bridge_network_cidr6", "bridge_network_node_address6")


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


def bridge_network_plan(settings, uplink=None, peers=None):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("bridge_network_plan: the input must be a dict of the role's variables, not %r" % (settings,))
    if peers is not None and not is_sequence(peers):
        raise AnsibleFilterError("bridge_network_plan: peers must be a list, not %r" % (peers,))
    peer_vars = [dict((name, _peer_value(peer, name)) for name in PEER_VARIABLES) for peer in peers or []]
    try:
        return planner.plan(settings, uplink=dict(uplink or {}), peers=peer_vars)
    except (planner.PlanError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("bridge_network_plan: %s" % (exc,))


class FilterModule(object):
    def filters(self):
        return {"bridge_network_plan": bridge_network_plan}
