#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: bridge
short_description: Manage a Linux bridge
description:
  - Creates, converges or removes a Linux bridge in a namespace, with its addresses, MTU, STP and
    VLAN filtering, and brings it up.
  - A link of another kind with the same name stops the module before any change.
  - A bridge the module creates keeps a MAC address of its own. Left to the kernel, a bridge takes the lowest
    address of its ports, and when that port goes, the other ports' neighbours hold an address nothing answers
    to until they probe it again. A bridge that already exists keeps what it has.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
  - netplumb.linux.common.netns
options:
  name:
    description: Name of the bridge (at most 15 characters).
    type: str
    required: true
  addresses:
    description:
      - The full set of addresses of the bridge, each with its prefix; others are removed
        (IPv6 link-local excepted). Omitted, not managed.
    type: list
    elements: str
  mtu:
    description: MTU (68 to 65535; at least 1280 with an IPv6 address). Omitted, not managed (the kernel then follows
      the ports).
    type: int
  stp:
    description: Spanning tree on or off. Omitted, not managed (a new bridge has it off).
    type: bool
  vlan_filtering:
    description:
      - VLAN filtering on or off. Omitted, not managed (a new bridge has it off).
      - Needs a kernel built with C(CONFIG_BRIDGE_VLAN_FILTERING); elsewhere turning it on fails and
        the module rolls back what it did.
    type: bool
  state:
    description: V(absent) deletes the bridge; its ports are released, not deleted.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.veth
  - module: netplumb.linux.container_net
  - module: netplumb.linux.node_network
  - name: community.general.nmcli
    description: "A bridge made through NetworkManager (C(type: bridge)), for hosts whose network NetworkManager owns."
    link: https://docs.ansible.com/ansible/latest/collections/community/general/nmcli_module.html
'''

EXAMPLES = r'''
- name: Bridge v-net-0 with the containers' gateway address (scenarios 2 and 3)
  netplumb.linux.bridge:
    name: v-net-0
    addresses: [198.51.100.1/24]

- name: A bridge inside namespace lab, with STP
  netplumb.linux.bridge:
    name: br-lab
    netns: lab
    stp: true
    mtu: 9000

- name: Remove the bridge
  netplumb.linux.bridge:
    name: v-net-0
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: link_add
      netns: null
      target: v-net-0
      args: {kind: bridge, mtu: null}
      description: create bridge v-net-0
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
from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            netns=dict(type="str"),
            addresses=dict(type="list", elements="str"),
            mtu=dict(type="int"),
            stp=dict(type="bool"),
            vlan_filtering=dict(type="bool"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, bridge)


if __name__ == "__main__":
    main()
