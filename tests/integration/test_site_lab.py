"""site.yml and verify.yml on a lab of two nodes and a wan (built by the lab
role inside the test's sandbox): check mode on fresh nodes predicts exactly
what the real run changes and leaves every node byte-identical, verify.yml
passes, a second run changes nothing, and after drift check mode names exactly
the repair."""

import json
import os
import re

from netplumb_testlib import ROOT, run_playbook_file
from test_lab_role import _in_node, _lab, _recorded, lab_dir  # noqa: F401 pylint: disable=unused-import

SITE = os.path.join(ROOT, "playbooks", "site.yml")
TEARDOWN = os.path.join(ROOT, "playbooks", "teardown.yml")
VERIFY = os.path.join(ROOT, "playbooks", "verify.yml")
NODE_FILES = ("/etc/cni", "/opt/cni", "/etc/sysctl.d")


def play(path, state_dir, check=False, extra=()):
    run = run_playbook_file(path, check=check,
                            extra_args=["-i", os.path.join(state_dir, "inventory.yml")] + list(extra))
    return run, _changed_by_task(run.stdout)


def _changed_by_task(stdout):
    """{(host, task name): changed} from the json callback's output."""
    try:
        data = json.loads(stdout[stdout.index("{"):])
    except ValueError:
        return {}
    changed = {}
    for each in data.get("plays", []):
        for task in each.get("tasks", []):
            for host, result in task["hosts"].items():
                changed[(host, task["task"]["name"])] = bool(result.get("changed"))
    return changed


def _results(stdout, name):
    """{host: result} of the task ``name``, from the json callback's output."""
    data = json.loads(stdout[stdout.index("{"):])
    return {host: result for each in data["plays"] for task in each["tasks"] if task["task"]["name"] == name
            for host, result in task["hosts"].items()}


def node_state(pid):
    """Links, addresses and routes in every namespace of the node, its firewall
    and the files the roles write: compare for 'unchanged'."""
    def out(*argv):
        return _in_node(pid, *argv).stdout

    state = {}
    namespaces = sorted(out("ip", "netns", "list").split())
    for netns in [None] + [n for n in namespaces if not n.startswith("(")]:
        prefix = ["ip", "-n", netns] if netns else ["ip"]
        links = json.loads(out(*prefix, "-j", "link", "show") or "[]")
        state[netns or "(node)"] = {
            "links": sorted((l["ifname"], l.get("master"), l.get("mtu"), "UP" in l["flags"]) for l in links),
            "addrs": sorted(a["local"] + "/%d" % a["prefixlen"]
                            for l in json.loads(out(*prefix, "-j", "addr", "show") or "[]")
                            for a in l.get("addr_info", []) if a.get("scope") != "link"),
            "routes": out(*prefix, "-4", "route", "show", "table", "all"),
        }
    state["nft"] = re.sub(r"packets \d+ bytes \d+", "", out("nft", "list", "ruleset"))
    for variant in ("legacy", "nft"):
        state[variant] = re.sub(r"\[\d+:\d+\]", "", out("iptables-%s-save" % variant))
        state[variant] = "\n".join(l for l in state[variant].splitlines() if not l.startswith("#"))
    state["files"] = out("sh", "-c", "find %s -type f -exec sha256sum {} + 2>/dev/null | sort" % " ".join(NODE_FILES))
    return state


def lab_state(state_dir):
    return {node: node_state(pid) for node, pid in _recorded(state_dir).items() if node != "wan"}


def retarget_port_forward(pid, to):
    listing = _in_node(pid, "nft", "-a", "list", "chain", "ip", "netplumb", "prerouting").stdout
    line = next(line.strip() for line in listing.splitlines() if "dnat to" in line)
    body, _sep, handle = line.rpartition(" # handle ")
    body = re.sub(r"dnat to \S+", "dnat to " + to, body)
    edit = _in_node(pid, "nft", "replace", "rule", "ip", "netplumb", "prerouting", "handle", handle, body)
    assert edit.returncode == 0, edit.stderr
    assert to in _in_node(pid, "nft", "list", "chain", "ip", "netplumb", "prerouting").stdout


def test_site_check_mode_promise_verify_idempotence_and_drift(sandbox, lab_dir):  # noqa: F811
    assert _lab(lab_dir).rc == 0
    fresh = lab_state(lab_dir)

    check, predicted = play(SITE, lab_dir, check=True)
    assert check.rc == 0, check
    assert lab_state(lab_dir) == fresh, "check mode changed a node"

    real, applied = play(SITE, lab_dir)
    assert real.rc == 0, real
    assert predicted == applied, "check mode did not predict the real run task by task"
    assert any(applied.values())

    verify, _unused = play(VERIFY, lab_dir)
    assert verify.rc == 0, verify
    # Inside the cluster CIDRs a container on the other node sees c2's own address, per family.
    across = _results(verify.stdout, "Container c2 connects to c1 on every other node, and c1 answers with the "
                                     "address it saw")
    assert {host: sorted(r["stdout"] for r in result["results"]) for host, result in across.items()} == {
        "node1": ["198.51.100.12", "2001:db8:1::12"], "node2": ["198.51.100.44", "2001:db8:2::12"]}, across

    again, changed = play(SITE, lab_dir)
    assert again.rc == 0 and not any(changed.values()), [k for k, v in changed.items() if v]

    # Drift: c1's cable on node1 pulled out by hand, and node2's port forward
    # pointed at c2 by hand, keeping the collection's comment.
    node1, node2 = _recorded(lab_dir)["node1"], _recorded(lab_dir)["node2"]
    assert _in_node(node1, "ip", "-n", "c1", "link", "del", "eth0").returncode == 0
    retarget_port_forward(node2, "198.51.100.44:8080")
    drifted = lab_state(lab_dir)
    check, predicted = play(SITE, lab_dir, check=True)
    assert check.rc == 0, check
    assert lab_state(lab_dir) == drifted
    repair = sorted(k for k, v in predicted.items() if v)
    assert repair == [("node1", "netplumb.linux.bridge_network : Each container plugged into the bridge, "
                                "leaving through it"),
                      ("node2", "netplumb.linux.bridge_network : Ports of the node forwarded to containers")], repair
    real, applied = play(SITE, lab_dir)
    assert real.rc == 0 and sorted(k for k, v in applied.items() if v) == repair
    verify, _unused = play(VERIFY, lab_dir)
    assert verify.rc == 0, verify

    # The roles' undo (teardown.yml's first play, limited to the nodes so the
    # lab itself stays for the comparison) leaves each node as it was fresh.
    undo, _unused = play(TEARDOWN, lab_dir, extra=["--limit", "lab_nodes"])
    assert undo.rc == 0, undo
    assert lab_state(lab_dir) == fresh, "the roles' undo left something behind or removed too much"
