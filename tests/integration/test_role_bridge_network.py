"""The bridge_network role on one node (the sandbox), proven with real traffic:
check mode on a fresh node changes nothing, converge builds scenarios 2-4,
a second run changes nothing, and state absent leaves the node as it was."""

import os
import subprocess

from nat_traffic import ask, whoami_server
from netplumb_testlib import run_playbook
from topologies import wan_uplink

ROLE_VARS = {
    "bridge_network_cidr": "198.51.100.0/24",
    "bridge_network_uplink": "uplink0",
    "bridge_network_containers": [{"name": "c1", "address": "198.51.100.11"},
                                  {"name": "c2", "address": "198.51.100.12"}],
    "bridge_network_port_forwards": [{"port": 80, "to": "198.51.100.11:8080"}],
    "bridge_network_peer_routes": [{"dst": "192.0.2.0/24", "gateway": "203.0.113.2"}],
}
SYSCTL_FILE = "/etc/sysctl.d/60-netplumb.conf"


def role(**extra):
    return [{"name": "bridge_network", "ansible.builtin.include_role": {"name": "netplumb.linux.bridge_network"},
             "vars": dict(ROLE_VARS, **extra)}]


def uplink(box):
    """The node's uplink to a 'wan' namespace, which has no route to the containers."""
    wan_uplink(box)


def node_state(box):
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    sysctl = open(SYSCTL_FILE).read() if os.path.exists(SYSCTL_FILE) else None
    return box.settled_snapshot(), ruleset, sysctl


def summary(run):
    """The summary node_network returned in ``run``."""
    return next(r["summary"] for r in run.results if "summary" in r)


def containers(run):
    """The containers' counts in the summary the role's last task (node_network) returned."""
    return summary(run)["containers"]


def test_check_converge_idempotent_traffic_and_absent(sandbox):
    uplink(sandbox)
    before = node_state(sandbox)

    check = run_playbook(role(), check=True, diff=True)
    assert check.rc == 0, check
    assert check.changed > 0
    assert node_state(sandbox) == before, "check mode changed the node"

    first = run_playbook(role())
    assert first.rc == 0, first
    assert sorted(sandbox.netns_list()) == ["c1", "c2", "wan"]
    assert sandbox.ping("198.51.100.12", netns="c1")
    assert sandbox.ping("198.51.100.11")
    with whoami_server("wan", 7000):
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"
    with whoami_server("c1", 8080):
        assert ask("wan", "203.0.113.1", 80) == "203.0.113.2"
    assert [r["gateway"] for r in sandbox.routes() if r["dst"] == "192.0.2.0/24"] == ["203.0.113.2"]
    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    assert containers(first) == dict(counts, total=2, changed=2, created=2)

    second = run_playbook(role())
    assert second.rc == 0 and second.changed == 0, second
    assert containers(second) == dict(counts, total=2, changed=0, unchanged=2)

    gone = run_playbook(role(bridge_network_state="absent"))
    assert gone.rc == 0, gone
    assert containers(gone) == dict(counts, total=2, changed=2, removed=2)
    snapshot, ruleset, sysctl = node_state(sandbox)
    assert snapshot == before[0]
    assert "netplumb" not in ruleset
    assert "ip_forward" not in (sysctl or "")
    again = run_playbook(role(bridge_network_state="absent"))
    assert again.rc == 0 and again.changed == 0, again


def test_bad_variables_stop_before_any_change(sandbox):
    uplink(sandbox)
    before = node_state(sandbox)
    for bad in ({"bridge_network_containers": [{"name": "c1"}]},
                {"bridge_network_state": "gone"},
                {"bridge_network_port_forwards": [{"port": "eighty", "to": "198.51.100.11"}]}):
        run = run_playbook(role(**bad))
        assert run.rc != 0, run
        assert "argument" in run.stdout.lower() or "validation" in run.stdout.lower(), run
        assert node_state(sandbox) == before


