"""The lab role (playbooks/lab.yml, playbooks/teardown.yml): nodes that are
machines - their own namespaces and copy-on-write root filesystem, sshd, a
sudo user, the system Python - and a wan host, reached over SSH through the
relay into the wan (or with community.docker.nsenter, lab_connection nsenter).

The test's own sandbox (private netns + mount ns) stands for the machine that
runs the lab; the nodes are real processes, so a finalizer tears down whatever
the test started, also when it fails."""

import json
import os
import re
import signal
import subprocess
import yaml

from lab_fixtures import (LONGEST_STATE_DIR, TEARDOWN, alive, in_node, lab_processes, ping, recorded, relays, run_lab,
                          sized_dir, wait_gone)
from netplumb_testlib import failures, run_playbook, run_playbook_file

NODES = ["node1", "node2"]

# Runs against -i <lab>/inventory.yml: each node sees only itself.
NODE_CHECK = [{
    "name": "Each lab node sees its own loopback and uplink, nothing else",
    "hosts": "lab_nodes",
    "gather_facts": False,
    "tasks": [
        # Before the roles ran there is no pyroute2 on a node (net_facts needs it): ip, as a user would.
        {"name": "Links and addresses", "ansible.builtin.command": {"argv": ["ip", "-j", "addr", "show"]},
         "register": "node_addrs", "changed_when": False},
        {"name": "Default routes", "ansible.builtin.command": {
            "argv": ["sh", "-c", "ip -j -4 route show default; ip -j -6 route show default"]},
         "register": "node_routes", "changed_when": False},
        {"name": "Namespaces", "ansible.builtin.command": {"argv": ["ip", "netns", "list"]},
         "register": "node_netns", "changed_when": False},
        {"name": "Hostname", "ansible.builtin.command": {"argv": ["hostname"]},
         "register": "node_hostname", "changed_when": False},
        {"name": "The login user, without become", "ansible.builtin.command": {"argv": ["id", "-un"]},
         "vars": {"ansible_become": False}, "register": "node_login", "changed_when": False},
        {"name": "The user with become", "ansible.builtin.command": {"argv": ["id", "-un"]},
         "register": "node_become", "changed_when": False},
        {"name": "The system Python has no pyroute2 yet; the CNI directories do not exist",
         "ansible.builtin.command": {"argv": ["/usr/bin/python3", "-c",
                                              "import importlib.util, os; print(importlib.util.find_spec('pyroute2'),"
                                              " [d for d in ('/etc/cni', '/opt/cni', '/var/lib/cni')"
                                              " if os.path.exists(d)])"]},
         "register": "node_fresh", "changed_when": False},
        {"name": "Only lo and eth0, the uplink address, the default route via the wan",
         "vars": {"links": "{{ node_addrs.stdout | from_json | items2dict(key_name='ifname', value_name='addr_info') }}",
                  "eth0": "{{ links.eth0 | selectattr('scope', 'equalto', 'global')"
                          " | map(attribute='local') | list }}",
                  "gateways": "{{ node_routes.stdout_lines | map('from_json') | flatten"
                              " | map(attribute='gateway') | sort }}"},
         "ansible.builtin.assert": {"that": [
             "links.keys() | sort == ['eth0', 'lo']",
             "node_netns.stdout == ''",
             "lab_uplink_address == '192.0.2.%d/24' % (10 + lab_node_index | int)",
             "lab_uplink_address6 == '2001:db8:ffff::%x/64' % (10 + lab_node_index | int)",
             "eth0 == [lab_uplink_address.split('/')[0], lab_uplink_address6.split('/')[0]]",
             "gateways == ['192.0.2.254', '2001:db8:ffff::fe']",
             "node_hostname.stdout == inventory_hostname",
             "node_login.stdout == 'deploy' and node_become.stdout == 'root'",
             "ansible_facts.discovered_interpreter_python.startswith('/usr/bin/python3')",
             "node_fresh.stdout == 'None []'",
         ]}},
    ],
}]


