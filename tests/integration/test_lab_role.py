"""The lab role (playbooks/lab.yml, playbooks/teardown.yml): simulated nodes
and a wan host as namespace sandboxes, reached with community.docker.nsenter.

The test's own sandbox (private netns + mount ns) stands for the machine that
runs the lab; the nodes are real processes, so a finalizer kills whatever the
test started, also when it fails."""

import json
import os
import signal
import subprocess
import time

import pytest
import yaml

from netplumb_testlib import PYTHON, ROOT, run_playbook_file

LAB = os.path.join(ROOT, "playbooks", "lab.yml")
TEARDOWN = os.path.join(ROOT, "playbooks", "teardown.yml")
NODES = ["node1", "node2"]

# Runs against -i <lab>/inventory.yml: each node sees only itself.
NODE_CHECK = [{
    "name": "Each lab node sees its own loopback and uplink, nothing else",
    "hosts": "lab_nodes",
    "gather_facts": False,
    "tasks": [
        {"name": "Facts", "netplumb.linux.net_facts": {}},
        {"name": "Hostname", "ansible.builtin.command": {"argv": ["hostname"]},
         "register": "node_hostname", "changed_when": False},
        {"name": "Only lo and eth0, the uplink address, the default route via the wan",
         "ansible.builtin.assert": {"that": [
             "netplumb_net.host.links.keys() | sort == ['eth0', 'lo']",
             "netplumb_net.namespaces == []",
             "lab_uplink_address == '192.0.2.%d/24' % (10 + lab_node_index | int)",
             "netplumb_net.host.links.eth0.addresses | select('match', '192\\.') | list"
             " == [lab_uplink_address]",
             "netplumb_net.host.links.eth0.state == 'up'",
             "netplumb_net.host.links.eth0.addresses | select('match', '2001:') | list"
             " == [lab_uplink_address6]",
             "lab_uplink_address6 == '2001:db8:ffff::%x/64' % (10 + lab_node_index | int)",
             "netplumb_net.host.routes | selectattr('dst', 'equalto', 'default')"
             " | map(attribute='gateway') | sort == ['192.0.2.254', '2001:db8:ffff::fe']",
             "node_hostname.stdout == inventory_hostname",
         ]}},
    ],
}]


def _lab_processes(state_dir):
    """Pids of processes carrying this lab's marker (nodes and their unshare)."""
    marker = ("NETPLUMB_LAB_DIR=%s" % state_dir).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _alive(pid):
    try:
        with open("/proc/%d/status" % pid) as handle:
            return "\nState:\tZ" not in handle.read()
    except OSError:
        return False


def _wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _recorded(state_dir):
    with open(os.path.join(state_dir, "nodes.json")) as handle:
        return json.load(handle)


@pytest.fixture
def lab_dir(tmp_path):
    """The lab's state directory; afterwards every node it holds is SIGKILLed."""
    state_dir = str(tmp_path / ".lab")
    yield state_dir
    pids = set(_lab_processes(state_dir))
    try:
        pids.update(_recorded(state_dir).values())
    except (OSError, ValueError):
        pass
    pids = [pid for pid in pids if pid in _lab_processes(state_dir)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert _wait_gone(pids), "lab processes survived SIGKILL: %s" % pids


def _lab(state_dir, playbook=LAB, check=False, extra=()):
    args = ["-e", "lab_state_dir=%s" % state_dir, "-e", "lab_node_count=2",
            "-e", "lab_python=%s" % PYTHON] + list(extra)
    return run_playbook_file(playbook, check=check, extra_args=args)


def _in_node(pid, *argv):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "-m", "-p"] + list(argv),
                          capture_output=True, text=True, timeout=15, check=False)


def _ping(pid, address):
    return _in_node(pid, "ping", "-n", "-q", "-c1", "-W2", address).returncode == 0


