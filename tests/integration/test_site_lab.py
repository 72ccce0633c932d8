"""site.yml and verify.yml on a lab of two nodes and a wan (built by the lab
role inside the test's sandbox), reached over SSH as the lab's sudo user with
the nodes' own /usr/bin/python3, which has no pyroute2 and never needs it:

- with the prerequisites not to be installed, one message per node lists all
  that is missing, and nothing changes;
- check mode on fresh nodes predicts what the real run changes (the node's
  play ends after predicting the package install) and leaves every node
  byte-identical, its installed packages included;
- the real run installs nftables, iptables and the CNI plugins through apt,
  inside the node (no pyroute2), and builds the network; verify.yml passes
  (its pod sandbox through each node's own containerd over CRI included:
  cri_checks()), a
  second run changes nothing in at most 12 task slots per node, and after
  drift check mode names exactly the repair, operation by operation;
- the roles' undo leaves each node as it was, but for the packages it
  installed; on those nodes check mode predicts the whole run task by task.

All of it runs on a fresh host (fresh_host(): copy-on-write views of /etc,
/opt and /var/lib without the CNI directories): this is the demo flow (lab,
site, verify, teardown), and at the end nothing was written to those trees,
no package of this machine and nothing of its network changed, and the lab's
processes are gone. The playbooks run by name (netplumb.linux.site), as the
getting-started guide shows."""

import glob
import hashlib
import ipaddress
import json
import os
import re
import subprocess

from fresh_host import fresh_host
from lab_fixtures import in_node, lab_processes, recorded, run_lab, wait_gone
from netplumb_testlib import changed_by_task, failures, run_playbook_file, task_results

SITE = "netplumb.linux.site"
TEARDOWN = "netplumb.linux.teardown"
VERIFY = "netplumb.linux.verify"
NODE_FILES = ("/etc/cni", "/opt/cni", "/etc/sysctl.d")
# The cni role alone on the lab's nodes, as site.yml applies it.
CNI_ONLY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cni_only.yml")
PREREQ_PACKAGES = ["containernetworking-plugins", "iptables", "nftables"]
NODE_NETWORK = "netplumb.linux.bridge_network : The node's container network"
# The task slots a node may take in site.yml (the budget; skipped ones count).
MAX_SLOTS = 12


def play(path, state_dir, check=False, extra=()):
    run = run_playbook_file(path, check=check,
                            extra_args=["-i", os.path.join(state_dir, "inventory.yml")] + list(extra))
    return run, changed_by_task(run.stdout)


def _host(*argv):
    """This machine's tools (the nodes may not have them yet), output or ""."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout


def node_state(pid):
    """Links, addresses and routes in every namespace of the node, its
    firewall, the files the roles write and its installed packages: compare
    for 'unchanged'. Read from here, into the node's namespaces and root."""
    root = "/proc/%d/root" % pid
    state = {}
    netns_dir = root + "/run/netns"
    namespaces = sorted(os.listdir(netns_dir)) if os.path.isdir(netns_dir) else []
    for netns in [None] + namespaces:
        enter = ["nsenter", "--net=%s/%s" % (netns_dir, netns)] if netns else ["nsenter", "-t", str(pid), "-n"]
        links = json.loads(_host(*enter, "ip", "-j", "link", "show") or "[]")
        state[netns or "(node)"] = {
            "links": sorted((l["ifname"], l.get("master"), l.get("mtu"), "UP" in l["flags"]) for l in links),
            "addrs": sorted(a["local"] + "/%d" % a["prefixlen"]
                            for l in json.loads(_host(*enter, "ip", "-j", "addr", "show") or "[]")
                            for a in l.get("addr_info", []) if a.get("scope") != "link"),
            "routes": _host(*enter, "ip", "-4", "route", "show", "table", "all"),
        }
    enter = ["nsenter", "-t", str(pid), "-n"]
    state["nft"] = _without_portmap(re.sub(r"packets \d+ bytes \d+", "", _host(*enter, "nft", "list", "ruleset")))
    for variant in ("legacy", "nft"):
        state[variant] = re.sub(r"\[\d+:\d+\]", "", _host(*enter, "iptables-%s-save" % variant))
        state[variant] = _without_portmap("\n".join(l for l in state[variant].splitlines() if not l.startswith("#")))
    files = {}
    for top in NODE_FILES:
        for directory, _dirs, names in os.walk(root + top):
            for name in names:
                with open(os.path.join(directory, name), "rb") as handle:
                    files[os.path.join(directory, name)[len(root):]] = hashlib.sha256(handle.read()).hexdigest()
    state["files"] = files
    state["packages"] = packages(pid)
    return state