def test_lab_nodes_reachable_isolated_idempotent_and_torn_down(sandbox, longest_lab_dir, tmp_path, monkeypatch):
    """In a state directory as long as ssh's control sockets allow, and with
    molecule's control path setting, which the lab's own socket names override."""
    lab_dir = longest_lab_dir
    monkeypatch.setenv("ANSIBLE_SSH_CONTROL_PATH", "%(directory)s/%%h-%%p-%%r")
    first = run_lab(lab_dir)
    assert first.rc == 0, first
    pids = recorded(lab_dir)
    assert sorted(pids) == NODES + ["wan"]
    assert all(alive(pid) for pid in pids.values()), pids

    inventory_path = os.path.join(lab_dir, "inventory.yml")
    with open(inventory_path) as handle:
        inventory = yaml.safe_load(handle)["all"]["children"]
    assert sorted(inventory["lab_nodes"]["hosts"]) == NODES
    assert sorted(inventory["lab_wan"]["hosts"]) == ["wan"]
    for hostvars in list(inventory["lab_nodes"]["hosts"].values()) + list(inventory["lab_wan"]["hosts"].values()):
        assert hostvars["ansible_connection"] == "ssh"
        assert hostvars["ansible_user"] == "deploy" and hostvars["ansible_become"] is True
        assert hostvars["ansible_host"] == hostvars["lab_uplink_address"].split("/")[0]
        # Interpreter discovery, as on a fleet; every connection through the relay into the wan.
        assert "ansible_python_interpreter" not in hostvars
        assert "ProxyCommand=" in hostvars["ansible_ssh_common_args"]
        assert " relay --state-dir %s " % lab_dir in hostvars["ansible_ssh_common_args"]
        assert "StrictHostKeyChecking=yes" in hostvars["ansible_ssh_common_args"]
        assert hostvars["ansible_control_path_dir"] == os.path.join(lab_dir, "cp")
        assert hostvars["ansible_control_path"].startswith("%(directory)s/")
    assert inventory["lab_nodes"]["hosts"]["node2"]["lab_uplink_address"] == "192.0.2.12/24"
    assert inventory["lab_nodes"]["hosts"]["node2"]["lab_node_index"] == 2
    assert oct(os.stat(os.path.join(lab_dir, "id_ed25519")).st_mode & 0o777) == "0o600"

    # A later run with -i reaches each node over SSH; each sees only itself.
    check_path = str(tmp_path / "node_check.yml")
    with open(check_path, "w") as handle:
        yaml.safe_dump(NODE_CHECK, handle)
    check = run_playbook_file(check_path, extra_args=["-i", inventory_path])
    assert check.rc == 0, failures(check)
    stats = json.loads(check.stdout[check.stdout.index("{"):])["stats"]
    for node in NODES:
        assert stats[node]["failures"] == 0 and stats[node]["unreachable"] == 0, stats
        assert stats[node]["ok"] == 8, stats
    assert sorted(os.listdir(os.path.join(lab_dir, "cp"))) == NODES

    # Each node's root is its own: a file written in one is in neither the
    # other nor this machine; the packages the roles install are gone from its view.
    assert in_node(pids["node1"], "sh", "-c", "echo mine > /etc/netplumb-lab-test").returncode == 0
    assert in_node(pids["node1"], "cat", "/etc/netplumb-lab-test").stdout == "mine\n"
    assert in_node(pids["node2"], "test", "-e", "/etc/netplumb-lab-test").returncode == 1
    assert not os.path.exists("/etc/netplumb-lab-test")
    for package in ("nftables", "containernetworking-plugins", "python3-pyroute2"):
        status = in_node(pids["node1"], "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package).stdout
        assert not status.startswith("ii"), (package, status)
    # Only the nodes run sshd: this machine has no SSH server package.
    assert in_node(pids["node1"], "dpkg-query", "-W", "-f", "${db:Status-Abbrev}",
                   "openssh-server").stdout.startswith("ii")
    host = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "openssh-server"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert not host.stdout.startswith("ii"), host.stdout

    # Traffic stays on the fabric: node1 reaches node2's uplink and the wan.
    assert ping(pids["node1"], "192.0.2.12")
    assert ping(pids["node1"], "192.0.2.254")
    assert ping(pids["node2"], "192.0.2.11")
    assert ping(pids["node1"], "2001:db8:ffff::c") and ping(pids["node2"], "2001:db8:ffff::fe")
    assert "fabric0" in in_node(pids["wan"], "ip", "-br", "link").stdout
    # Nothing leaked into the namespace that ran the playbook.
    assert sandbox.link("fabric0") is None and sandbox.link("n1") is None
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]

    second = run_lab(lab_dir)
    assert second.rc == 0 and second.changed == 0, second
    assert recorded(lab_dir) == pids

    teardown = run_lab(lab_dir, TEARDOWN)
    assert teardown.rc == 0 and teardown.changed > 0, teardown
    assert wait_gone(pids.values()), pids
    assert not os.path.exists(lab_dir)
    assert not relays(lab_dir), "ssh masters or relays of the lab outlived its teardown"
    assert lab_processes(lab_dir) == []
    again = run_lab(lab_dir, TEARDOWN)
    assert again.rc == 0 and again.changed == 0, again


