"""Managed-node prerequisites: what the modules import and run on the node.

The node is the test's sandbox (local connection), and the Python that Ansible
uses there is a throwaway virtualenv made by the test without pyroute2, as on
a fresh node: bridge, route and net_facts need it, netns, veth and
container_net (on the lean socket) do not. The pip path installs the pyroute2 wheel that ``make deps``
fetched into .build/wheelhouse (the sandbox has no network); nothing is ever
installed onto the machine running the tests. The distribution-package path
would do that, so it is proven in check mode only (apt simulates)."""

import json
import os
import subprocess

import pytest
import yaml

from netplumb_testlib import ROOT, callback_tasks, run_playbook_file, sh

WHEELHOUSE = os.path.join(ROOT, ".build", "wheelhouse")
DISTRO_PYTHON = "/usr/bin/python3"
CIDR = "198.51.100.0/26"
ROLE_VARS = {
    "bridge_network_cidr": CIDR,
    "bridge_network_containers": [{"name": "c1", "address": "198.51.100.11"}],
    "bridge_network_port_forwards": [{"port": 8080, "to": "198.51.100.11:80"}],
}


# The one task of each role that probes the node and installs what it lacks
# (netplumb.linux.node_prereqs); its name is the one the package install always had.
PREREQS = "Prerequisites | distribution packages"


def _uplink(box):
    """A default route through uplink0, where the role finds its uplink (on
    the lean netlink socket, so without pyroute2 too), before its prerequisites."""
    box.ip("link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p")
    box.ip("addr", "add", "203.0.113.1/24", "dev", "uplink0")
    box.ip("link", "set", "uplink0", "up")
    box.ip("link", "set", "uplink0p", "up")
    box.ip("route", "add", "default", "via", "203.0.113.2")


def _venv(path, pip=True):
    """A virtualenv of the distribution's Python without pyroute2."""
    sh(DISTRO_PYTHON, "-m", "venv", *([] if pip else ["--without-pip"]), path, timeout=180)
    python = os.path.join(path, "bin", "python")
    assert not _imports_pyroute2(python)
    return python


def _imports_pyroute2(python):
    return subprocess.run([python, "-c", "import pyroute2"], capture_output=True, timeout=30,
                          check=False).returncode == 0


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """Without pip either (quick to make); shared by the tests that leave it as it is."""
    return _venv(str(tmp_path_factory.mktemp("node") / "venv"), pip=False)


def _play(tmp_path, roles, python, check=False, extra_vars=None, environment=None, name="play"):
    play = {"hosts": "localhost", "gather_facts": False, "roles": roles}
    if environment:
        play["environment"] = environment
    path = str(tmp_path / ("%s.yml" % name))
    with open(path, "w") as handle:
        yaml.safe_dump([play], handle)
    extra = dict(extra_vars or {}, ansible_python_interpreter=python)
    # A later -e wins over run_playbook_file's own interpreter.
    return run_playbook_file(path, check=check, extra_args=["-e", json.dumps(extra)])


def _role(name, **variables):
    return {"role": "netplumb.linux." + name, "vars": variables}


def _tasks(run):
    """(task name without its role, result) in order."""
    return [(name.split(" : ", 1)[-1], hosts.get("localhost", {})) for name, hosts in callback_tasks(run.stdout)]


def _names(run):
    return [task[0] for task in _tasks(run)]


def _result(run, name):
    found = [result for task, result in _tasks(run) if task == name]
    assert len(found) == 1, (name, _names(run))
    return found[0]


def _pip_args():
    wheels = os.listdir(WHEELHOUSE) if os.path.isdir(WHEELHOUSE) else []
    assert any(n.startswith("pyroute2-") and n.endswith(".whl") for n in wheels), \
        "no pyroute2 wheel in %s: run make deps" % WHEELHOUSE
    return "--no-index --find-links %s" % WHEELHOUSE


def _node_files():
    return {d: sorted(os.listdir(d)) for d in ("/etc/sysctl.d", "/etc/cni", "/opt/cni") if os.path.isdir(d)}


def _module_play(tmp_path, tasks, python):
    path = str(tmp_path / "module.yml")
    with open(path, "w") as handle:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    return run_playbook_file(path, extra_args=["-e", "ansible_python_interpreter=%s" % python])


def test_pyroute2_module_without_pyroute2_names_the_package(sandbox, bare_python, tmp_path):
    run = _module_play(tmp_path, [{"name": "A bridge", "netplumb.linux.bridge": {"name": "br0"}}], bare_python)
    assert run.rc != 0, run
    assert len(run.failed) == 1, run
    msg = run.failed[0]["msg"]
    # Ansible's missing_required_lib wording, naming the package and the pip way.
    assert "Failed to import the required Python library" in msg, msg
    assert "python3-pyroute2" in msg and "pip install pyroute2" in msg, msg
    assert bare_python in msg, msg
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.link("br0") is None