def _portmaps(line):
    return "CNI-HOSTPORT" in line or "CNI portfwd" in line


def _without_portmap(text):
    """The ruleset without what portmap keeps once a hostPort pod has come and
    gone (verify.yml's pod through CRI): its CNI-HOSTPORT-* chains, empty of
    DNAT rules (cni_check checks that the pod's mapping is gone), and the
    iptables nat table around them when nothing else is in it. The runtime's,
    as on any node that ran such a pod; the collection's NAT is elsewhere
    (its own nft table). A table with anything else in it stays whole."""
    kept, block = [], None
    for line in text.splitlines():
        if block is None and (line.startswith(("table ip nat", "table ip6 nat")) or line == "*nat"):
            block = [line]
            continue
        if block is None:
            kept.append(line)
            continue
        block.append(line)
        if line in ("}", "COMMIT"):
            rules, chain = [], ""
            for entry in (l.strip() for l in block[1:-1]):
                if entry.startswith("chain "):
                    chain = entry
                elif entry and not entry.startswith(("type ", "}", ":")):
                    rules.append(chain + " " + entry)  # nft: a rule of portmap's chain is portmap's
            if not all(_portmaps(rule) for rule in rules):
                kept.extend(block)
            block = None
    return "\n".join(kept + (block or []))


def packages(pid):
    """{package: version} installed in the node, from its own dpkg database."""
    out = _host("dpkg-query", "--admindir=/proc/%d/root/var/lib/dpkg" % pid, "-W",
                "-f", "${Package} ${Version} ${db:Status-Abbrev}\n")
    return dict(line.split()[:2] for line in out.splitlines() if line.split()[2:3] == ["ii"])


def lab_state(state_dir):
    return {node: node_state(pid) for node, pid in recorded(state_dir).items() if node != "wan"}


def retarget_port_forward(pid, to):
    listing = in_node(pid, "nft", "-a", "list", "chain", "ip", "netplumb", "prerouting").stdout
    line = next(line.strip() for line in listing.splitlines() if "dnat to" in line)
    body, _sep, handle = line.rpartition(" # handle ")
    body = re.sub(r"dnat to \S+", "dnat to " + to, body)
    edit = in_node(pid, "nft", "replace", "rule", "ip", "netplumb", "prerouting", "handle", handle, body)
    assert edit.returncode == 0, edit.stderr
    assert to in in_node(pid, "nft", "list", "chain", "ip", "netplumb", "prerouting").stdout


def test_site_over_ssh_on_a_fresh_host(sandbox, lab_dir):  # noqa: F811 pylint: disable=unused-argument
    with fresh_host() as view:
        site_flow(lab_dir)
        # The whole teardown.yml: the roles' undo, then the lab itself.
        down, _unused = play(TEARDOWN, lab_dir, extra=["-e", "lab_state_dir=%s" % lab_dir])
        assert down.rc == 0, failures(down) or down
        assert wait_gone(lab_processes(lab_dir)) and lab_processes(lab_dir) == []
        changes = view.changes()
    assert changes.get("files", {}) == {}, "written into the host's /etc, /opt, /var/lib or /var/cache"
    assert changes == {}, "the demo flow changed the host"