def test_lab_check_mode_creates_nothing(sandbox, lab_dir):
    check = run_lab(lab_dir, check=True)
    assert check.rc == 0, check
    assert check.changed > 0, check
    assert not os.path.exists(lab_dir)
    assert lab_processes(lab_dir) == []
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]


def test_lab_restarts_a_dead_node_and_keeps_the_others(sandbox, lab_dir):
    assert run_lab(lab_dir).rc == 0
    before = recorded(lab_dir)
    os.kill(before["node2"], signal.SIGKILL)
    assert wait_gone([before["node2"]])

    check = run_lab(lab_dir, check=True)
    assert check.rc == 0 and check.changed > 0, check
    assert recorded(lab_dir) == before

    rerun = run_lab(lab_dir)
    assert rerun.rc == 0 and rerun.changed > 0, rerun
    after = recorded(lab_dir)
    assert after["node1"] == before["node1"] and after["wan"] == before["wan"]
    assert after["node2"] != before["node2"] and alive(after["node2"])
    assert ping(after["node1"], "192.0.2.12")
    assert ping(after["node2"], "192.0.2.254")


def test_lab_refuses_a_fabric_that_overlaps_a_route_here(sandbox, lab_dir):
    """An ssh that missed the relay would leave through that route: the lab
    refuses before it starts anything."""
    sandbox.ip("link", "add", "up0", "type", "veth", "peer", "name", "up1")
    sandbox.ip("addr", "add", "192.0.2.2/24", "dev", "up0")
    sandbox.ip("link", "set", "up0", "up")
    run = run_lab(lab_dir)
    assert run.rc != 0, run
    assert "overlaps this machine's route 192.0.2.0/24 dev up0" in json.dumps(run.failed), run
    assert lab_processes(lab_dir) == [] and not os.path.exists(os.path.join(lab_dir, "nodes.json"))
    other = run_lab(lab_dir, extra=["-e", "lab_fabric_cidr=203.0.113.0/24", "-e", "lab_fabric_cidr6=",
                                    "-e", "lab_connection=nsenter"])
    assert other.rc == 0, other


