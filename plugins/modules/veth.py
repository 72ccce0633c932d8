#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: veth
short_description: Manage a veth pair, both ends
description:
  - Creates, converges or removes a veth pair whose end O(name) lives in O(netns) and whose end
    O(peer) lives in O(peer_netns).
  - The pair counts as present only when the two ends are each other's peer and each sits in its
    namespace. An end found in the wrong namespace is moved, also from a named namespace the task
    does not name (an end moved there by hand); a veth that only carries one of the names (another
    pair, or one whose other end is in an unnamed namespace) is deleted and the pair created anew;
    a link of another kind holding a name stops the module before any change.
  - Each end then gets its master, MTU and addresses, and is brought up.
  - "Talks netlink through the collection's own small socket layer (standard library only): it does not need
    pyroute2 on the node, and a loop of veth tasks costs little more than Ansible's own per-task time."
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
  - netplumb.linux.common.netns
options:
  name:
    description: Name of the first end (at most 15 characters).
    type: str
    required: true
  peer:
    description: Name of the other end. Required when O(state=present).
    type: str
  peer_netns:
    description: Namespace of the peer end. Omitted, the node's own namespace (as C(ip link add ... peer name X)).
    type: str
  addresses:
    description:
      - The full set of addresses of the first end, each with its prefix (V(192.0.2.1/24), V(2001:db8::1/64)).
      - Addresses on the end that are not listed are removed; IPv6 link-local addresses are left to the kernel.
      - Omitted, the addresses are not managed. An empty list removes them all.
    type: list
    elements: str
  peer_addresses:
    description: The full set of addresses of the peer end, as O(addresses).
    type: list
    elements: str
  master:
    description: Bridge to enslave the first end to; it must exist in O(netns). Omitted, not managed.
    type: str
  peer_master:
    description: Bridge to enslave the peer end to; it must exist in O(peer_netns), and not be O(master) in the same
      namespace (the pair would loop the bridge). Omitted, not managed.
    type: str
  mtu:
    description: MTU of both ends (68 to 65535; at least 1280 with an IPv6 address). Omitted, not managed.
    type: int
  state:
    description: V(absent) deletes the veth O(name) in O(netns), and the veth O(peer) in O(peer_netns) if it is another pair's end.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.netns
  - module: netplumb.linux.bridge
  - module: netplumb.linux.container_net
  - name: ansible.builtin.command
    description: The hand-typed recipe's C(ip link add ... type veth peer name ...) in command tasks, which this module replaces.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/command_module.html
'''

EXAMPLES = r'''
- name: Join namespaces red and blue with one cable (scenario 1 of the recipe)
  netplumb.linux.veth:
    name: veth-red
    netns: red
    addresses: [192.0.2.1/24]
    peer: veth-blue
    peer_netns: blue
    peer_addresses: [192.0.2.2/24]

- name: Plug container c1 into bridge v-net-0 (the host end stays in the node's namespace)
  netplumb.linux.veth:
    name: eth0
    netns: c1
    addresses: [198.51.100.11/24]
    peer: veth-c1
    peer_master: v-net-0

- name: Remove the pair
  netplumb.linux.veth:
    name: veth-red
    netns: red
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
      netns: red
      target: veth-red
      args: {kind: veth, peer: veth-blue, peer_netns: blue, mtu: null}
      description: create veth veth-red (netns red) with peer veth-blue (netns blue)
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
from ansible_collections.netplumb.linux.plugins.module_utils.link import veth
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            peer=dict(type="str"),
            netns=dict(type="str"),
            peer_netns=dict(type="str"),
            addresses=dict(type="list", elements="str"),
            peer_addresses=dict(type="list", elements="str"),
            master=dict(type="str"),
            peer_master=dict(type="str"),
            mtu=dict(type="int"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ("peer",))],
        supports_check_mode=True,
    )
    run_module(module, veth)


if __name__ == "__main__":
    main()
