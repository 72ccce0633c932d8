"""Every module's documentation renders with ansible-doc, as users read it."""

import json
import os
import subprocess

import pytest
import yaml

from netplumb_testlib import COLLECTIONS, ROOT, VENV_BIN

MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(VENV_BIN, "ansible-doc")] + list(args), capture_output=True,
                          text=True, timeout=60, env=env, check=False)


def test_the_five_foundation_modules_exist():
    assert {"netns", "veth", "bridge", "route", "net_facts"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_examples_and_return(module):
    proc = ansible_doc("netplumb.linux.%s" % module)
    assert proc.returncode == 0, proc.stderr
    assert "EXAMPLES:" in proc.stdout and "RETURN VALUES:" in proc.stdout
    assert "netplumb.linux.%s" % module in proc.stdout


@pytest.mark.parametrize("module", MODULES)
def test_examples_use_fqcn_and_documented_options(module):
    data = json.loads(ansible_doc("--json", "netplumb.linux.%s" % module).stdout)
    doc = data["netplumb.linux.%s" % module]
    options = set(doc["doc"].get("options", {}))
    examples = yaml.safe_load(doc["examples"])
    assert examples, "no EXAMPLES"
    for task in examples:
        calls = [key for key in task if key.startswith("netplumb.linux.")]
        if not calls:
            assert any(key.count(".") == 2 for key in task), "not an FQCN task: %s" % task
            continue
        args = task[calls[0]] or {}
        assert set(args) <= options, "undocumented options in EXAMPLES: %s" % (set(args) - options)
    assert "operations" in doc["return"] or "ansible_facts" in doc["return"]
