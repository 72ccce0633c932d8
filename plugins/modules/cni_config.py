#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cni_config
short_description: Write a CNI network config list, validated against the plugin binaries
description:
  - Writes O(config) (the network configuration list, as data) as C(<priority>-<name>.conflist) in
    O(conf_dir), atomically (a temp file, fsync, rename), mode C(0644), owner root. An unchanged file
    is not rewritten. A C(NN-<name>.conflist) with another priority is this network's old file and is
    removed.
  - Validates before writing. Always the shape (C(cniVersion), C(name), a non-empty C(plugins) list,
    each with a C(type)). With O(validate), also that every plugin C(type) (and C(ipam.type)) has a
    binary in O(bin_dir), failing otherwise with the runtime's own words,
    C(failed to find plugin "<type>" in path [<bin_dir>]); and that each binary supports C(cniVersion)
    (asked with C(CNI_COMMAND=VERSION)).
  - Runtimes load the lexically first config file in O(conf_dir). The module warns when another
    file sorts before this one, and O(exclusive=true) removes every other config file.
notes:
  - The file is never written through a link planted in O(conf_dir). It goes to a new temp file (created
    with C(O_EXCL|O_NOFOLLOW)) renamed over the target, so a symlink or hard link at its name is replaced,
    never followed; a mode or owner is set on the file itself, and a hard link is rewritten as a new file.
  - O(conf_dir) itself being a symlink is read through but not written through (the run fails naming the
    link; set O(conf_dir) to the real directory). A symlink among its parents is followed only when only
    root could have made it (owned by root, in a directory no one else can write to, or a sticky one).
  - Modes and owners are set explicitly (C(0644), root; created directories C(0755)), whatever the umask.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
attributes:
  check_mode:
    support: full
    description: Validates and reports exactly the files a real run would write or delete (with
      O(exclusive), which others), and writes nothing. A plugin binary that is missing is assumed to
      be installed by an earlier task (a warning) instead of failing.
  diff_mode:
    support: full
    description: Shows the file's JSON, and the list of config files in O(conf_dir), before and after.
  platform:
    support: full
    platforms: Linux
    description: Runs on the managed node as root.
options:
  name:
    description:
      - The CNI network name (a letter or digit, then letters, digits, C(_ . -)). Names the file, and is
        the config's C(name); a C(name) given in O(config) must be the same.
    type: str
    required: true
  config:
    description:
      - The network configuration list as data (C(cniVersion), C(plugins), ...). Written as JSON with
        O(name) filled in. Required when O(state=present).
    type: dict
  priority:
    description: The file name's prefix, 0 to 99, written with two digits (V(10) gives C(10-<name>.conflist)).
    type: int
    default: 10
  conf_dir:
    description: The directory runtimes read configs from. Created (mode C(0755)) when missing.
    type: path
    default: /etc/cni/net.d
  bin_dir:
    description: The directory the plugin binaries are in, for O(validate).
    type: path
    default: /opt/cni/bin
  validate:
    description: Check that each plugin binary is in O(bin_dir) and supports the config's C(cniVersion).
    type: bool
    default: true
  exclusive:
    description: Remove every other config file (C(*.conf), C(*.conflist), C(*.json)) from O(conf_dir).
    type: bool
    default: false
  network_managers:
    description:
      - V(auto) tells the node's other network managers to leave the devices the config's plugins make alone,
        the way the CNI projects do it - the C(bridge) plugin's bridge (C(cni0) unless named) and the pods' host
        veths (C(veth*)) of the C(bridge) and C(ptp) plugins. NetworkManager (where its package config
        C(/etc/NetworkManager/NetworkManager.conf) is, or it runs) gets
        C(/etc/NetworkManager/conf.d/netplumb-<name>.conf) adding them to C(unmanaged-devices); systemd-networkd
        (where it is enabled, or runs) gets C(/etc/systemd/network/10-netplumb-<name>.network) with
        C(Unmanaged=yes). A running one reloads its configuration. With O(state=absent) the files go. A node
        with neither gets no file.
      - V(none) writes no such file (and removes none).
    type: str
    choices: [auto, none]
    default: auto
  state:
    description: V(absent) removes this network's file (any priority).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.cni_install
  - module: netplumb.linux.cni_check
  - name: ansible.builtin.copy
    description: Writing a conflist as a plain file, without checking it against the plugin binaries.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/copy_module.html
'''

EXAMPLES = r'''
- name: Containers on bridge cni0, addresses from 198.51.100.0/24, port mappings
  netplumb.linux.cni_config:
    name: podnet
    config:
      cniVersion: 1.0.0
      plugins:
        - type: bridge
          bridge: cni0
          isGateway: true
          ipMasq: true
          ipam:
            type: host-local
            ranges: [[{subnet: 198.51.100.0/24}]]
            routes: [{dst: 0.0.0.0/0}]
        - type: portmap
          capabilities: {portMappings: true}
    exclusive: true

- name: Remove it
  netplumb.linux.cni_config:
    name: podnet
    state: absent
'''

RETURN = r'''
operations:
  description: The planned file operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: file_write
      netns: null
      target: /etc/cni/net.d/10-podnet.conflist
      args: {size: 412, sha256: 9b1c..., mode: "0644", owner: "0:0"}
      description: write /etc/cni/net.d/10-podnet.conflist (412 bytes, mode 0644, owner 0:0)
path:
  description: The config file of this network.
  returned: always
  type: str
  sample: /etc/cni/net.d/10-podnet.conflist
rolled_back:
  description: On failure, the undo operations that were applied, in the order they ran.
  returned: failure after a partial apply
  type: list
  elements: str
not_undone:
  description: On failure, the applied operations that cannot be undone.
  returned: failure after a partial apply
  type: list
  elements: str
rollback_errors:
  description: On failure, undo operations that themselves failed, with the reason.
  returned: failure after a partial apply
  type: list
  elements: str
mismatches:
  description: 'On a failed read-back after the apply, each difference, as C(field: wanted W, found F).'
  returned: failure of the read-back
  type: list
  elements: str
failed_operation:
  description: On failure, the operation that failed, in the form of an C(operations) entry.
  returned: failure after a partial apply
  type: dict
field:
  description: On a bad parameter or config, its name (for example C(config.plugins[1].type)).
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            config=dict(type="dict"),
            priority=dict(type="int", default=10),
            conf_dir=dict(type="path", default="/etc/cni/net.d"),
            bin_dir=dict(type="path", default="/opt/cni/bin"),
            validate=dict(type="bool", default=True),
            exclusive=dict(type="bool", default=False),
            network_managers=dict(type="str", default="auto", choices=["auto", "none"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ("config",))],
        supports_check_mode=True,
    )
    run_module(module, cni_config)


if __name__ == "__main__":
    main()