def test_a_cluster_cidr_leaves_traffic_between_pods_unmasqueraded(sandbox):
    """The wan plays another node whose pods are 198.51.100.128/25: with
    bridge_network_cluster_cidr they see c1's own address, anything else
    still sees the node; the earlier masquerade of everything goes."""
    uplink(sandbox)
    sandbox.ip("addr", "add", "198.51.100.129/25", "dev", "lo", netns="wan")
    sandbox.ip("route", "add", "198.51.100.0/25", "via", "203.0.113.1", netns="wan")
    before = node_state(sandbox)
    node = dict(bridge_network_cidr="198.51.100.0/25",
                bridge_network_peer_routes=[{"dst": "198.51.100.128/25", "gateway": "203.0.113.2"}])

    assert run_playbook(role(**node)).rc == 0
    with whoami_server("wan", 7000):
        assert ask("c1", "198.51.100.129", 7000) == "203.0.113.1"  # masqueraded: no cluster CIDR yet

    cluster = run_playbook(role(bridge_network_cluster_cidr="198.51.100.0/24", **node), diff=True)
    assert cluster.rc == 0 and cluster.changed == 1, cluster  # one task: the node's network
    # The new masquerade, the old one gone; nothing else.
    assert summary(cluster)["nat_rules"]["changed"] == 2 and summary(cluster)["operations"] == 2, summary(cluster)
    ruleset = node_state(sandbox)[1]
    assert ruleset.count(" masquerade ") == 1 and "ip daddr != 198.51.100.0/24" in ruleset, ruleset
    with whoami_server("wan", 7000):
        assert ask("c1", "198.51.100.129", 7000) == "198.51.100.11"  # a pod elsewhere sees the pod
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"  # the rest of the world sees the node
    again = run_playbook(role(bridge_network_cluster_cidr="198.51.100.0/24", **node))
    assert again.rc == 0 and again.changed == 0, again

    outside = run_playbook(role(bridge_network_cluster_cidr="203.0.113.0/24", **node))
    assert outside.rc != 0 and "bridge_network_cluster_cidr: '203.0.113.0/24' must contain bridge_network_cidr" \
        in outside.stdout, outside

    gone = run_playbook(role(bridge_network_state="absent", bridge_network_cluster_cidr="198.51.100.0/24", **node))
    assert gone.rc == 0, gone
    snapshot, ruleset, _sysctl = node_state(sandbox)
    assert snapshot == before[0] and "netplumb" not in ruleset


# -- the uplink: found from the default route, or named and then required ---------------------


def exactly(role_vars):
    """The role with ``role_vars`` only (role() adds ROLE_VARS' uplink0)."""
    return [{"name": "bridge_network", "ansible.builtin.include_role": {"name": "netplumb.linux.bridge_network"},
             "vars": role_vars}]


def found(box, role_vars, check=False):
    """A role run with exactly ``role_vars``; the facts its uplink task returned."""
    run = run_playbook(exactly(role_vars), check=check)
    facts = [r["ansible_facts"]["netplumb_uplink"] for r in run.results
             if "netplumb_uplink" in r.get("ansible_facts", {})]
    return run, facts[0] if facts else None


def discovering(**extra):
    """The role's variables without bridge_network_uplink, ``extra`` on top."""
    return dict({k: v for k, v in ROLE_VARS.items() if k != "bridge_network_uplink"}, **extra)


def test_the_uplink_is_the_default_route_device_and_a_teardown_needs_no_route(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "default", "via", "203.0.113.2")
    before = node_state(sandbox)

    check, facts = found(sandbox, discovering(), check=True)
    assert check.rc == 0 and check.changed > 0, check
    assert (facts["name"], facts["found_by"]) == ("uplink0", "default route"), facts
    assert node_state(sandbox) == before, "check mode changed the node"

    first, facts = found(sandbox, discovering())
    assert first.rc == 0, first
    assert (facts["name"], facts["found_by"]) == ("uplink0", "default route"), facts
    ruleset = node_state(sandbox)[1]
    assert 'oifname "uplink0" ip saddr 198.51.100.0/24 masquerade' in ruleset, ruleset
    assert 'iifname "uplink0" tcp dport 80 dnat to 198.51.100.11:8080' in ruleset, ruleset
    with whoami_server("wan", 7000):
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"  # masqueraded as the node's uplink

    # The default route goes (or moves): the teardown finds the rules by the
    # interface they carry, and leaves nothing behind.
    sandbox.ip("route", "del", "default")
    gone, facts = found(sandbox, discovering(bridge_network_state="absent"))
    assert gone.rc == 0, gone
    assert (facts["names"], facts["found_by"]) == (["uplink0"], "nat rules"), facts
    sandbox.ip("route", "add", "default", "via", "203.0.113.2")
    snapshot, ruleset, sysctl = node_state(sandbox)
    assert snapshot == before[0]
    assert "netplumb" not in ruleset, ruleset
    assert "ip_forward" not in (sysctl or "")


