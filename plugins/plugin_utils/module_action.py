# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's side of a netplumb module: Ansible's own action for a
module (``ansible.builtin.normal``: check mode, async, the temporary
directory, as for any module), run with Python's cyclic garbage collector
paused.

The first task of a run that uses a module builds its AnsiballZ payload in
the task's worker, a process forked from ansible-playbook: Ansible parses
every module_utils file the module imports into a syntax tree and, walking
it, links each import statement back to the statement that holds it, so
every tree is a reference cycle that only the collector frees (some
140,000 objects for ``node_network``). With the collector on, that is a
dozen small collections and full ones that also walk the heap the worker
inherited; paused, it is one collection of the trees when the action
returns and the collector is restored (docs/performance.md, item 8).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import gc

from ansible.plugins.action.normal import ActionModule as NormalAction


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off inside, as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ModuleAction(NormalAction):
    """``ansible.builtin.normal`` with the collector paused."""

    def run(self, tmp=None, task_vars=None):
        with collector_paused():
            return super(ModuleAction, self).run(tmp, task_vars)
