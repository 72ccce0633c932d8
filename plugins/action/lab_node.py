# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netplumb.linux.lab_node: the local lab, built or torn down on the
controller (documentation in plugins/modules/lab_node.py; the work in
plugins/plugin_utils/lab/)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.netplumb.linux.plugins.plugin_utils.lab import lab
from ansible_collections.netplumb.linux.plugins.plugin_utils.lab.system import LabError

# What a node starts without (its view of this machine's root), so that the roles install it.
PACKAGES_ABSENT = ["python3-pyroute2", "nftables", "iptables", "containernetworking-plugins"]

# Mirrors the options in plugins/modules/lab_node.py (tests/unit/test_lab_plugin.py compares them).
ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "state_dir": {"type": "path", "required": True},
    "node_count": {"type": "int", "default": 2},
    "node_prefix": {"type": "str", "default": "node"},
    "connection": {"type": "str", "choices": ["ssh", "nsenter"], "default": "ssh"},
    "user": {"type": "str", "default": "deploy"},
    "packages_dir": {"type": "path", "default": ".lab-packages"},
    "layer_cache_dir": {"type": "path"},
    "node_packages_absent": {"type": "list", "elements": "str", "default": PACKAGES_ABSENT},
    "python": {"type": "str"},
    "fabric_cidr": {"type": "str", "default": "192.0.2.0/24"},
    "fabric_cidr6": {"type": "str", "default": "2001:db8:ffff::/64"},
    "variable_prefix": {"type": "str", "default": ""},
}
# Failures start with this, as the lab role's always did.
PREFIX = "lab: "


class ActionModule(ActionBase):
    """Runs in the controller's Python, where the lab lives: no module is sent anywhere."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=PREFIX + exc.message)
            return result
        if self._connection.transport != "local":
            result.update(failed=True, msg=PREFIX + "the lab lives on the controller: run netplumb.linux.lab_node on"
                                                    " localhost with the local connection, not over %s"
                                                    % self._connection.transport)
            return result
        options = self._options(args)
        check = bool(self._task.check_mode)
        try:
            # The options judged and the lab laid out before anything changes.
            layout = lab.prepare(options)
            if options["state"] == "present":
                outcome = lab.up(options, layout, check)
            else:
                outcome = lab.down(options["state_dir"], check)
        except LabError as exc:
            result.update(failed=True, msg=PREFIX + str(exc))
            if exc.field:
                result["field"] = exc.field
            return result
        except OSError as exc:
            result.update(failed=True, msg=PREFIX + str(exc))
            return result
        diff = outcome.pop("diff")
        if self._task.diff:
            result["diff"] = diff
        result.update(outcome)
        return result

    @staticmethod
    def _options(args):
        """The validated arguments, paths made absolute from the directory
        ansible-playbook runs in (symlinks resolved)."""
        options = dict(args)
        for key in ("state_dir", "packages_dir", "layer_cache_dir"):
            if options[key]:
                options[key] = os.path.realpath(options[key])
        options["layer_cache_dir"] = options["layer_cache_dir"] or ""
        options["python"] = options["python"] or sys.executable
        return options
