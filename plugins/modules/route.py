#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: route
short_description: Manage a route in a namespace
description:
  - Adds, replaces or deletes one route.
  - The route's identity is (O(dst), O(table), O(metric)), as the kernel's. A route with that identity
    but another gateway or device is replaced in place, never duplicated.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
  - netplumb.linux.common.netns
options:
  dst:
    description:
      - Destination network in CIDR form with the host bits zero (V(198.51.100.0/24), V(2001:db8:1::/64)),
        or V(default). V(default) is IPv6 (V(::/0)) when O(gateway) is IPv6, IPv4 otherwise.
    type: str
    required: true
  gateway:
    description: Next hop, of the same family as O(dst). Omitted, the route is direct (on-link via O(dev)).
    type: str
  dev:
    description: Outgoing interface; it must exist in O(netns). Omitted, the kernel picks it from O(gateway) and it is not compared.
    type: str
  metric:
    description: Route priority, part of the identity. Omitted, the family's default (0 for IPv4, 1024 for IPv6).
    type: int
  table:
    description: Routing table by number or as V(main), V(local), V(default). Omitted, V(main).
    type: str
  state:
    description: V(absent) deletes the route with this identity, whatever its gateway.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.bridge
  - module: netplumb.linux.node_network
  - name: community.general.nmcli
    description: Routes as part of a NetworkManager connection profile (C(routes4), C(routes6)).
    link: https://docs.ansible.com/ansible/latest/collections/community/general/nmcli_module.html
'''

EXAMPLES = r'''
- name: Containers leave through the bridge (scenario 4)
  netplumb.linux.route:
    netns: c1
    dst: default
    gateway: 198.51.100.1

- name: Reach another node's container subnet
  netplumb.linux.route:
    dst: 203.0.113.0/24
    gateway: 192.0.2.12
    metric: 100

- name: Remove it
  netplumb.linux.route:
    dst: 203.0.113.0/24
    metric: 100
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: route_add
      netns: c1
      target: default via 198.51.100.1 table 254 metric 0
      args:
        route: {dst: default, family: ipv4, gateway: 198.51.100.1, dev: null, metric: 0, table: 254,
                proto: "", scope: "", type: unicast}
      description: add route default via 198.51.100.1 table 254 metric 0 (netns c1)
rolled_back:
  description: On failure, the undo operations that were applied, in the order they ran.
  returned: failure after a partial apply
  type: list
  elements: str
not_undone:
  description: On failure, the applied operations that cannot be undone (deletions).
  returned: failure after a partial apply
  type: list
  elements: str
rollback_errors:
  description: On failure, undo operations that themselves failed, with the kernel's reason.
  returned: failure after a partial apply
  type: list
  elements: str
mismatches:
  description: 'On a failed read-back after the apply, each difference, as C(field: wanted W, found F).'
  returned: failure of the read-back
  type: list
  elements: str
failed_operation:
  description: On failure, the operation the kernel refused, in the form of an C(operations) entry.
  returned: failure after a partial apply
  type: dict
field:
  description: On a bad parameter, its name.
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.link import route
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dst=dict(type="str", required=True),
            gateway=dict(type="str"),
            dev=dict(type="str"),
            netns=dict(type="str"),
            metric=dict(type="int"),
            table=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, route)


if __name__ == "__main__":
    main()
