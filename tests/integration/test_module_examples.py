"""Every module's EXAMPLES block runs as written, in a sandbox.

The modules are listed from plugins/modules, so a new module is covered the
day it lands. Its EXAMPLES are taken from the module file as users read them
(``ansible-doc`` shows the same text) and run as one playbook on localhost in
the test's own network and mount namespace; every task must succeed and none
may be skipped.

Examples refer to namespaces, bridges and links that a user would already
have (the red and blue namespaces of the recipe, a container c1, ...).
``PREPARE`` creates them first, with ``ip`` as an admin would, or with the
collection's own modules; a module that is not listed there gets a fresh,
empty sandbox, so its EXAMPLES have to be self-contained.

One thing cannot be run as written here: the upstream release URL of
cni_install (no internet). Every https URL in an EXAMPLES block must have an
offline copy in ``OFFLINE``; the test serves that copy over HTTP inside the
sandbox under the same path and points the example at it, and passes the
variables the examples expect from the inventory (``EXTRA_VARS``).
"""

import ast
import contextlib
import json
import os
import re
import tempfile
import urllib.parse

import pytest
import yaml

from cni_fixtures import CHAIN, build_release, cni_dirs, copy_plugins, serving, sha256  # pylint: disable=unused-import # noqa: F401
from netplumb_testlib import ROOT, run_playbook

