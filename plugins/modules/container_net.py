#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: container_net
short_description: Many containers on one bridge in one call
description:
  - Plugs a list of containers into the bridge O(bridge) in one call, the recipe's scenario 2 for hundreds of
    containers at once. Each container is the named network namespace C(<name>) (created if missing, loopback
    up) with the interface O(ifname) inside, one end of a veth pair whose other end, on the node, is enslaved to
    the bridge; the container's interface gets its address, optional MTU, a default route via its gateway and
    extra routes.
  - "Host end names: C(veth-<name>) when that is a valid interface name of at most 15 characters (container
    names of up to 10 characters), otherwise C(vh-) and the first 12 hex digits of the SHA-256 of the name."
  - "Ownership: the host end carries the mark C(netplumb:container_net:<bridge>:<name>) as its interface alias
    (C(ip link show) prints it). Links without the mark are never changed or removed, except the pair of an
    existing container made earlier with the per-container modules (C(veth-<name>) paired with the container's
    O(ifname)), which is adopted: it gets the mark once. A container made for another bridge that is still a port
    of that bridge is left to that bridge's call: listing it fails before any change (remove it there first); once
    its bridge is gone, it is taken over."
  - The node's state is read with one link dump of its namespace and, per existing container namespace, one
    address and one route dump and two link lookups; namespaces that do not exist yet are not read. The module
    talks netlink through the collection's own small socket layer (standard library only) and does not need pyroute2.
  - A container with nothing of it on the node yet is made in one operation (C(container_add)), whose undo removes
    it whole; an existing one is converged with the usual link, address and route operations.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
options:
  bridge:
    description: The bridge in the node's own namespace that the containers' host ends are enslaved to. It must exist.
    type: str
    required: true
  ifname:
    description: Name of each container's interface inside its namespace.
    type: str
    default: eth0
  gateway:
    description:
      - Default gateway of every container that does not set its own C(gateway); it must be in the container's subnet.
      - Omitted, containers without their own C(gateway) get no default route.
    type: str
  gateway6:
    description:
      - IPv6 default gateway of every dual-stack container that does not set its own C(gateway6).
    type: str
  containers:
    description:
      - The containers. Every field is checked before anything changes; a bad one fails naming it with its
        index, for example C(containers[3].address).
      - A Linux bridge holds at most 1023 ports; more containers than that, the bridge's other ports counted, fail
        before anything changes.
      - An address held by a container made on the bridge that is not listed and stays (without O(exclusive)) fails
        before anything changes, naming that container.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: "Required. The container's namespace name: letters, digits and C(_ . @ + - :)."
        type: str
      address:
        description:
          - Required when O(state=present). The address of the container's interface with its prefix
            (V(198.51.100.11/24)); it is the interface's only address, others are removed.
        type: str
      gateway:
        description: The container's default gateway, in its subnet. Omitted, O(gateway).
        type: str
      address6:
        description:
          - An IPv6 address with its prefix (V(2001:db8:100::11/64)) next to the IPv4 C(address), for a dual-stack
            container. Added without duplicate address detection, so it is usable at once.
        type: str
      gateway6:
        description: The container's IPv6 default gateway, in the subnet of C(address6). Omitted, O(gateway6).
        type: str
      mtu:
        description: MTU of both ends of the container's veth (68 to 65535; at least 1280 with O(containers[].address6)).
          Omitted, not managed.
        type: int
      routes:
        description: Extra routes in the container, each C(dst) (a network), C(gateway) and optional C(metric).
          Routes not listed are left alone. The gateway is on one of the container's subnets, or IPv6 link-local.
        type: list
        elements: dict
  exclusive:
    description:
      - With O(state=present), also remove containers on O(bridge) that are not listed, and only those this module
        made (host end with the ownership mark for this bridge) - their host end and their namespace.
    type: bool
    default: false
  state:
    description:
      - V(present) builds and converges the listed containers.
      - V(absent) removes the listed containers (host end and namespace); a host end without the mark is
        removed only when it is the pair of the container's interface.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.node_network
  - module: netplumb.linux.bridge
  - module: netplumb.linux.netns
  - module: netplumb.linux.veth
  - name: community.docker.docker_network
    description: Docker's own bridge networks, when Docker runs the containers.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_network_module.html
'''

EXAMPLES = r'''
# The bridge comes first (netplumb.linux.bridge: name v-net-0, addresses [198.51.100.1/24]).
- name: Containers on v-net-0, one with its own MTU and an extra route
  netplumb.linux.container_net:
    bridge: v-net-0
    gateway: 198.51.100.1
    containers:
      - {name: c1, address: 198.51.100.11/24}
      - name: c2
        address: 198.51.100.12/24
        mtu: 1400
        routes:
          - {dst: 203.0.113.0/24, gateway: 198.51.100.1}

- name: A dual-stack container (the bridge holds 2001:db8:100::1/64 too)
  netplumb.linux.container_net:
    bridge: v-net-0
    gateway: 198.51.100.1
    gateway6: 2001:db8:100::1
    containers:
      - {name: c3, address: 198.51.100.13/24, address6: "2001:db8:100::13/64"}

- name: Only c1 stays; every other container this module made on v-net-0 goes
  netplumb.linux.container_net:
    bridge: v-net-0
    gateway: 198.51.100.1
    containers:
      - {name: c1, address: 198.51.100.11/24}
    exclusive: true

- name: Remove c1
  netplumb.linux.container_net:
    bridge: v-net-0
    containers: [{name: c1}]
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: container_add
      netns: null
      target: c1
      args: {host: veth-c1, bridge: v-net-0, mark: "netplumb:container_net:v-net-0:c1", ifname: eth0,
             address: 198.51.100.11/24, mtu: null, routes: [default via 198.51.100.1]}
      description: "create container c1: eth0 198.51.100.11/24 in netns c1, host end veth-c1 on v-net-0"
summary:
  description:
    - The listed containers (and with O(exclusive) the unlisted ones removed) by what the call does to them,
      their C(total), and the number of operations.
    - Under C(--diff) only the containers that change are shown, each before and after.
  returned: always
  type: dict
  sample: {created: 1, changed: 0, removed: 0, unchanged: 29, total: 30, operations: 1}
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
  description: On a bad parameter, its name, with the container's index (C(containers[3].address)).
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bridge=dict(type="str", required=True),
            ifname=dict(type="str", default="eth0"),
            gateway=dict(type="str"),
            gateway6=dict(type="str"),
            containers=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str"),
                address=dict(type="str"),
                gateway=dict(type="str"),
                address6=dict(type="str"),
                gateway6=dict(type="str"),
                mtu=dict(type="int"),
                routes=dict(type="list", elements="dict"),
            )),
            exclusive=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, container_net)


if __name__ == "__main__":
    main()
