"""The controller's side of netplumb's modules: each module's action plugin
is Ansible's own action for a module (ansible.builtin.normal) run with the
cyclic garbage collector paused, and the collector is as it was afterwards,
what became garbage inside left to its next full collection.
No node: the action's run is Ansible's, stood in for by a recorder."""

import gc
import os
import weakref

import pytest

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.netplumb.linux.plugins.action import node_prereqs
from ansible_collections.netplumb.linux.plugins.plugin_utils import module_action
from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import ModuleAction, collector_paused

from netplumb_testlib import actions_found

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))
# Modules whose action is their own (documented in their module file).
OWN_ACTION = {"lab_node", "node_prereqs"}


@pytest.fixture
def collector():
    """The collector as the test found it, whatever the test does."""
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_inside_and_as_it_was_after(collector, enabled):
    (gc.enable if enabled else gc.disable)()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_restored_when_the_body_fails(collector):
    gc.enable()
    with pytest.raises(RuntimeError):
        with collector_paused():
            raise RuntimeError("a failing task")
    assert gc.isenabled()


class _Cycle:
    def __init__(self):
        self.me = self


def _cycle():
    """A weak reference to a reference cycle no one else holds: garbage only the collector frees."""
    return weakref.ref(_Cycle())


def test_garbage_made_inside_waits_in_the_oldest_generation(collector):
    """The syntax trees of a payload's build: not collected when the pause
    ends (the worker ends first), yet not kept from a full collection."""
    gc.enable()
    with collector_paused():
        garbage = _cycle()
    gc.collect(1)  # the young generations: it is not in them
    assert garbage() is not None
    gc.collect()
    assert garbage() is None


def test_objects_someone_else_froze_stay_frozen(collector):
    frozen = _Cycle()
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        with collector_paused():
            garbage = _cycle()
        assert gc.get_freeze_count() == count
        gc.collect()  # the pause left its garbage in the young generations then
        assert garbage() is None
    finally:
        gc.unfreeze()
    del frozen


def test_the_module_action_runs_ansibles_own_with_the_collector_paused(collector, monkeypatch):
    seen = []

    def normal_run(self, tmp=None, task_vars=None):
        seen.append((gc.isenabled(), tmp, task_vars))
        return {"changed": False}

    monkeypatch.setattr(NormalAction, "run", normal_run)
    gc.enable()
    action = ModuleAction.__new__(ModuleAction)  # run() needs nothing of Ansible's construction here
    assert action.run(task_vars={"a": 1}) == {"changed": False}
    assert seen == [(False, None, {"a": 1})]
    assert gc.isenabled()


def test_node_prereqs_runs_with_the_collector_paused(collector, monkeypatch):
    seen = []
    monkeypatch.setattr(node_prereqs.ActionModule, "_task_run",
                        lambda self, tmp, task_vars: seen.append(gc.isenabled()) or {"changed": False})
    gc.enable()
    assert node_prereqs.ActionModule.__new__(node_prereqs.ActionModule).run(task_vars={}) == {"changed": False}
    assert seen == [False] and gc.isenabled()


def test_ansible_picks_the_module_action_for_every_module():
    """What Ansible's plugin loader finds for each module's name is its
    action plugin, a ModuleAction over ansible.builtin.normal (so check
    mode, async and the temporary directory are normal's)."""
    modules = sorted(set(MODULES) - OWN_ACTION)
    found = actions_found("netplumb.linux." + module for module in modules)
    for module in modules:
        path, is_module_action, mro = found["netplumb.linux." + module]
        assert path == os.path.join(ROOT, ".build", "collections", "ansible_collections", "netplumb", "linux",
                                    "plugins", "action", module + ".py"), module
        assert is_module_action and "ansible.plugins.action.normal" in mro, (module, mro)


def test_every_module_has_an_action():
    assert set(MODULES) == {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "action"))
                            if name.endswith(".py")}
    assert module_action.__doc__