def test_the_lean_netlink_modules_run_without_pyroute2(sandbox, bare_python, tmp_path):
    """netns, veth and container_net talk netlink through rtnl.py: a node
    whose Python lacks pyroute2 runs them all the same."""
    sandbox.ip("link", "add", "br0", "type", "bridge")
    tasks = [{"name": "A namespace", "netplumb.linux.netns": {"name": "red"}},
             {"name": "A pair into it", "netplumb.linux.veth": {"name": "h0", "peer": "c0", "peer_netns": "red",
                                                                "peer_addresses": ["192.0.2.2/24"]}},
             {"name": "A container", "netplumb.linux.container_net": {
                 "bridge": "br0", "containers": [{"name": "c1", "address": "192.0.2.11/24"}]}}]
    run = _module_play(tmp_path, tasks, bare_python)
    assert run.rc == 0, run
    assert not _imports_pyroute2(bare_python)
    assert sandbox.netns_list() == ["c1", "red"]
    assert sandbox.addresses("c0", netns="red") == ["192.0.2.2/24"]
    assert sandbox.addresses("eth0", netns="c1") == ["192.0.2.11/24"]


def test_without_install_the_roles_stop_before_any_change_with_one_message(sandbox, bare_python, tmp_path):
    _uplink(sandbox)
    before, files = sandbox.snapshot(), _node_files()
    # A PATH without nft or iptables (sysctl is still found in the sbin
    # directories, as ansible.posix.sysctl looks for it).
    empty = tmp_path / "bin"
    empty.mkdir()
    run = _play(tmp_path, [_role("bridge_network", **ROLE_VARS)], bare_python,
                extra_vars={"bridge_network_install_prereqs": False}, environment={"PATH": str(empty)})
    assert run.rc != 0 and len(run.failed) == 1, run
    failed = _result(run, PREREQS)
    assert failed["failed"] and not failed["changed"] and failed["packages"] == failed["pip"] == [], failed
    msg = failed["msg"]
    assert msg.startswith("bridge_network: this node lacks what the role needs, and "
                          "bridge_network_install_prereqs is false, so nothing was changed: "), msg
    assert ("pyroute2 >= 0.7.2 in %s (no distribution package reaches that Python, and it has no pip (with "
            "packaging or setuptools) for Ansible to use: install pyroute2 into it yourself)" % bare_python) in msg, msg
    assert "nft or iptables-nft or iptables-legacy in PATH (nat_rule, backend auto) (package nftables)" in msg, msg
    assert "sysctl" not in msg, msg
    assert not any(task.startswith(("Bridge", "One namespace", "IPv4")) for task in _names(run))

    # Alone on the node, the cni role's bridge masquerades (ipMasq) too.
    cni = _play(tmp_path, [_role("cni", cni_subnet="203.0.113.0/24")], bare_python, name="cni",
                extra_vars={"cni_install_prereqs": False}, environment={"PATH": str(empty)})
    assert cni.rc != 0 and len(cni.failed) == 1, cni
    msg = cni.failed[0]["msg"]
    assert msg == ("cni: this node lacks what the role needs, and cni_install_prereqs is false, so nothing "
                   "was changed: iptables in PATH (run by portmap, bridge with ipMasq) (package iptables)."), msg

    assert sandbox.snapshot() == before
    assert _node_files() == files
    assert not _imports_pyroute2(bare_python)


def test_a_dual_stack_node_on_iptables_needs_ip6tables_of_each_variant(sandbox, bare_python, tmp_path):
    """IPv6 rules through the iptables backend run ip6tables-<variant>: a node
    with iptables but without ip6tables is stopped before any change."""
    _uplink(sandbox)
    before, files = sandbox.snapshot(), _node_files()
    only_v4 = tmp_path / "bin"
    only_v4.mkdir()
    for tool in ("iptables-nft", "iptables-legacy"):
        os.symlink(sh("sh", "-c", 'command -v "$0"', tool).strip(), str(only_v4 / tool))
    dual = {**ROLE_VARS, "bridge_network_cidr6": "2001:db8:5::/64",
            "bridge_network_containers": [dict(ROLE_VARS["bridge_network_containers"][0], address6="2001:db8:5::11")]}
    for backend, lacking in (("iptables", True), ("nftables", False)):
        run = _play(tmp_path, [_role("bridge_network", **dict(dual, bridge_network_nat_backend=backend))],
                    bare_python, extra_vars={"bridge_network_install_prereqs": False},
                    environment={"PATH": str(only_v4)}, name=backend)
        assert run.rc != 0 and len(run.failed) == 1, run
        msg = run.failed[0]["msg"]
        said = ("ip6tables-nft and ip6tables-legacy in PATH (nat_rule, IPv6 rules for bridge_network_cidr6, "
                "backend iptables) (package iptables)")
        assert (said in msg) is lacking, msg
        assert "pyroute2 >= 0.7.2" in msg, msg  # the same one message lists everything
    assert sandbox.snapshot() == before
    assert _node_files() == files