MODULE_DIR = os.path.join(ROOT, "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULE_DIR) if name.endswith(".py") and not name.startswith("_"))
CNI_MODULES = {name for name in MODULES if name.startswith("cni_")}
UPSTREAM_CNI = "https://github.com/containernetworking/plugins/releases/download/"


def _doc_string(module, name):
    """A module file's DOCUMENTATION, EXAMPLES or RETURN string (no import needed)."""
    with open(os.path.join(MODULE_DIR, module + ".py")) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return node.value.value
    raise AssertionError("%s has no %s" % (module, name))


def examples(module):
    return _doc_string(module, "EXAMPLES")


# What Ansible itself adds to every result, and the keys of failures and of --diff.
ANSIBLE_KEYS = {"action", "changed", "invocation", "warnings", "deprecations", "diff", "_ansible_no_log", "item",
                "ansible_loop_var", "failed", "msg", "skipped", "skip_reason", "exception"}
# AnsibleModule.exit_json adds a file's attributes to a result that has a path.
PATH_INFO_KEYS = {"uid", "gid", "owner", "group", "mode", "state", "size", "secontext"}
SHAPES = {"list": list, "dict": dict, "str": str, "int": int, "bool": bool}


def returns_match(module, results):
    """What is wrong between the module's documented RETURN and its real
    results: an undocumented key, an C(always) key missing, a value or a
    sample whose type is not the documented one."""
    documented = yaml.safe_load(_doc_string(module, "RETURN")) or {}
    wrong = []
    for result in results:
        added = ANSIBLE_KEYS | {"ansible_facts"} | (PATH_INFO_KEYS if "path" in result else set())
        for key in sorted(set(result) - set(documented) - added):
            wrong.append("%s returns %r, which RETURN does not document" % (module, key))
        for key, doc in documented.items():
            shape = SHAPES.get(doc.get("type"))
            if doc.get("returned") == "always" and key not in result:
                wrong.append("%s: RETURN says %r is returned always; a real run did not return it" % (module, key))
            if shape and key in result and result[key] is not None and not isinstance(result[key], shape):
                wrong.append("%s: %r is %s in a real run, %s in RETURN" % (module, key, type(result[key]).__name__,
                                                                           doc["type"]))
            if shape and "sample" in doc and not isinstance(doc["sample"], shape):
                wrong.append("%s: the sample of %r is not a %s" % (module, key, doc["type"]))
            if (key == "operations" and result.get(key) and doc.get("sample")
                    and isinstance(doc["sample"][0], dict) and isinstance(result[key][0], dict)):
                if set(doc["sample"][0]) != set(result[key][0]):
                    wrong.append("%s: an operation has keys %s, the sample %s" % (
                        module, sorted(result[key][0]), sorted(doc["sample"][0])))
    return wrong


# --- what the examples refer to, prepared before they run --------------------------------------

def _netns(box, *names):
    for name in names:
        box.ip("netns", "add", name)


def _cable(box, name, netns, address, peer, peer_netns, peer_address):
    """A veth pair, addressed and up, each end in its namespace (None: the node's)."""
    argv = ["link", "add", name] + (["netns", netns] if netns else [])
    argv += ["type", "veth", "peer", "name", peer] + (["netns", peer_netns] if peer_netns else [])
    box.ip(*argv)
    for dev, ns, addr in ((name, netns, address), (peer, peer_netns, peer_address)):
        if addr:
            box.ip("addr", "add", addr, "dev", dev, netns=ns)
        box.ip("link", "set", dev, "up", netns=ns)


def prepare_veth(box):
    _netns(box, "red", "blue", "c1")
    box.ip("link", "add", "v-net-0", "type", "bridge")


def prepare_container_net(box):
    box.ip("link", "add", "v-net-0", "type", "bridge")
    box.ip("addr", "add", "198.51.100.1/24", "dev", "v-net-0")
    box.ip("addr", "add", "2001:db8:100::1/64", "dev", "v-net-0")
    box.ip("link", "set", "v-net-0", "up")


def prepare_bridge(box):
    _netns(box, "lab")


def prepare_route(box):
    # Container c1 on its subnet, and an uplink that reaches the other node 192.0.2.12.
    _netns(box, "c1", "peer")
    _cable(box, "eth0", "c1", "198.51.100.11/24", "veth-c1", None, "198.51.100.1/24")
    _cable(box, "uplink0", None, "192.0.2.1/24", "eth0", "peer", "192.0.2.12/24")


def prepare_node_network(box):
    # The uplink eth0, the device of both default routes, to the next node 203.0.113.12 (in 'peer').
    _netns(box, "peer")
    _cable(box, "eth0", None, "203.0.113.1/24", "eth0", "peer", "203.0.113.12/24")
    box.ip("addr", "add", "2001:db8:203::1/64", "dev", "eth0", "nodad")
    box.ip("addr", "add", "2001:db8:203::12/64", "dev", "eth0", "nodad", netns="peer")
    box.ip("route", "add", "default", "via", "203.0.113.12")
    box.ip("-6", "route", "add", "default", "via", "2001:db8:203::12", "dev", "eth0")


def prepare_net_facts(box):
    _netns(box, "red", "blue")
    _cable(box, "veth-red", "red", "192.0.2.1/24", "veth-blue", "blue", "192.0.2.2/24")


def prepare_cni_config(box):
    copy_plugins("/opt/cni/bin", CHAIN)


def prepare_cni_check(box):
    prepare_cni_config(box)
    # The network the cni_config EXAMPLES write, made the same way.
    config = yaml.safe_load(examples("cni_config"))[0]
    run = run_playbook([config])
    assert run.rc == 0 and not run.failed, run


PREPARE = {
    "veth": prepare_veth,
    "bridge": prepare_bridge,
    "container_net": prepare_container_net,
    "route": prepare_route,
    "net_facts": prepare_net_facts,
    "node_network": prepare_node_network,
    "cni_config": prepare_cni_config,
    "cni_check": prepare_cni_check,
}


def offline_cni_release(directory, path):
    """Upstream's cni-plugins-linux-<arch>-<version>.tgz, built from the reference plugins."""
    target = os.path.join(directory, path.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    build_release(target)
    return {"cni_plugins_sha256": sha256(target).split(":", 1)[1]}


# URL prefix -> builds the file under the served directory; returns the extra vars it implies.
OFFLINE = {UPSTREAM_CNI: offline_cni_release}


def cri_runtime():
    """cni_check's runtime: cri examples ask containerd at its default socket: a private one, for the run."""
    from cri_fixtures import running_cri  # pylint: disable=import-outside-toplevel
    return running_cri("/run/containerd/containerd.sock")


# Daemons an example talks to, running while its playbook runs.
RUNNING = {"cni_check": cri_runtime}


def test_every_module_is_covered():
    assert {"netns", "veth", "bridge", "route", "net_facts", "nat_rule"} <= set(MODULES)
    assert set(PREPARE) <= set(MODULES), "PREPARE names a module that does not exist"


@pytest.mark.parametrize("module", MODULES)
def test_examples_run_as_written(module, sandbox, request):
    if module in CNI_MODULES:
        request.getfixturevalue("cni_dirs")  # private /opt/cni, /etc/cni, /var/lib/cni
    text = examples(module)
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list) and tasks, "EXAMPLES of %s is not a list of tasks" % module
    assert any("netplumb.linux.%s" % module in task for task in tasks), "no task uses netplumb.linux.%s" % module
    PREPARE.get(module, lambda box: None)(sandbox)

    with RUNNING.get(module, contextlib.nullcontext)(), tempfile.TemporaryDirectory() as served, \
            tempfile.TemporaryDirectory() as workdir:
        # Relative paths in EXAMPLES (lab_node's .lab) land in a directory of this
        # test's own, not in the checkout, where make demo's lab or a second run
        # of this test (make matrix-cheap beside make test's pytest) would be.
        os.mkdir(os.path.join(workdir, ".build"))
        os.symlink(os.path.join(ROOT, ".build", "lab-packages"), os.path.join(workdir, ".build", "lab-packages"))
        extra_vars = {}
        urls = sorted(set(re.findall(r"https://[^\s'\"]+", text)))
        for url in urls:
            prefix = next((p for p in OFFLINE if url.startswith(p)), None)
            assert prefix, "%s: EXAMPLES fetch %s; add an offline copy to OFFLINE" % (module, url)
            extra_vars.update(OFFLINE[prefix](served, urllib.parse.urlsplit(url).path))
        with serving(served) as base:
            runnable = text
            for url in urls:
                runnable = runnable.replace(url, base + urllib.parse.urlsplit(url).path)
            run = run_playbook(yaml.safe_load(runnable), cwd=workdir,
                               extra_args=("-e", json.dumps(extra_vars)) if extra_vars else ())

    assert run.rc == 0 and not run.failed, run
    # Every task ran (a loop gives one result per item), none was skipped.
    assert len(run.results) >= len(tasks), run
    assert not [r for r in run.results if r.get("skipped")], run
    # What the module returns is what its RETURN documents.
    ours = [r for r in run.results if r.get("action") == "netplumb.linux.%s" % module]
    wrong = returns_match(module, ours)
    assert ours and not wrong, wrong
    for result in run.results:
        assert "Traceback" not in json.dumps(result), result
