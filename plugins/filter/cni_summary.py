# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: cni_summary
short_description: One line saying what a run of the cni role did, from its tasks' results
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - With the plugins installed (C(cni_state=present)), the number of plugins installed in the bin dir, how many of
    them the run changed and how many it left unchanged; the config file, V(written) or V(unchanged); and the smoke
    test's pod IPs, or why it did not run (V(nothing changed), V(cni_run_check is false), or check mode before the
    files exist).
  - With the plugins removed (C(cni_state=absent)), the plugins removed and the config file, V(removed) or
    V(already absent).
  - Other files the config task changed (another config of the same network, every other config with
    C(cni_exclusive), the network managers' files) follow the config file, each with what was done to it.
  - Made for the C(cni) role's last task; the logic is Python with unit tests, in the collection's
    C(plugins/plugin_utils/cni_summary.py).
options:
  _input:
    description: The registered result of M(netplumb.linux.cni_config).
    type: dict
    required: true
  plugins:
    description: The registered result of M(netplumb.linux.cni_install), installing or, with O(state=absent), removing.
    type: dict
    default: {}
  check:
    description: The registered result of M(netplumb.linux.cni_check) (skipped when it did not run).
    type: dict
    default: {}
  state:
    description: The role's C(cni_state).
    type: str
    choices: [present, absent]
    default: present
  check_mode:
    description: Whether the run is in check mode (the line then says the changes are planned only).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: What the run did, in one line
  ansible.builtin.debug:
    msg: >-
      {{ cni_config_result | netplumb.linux.cni_summary(plugins=cni_plugins_result, check=cni_check_result,
         state=cni_state, check_mode=ansible_check_mode) }}
# plugins: 4 installed in /opt/cni/bin, 1 changed, 3 unchanged; config /etc/cni/net.d/10-podnet.conflist unchanged;
# check: pod IP 198.51.100.130
'''

RETURN = r'''
_value:
  description: The line.
  type: str
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.netplumb.linux.plugins.plugin_utils.cni_summary import summary


def _result(name, value):
    """A registered result; an undefined or omitted one counts as not run."""
    if value is None or type(value).__name__.endswith("Undefined"):
        return {}
    if not hasattr(value, "get") or is_sequence(value):
        raise AnsibleFilterError("cni_summary: %s must be a task's registered result, not %r" % (name, value))
    return value


def cni_summary(config, plugins=None, check=None, state="present", check_mode=False):
    if state not in ("present", "absent"):
        raise AnsibleFilterError("cni_summary: state must be present or absent, not %r" % (state,))
    return summary(_result("the input", config), _result("plugins", plugins), _result("check", check),
                   state, boolean(check_mode, strict=False))


class FilterModule(object):
    def filters(self):
        return {"cni_summary": cni_summary}
