#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: netns
short_description: Manage a named network namespace
description:
  - Creates or removes a named network namespace the way C(ip netns add) does (a bind mount under
    C(/run/netns)), so it shows in C(ip netns list) and works with C(ip netns exec); one made by
    C(ip netns add) is the same thing to this module.
  - On O(state=present) the loopback interface of the namespace is brought up, also in one that already existed.
  - Names match exactly. A leftover file at the namespace's path that is not a namespace (from an
    interrupted create) is replaced.
  - "Talks netlink through the collection's own small socket layer (standard library only): it does not need
    pyroute2 on the node."
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
options:
  name:
    description: "Name of the namespace: letters, digits and C(_ . @ + - :), no C(/), no spaces."
    type: str
    required: true
  state:
    description: V(absent) unmounts and removes the name; links inside are destroyed with it unless a process still holds the namespace.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.veth
  - module: netplumb.linux.container_net
  - module: netplumb.linux.net_facts
  - name: ansible.builtin.command
    description: The hand-typed recipe's C(ip netns add) in a command task, which this module replaces (idempotent, with check mode).
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/command_module.html
'''

EXAMPLES = r'''
- name: Namespaces red and blue
  netplumb.linux.netns:
    name: "{{ item }}"
  loop: [red, blue]

- name: Remove namespace red
  netplumb.linux.netns:
    name: red
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: netns_add
      netns: null
      target: red
      args: {}
      description: create netns red
    - op: link_set
      netns: red
      target: lo
      args: {up: "on"}
      description: set lo (netns red) up=on
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
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, netns)


if __name__ == "__main__":
    main()
