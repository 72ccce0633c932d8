"""Managed-node prerequisites: what the modules import and run on the node,
and the one task of each role that probes the node for it and installs what
it lacks (netplumb.linux.node_prereqs).

The node is the test's sandbox (local connection), and the Python that Ansible
uses there is a throwaway virtualenv made by the test without pyroute2, as on
a fresh node: bridge, route and net_facts need it; netns, veth, container_net
and node_network (on the standard library's netlink socket) do not, so neither
role asks for it any more - bridge_network's prerequisites are nft or iptables,
and ip6tables of each iptables variant for IPv6 rules through iptables.

pyroute2 is still what netplumb.linux.node_prereqs installs when a play calls it
with its pyroute2 option, so that path is proven through such a play. The pip
path installs the pyroute2 wheel that ``make deps`` fetched into
.build/wheelhouse (the sandbox has no network); nothing is ever installed onto
the machine running the tests. The distribution-package path would do that, so
it is proven in check mode only (apt simulates).

The probe is made once per ansible-playbook run: kept as the host fact
netplumb_node_probe, the next role's task reuses it, and a probe that a fact
cache kept from another run is never trusted."""

import json
import os
import socket
import subprocess
import tempfile

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
CONFLIST = "/etc/cni/net.d/10-netplumb.conflist"

# The one task of each role that probes the node and installs what it lacks
# (netplumb.linux.node_prereqs), and the one that ends a lacking node's play in check mode.
PREREQS = "Prerequisites | what the node lacks, installed"
END = "Prerequisites | end the play for this node in check mode"
PROBE_FACT = "netplumb_node_probe"
# What node_prereqs' setup gathers (the play's facts, without the ansible_ prefix), and only when something lacks.
DISTRIBUTION_FACTS = ("distribution", "os_family", "pkg_mgr")


def _bridge_network_packages():
    """The role's packages (nft and iptables only now), plus the distribution's pyroute2."""
    with open(os.path.join(ROOT, "roles", "bridge_network", "vars", "main.yml")) as handle:
        packages = yaml.safe_load(handle)["bridge_network_prereqs_packages"]
    assert all(set(names) <= {"nft", "iptables"} for names in packages.values()), packages
    return dict((family, dict(names, pyroute2="python3-pyroute2")) for family, names in packages.items())


def _uplink(box):
    """A default route through uplink0, where node_network finds its uplink."""
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


def _playbook(tmp_path, play, python, check=False, extra_vars=None, name="play"):
    """One play on localhost (no fact gathering) with ``python`` as the node's Python."""
    path = str(tmp_path / ("%s.yml" % name))
    with open(path, "w") as handle:
        yaml.safe_dump([dict({"hosts": "localhost", "gather_facts": False}, **play)], handle)
    extra = dict(extra_vars or {}, ansible_python_interpreter=python)
    # A later -e wins over run_playbook_file's own interpreter.
    return run_playbook_file(path, check=check, extra_args=["-e", json.dumps(extra)])


def _play(tmp_path, roles, python, check=False, extra_vars=None, environment=None, name="play"):
    play = {"roles": roles}
    if environment:
        play["environment"] = environment
    return _playbook(tmp_path, play, python, check=check, extra_vars=extra_vars, name=name)


def _role(name, **variables):
    return {"role": "netplumb.linux." + name, "vars": variables}


def _include(name, **variables):
    return {"name": name, "ansible.builtin.include_role": {"name": "netplumb.linux." + name}, "vars": variables}


def _tasks(run):
    """(task name without its role, result) in order."""
    return [(name.split(" : ", 1)[-1], hosts.get("localhost", {})) for name, hosts in callback_tasks(run.stdout)]


def _names(run):
    return [task[0] for task in _tasks(run)]


def _results(run, name):
    return [result for task, result in _tasks(run) if task == name]


def _result(run, name):
    found = _results(run, name)
    assert len(found) == 1, (name, _names(run))
    return found[0]


def _gathered(result):
    """The distribution facts a task returned (node_prereqs' setup), by their names without ansible_."""
    return sorted(key for key in result.get("ansible_facts", {})
                  if key.replace("ansible_", "", 1).startswith(DISTRIBUTION_FACTS))


