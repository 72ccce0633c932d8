# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's side of a netplumb module: Ansible's own action for a
module (``ansible.builtin.normal``: check mode, async, the temporary
directory, as for any module), run with Python's cyclic garbage collector
paused.

The first task of a run that uses a module builds its AnsiballZ payload in
the task's worker, a process forked from ansible-playbook that ends with
the task: Ansible parses every module_utils file the module imports into a
syntax tree and, walking it, links each import statement back to the
statement that holds it, so every tree is a reference cycle that only the
collector frees (some 140,000 objects for ``node_network``). With the
collector on, that is a dozen small collections and a full one that also
walks the heap the worker inherited. Paused, the trees are handed to the
collector's oldest generation uncollected when the action returns: the
worker ends before a full collection comes, and its end frees them (about
12 MB more for ``node_network``'s build, in that worker, until then);
a process that goes on collects them in its next full collection
(docs/performance.md, item 8).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import gc

from ansible.plugins.action.normal import ActionModule as NormalAction


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off inside, as it was after; what
    the body left for it is in its oldest generation, not collected."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Every tracked object into the oldest generation, none collected and
        # none kept out of collection; not when someone else froze objects,
        # which unfreeze() would thaw.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


class ModuleAction(NormalAction):
    """``ansible.builtin.normal`` with the collector paused."""

    def run(self, tmp=None, task_vars=None):
        with collector_paused():
            return super(ModuleAction, self).run(tmp, task_vars)
