"""Run scenario steps through the engine in one process, as a module would,
without Ansible: ``python converge.py steps.json [--check]``.

The crash test runs this with NETPLUMB_TEST_KILL_AFTER=k so that the process
dies at its k-th crash point, wherever in the sequence that is."""

import importlib
import json
import sys

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine

RESOURCES = {"netns": "netns", "veth": "veth", "bridge": "bridge", "route": "route",
             "net_facts": "facts", "nat_rule": "nat_rule", "cni_config": "cni_config",
             "cni_check": "cni_check", "container_net": "container_net"}


def resource(module):
    if module == "cni_install":
        return cni_install.with_download(None)
    return importlib.import_module("ansible_collections.netplumb.linux.plugins.module_utils."
                                   + RESOURCES[module])


def run_steps(steps, check_mode=False):
    """Each step through engine.run; the list of outcomes."""
    return [engine.run(resource(module), params, check_mode=check_mode) for module, params in steps]


def main(path, check_mode=False):
    with open(path) as handle:
        steps = json.load(handle)
    json.dump({"changed": [outcome.changed for outcome in run_steps(steps, check_mode)]}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