def _pip_args():
    wheels = os.listdir(WHEELHOUSE) if os.path.isdir(WHEELHOUSE) else []
    assert any(n.startswith("pyroute2-") and n.endswith(".whl") for n in wheels), \
        "no pyroute2 wheel in %s: run make deps" % WHEELHOUSE
    return "--no-index --find-links %s" % WHEELHOUSE


def _node_files():
    return {d: sorted(os.listdir(d)) for d in ("/etc/sysctl.d", "/etc/cni", "/opt/cni") if os.path.isdir(d)}


def _module_play(tmp_path, tasks, python):
    return _playbook(tmp_path, {"tasks": tasks}, python, name="module")


def _path_of(tmp_path, *tools):
    """A directory with only ``tools`` (links to the machine's), for a PATH without the rest."""
    directory = tempfile.mkdtemp(prefix="bin-", dir=str(tmp_path))
    for tool in tools:
        os.symlink(sh("sh", "-c", 'command -v "$0"', tool).strip(), os.path.join(directory, tool))
    return directory


def test_pyroute2_module_without_pyroute2_names_the_package(sandbox, bare_python, tmp_path):
    run = _module_play(tmp_path, [{"name": "The node's facts", "netplumb.linux.net_facts": {}}], bare_python)
    assert run.rc != 0, run
    assert len(run.failed) == 1, run
    msg = run.failed[0]["msg"]
    # Ansible's missing_required_lib wording, naming the package and the pip way.
    assert "Failed to import the required Python library" in msg, msg
    assert "python3-pyroute2" in msg and "pip install pyroute2" in msg, msg
    assert bare_python in msg, msg
    # The machine's own name is not the inventory host ("localhost" here).
    assert "%s's" % socket.gethostname() not in msg and "on the node's Python" in msg, msg
    assert "Traceback" not in run.stdout + run.stderr


