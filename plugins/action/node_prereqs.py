# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netplumb.linux.node_prereqs: what a role's modules need on the node, probed
once, installed when missing (documentation and the node-side probe in
plugins/modules/node_prereqs.py; the decisions and messages in
plugins/plugin_utils/node_prereqs.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.netplumb.linux.plugins.modules.node_prereqs import argument_spec
from ansible_collections.netplumb.linux.plugins.plugin_utils import node_prereqs as prereqs
from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import collector_paused

PROBE = "netplumb.linux.node_prereqs"
# The probe of this run, kept as a host fact so the next role's task reuses it.
PROBE_FACT = "netplumb_node_probe"
# What the decision needs of the node, gathered once when the play has not.
FACTS_SUBSET = ["!all", "!min", "distribution", "pkg_mgr"]


class _StepFailed(Exception):
    """A module the action ran on the node failed; its result goes along."""

    def __init__(self, message, result):
        super(_StepFailed, self).__init__(message)
        self.result = result


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        with collector_paused():  # the probe's and the package modules' payloads are built in here
            return self._task_run(tmp, task_vars)

    def _task_run(self, tmp, task_vars):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        try:
            dummy, options = self.validate_argument_spec(argument_spec=argument_spec())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=exc.message)
            return result
        try:
            result.update(self._run(options, task_vars))
        except _StepFailed as exc:
            result.update(failed=True, msg="%s: %s" % (options["role"], exc), details=exc.result)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _facts(self, task_vars):
        """os_family and pkg_mgr of the node: the play's facts, or gathered now
        (and returned, so the next role finds them)."""
        facts = task_vars.get("ansible_facts") or {}
        if facts.get("os_family") and facts.get("pkg_mgr"):
            return facts, {}
        gathered = self._execute_module(module_name="ansible.legacy.setup", module_args={"gather_subset": FACTS_SUBSET},
                                        task_vars=task_vars)
        if gathered.get("failed"):
            raise _StepFailed("gathering the node's distribution facts failed: %s" % gathered.get("msg"), gathered)
        new = gathered.get("ansible_facts") or {}
        # The module names them ansible_os_family...; the play's facts drop the prefix.
        plain = dict((key[len("ansible_"):] if key.startswith("ansible_") else key, value) for key, value in new.items())
        return dict(facts, **plain), new

    def _probe(self, options, task_vars, again=False):
        """What the node has: this run's earlier probe when it covers these
        options (another role's task made it), else a new one."""
        # The host fact itself: a variable of the same name (set_fact, -e) or
        # facts not injected as variables must not hide it.
        earlier = (task_vars.get("ansible_facts") or {}).get(PROBE_FACT)
        if not again and prereqs.reusable(earlier, options, _run_id()):
            return prereqs.with_verdict(options, earlier["found"]), False
        args = dict((key, value) for key, value in options.items() if value is not None)
        found = self._execute_module(module_name=PROBE, module_args=args, task_vars=task_vars)
        if found.get("failed"):
            raise _StepFailed("probing the node failed: %s" % found.get("msg"), found)
        return prereqs.with_verdict(options, found["found"]), True

    def _package(self, names, facts, task_vars):
        """The node's package manager, as ansible.builtin.package would pick it, installing names."""
        task = self._task.copy()
        task.args = {"name": names, "state": "present", "update_cache": True}
        action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.package", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=dict(task_vars, ansible_facts=facts))

    def _pip(self, requirements, pip_args, task_vars):
        args = {"name": requirements}
        if pip_args:
            args["extra_args"] = pip_args
        return self._execute_module(module_name="ansible.legacy.pip", module_args=args, task_vars=task_vars)

    def _run(self, options, task_vars):
        role, check = options["role"], bool(self._task.check_mode)
        found, probed = self._probe(options, task_vars)
        out = {"changed": False, "found": found, "probed": probed, "packages": [], "pip": [], "operations": [],
               "ansible_facts": {PROBE_FACT: {"run": _run_id(), "found": found}}}
        # What is lacking does not depend on the distribution, only how it is installed.
        if not prereqs.missing(options, found, "unknown"):
            out.update(missing=[], msg="%s: this node has what the role needs" % role)
            return out
        facts, gathered = self._facts(task_vars)
        family = facts.get("os_family") or "unknown"
        needs = prereqs.missing(options, found, family)
        out["missing"] = needs
        out["ansible_facts"].update(gathered)
        if not options["install"] or not prereqs.installable(needs):
            out.update(failed=True, msg=prereqs.refusal(role, options["install"], needs))
            return out

        out["packages"], out["pip"], out["results"] = prereqs.packages_of(needs), prereqs.pip_of(needs), {}
        steps = []
        if out["packages"]:
            steps.append(("package", "package_install", "install the packages %s" % ", ".join(out["packages"]),
                          lambda: self._package(out["packages"], facts, task_vars)))
        if out["pip"]:
            steps.append(("pip", "pip_install", "pip install %s into %s" % (" ".join(out["pip"]), found["python"]),
                          lambda: self._pip(out["pip"], options["pip_args"], task_vars)))
        for key, operation, description, step in steps:
            out["operations"].append({"op": operation, "description": description})
            done = step()
            out["results"][key] = done
            out["changed"] = out["changed"] or bool(done.get("changed"))
            if done.get("failed"):
                out.update(failed=True, msg="%s: %s" % (role, done.get("msg", "%s failed" % description)))
                return out

        if check:
            out["msg"] = prereqs.check_mode_end(needs, options["ends_play"])
            out["warnings"] = [out["msg"]]
            return out
        # The installs checked: the same probe once more.
        after, _probed = self._probe(options, task_vars, again=True)
        left = prereqs.missing(options, after, family)
        out["found_after"] = after
        out["ansible_facts"][PROBE_FACT] = {"run": _run_id(), "found": after}
        if left:
            out.update(failed=True, msg=prereqs.still_missing(role, left, options, after))
            return out
        out["msg"] = "%s: installed %s" % (role, "; ".join(op["description"] for op in out["operations"]))
        return out


def _run_id():
    """This ansible-playbook run: the pid of the process that forks the
    workers, with its start time, so a probe kept in a fact cache from an
    earlier run is never reused."""
    parent = os.getppid()
    try:
        with open("/proc/%d/stat" % parent) as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None  # no way to tell runs apart: never reuse
    return "%d-%s" % (parent, started)