def test_check_mode_reports_the_install_then_pip_installs_and_converges(sandbox, tmp_path):
    python = _venv(str(tmp_path / "venv"))
    roles = [_role("bridge_network", bridge_network_cidr=CIDR,
                   bridge_network_containers=ROLE_VARS["bridge_network_containers"])]
    pip_args = {"bridge_network_prereqs_pip_args": _pip_args()}
    _uplink(sandbox)
    before, files = sandbox.snapshot(), _node_files()

    check = _play(tmp_path, roles, python, check=True, extra_vars=pip_args)
    assert check.rc == 0, check
    # One task probes, finds pyroute2 missing, and predicts pip's install (nothing from the distribution).
    predicted = _result(check, PREREQS)
    assert predicted["changed"] and predicted["pip"] == ["pyroute2>=0.7.2"] and predicted["packages"] == [], predicted
    assert predicted["results"]["pip"]["invocation"]["module_args"]["name"] == ["pyroute2>=0.7.2"], predicted
    assert "package" not in predicted["results"], predicted
    assert [m["name"] for m in predicted["missing"]] == ["pyroute2 >= 0.7.2 in %s" % python], predicted
    names = _names(check)
    assert names[-2:] == ["Prerequisites | check mode ends here for this node",
                          "Prerequisites | end the play for this node in check mode"], names
    said = _result(check, "Prerequisites | check mode ends here for this node")["msg"]
    assert said.startswith("Check mode: this node lacks pyroute2 >= 0.7.2 in %s (pip install 'pyroute2>=0.7.2' "
                           "into %s). A real run installs that first" % (python, python)), said
    assert sandbox.snapshot() == before and _node_files() == files
    assert not _imports_pyroute2(python)

    real = _play(tmp_path, roles, python, extra_vars=pip_args)
    assert real.rc == 0, real
    installed = _result(real, PREREQS)
    assert installed["changed"] and installed["results"]["pip"]["changed"], installed
    assert _imports_pyroute2(python)
    assert sandbox.addresses("v-net-0") == ["198.51.100.1/26"]
    assert sandbox.link("veth-c1")["master"] == "v-net-0"
    assert sandbox.ping("198.51.100.1", netns="c1")

    # The probe after the install found everything (a second run, with
    # nothing left to install, is what test_role_bridge_network's runs are).
    assert installed["found_after"]["pyroute2_ok"] and not installed["found"]["pyroute2_ok"], installed
    again = _play(tmp_path, roles, python, extra_vars=pip_args)
    probed = _result(again, PREREQS)
    assert again.rc == 0 and not probed["changed"] and probed["missing"] == [] and "found_after" not in probed, probed


def test_the_distribution_python_gets_the_distribution_package(sandbox, tmp_path):
    """Check mode only: a real run would install python3-pyroute2 here."""
    if _imports_pyroute2(DISTRO_PYTHON):
        pytest.skip("%s already imports pyroute2 on this machine" % DISTRO_PYTHON)
    _uplink(sandbox)
    before = sandbox.snapshot()
    run = _play(tmp_path, [_role("bridge_network", **ROLE_VARS)], DISTRO_PYTHON, check=True)
    assert run.rc == 0, run
    package = _result(run, PREREQS)
    assert package["changed"] and package["packages"] == ["python3-pyroute2"] and package["pip"] == [], package
    assert package["results"]["package"]["invocation"]["module_args"]["name"] == ["python3-pyroute2"], package
    assert _names(run)[-1] == "Prerequisites | end the play for this node in check mode"
    said = _result(run, "Prerequisites | check mode ends here for this node")["msg"]
    assert said.startswith("Check mode: this node lacks pyroute2 >= 0.7.2 in %s (package python3-pyroute2)."
                           % DISTRO_PYTHON), said
    assert sandbox.snapshot() == before
    assert not _imports_pyroute2(DISTRO_PYTHON)