def test_the_lean_netlink_modules_run_without_pyroute2(sandbox, bare_python, tmp_path):
    """netns, veth, bridge, route and container_net talk netlink through
    rtnl.py: a node whose Python lacks pyroute2 runs them all the same."""
    tasks = [{"name": "A bridge", "netplumb.linux.bridge": {"name": "br0", "addresses": ["192.0.2.1/24"]}},
             {"name": "A route", "netplumb.linux.route": {"dst": "198.51.100.0/24", "gateway": "192.0.2.254"}},
             {"name": "A namespace", "netplumb.linux.netns": {"name": "red"}},
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
    # A PATH without nft or iptables (or sysctl, which the role no longer asks for).
    empty = _path_of(tmp_path)
    run = _play(tmp_path, [_role("bridge_network", **ROLE_VARS)], bare_python,
                extra_vars={"bridge_network_install_prereqs": False}, environment={"PATH": empty})
    assert run.rc != 0 and len(run.failed) == 1, run
    failed = _result(run, PREREQS)
    assert failed["failed"] and not failed["changed"] and failed["packages"] == failed["pip"] == [], failed
    # nft or iptables only: no pyroute2 (node_network is on the standard library), no sysctl.
    msg = failed["msg"]
    assert msg == ("bridge_network: this node lacks what the role needs, and bridge_network_install_prereqs is "
                   "false, so nothing was changed: nft or iptables-nft or iptables-legacy in PATH (nat_rule, "
                   "backend auto) (package nftables)."), msg
    assert [need["name"] for need in failed["missing"]] == [
        "nft or iptables-nft or iptables-legacy in PATH (nat_rule, backend auto)"], failed
    assert failed["probed"] is True, failed
    # Something lacks, so the distribution facts were gathered: they name the package.
    assert "ansible_os_family" in failed["ansible_facts"], failed
    names = _names(run)
    assert names[-1] == PREREQS and "The node's container network" not in names, names

    # Alone on the node, the cni role's bridge masquerades (ipMasq) too.
    cni = _play(tmp_path, [_role("cni", cni_subnet="203.0.113.0/24")], bare_python, name="cni",
                extra_vars={"cni_install_prereqs": False}, environment={"PATH": empty})
    assert cni.rc != 0 and len(cni.failed) == 1, cni
    assert _names(cni)[-1] == PREREQS, _names(cni)
    msg = _result(cni, PREREQS)["msg"]
    assert msg == ("cni: this node lacks what the role needs, and cni_install_prereqs is false, so nothing "
                   "was changed: iptables in PATH (run by portmap, bridge with ipMasq) (package iptables)."), msg

    assert sandbox.snapshot() == before
    assert _node_files() == files
    assert not _imports_pyroute2(bare_python)


def test_a_dual_stack_node_on_iptables_needs_ip6tables_of_each_variant(sandbox, bare_python, tmp_path):
    """IPv6 rules through the iptables backend run ip6tables-<variant>: a node
    with iptables but without the ip6tables of a variant it has is stopped
    before any change."""
    _uplink(sandbox)
    before, files = sandbox.snapshot(), _node_files()
    dual = {**ROLE_VARS, "bridge_network_cidr6": "2001:db8:5::/64",
            "bridge_network_containers": [dict(ROLE_VARS["bridge_network_containers"][0], address6="2001:db8:5::11")]}
    lacking = {
        # Both variants without their ip6tables.
        ("iptables", ("iptables-nft", "iptables-legacy")):
            "ip6tables-nft and ip6tables-legacy in PATH (nat_rule, IPv6 rules for bridge_network_cidr6, "
            "backend iptables) (package iptables)",
        # One variant has it: only the other one's is lacking.
        ("iptables", ("iptables-nft", "iptables-legacy", "ip6tables-nft")):
            "ip6tables-legacy in PATH (nat_rule, IPv6 rules for bridge_network_cidr6, backend iptables) "
            "(package iptables)",
        # nftables does IPv6 itself: only nft is lacking, no ip6tables.
        ("nftables", ("iptables-nft", "iptables-legacy")):
            "nft in PATH (nat_rule, backend nftables) (package nftables)",
    }
    for number, ((backend, tools), said) in enumerate(lacking.items()):
        run = _play(tmp_path, [_role("bridge_network", **dict(dual, bridge_network_nat_backend=backend))],
                    bare_python, extra_vars={"bridge_network_install_prereqs": False},
                    environment={"PATH": _path_of(tmp_path, *tools)}, name="%s-%d" % (backend, number))
        assert run.rc != 0 and len(run.failed) == 1, run
        msg = _result(run, PREREQS)["msg"]
        # The one message lists everything lacking, and nothing else.
        assert msg == ("bridge_network: this node lacks what the role needs, and bridge_network_install_prereqs "
                       "is false, so nothing was changed: %s." % said), (tools, msg)
    assert sandbox.snapshot() == before
    assert _node_files() == files


def _with_pyroute2(pip_args=""):
    """A play's own call of node_prereqs, bridge_network's options plus pyroute2
    (what net_facts imports), its check-mode end, and that module."""
    options = {"role": "bridge_network", "install": True, "packages": _bridge_network_packages(),
               "nat_backend": "auto", "pyroute2": "0.7.2", "pip_args": pip_args}
    return [
        {"name": PREREQS, "netplumb.linux.node_prereqs": options, "register": "prereqs"},
        {"name": END, "ansible.builtin.meta": "end_host",
         "when": "ansible_check_mode and prereqs.missing | length > 0"},
        {"name": "The node's facts (the module imports pyroute2)", "netplumb.linux.net_facts": {}},
        {"name": "Prerequisites | again in the same run", "netplumb.linux.node_prereqs": options},
    ]


def test_check_mode_reports_the_pip_install_then_pip_installs_pyroute2(sandbox, tmp_path):
    python = _venv(str(tmp_path / "venv"))
    tasks = {"tasks": _with_pyroute2(_pip_args())}
    before, files = sandbox.snapshot(), _node_files()

    check = _playbook(tmp_path, tasks, python, check=True)
    assert check.rc == 0, check
    # One task probes, finds pyroute2 missing, and predicts pip's install (nothing from the distribution).
    predicted = _result(check, PREREQS)
    assert predicted["changed"] and predicted["pip"] == ["pyroute2>=0.7.2"] and predicted["packages"] == [], predicted
    assert predicted["results"]["pip"]["invocation"]["module_args"]["name"] == ["pyroute2>=0.7.2"], predicted
    assert "package" not in predicted["results"], predicted
    assert [m["name"] for m in predicted["missing"]] == ["pyroute2 >= 0.7.2 in %s" % python], predicted
    # The check-mode message, in msg and as the task's warning (printed), and the node's play ends there.
    said = predicted["msg"]
    assert said.startswith("Check mode: this node lacks pyroute2 >= 0.7.2 in %s (pip install 'pyroute2>=0.7.2' "
                           "into %s). A real run installs that first" % (python, python)), said
    assert said.endswith("so this node's play ends here."), said
    assert predicted["warnings"] == [said], predicted
    assert _names(check)[-2:] == [PREREQS, END], _names(check)
    assert sandbox.snapshot() == before and _node_files() == files
    assert not _imports_pyroute2(python)

    real = _playbook(tmp_path, tasks, python)
    assert real.rc == 0, real
    installed = _result(real, PREREQS)
    assert installed["changed"] and installed["results"]["pip"]["changed"], installed
    assert installed["msg"] == "bridge_network: installed pip install pyroute2>=0.7.2 into %s" % python, installed
    assert "warnings" not in installed, installed
    assert _imports_pyroute2(python)
    # The probe after the install found it, and is the run's probe from then on.
    assert installed["found_after"]["pyroute2_ok"] and not installed["found"]["pyroute2_ok"], installed
    assert installed["ansible_facts"][PROBE_FACT]["found"] == installed["found_after"], installed
    # The module that imports it ran.
    assert "netplumb_net" in _result(real, "The node's facts (the module imports pyroute2)")["ansible_facts"]
    # The same run's next call answers from that probe, without touching the node.
    again = _result(real, "Prerequisites | again in the same run")
    assert again["probed"] is False and not again["changed"] and again["missing"] == [], again
    assert again["found"]["pyroute2_ok"] and "found_after" not in again, again


def test_the_distribution_python_gets_the_distribution_package(sandbox, tmp_path):
    """Check mode only: a real run would install python3-pyroute2 here."""
    if _imports_pyroute2(DISTRO_PYTHON):
        pytest.skip("%s already imports pyroute2 on this machine" % DISTRO_PYTHON)
    before = sandbox.snapshot()
    run = _playbook(tmp_path, {"tasks": _with_pyroute2()}, DISTRO_PYTHON, check=True)
    assert run.rc == 0, run
    package = _result(run, PREREQS)
    assert package["changed"] and package["packages"] == ["python3-pyroute2"] and package["pip"] == [], package
    assert package["results"]["package"]["invocation"]["module_args"]["name"] == ["python3-pyroute2"], package
    assert "pip" not in package["results"], package
    said = package["msg"]
    assert said.startswith("Check mode: this node lacks pyroute2 >= 0.7.2 in %s (package python3-pyroute2)."
                           % DISTRO_PYTHON), said
    assert package["warnings"] == [said], package
    assert _names(run)[-2:] == [PREREQS, END], _names(run)
    assert sandbox.snapshot() == before
    assert not _imports_pyroute2(DISTRO_PYTHON)


def _both_roles():
    """bridge_network then cni on the node, and the node's facts after them."""
    return {"tasks": [_include("bridge_network", **ROLE_VARS), _include("cni"),
                      {"name": "The node's facts", "ansible.builtin.debug": {"var": "ansible_facts.keys() | list"}}]}


def _cached(directory):
    """What the jsonfile fact cache holds, as text (its file names and format are the cache's)."""
    text = ""
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as handle:
            text += handle.read()
    return text


def _probes(run):
    """bridge_network's prerequisites result, then cni's."""
    results = _results(run, PREREQS)
    assert len(results) == 2, _names(run)
    assert [result["msg"] for result in results] == [
        "bridge_network: this node has what the role needs", "cni: this node has what the role needs"], results
    return results


def test_one_run_of_both_roles_probes_the_node_once_and_gathers_nothing(sandbox, bare_python, tmp_path,
                                                                        monkeypatch):
    """bridge_network's task probes the node; cni's, later in the same run,
    answers from that probe. Nothing lacking, no distribution facts are
    gathered. A fact cache keeps the probe for the next run, which probes again."""
    _uplink(sandbox)
    # A fact cache, as a user may have one: the probe's fact outlives the run.
    cache = tmp_path / "facts"
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "jsonfile")
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(cache))

    first = _playbook(tmp_path, _both_roles(), bare_python)
    assert first.rc == 0, first
    bridge, cni = _probes(first)
    assert bridge["probed"] is True and cni["probed"] is False, (bridge, cni)
    assert bridge["missing"] == cni["missing"] == [], (bridge, cni)
    # The cni task's findings are the bridge_network task's probe, directory of the packaged plugins included.
    assert cni["found"] == bridge["found"] and bridge["found"]["paths"]["/usr/lib/cni"] is True, (bridge, cni)
    run_id = bridge["ansible_facts"][PROBE_FACT]["run"]
    assert cni["ansible_facts"][PROBE_FACT] == {"run": run_id, "found": bridge["found"]}, cni
    # No setup: each task returned its probe and nothing else, and the node has no distribution facts.
    for result in (bridge, cni):
        assert _gathered(result) == [] and set(result["ansible_facts"]) == {PROBE_FACT}, result
    facts = _result(first, "The node's facts")["ansible_facts.keys() | list"]
    assert PROBE_FACT in facts and not [key for key in facts if key.startswith(DISTRIBUTION_FACTS)], facts
    # Both roles did their work after it.
    assert sandbox.link("veth-c1")["master"] == "v-net-0"
    with open(CONFLIST) as handle:
        assert json.load(handle)["plugins"][0]["bridge"] == "v-net-0"
    assert run_id in _cached(cache)

    # The next run starts with the first run's probe in its facts: not this run's, so probed again, once.
    second = _playbook(tmp_path, _both_roles(), bare_python)
    assert second.rc == 0, second
    bridge, cni = _probes(second)
    assert bridge["probed"] is True and cni["probed"] is False, (bridge, cni)
    second_id = bridge["ansible_facts"][PROBE_FACT]["run"]
    assert second_id != run_id and cni["ansible_facts"][PROBE_FACT]["run"] == second_id, (run_id, bridge, cni)
    cached = _cached(cache)
    assert second_id in cached and run_id not in cached, cached