def test_lab_nodes_reachable_isolated_idempotent_and_torn_down(sandbox, lab_dir, tmp_path):
    first = _lab(lab_dir)
    assert first.rc == 0, first
    pids = _recorded(lab_dir)
    assert sorted(pids) == NODES + ["wan"]
    assert all(_alive(pid) for pid in pids.values()), pids

    inventory_path = os.path.join(lab_dir, "inventory.yml")
    with open(inventory_path) as handle:
        inventory = yaml.safe_load(handle)["all"]["children"]
    assert sorted(inventory["lab_nodes"]["hosts"]) == NODES
    assert sorted(inventory["lab_wan"]["hosts"]) == ["wan"]
    for name, hostvars in list(inventory["lab_nodes"]["hosts"].items()) + list(inventory["lab_wan"]["hosts"].items()):
        assert hostvars["ansible_connection"] == "community.docker.nsenter"
        assert hostvars["ansible_nsenter_pid"] == pids[name]
        assert hostvars["ansible_python_interpreter"] == PYTHON
    assert inventory["lab_nodes"]["hosts"]["node2"]["lab_uplink_address"] == "192.0.2.12/24"
    assert inventory["lab_nodes"]["hosts"]["node2"]["lab_node_index"] == 2

    # A later run with -i reaches each node through nsenter; each sees only itself.
    check_path = str(tmp_path / "node_check.yml")
    with open(check_path, "w") as handle:
        yaml.safe_dump(NODE_CHECK, handle)
    check = run_playbook_file(check_path, extra_args=["-i", inventory_path])
    assert check.rc == 0, check
    stats = json.loads(check.stdout[check.stdout.index("{"):])["stats"]
    for node in NODES:
        assert stats[node]["failures"] == 0 and stats[node]["unreachable"] == 0, stats
        assert stats[node]["ok"] == 3, stats

    # Traffic stays on the fabric: node1 reaches node2's uplink and the wan.
    assert _ping(pids["node1"], "192.0.2.12")
    assert _ping(pids["node1"], "192.0.2.254")
    assert _ping(pids["node2"], "192.0.2.11")
    assert _ping(pids["node1"], "2001:db8:ffff::c") and _ping(pids["node2"], "2001:db8:ffff::fe")
    assert "fabric0" in _in_node(pids["wan"], "ip", "-br", "link").stdout
    # Nothing leaked into the namespace that ran the playbook.
    assert sandbox.link("fabric0") is None and sandbox.link("n1") is None
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]

    second = _lab(lab_dir)
    assert second.rc == 0 and second.changed == 0, second
    assert _recorded(lab_dir) == pids

    teardown = _lab(lab_dir, TEARDOWN)
    assert teardown.rc == 0 and teardown.changed > 0, teardown
    assert _wait_gone(pids.values()), pids
    assert not os.path.exists(lab_dir)
    assert _lab_processes(lab_dir) == []
    again = _lab(lab_dir, TEARDOWN)
    assert again.rc == 0 and again.changed == 0, again


def test_lab_check_mode_creates_nothing(sandbox, lab_dir):
    check = _lab(lab_dir, check=True)
    assert check.rc == 0, check
    assert check.changed > 0, check
    assert not os.path.exists(lab_dir)
    assert _lab_processes(lab_dir) == []
    assert [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]


def test_lab_restarts_a_dead_node_and_keeps_the_others(sandbox, lab_dir):
    assert _lab(lab_dir).rc == 0
    before = _recorded(lab_dir)
    os.kill(before["node2"], signal.SIGKILL)
    assert _wait_gone([before["node2"]])

    check = _lab(lab_dir, check=True)
    assert check.rc == 0 and check.changed > 0, check
    assert _recorded(lab_dir) == before

    rerun = _lab(lab_dir)
    assert rerun.rc == 0 and rerun.changed > 0, rerun
    after = _recorded(lab_dir)
    assert after["node1"] == before["node1"] and after["wan"] == before["wan"]
    assert after["node2"] != before["node2"] and _alive(after["node2"])
    assert _ping(after["node1"], "192.0.2.12")
    assert _ping(after["node2"], "192.0.2.254")