def _ipv6_uplink(box, dev, address):
    box.ip("addr", "add", address, "dev", dev, "nodad")


def test_dual_stack_finds_one_uplink_for_both_families_or_says_which_differ(sandbox):
    uplink(sandbox)
    _ipv6_uplink(sandbox, "uplink0", "2001:db8:203::1/64")
    sandbox.ip("route", "add", "default", "via", "203.0.113.2")
    sandbox.ip("-6", "route", "add", "default", "via", "2001:db8:203::2", "dev", "uplink0")
    dual = discovering(bridge_network_cidr6="2001:db8:100::/64",
                       bridge_network_containers=[{"name": "c1", "address": "198.51.100.11",
                                                   "address6": "2001:db8:100::11"}])

    first, facts = found(sandbox, dual)
    assert first.rc == 0, first
    assert facts["name"] == "uplink0" and [r["dev"] for r in facts["default_routes"]["ipv6"]] == ["uplink0"], facts
    ruleset = node_state(sandbox)[1]
    assert 'oifname "uplink0" ip6 saddr 2001:db8:100::/64 masquerade' in ruleset, ruleset
    assert "net.ipv6.conf.uplink0.accept_ra=2" in open(SYSCTL_FILE).read()

    # IPv6 now leaves through another device: the role stops before any change and says which.
    sandbox.ip("link", "add", "uplink1", "type", "veth", "peer", "name", "eth1", "netns", "wan")
    sandbox.ip("link", "set", "uplink1", "up")
    _ipv6_uplink(sandbox, "uplink1", "2001:db8:204::1/64")
    sandbox.ip("-6", "route", "replace", "default", "via", "2001:db8:204::2", "dev", "uplink1")
    before = node_state(sandbox)
    split, _facts = found(sandbox, dual)
    assert split.rc != 0 and len(split.failed) == 1, split
    assert split.failed[0]["msg"] == (
        "bridge_network_uplink: '' is not set, and the node's default routes leave through different devices, "
        "IPv4 through uplink0 and IPv6 through uplink1: set it to the interface that masquerade and port forwards "
        "should use"), split.failed[0]
    assert node_state(sandbox) == before

    # Named, it wins: the same uplink as before, so nothing changes.
    named = run_playbook(exactly(dict(dual, bridge_network_uplink="uplink0")))
    assert named.rc == 0 and named.changed == 0, named


def test_a_missing_uplink_or_no_default_route_stops_before_any_change(sandbox):
    uplink(sandbox)  # uplink0, but no default route
    before = node_state(sandbox), sorted(os.listdir("/etc/sysctl.d"))

    missing = run_playbook(role(bridge_network_uplink="nosuch0"))
    assert missing.rc != 0 and len(missing.failed) == 1, missing
    assert missing.failed[0]["msg"] == ("bridge_network_uplink: 'nosuch0' is not an interface of this node, "
                                        "which has the interfaces lo, uplink0"), missing.failed[0]
    assert (node_state(sandbox), sorted(os.listdir("/etc/sysctl.d"))) == before

    nothing = run_playbook(exactly(discovering()))
    assert nothing.rc != 0 and len(nothing.failed) == 1, nothing
    assert nothing.failed[0]["msg"] == (
        "bridge_network_uplink: '' is not set, and this node has no IPv4 default route to find the uplink "
        "from: set it to the interface that leaves the node"), nothing.failed[0]
    assert (node_state(sandbox), sorted(os.listdir("/etc/sysctl.d"))) == before
    assert "Traceback" not in missing.stdout + nothing.stdout
