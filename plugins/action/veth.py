# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netplumb.linux.veth on the controller: Ansible's own action for a module,
with the collector paused (plugins/plugin_utils/module_action.py; the
documentation in plugins/modules/veth.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import ModuleAction


class ActionModule(ModuleAction):
    pass
