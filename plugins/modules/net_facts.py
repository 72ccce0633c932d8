#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: net_facts
short_description: Gather namespaces, links, addresses and routes as facts
description:
  - Reads every named network namespace and the node's own, one netlink dump each, and returns
    them as C(ansible_facts.netplumb_net).
  - A veth's peer is reported by name and namespace, wherever it lives among the namespaces read.
  - With O(uplink), it finds the node's uplink instead, as C(ansible_facts.netplumb_uplink).
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
  - netplumb.linux.common.netlink
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  facts:
    support: full
    description: Sets C(netplumb_net), or with O(uplink) C(netplumb_uplink).
options:
  netns:
    description: Namespaces to report. Omitted, all. Names that do not exist are listed in C(missing_namespaces).
    type: list
    elements: str
  include_host:
    description: Report the node's own namespace under C(host).
    type: bool
    default: true
  routes:
    description: Report routes (all tables but C(local)).
    type: bool
    default: true
  uplink:
    description:
      - Find the node's uplink, the interface that leaves the node, and return only that, as
        C(ansible_facts.netplumb_uplink); O(netns), O(include_host) and O(routes) do not apply then.
      - It is O(uplink.name) when that is set, else the device of the node's default route (table C(main),
        the lowest metric) in each of O(uplink.families).
      - It fails, before anything on the node changes, when the named interface does not exist (the message lists
        the node's interfaces; in check mode only a warning, as an earlier task may create it), when there is no
        default route to find it from, or when the default routes leave through different devices (IPv4 through
        one, IPv6 through another) or through several at once; name it then.
      - Reads through the collection's lean netlink socket, so pyroute2 is not needed on the node for it.
    type: dict
    suboptions:
      name:
        description: The uplink, when the caller knows it. Empty, the device of the default route.
        type: str
        default: ""
      families:
        description:
          - Whose default routes must leave through the uplink, V(ipv4) and, on a dual-stack node, V(ipv6).
          - A family without a default route gives a warning when another one has it.
        type: list
        elements: str
        choices: [ipv4, ipv6]
        default: [ipv4]
      teardown:
        description:
          - The uplink is wanted to remove what was made for it. A named one need not exist any more, a node
            without a default route is no failure (C(name) is then null when nothing else names one), and
            C(names) lists the default routes' devices together with every interface that the collection's
            own NAT rules (see M(netplumb.linux.nat_rule)) match, so a teardown after the default route went,
            or moved to another device, still finds the rules made with the old one.
        type: bool
        default: false
      variable:
        description: What failure messages and warnings call O(uplink.name); a role passes its own variable's name.
        type: str
        default: uplink.name
notes:
  - Without O(uplink), pyroute2 is needed on the node.
seealso:
  - module: netplumb.linux.netns
  - module: netplumb.linux.node_network
  - name: ansible.builtin.setup
    description: Ansible's own network facts (C(ansible_interfaces)), of the node's own namespace only.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/setup_module.html
'''

EXAMPLES = r'''
- name: Gather
  netplumb.linux.net_facts:

- name: The red end of the cable is up and its peer is in blue
  ansible.builtin.assert:
    that:
      - netplumb_net.netns.red.links['veth-red'].state == 'up'
      - "netplumb_net.netns.red.links['veth-red'].peer == {'name': 'veth-blue', 'netns': 'blue'}"
      - "'192.0.2.1/24' in netplumb_net.netns.red.links['veth-red'].addresses"

- name: What a teardown has to name - the default route's device, if any, and the interfaces of the NAT rules
  netplumb.linux.net_facts:
    uplink:
      families: [ipv4, ipv6]
      teardown: true

- name: Show them
  ansible.builtin.debug:
    msg: "{{ netplumb_uplink.names }} (uplink {{ netplumb_uplink.name or 'not found' }}, by {{ netplumb_uplink.found_by }})"
'''

RETURN = r'''
ansible_facts:
  description: The net_facts.
  returned: always
  type: complex
  contains:
    netplumb_net:
      description: Namespaces, links and routes.
      type: dict
      returned: without O(uplink)
      sample:
        namespaces: [blue, red]
        missing_namespaces: []
        host: {links: {}, routes: []}
        netns:
          red:
            links:
              veth-red:
                name: veth-red
                index: 2
                kind: veth
                mtu: 1500
                mac: "8a:5e:00:00:00:01"
                state: up
                operstate: up
                master: null
                addresses: [192.0.2.1/24]
                peer: {name: veth-blue, netns: blue}
            routes:
              - {dst: 192.0.2.0/24, family: ipv4, gateway: null, dev: veth-red, metric: 0,
                 table: 254, proto: kernel, scope: link, type: unicast}
    netplumb_uplink:
      description: With O(uplink), the node's uplink and what it was found from.
      type: dict
      returned: with O(uplink)
      contains:
        name:
          description: The uplink; null only with O(uplink.teardown) when nothing names one.
          type: str
        found_by:
          description: V(named), V(default route), V(nat rules) (a teardown without a default route) or V(none).
          type: str
        names:
          description:
            - The uplink as a list; with O(uplink.teardown) and no O(uplink.name), every default route's device
              and every interface the collection's own NAT rules match, sorted.
          type: list
          elements: str
        interfaces:
          description: The node's interfaces, sorted.
          type: list
          elements: str
        default_routes:
          description: The default routes of table C(main) per family, lowest metric first.
          type: dict
      sample:
        name: eth0
        found_by: default route
        names: [eth0]
        interfaces: [eth0, lo, v-net-0]
        default_routes:
          ipv4: [{dev: eth0, gateway: 192.0.2.1, metric: 0}]
          ipv6: []
operations:
  description: Always empty; facts change nothing.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.facts import net_facts
from ansible_collections.netplumb.linux.plugins.module_utils.facts import uplink
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type="list", elements="str"),
            include_host=dict(type="bool", default=True),
            routes=dict(type="bool", default=True),
            uplink=dict(type="dict", options=dict(
                name=dict(type="str", default=""),
                families=dict(type="list", elements="str", choices=["ipv4", "ipv6"], default=["ipv4"]),
                teardown=dict(type="bool", default=False),
                variable=dict(type="str", default="uplink.name"),
            )),
        ),
        supports_check_mode=True,
    )
    run_module(module, uplink if module.params["uplink"] is not None else net_facts)


if __name__ == "__main__":
    main()
