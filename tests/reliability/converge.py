"""Run scenario steps through the engine in one process, as a module would,
without Ansible: ``python converge.py steps.json [--check]``.

The crash test runs this with NETPLUMB_TEST_KILL_AFTER=k so that the process
dies at its k-th crash point, wherever in the sequence that is."""

import json
import os
import sys

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from netplumb_testlib import RESOURCE_PACKAGES, resource  # noqa: E402 pylint: disable=wrong-import-position

# node_network's resource is module_utils/node_network/node_network.py, the
# layout the shared map describes; the map does not list it yet.
RESOURCE_PACKAGES.setdefault("node_network", "node_network")


def run_steps(steps, check_mode=False):
    """Each step through engine.run; the list of outcomes."""
    return [engine.run(resource(module), params, check_mode=check_mode) for module, params in steps]


def main(path, check_mode=False):
    with open(path) as handle:
        steps = json.load(handle)
    json.dump({"changed": [outcome.changed for outcome in run_steps(steps, check_mode)]}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], "--check" in sys.argv[2:])
