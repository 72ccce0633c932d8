# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's own cost of a task, for make bench (bench/run.py): it stands in
for a netplumb module with that task's arguments, which Ansible templates,
ships and checks as it does any (type raw), and changes nothing. What a
netplumb task costs above it is netplumb's: its module_utils in the payload,
its argument spec, its reads of the node, its result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, _load_params


def main():
    names = [name for name in _load_params() if not name.startswith("_ansible_")]
    module = AnsibleModule(argument_spec={name: {"type": "raw"} for name in names}, supports_check_mode=True)
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