def site_flow(lab_dir):  # noqa: F811
    assert run_lab(lab_dir).rc == 0
    fresh = lab_state(lab_dir)
    for node in ("node1", "node2"):
        assert "python3-pyroute2" not in fresh[node]["packages"]

    # Told not to install them, each node's play stops with one message
    # listing everything missing, before any change.
    refused, _unused = play(SITE, lab_dir, extra=["-e", "bridge_network_install_prereqs=false",
                                                  "-e", "cni_install_prereqs=false"])
    assert refused.rc != 0, refused
    failed = failures(refused)
    assert sorted(failed) == ["node1", "node2"], failed
    for msg in failed.values():
        assert "bridge_network_install_prereqs is false, so nothing was changed" in msg, msg
        assert "pyroute2" not in msg, msg
        assert "nft or iptables-nft or iptables-legacy in PATH" in msg, msg
    # The cni role alone says the same of what it needs.
    refused, _unused = play(CNI_ONLY, lab_dir, extra=["-e", "cni_install_prereqs=false",
                                                      "-e", "cni_subnet=198.51.100.0/27"])
    failed = failures(refused)
    assert refused.rc != 0 and sorted(failed) == ["node1", "node2"], failed
    for msg in failed.values():
        assert "cni_install_prereqs is false, so nothing was changed" in msg, msg
        assert "iptables in PATH (run by portmap" in msg and "(package iptables)" in msg, msg
        assert "the plugins in /usr/lib/cni (cni_src) (package containernetworking-plugins)" in msg, msg
    assert lab_state(lab_dir) == fresh, "the refused run changed a node"

    # Check mode on fresh nodes: the package install predicted, nothing changed.
    check, predicted = play(SITE, lab_dir, check=True)
    assert check.rc == 0, check
    assert lab_state(lab_dir) == fresh, "check mode changed a node (or its packages)"
    install = "netplumb.linux.bridge_network : Prerequisites | what the node lacks, installed"
    assert predicted[("node1", install)] and predicted[("node2", install)], predicted

    real, applied = play(SITE, lab_dir)
    assert real.rc == 0, failures(real) or real
    assert {k: v for k, v in applied.items() if k in predicted} == predicted, \
        "check mode did not predict the real run task by task"
    installed = lab_state(lab_dir)
    for node in ("node1", "node2"):
        added = {p: v for p, v in installed[node]["packages"].items() if p not in fresh[node]["packages"]}
        assert sorted(p for p in added if p in PREREQ_PACKAGES) == PREREQ_PACKAGES, added
        assert not any("pyroute2" in p for p in installed[node]["packages"]), added

    verify, _unused = play(VERIFY, lab_dir)
    assert verify.rc == 0, failures(verify) or verify
    # Inside the cluster CIDRs a container on the other node sees c2's own address, per family.
    across = task_results(verify.stdout, "Container c2 connects to c1 on every other node, and c1 answers with the "
                                         "address it saw")
    assert {host: sorted(r["stdout"] for r in result["results"]) for host, result in across.items()} == {
        "node1": ["198.51.100.12", "2001:db8:1::12"], "node2": ["198.51.100.44", "2001:db8:2::12"]}, across

    # A pod sandbox through each node's own containerd over CRI, with a hostPort: its address in the node's
    # range, pinged from the node and from c1 on the other node, the wan answered through portmap from inside
    # it, then gone (cni_check checks its netns, veth, lease and port mapping); containerd stopped afterwards.
    cri_checks(verify, lab_dir)

    again, changed = play(SITE, lab_dir)
    assert again.rc == 0 and not any(changed.values()), [k for k, v in changed.items() if v]
    slots = {node: sorted(task for host, task in changed if host == node) for node in ("node1", "node2")}
    assert all(len(tasks) <= MAX_SLOTS for tasks in slots.values()), slots

    # Drift: c1's cable on node1 pulled out by hand, and node2's port forward
    # pointed at c2 by hand, keeping the collection's comment.
    node1, node2 = recorded(lab_dir)["node1"], recorded(lab_dir)["node2"]
    assert in_node(node1, "ip", "-n", "c1", "link", "del", "eth0").returncode == 0
    retarget_port_forward(node2, "198.51.100.44:8080")
    drifted = lab_state(lab_dir)
    check, predicted = play(SITE, lab_dir, check=True)
    assert check.rc == 0, check
    assert lab_state(lab_dir) == drifted
    repair = sorted(k for k, v in predicted.items() if v)
    assert repair == [("node1", NODE_NETWORK), ("node2", NODE_NETWORK)], repair
    planned = task_results(check.stdout, NODE_NETWORK)
    # c1 on node1 plugged in again; node2's port forward put back; nothing else.
    assert [(host, kind, counts["changed"]) for host, result in sorted(planned.items())
            for kind, counts in sorted(result["summary"].items()) if kind != "operations" and counts["changed"]] == [
        ("node1", "containers", 1), ("node2", "nat_rules", 1)], planned
    real, applied = play(SITE, lab_dir)
    assert real.rc == 0 and sorted(k for k, v in applied.items() if v) == repair
    done = task_results(real.stdout, NODE_NETWORK)
    assert {host: result["operations"] for host, result in done.items()} == \
        {host: result["operations"] for host, result in planned.items()}, \
        "check mode did not predict the repair operation by operation"
    verify, _unused = play(VERIFY, lab_dir)
    assert verify.rc == 0, verify
    cri_checks(verify, lab_dir)

    # The roles' undo (teardown.yml's first play, limited to the nodes so the
    # lab itself stays for the comparison) leaves each node as it was fresh,
    # but for the packages the roles installed.
    undo, _unused = play(TEARDOWN, lab_dir, extra=["--limit", "lab_nodes"])
    assert undo.rc == 0, undo
    undone = lab_state(lab_dir)
    for node in ("node1", "node2"):
        assert undone[node]["packages"] == installed[node]["packages"]
        undone[node]["packages"] = fresh[node]["packages"]
    assert undone == fresh, "the roles' undo left something behind or removed too much"

    # On nodes that have the prerequisites, check mode predicts every task.
    before = lab_state(lab_dir)
    check, predicted = play(SITE, lab_dir, check=True)
    assert check.rc == 0, check
    assert lab_state(lab_dir) == before
    real, applied = play(SITE, lab_dir)
    assert real.rc == 0, failures(real) or real
    assert predicted == applied, "check mode did not predict the real run task by task"