def test_lab_over_nsenter_keeps_the_nodes_machines(sandbox, lab_dir, tmp_path):
    """lab_connection nsenter: nodes of the same shape (own root, no CNI
    directories), reached as root through community.docker.nsenter with the
    given Python."""
    # The system's Python: the checkout (and its .venv) may sit under /tmp,
    # which a node mounts afresh.
    run = run_lab(lab_dir, extra=["-e", "lab_connection=nsenter", "-e", "lab_python=/usr/bin/python3"])
    assert run.rc == 0, run
    pids = recorded(lab_dir)
    inventory_path = os.path.join(lab_dir, "inventory.yml")
    with open(inventory_path) as handle:
        hosts = yaml.safe_load(handle)["all"]["children"]["lab_nodes"]["hosts"]
    assert hosts["node1"]["ansible_connection"] == "community.docker.nsenter"
    assert hosts["node1"]["ansible_nsenter_pid"] == pids["node1"]
    assert hosts["node1"]["ansible_python_interpreter"] == "/usr/bin/python3"
    play = [{"name": "Reached as root", "hosts": "lab_nodes", "gather_facts": False, "tasks": [
        {"name": "Who", "ansible.builtin.command": {"argv": ["sh", "-c", "id -un; hostname; ls -d /etc/cni || true"]},
         "register": "who", "changed_when": False},
        {"name": "Root in its own machine", "ansible.builtin.assert": {
            "that": ["who.stdout_lines[:2] == ['root', inventory_hostname]", "who.stdout_lines | length == 2"]}}]}]
    path = str(tmp_path / "who.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(play, handle)
    who = run_playbook_file(path, extra_args=["-i", inventory_path])
    assert who.rc == 0, who
    assert run_lab(lab_dir, TEARDOWN).rc == 0
    assert wait_gone(pids.values()), pids


def test_lab_without_its_packages_fails_clearly_and_starts_nothing(sandbox, lab_dir, tmp_path):
    """No package directory, and no mirror from the test's sandbox: one clear
    failure naming lab_packages_dir, nothing started, nothing left behind."""
    missing = str(tmp_path / "no-packages")
    run = run_lab(lab_dir, extra=["-e", "lab_packages_dir=%s" % missing])
    assert run.rc != 0, run
    assert "lab_packages_dir %s: could not fetch the nodes' packages" % missing in json.dumps(run.failed), run
    assert not os.path.exists(missing)
    assert lab_processes(lab_dir) == [] and not os.path.exists(os.path.join(lab_dir, "nodes.json"))


# -- the action plugin netplumb.linux.lab_node, called directly ---------------

def _plugin(state_dir, check=False, diff=False, **options):
    """One netplumb.linux.lab_node task (nsenter nodes: no sshd, no layer) and its result."""
    args = dict({"state_dir": state_dir, "connection": "nsenter", "python": "/usr/bin/python3"}, **options)
    run = run_playbook([{"name": "lab_node", "netplumb.linux.lab_node": args}], check=check, diff=diff)
    assert len(run.results) == 1, run
    return run.results[0]


def _same_operations(operations):
    """The operations, a new node's pid (known only once it runs) left out."""
    return [re.sub(r" netns (\d+|NODE)$", " netns PID", op) for op in operations]


def test_lab_node_plugin_check_mode_predicts_then_runs_idempotent(sandbox, lab_dir):
    """Check mode lists exactly what the real run then does and changes
    nothing; a second run and check mode on the running lab are not changed;
    down in check mode stops nothing; down, then down again, not changed."""
    predicted = _plugin(lab_dir, check=True, diff=True)
    assert not predicted.get("failed"), predicted
    assert predicted["changed"] is True
    assert predicted["inventory"] == os.path.join(lab_dir, "inventory.yml")
    assert [(h["name"], h["group"], h["pid"]) for h in predicted["hosts"]] == [
        ("wan", "lab_wan", None), ("node1", "lab_nodes", None), ("node2", "lab_nodes", None)]
    assert predicted["operations"][:3] == ["start wan", "start node1", "start node2"]
    assert "ip link add fabric0 type bridge" in predicted["operations"]
    files = [os.path.join(lab_dir, "inventory.yml"), os.path.join(lab_dir, "nodes.json")]
    assert [d["after_header"] for d in predicted["diff"]] == files
    assert json.loads(predicted["diff"][1]["after"]) == {"node1": None, "node2": None, "wan": None}
    assert not os.path.exists(lab_dir) and lab_processes(lab_dir) == []
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]

    built = _plugin(lab_dir)
    assert not built.get("failed") and built["changed"] is True, built
    assert _same_operations(built["operations"]) == _same_operations(predicted["operations"])
    pids = recorded(lab_dir)
    assert {h["name"]: h["pid"] for h in built["hosts"]} == pids == built["pids"]
    assert all(alive(pid) for pid in pids.values())
    with open(built["inventory"]) as handle:
        written = yaml.safe_load(handle)["all"]["children"]
    assert written["lab_nodes"]["hosts"]["node1"] == built["hosts"][1]["vars"]
    assert written["lab_nodes"]["hosts"]["node1"]["ansible_nsenter_pid"] == pids["node1"]

    again = _plugin(lab_dir)
    assert again["changed"] is False and again["operations"] == [], again
    assert _plugin(lab_dir, check=True)["changed"] is False
    assert recorded(lab_dir) == pids

    # A node gone: check mode names it alone, the real run restarts it alone.
    os.kill(pids["node2"], signal.SIGKILL)
    assert wait_gone([pids["node2"]])
    repair = _plugin(lab_dir, check=True)
    assert repair["changed"] is True and "start node2" in repair["operations"], repair
    assert not any(op.startswith("start ") and op != "start node2" for op in repair["operations"])
    repaired = _plugin(lab_dir)
    assert _same_operations(repaired["operations"]) == _same_operations(repair["operations"])
    assert recorded(lab_dir)["node1"] == pids["node1"] and alive(recorded(lab_dir)["node2"])
    pids = recorded(lab_dir)

    stop_check = _plugin(lab_dir, check=True, diff=True, state="absent")
    assert stop_check["changed"] is True, stop_check
    assert {"stop wan", "stop node1", "stop node2", "remove %s" % lab_dir} <= set(stop_check["operations"])
    assert stop_check["diff"][0]["after"] == "" and json.loads(stop_check["diff"][0]["before"]) == pids
    assert all(alive(pid) for pid in pids.values()) and recorded(lab_dir) == pids

    stopped = _plugin(lab_dir, state="absent")
    assert stopped["changed"] is True and stopped["operations"] == stop_check["operations"], stopped
    assert wait_gone(pids.values()) and not os.path.exists(lab_dir)
    assert _plugin(lab_dir, state="absent")["changed"] is False