def test_a_probe_of_another_run_is_not_reused(sandbox, bare_python, tmp_path):
    """A netplumb_node_probe of another run (set_fact, or an extra var) that
    says the node has everything: the task probes the node, which has no
    iptables, and stops."""
    everything = {"python": bare_python, "version": "3.11.2", "venv": True, "prefix": "/", "pyroute2": None,
                  "pyroute2_error": None, "pip": False,
                  "tools": dict((tool, "/usr/sbin/" + tool) for tool in (
                      "nft", "iptables-nft", "iptables-legacy", "ip6tables-nft", "ip6tables-legacy", "iptables",
                      "sysctl")),
                  "paths": {"/usr/lib/cni": True, "/usr/libexec/cni": True, "/opt/cni/bin": True}}
    stale = {"run": "1-1", "found": everything}
    prereqs = {"name": PREREQS, "netplumb.linux.node_prereqs": {
        "role": "cni", "install": False, "cni_chain": [{"type": "portmap"}],
        "packages": {"Debian": {"iptables": "iptables"}}}}
    empty = _path_of(tmp_path)
    before = sandbox.snapshot()
    for name, tasks, extra in (
            ("set_fact", [{"name": "A probe of another run", "ansible.builtin.set_fact": {PROBE_FACT: stale}},
                          prereqs], {}),
            ("extra_var", [prereqs], {PROBE_FACT: stale})):
        run = _playbook(tmp_path, {"tasks": tasks, "environment": {"PATH": empty}}, bare_python, extra_vars=extra,
                        name=name)
        assert run.rc != 0 and len(run.failed) == 1, (name, run)
        result = _result(run, PREREQS)
        assert result["probed"] is True and result["found"]["tools"]["iptables"] is None, (name, result)
        assert result["msg"] == ("cni: this node lacks what the role needs, and cni_install_prereqs is false, so "
                                 "nothing was changed: iptables in PATH (run by portmap) (package iptables)."), result
    assert sandbox.snapshot() == before
