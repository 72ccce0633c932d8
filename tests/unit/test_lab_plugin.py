"""netplumb.linux.lab_node without a lab: the action plugin's argument spec
against its documentation, the plan's judgement of every option, the
inventory it writes, and cli.py run by its path. No root, no kernel."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.netplumb.linux.plugins.action import lab_node as action
from ansible_collections.netplumb.linux.plugins.modules import lab_node as docs
from ansible_collections.netplumb.linux.plugins.plugin_utils.lab import fabric, inventory, ssh, state
from ansible_collections.netplumb.linux.plugins.plugin_utils.lab.system import CLI, LabError

OPTIONS = yaml.safe_load(docs.DOCUMENTATION)["options"]


def test_argument_spec_is_what_the_documentation_says():
    assert set(action.ARGUMENT_SPEC) == set(OPTIONS)
    for name, spec in action.ARGUMENT_SPEC.items():
        doc = OPTIONS[name]
        assert spec["type"] == doc["type"], name
        assert spec.get("default") == doc.get("default"), name
        assert spec.get("choices") == doc.get("choices"), name
        assert spec.get("elements") == doc.get("elements"), name
        assert bool(spec.get("required")) == bool(doc.get("required")), name


def test_the_role_variables_are_the_options_with_lab_prefix():
    """The lab role passes lab_<option> for each option it sets (roles/lab/meta/argument_specs.yml)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "roles", "lab", "meta", "argument_specs.yml")) as handle:
        role = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert {"lab_" + name for name in OPTIONS if name != "variable_prefix"} == set(role)


def _options(tmp_path, **more):
    options = {"state": "present", "state_dir": str(tmp_path / "lab"), "node_count": 2, "node_prefix": "node",
               "user": "deploy", "fabric_cidr": "192.0.2.0/24", "fabric_cidr6": "2001:db8:ffff::/64",
               "connection": "ssh", "python": "/usr/bin/python3", "variable_prefix": ""}
    options.update(more)
    return options


def test_plan_lays_out_nodes_and_wan(tmp_path):
    layout = fabric.plan(_options(tmp_path, node_count=3))
    assert [(n["name"], n["address"], n["address6"], n["uplink"]) for n in layout["nodes"]] == [
        ("node1", "192.0.2.11/24", "2001:db8:ffff::b/64", "n1"),
        ("node2", "192.0.2.12/24", "2001:db8:ffff::c/64", "n2"),
        ("node3", "192.0.2.13/24", "2001:db8:ffff::d/64", "n3")]
    assert layout["wan"]["address"] == "192.0.2.254/24" and layout["gateway6"] == "2001:db8:ffff::fe"
    assert layout["extra"] == [] and layout["bridge"] == "fabric0"
    ipv4_only = fabric.plan(_options(tmp_path, fabric_cidr6=""))
    assert ipv4_only["wan"]["address6"] == "" and ipv4_only["gateway6"] == ""


@pytest.mark.parametrize("option, value, words", [
    ("fabric_cidr", "192.0.2.1/24", "is not an IPv4 network"),
    ("fabric_cidr", "2001:db8::/64", "an IPv4 network of /24 or larger"),
    ("fabric_cidr6", "2001:db8::/121", "an IPv6 network of /120 or larger"),
    ("fabric_cidr6", "nonsense", "is not an IPv6 network"),
    ("node_count", 0, "must be at least 1"),
    ("node_count", 244, "does not fit"),
    ("node_prefix", "Node", "lower case letters"),
    ("node_prefix", "abcdefghijk", "at most 10"),
    ("node_prefix", "wan", "not 'wan'"),
    ("user", "root", "not root"),
    ("user", "a b", "a user name"),
])
def test_plan_refuses_a_bad_value_naming_the_option(tmp_path, option, value, words):
    with pytest.raises(LabError) as info:
        fabric.plan(_options(tmp_path, **{option: value}))
    assert info.value.field == option
    assert str(info.value).startswith(option + " ") and words in str(info.value)
    with pytest.raises(LabError) as info:
        fabric.plan(_options(tmp_path, variable_prefix="lab_", **{option: value}))
    assert str(info.value).startswith("lab_" + option + " ")


