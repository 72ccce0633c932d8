# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: cni_default_config
short_description: The conflist the cni role writes when it is given none
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - A C(bridge) plugin with C(host-local) addresses and a C(portmap) plugin, for one pod subnet or two (dual stack).
  - Each range starts in the upper half of its subnet (unless O(range_start) says where), so that addresses in the
    lower half stay free for containers made another way (the C(bridge_network) role's). A subnet smaller than a
    /29 (IPv6 /125) gets no start.
  - Made for the C(cni) role; the logic is Python with unit tests, in the collection's
    C(plugins/plugin_utils/cni_default_config.py).
options:
  _input:
    description: The IPv4 pod subnet (or any one subnet) in CIDR form.
    type: str
    required: true
  subnet6:
    description: The IPv6 pod subnet for dual stack; empty for a single subnet.
    type: str
    default: ""
  bridge:
    description: The bridge the plugin attaches pods to.
    type: str
    default: cni0
  ip_masq:
    description: Whether the bridge plugin masquerades the pods' traffic.
    type: bool
    default: true
  range_start:
    description: Where the first range starts instead of the upper half.
    type: str
    default: ""
'''

EXAMPLES = r'''
cni_config: "{{ '10.244.1.0/24' | netplumb.linux.cni_default_config(subnet6='fd00:10:244:1::/64') }}"
'''

RETURN = r'''
_value:
  description: The conflist as data, without its C(name) (M(netplumb.linux.cni_config) fills it in).
  type: dict
'''

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.netplumb.linux.plugins.plugin_utils.cni_default_config import default_config


def cni_default_config(subnet, subnet6="", bridge="cni0", ip_masq=True, range_start=""):
    return default_config(subnet or "", subnet6 or "", bridge, boolean(ip_masq, strict=False), range_start or "")


class FilterModule(object):
    def filters(self):
        return {"cni_default_config": cni_default_config}
