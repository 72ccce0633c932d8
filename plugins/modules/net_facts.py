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
    description: Sets C(netplumb_net).
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
'''

RETURN = r'''
ansible_facts:
  description: The facts.
  returned: always
  type: complex
  contains:
    netplumb_net:
      description: Namespaces, links and routes.
      type: dict
      returned: always
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
operations:
  description: Always empty; facts change nothing.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netplumb.linux.plugins.module_utils import facts
from ansible_collections.netplumb.linux.plugins.module_utils.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type="list", elements="str"),
            include_host=dict(type="bool", default=True),
            routes=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    run_module(module, facts)


if __name__ == "__main__":
    main()