def test_inventory_reaches_ssh_nodes_only_through_the_relay(tmp_path):
    options = _options(tmp_path)
    layout = fabric.plan(options)
    hosts = [layout["wan"]] + layout["nodes"]
    hostvars = {h["name"]: inventory.host_vars(options, layout, h, 100 + h["index"]) for h in hosts}
    node1 = hostvars["node1"]
    assert node1["ansible_host"] == "192.0.2.11" and node1["ansible_user"] == "deploy"
    assert "ProxyCommand=%s -I %s relay --state-dir %s %%h %%p" % (sys.executable, CLI, options["state_dir"]) \
        in node1["ansible_ssh_common_args"]
    assert os.path.isfile(CLI)
    text = inventory.inventory(options, layout, hostvars)
    assert text.startswith("# The netplumb.linux lab in %s (lab_connection: ssh)" % options["state_dir"])
    data = yaml.safe_load(text)["all"]["children"]
    assert sorted(data["lab_nodes"]["hosts"]) == ["node1", "node2"] and list(data["lab_wan"]["hosts"]) == ["wan"]
    nsenter = inventory.host_vars(dict(options, connection="nsenter"), layout, layout["nodes"][0], 4242)
    assert nsenter["ansible_nsenter_pid"] == 4242 and nsenter["ansible_python_interpreter"] == "/usr/bin/python3"


def test_each_host_has_a_control_socket_of_its_own_name(tmp_path):
    """The inventory names each host's ssh control socket, so a control path
    set elsewhere (molecule sets %h-%p-%r) does not make it longer."""
    options = _options(tmp_path)
    layout = fabric.plan(options)
    for host in [layout["wan"]] + layout["nodes"]:
        hostvars = inventory.host_vars(options, layout, host, 4242)
        path = hostvars["ansible_control_path"] % {"directory": hostvars["ansible_control_path_dir"]}
        assert path == ssh.control_path(options["state_dir"], host["name"]) == os.path.join(
            options["state_dir"], "cp", host["name"])


def test_a_state_dir_too_long_for_the_control_sockets_is_refused():
    names = ["wan", "node1", "node2"]
    fits = "/" + "d" * 80
    ssh.refuse_long_state_dir(fits, names, "lab_state_dir")
    assert len(ssh.control_path(fits, "node2")) + len(".0123456789abcdef") == 107
    with pytest.raises(LabError) as info:
        ssh.refuse_long_state_dir(fits + "d", names, "lab_state_dir")
    assert info.value.field == "state_dir"
    assert str(info.value) == ("lab_state_dir %sd is 82 bytes long; at most 81 fit: ssh's control socket %sd/cp/node1"
                               " would be longer than a Unix socket path can be" % (fits, fits))
    # A longer node name leaves less room.
    with pytest.raises(LabError, match="at most 75 fit"):
        ssh.refuse_long_state_dir(fits, names + ["node-long10"], "lab_state_dir")


def test_cli_runs_by_its_path_isolated(tmp_path):
    """What a node's pid 1 and the relay do: python -I <path>, its directory not on sys.path."""
    state_dir = tmp_path / "lab"
    state_dir.mkdir()
    (state_dir / state.STATE_FILE).write_text('{"node1": 1}\n')
    check = subprocess.run([sys.executable, "-I", CLI, "down", "--state-dir", str(state_dir), "--check"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout) == {"changed": True, "state_dir": str(state_dir), "operations": [
        "remove %s" % (state_dir / state.STATE_FILE), "remove %s" % state_dir]}
    assert (state_dir / state.STATE_FILE).exists()
    relay = subprocess.run([sys.executable, "-I", CLI, "relay", "--state-dir", str(state_dir), "192.0.2.11", "22"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert relay.returncode == 1 and "has no running wan" in relay.stderr, relay.stderr
