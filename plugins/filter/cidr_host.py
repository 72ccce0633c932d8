# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: cidr_host
short_description: The n-th host address of a network, optionally with the network's prefix
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - V(198.51.100.0/24) with 1 gives V(198.51.100.1); with O(prefix=true), V(198.51.100.1/24).
  - Also accepts an address with prefix (V(198.51.100.7/24)); its network is used.
options:
  _input:
    description: The network in CIDR form.
    type: str
    required: true
  index:
    description: Which address, counting from the network address (0).
    type: int
    required: true
  prefix:
    description: Append the network's prefix length.
    type: bool
    default: false
'''

EXAMPLES = r'''
gateway: "{{ '198.51.100.0/24' | netplumb.linux.cidr_host(1) }}"              # 198.51.100.1
bridge_address: "{{ '198.51.100.0/24' | netplumb.linux.cidr_host(1, prefix=true) }}"  # 198.51.100.1/24
'''

RETURN = r'''
_value:
  description: The address.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.netplumb.linux.plugins.plugin_utils import cidr as cidrs


def cidr_host(cidr, index, prefix=False):
    network = None
    try:
        network = cidrs.network(cidr, "cidr_host")
        address = cidrs.host(network, index)
    except cidrs.CidrError as exc:
        raise AnsibleFilterError(str(exc) if network is None else "cidr_host: %s" % exc)
    return "%s/%d" % (address, network.prefixlen) if prefix else str(address)


class FilterModule(object):
    def filters(self):
        return {"cidr_host": cidr_host}