BAD_INPUT = [
    # (options, the option the message names, text of the message)
    ({"fabric_cidr": "192.0.2.0/33"}, "fabric_cidr", "'192.0.2.0/33' is not an IPv4 network"),
    ({"fabric_cidr": "192.0.2.0/25"}, "fabric_cidr", "an IPv4 network of /24 or larger is needed"),
    ({"fabric_cidr6": "192.0.2.0/24"}, "fabric_cidr6", "an IPv6 network of /120 or larger is needed"),
    ({"node_count": 0}, "node_count", "must be at least 1, not 0"),
    ({"node_count": 300}, "node_count", "300 does not fit"),
    ({"node_prefix": "wan"}, "node_prefix", "'wan': lower case letters"),
    ({"user": "root"}, "user", "'root': a user name"),
    ({"connection": "telnet"}, "connection", "must be one of: ssh, nsenter"),
    ({"node_count": "two"}, "node_count", "unable to convert to int"),
    ({"state": "absent", "node_prefix": "A"}, "node_prefix", "'A': lower case letters"),
    ({"variable_prefix": "lab_", "fabric_cidr": "10.0.0.0/8/8"}, "lab_fabric_cidr", "is not an IPv4 network"),
]


def test_lab_node_plugin_refuses_bad_input_before_anything(sandbox, lab_dir, tmp_path):
    """Each bad value fails with a message naming the option (its name also
    in ``field`` where the plugin judged it), and nothing is left behind: no
    state directory, no package directory, no node, no link."""
    packages = str(tmp_path / "no-packages")
    tasks = [{"name": "bad %d" % number, "ignore_errors": True, "netplumb.linux.lab_node": dict(
        {"state_dir": lab_dir, "packages_dir": packages}, **options)}
        for number, (options, _field, _text) in enumerate(BAD_INPUT)]
    tasks.append({"name": "the lab lives on the controller", "ignore_errors": True, "vars": {"ansible_connection": "ssh"},
                  "netplumb.linux.lab_node": {"state_dir": lab_dir}})
    tasks.append({"name": "an option it does not know", "ignore_errors": True,
                  "netplumb.linux.lab_node": {"state_dir": lab_dir, "count": 2}})
    too_long = sized_dir(tmp_path, LONGEST_STATE_DIR + 1)
    tasks.append({"name": "no room for ssh's control sockets", "ignore_errors": True,
                  "netplumb.linux.lab_node": {"state_dir": too_long, "packages_dir": packages}})
    run = run_playbook(tasks)
    assert len(run.results) == len(tasks), run
    for (options, field, text), result in zip(BAD_INPUT, run.results):
        assert result.get("failed") and result.get("changed") is not True, (options, result)
        assert field in result["msg"] and text in result["msg"], (options, result["msg"])
        assert result["msg"].startswith("lab: "), result["msg"]
        if "unable to convert" not in text and "one of" not in text:
            assert result["field"] == field.replace("lab_", ""), result
    assert run.results[-3]["failed"] and "the lab lives on the controller" in run.results[-3]["msg"]
    assert run.results[-2]["failed"] and "count" in run.results[-2]["msg"]
    assert run.results[-1]["failed"] and run.results[-1]["field"] == "state_dir", run.results[-1]
    assert run.results[-1]["msg"] == ("lab: state_dir %s is %d bytes long; at most %d fit: ssh's control socket"
                                      " %s/cp/node1 would be longer than a Unix socket path can be"
                                      % (too_long, LONGEST_STATE_DIR + 1, LONGEST_STATE_DIR, too_long))
    assert not os.path.exists(lab_dir) and not os.path.exists(packages) and not os.path.exists(too_long)
    assert lab_processes(lab_dir) == []
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]