CRI_CHECK = "CRI | the pod's address was in the node's CNI range, and the pod is gone"
NODE_RANGES = {"node1": "198.51.100.0/27", "node2": "198.51.100.32/27"}
WAN_ADDRESS = "192.0.2.254"


def cri_checks(verify, lab_dir):
    """verify.yml's CRI play ran and passed on every node, and left no containerd and no pod cgroup."""
    checks = task_results(verify.stdout, CRI_CHECK)
    assert sorted(checks) == ["node1", "node2"], checks
    for node, result in checks.items():
        assert result["finished"] and result["trial_ran"] and result["runtime"] == "cri", result
        assert ipaddress.ip_address(result["pod_ip"]) in ipaddress.ip_network(NODE_RANGES[node]), result
        assert result["served"] == [WAN_ADDRESS], result
        assert result["runtime_version"].startswith("containerd "), result
    pings = task_results(verify.stdout, "CRI | container c1 pings the pod on every other node")
    assert {host: [r["rc"] for r in result["results"]] for host, result in pings.items()} == \
        {"node1": [0], "node2": [0]}, pings
    wan = task_results(verify.stdout, "CRI | the wan connects to the pod's hostPort, through portmap")
    assert sorted(r["stdout"] for r in wan.values()) == [WAN_ADDRESS, WAN_ADDRESS], wan
    for node, pid in recorded(lab_dir).items():
        assert in_node(pid, "pgrep", "-x", "containerd").stdout == "", node
    assert glob.glob("/sys/fs/cgroup/*/netplumb-cni-check*") + glob.glob("/sys/fs/cgroup/netplumb-cni-check*") == []
