#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cni_check
short_description: Prove that a CNI network config works, as a runtime would run it
description:
  - Runs a network config list's plugin chain the way libcni does, for a throwaway container
    whose network namespace the module creates and removes. C(ADD) through the plugins in order,
    each getting the previous result as C(prevResult); then C(CHECK) (spec 0.4.0 and later, unless
    the list sets C(disableCheck)); then C(DEL) in reverse order, with the C(ADD) result.
    Each plugin gets C(CNI_COMMAND), C(CNI_CONTAINERID), C(CNI_NETNS), C(CNI_IFNAME) and
    C(CNI_PATH) (O(bin_dir)), and its config on stdin.
  - Returns the C(ADD) result (interfaces, IPs, routes) and fails with every plugin error when a
    step fails.
  - C(DEL) always runs, also after a failure, and the namespace is always removed. What the trial
    made on the node is put back as it was (a bridge the chain created, host-local's reservation
    state, the forwarding sysctls), so it leaves no IPAM lease, namespace or link behind.
  - Changes nothing on the node otherwise, so it never reports C(changed).
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
attributes:
  check_mode:
    support: full
    description: Runs the trial as in a normal run (it changes nothing). A config or plugin binary
      that does not exist yet is assumed to come from an earlier task; the trial is then skipped
      with a warning, and RV(trial_ran) is false.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  platform:
    support: full
    platforms: Linux
    description: Network namespaces; runs on the managed node as root.
options:
  name:
    description:
      - The network to check, by its C(name), looked up in O(conf_dir) as libcni does
        (C(*.conflist) files first, then C(*.conf) and C(*.json), each in lexical order).
      - Exactly one of O(name) and O(config).
    type: str
  config:
    description: A network configuration list as data, checked without being written anywhere.
    type: dict
  conf_dir:
    description: Where to look up O(name).
    type: path
    default: /etc/cni/net.d
  bin_dir:
    description: Where the plugin binaries are (C(CNI_PATH)).
    type: path
    default: /opt/cni/bin
  ifname:
    description: The interface name inside the throwaway container (C(CNI_IFNAME)).
    type: str
    default: eth0
  timeout:
    description: Seconds each plugin call may take, 1 to 3600.
    type: int
    default: 60
seealso:
  - module: netplumb.linux.cni_install
  - module: netplumb.linux.cni_config
'''

EXAMPLES = r'''
- name: A pod on podnet would get an address
  netplumb.linux.cni_check:
    name: podnet
  register: podnet_check

- name: From the configured subnet
  ansible.builtin.assert:
    that:
      - podnet_check.addresses[0].startswith('198.51.100.')
'''

RETURN = r'''
operations:
  description: Always empty; the module changes nothing.
  returned: always
  type: list
  elements: dict
  sample: []
add_result:
  description: The result of the chain's C(ADD), as the last plugin returned it.
  returned: when the trial ran
  type: dict
  sample:
    cniVersion: 1.0.0
    interfaces:
      - {name: cni0, mac: "6a:7e:2c:15:0b:b5"}
      - {name: veth2f1d3c44, mac: "4e:d1:0a:53:61:7e"}
      - {name: eth0, mac: "0a:58:c6:33:64:02", sandbox: /run/netns/netplumb-cni-check-1f2e3d4c}
    ips:
      - {interface: 2, address: 198.51.100.2/24, gateway: 198.51.100.1}
    routes:
      - {dst: 0.0.0.0/0}
addresses:
  description: The addresses of the C(ADD) result, with prefix.
  returned: when the trial ran
  type: list
  elements: str
  sample: [198.51.100.2/24]
commands:
  description: The plugin calls, in the order they ran.
  returned: when the trial ran
  type: list
  elements: str
  sample: [ADD bridge, ADD portmap, CHECK bridge, CHECK portmap, DEL portmap, DEL bridge]
network:
  description: The network's name.
  returned: when the trial ran
  type: str
  sample: podnet
config_path:
  description: The config file checked (null for O(config)).
  returned: when the trial ran
  type: str
  sample: /etc/cni/net.d/10-podnet.conflist
trial_ran:
  description: False when check mode skipped the trial because the config or a binary does not exist yet.
  returned: always
  type: bool
field:
  description: On a bad parameter or config, its name.
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_check
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            config=dict(type="dict"),
            conf_dir=dict(type="path", default="/etc/cni/net.d"),
            bin_dir=dict(type="path", default="/opt/cni/bin"),
            ifname=dict(type="str", default="eth0"),
            timeout=dict(type="int", default=60),
        ),
        mutually_exclusive=[("name", "config")],
        required_one_of=[("name", "config")],
        supports_check_mode=True,
    )
    run_module(module, cni_check)


if __name__ == "__main__":
    main()
