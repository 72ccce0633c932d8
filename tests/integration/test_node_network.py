"""netplumb.linux.node_network on the real kernel: the module contract
(check mode exact, changed then not, --diff, bad input), the whole node
rolled back when its last step fails or the kernel refuses one, a racing
change between apply and read-back rolled back, drift repaired, real
traffic, and no pyroute2 on any path."""

import json
import os
import subprocess
import sys

import pytest

from nat_traffic import ask, whoami_server
from netplumb_testlib import assert_clean_failure, descriptions, firewall, our_rules
from topologies import NODE, SYSCTL_FILE, wan_uplink


def uplink(box):
    wan_uplink(box, ipv6=True)


def node_state(box):
    """Links, addresses and routes everywhere, the firewall, the sysctl file and forwarding now."""
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    sysctl = open(SYSCTL_FILE).read() if os.path.exists(SYSCTL_FILE) else None
    forwarding = open("/proc/sys/net/ipv4/ip_forward").read()
    return box.settled_snapshot(), ruleset, sysctl, forwarding


def _engine(script, params):
    """``script`` in a Python of its own, with the collection importable, ``params`` as argv[1]."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", script, json.dumps(params)], capture_output=True, text=True,
                          timeout=120, check=False, env=env)


def task(params=None, environment=None, **extra):
    step = {"name": "node", "netplumb.linux.node_network": dict(params or NODE, **extra)}
    if environment:
        step["environment"] = environment
    return [step]


def test_check_mode_exact_changed_then_not_diff_traffic_and_absent(sandbox):
    uplink(sandbox)
    before = node_state(sandbox)

    check = sandbox.playbook(task(), check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check
    assert node_state(sandbox) == before, "check mode changed the node"
    planned = check.results[0]
    assert planned["summary"] == {"bridge": {"total": 1, "changed": 1},
                                  "containers": {"total": 2, "changed": 2, "created": 2, "updated": 0, "removed": 0,
                                                 "unchanged": 0},
                                  "nat_rules": {"total": 8, "changed": 8}, "routes": {"total": 1, "changed": 1},
                                  "sysctl": {"total": 1, "changed": 1},
                                  "network_managers": {"total": 0, "changed": 0},  # none on this node
                                  "operations": len(planned["operations"])}, planned["summary"]
    assert planned["diff"]["before"]["bridge"]["v-net-0"] == {"state": "absent"}
    assert planned["diff"]["after"]["bridge"]["v-net-0"]["addresses"] == ["198.51.100.1/24", "2001:db8:100::1/64"]
    assert planned["ansible_facts"]["netplumb_container_network"] == {
        "bridge": "v-net-0", "cidr": "198.51.100.0/24", "cidr6": "2001:db8:100::/64"}

    real = sandbox.playbook(task(), diff=True)
    assert real.rc == 0 and real.changed == 1, real
    assert descriptions(real.results[0]) == descriptions(planned), "check mode did not predict the real run"
    assert real.results[0]["diff"] == planned["diff"]
    assert sandbox.ping("198.51.100.12", netns="c1") and sandbox.ping("198.51.100.11")
    assert sandbox.ping("2001:db8:100::1", netns="c1")
    with whoami_server("wan", 7000):
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"  # masqueraded out of the uplink
    with whoami_server("c1", 8080):
        assert ask("wan", "203.0.113.1", 80) == "203.0.113.2"  # the port forward
    assert open(SYSCTL_FILE).read() == (
        "# node_network v-net-0 needs net.ipv4.ip_forward net.ipv6.conf.uplink0.accept_ra net.ipv6.conf.all.forwarding\n"
        "net.ipv4.ip_forward=1\nnet.ipv6.conf.uplink0.accept_ra=2\nnet.ipv6.conf.all.forwarding=1\n")
    assert [r["gateway"] for r in sandbox.routes() if r["dst"] == "198.51.101.0/24"] == ["203.0.113.2"]

    again = sandbox.playbook(task(), diff=True)
    assert again.rc == 0 and again.changed == 0, again
    assert again.results[0]["operations"] == [] and again.results[0]["summary"]["operations"] == 0
    assert again.results[0]["diff"]["before"] == again.results[0]["diff"]["after"]
    # Unchanged containers still show in the node's diff, read back as check mode predicted them.
    assert again.results[0]["diff"]["after"]["containers"] == planned["diff"]["after"]["containers"]
    built = node_state(sandbox)
    assert sandbox.playbook(task(), check=True).changed == 0 and node_state(sandbox) == built

    gone = sandbox.playbook(task(state="absent"))
    assert gone.rc == 0 and gone.changed == 1, gone
    # Forwarding stays on until the next boot (documented); switched back by hand,
    # the kernel drops the subnet-router anycast routes IPv6 forwarding added.
    assert open("/proc/sys/net/ipv6/conf/all/forwarding").read() == "1\n"
    for name, value in (("net/ipv6/conf/all/forwarding", "0"), ("net/ipv6/conf/uplink0/accept_ra", "1")):
        with open("/proc/sys/" + name, "w") as handle:
            handle.write(value)
    snapshot, ruleset, sysctl, _forwarding = node_state(sandbox)
    assert snapshot == before[0] and "netplumb" not in ruleset and sysctl is None
    assert sandbox.playbook(task(state="absent")).changed == 0


@pytest.mark.parametrize("bad, field", [
    ({"cidr": "198.51.100.0/33"}, "cidr"),
    ({"gateway": "203.0.113.1"}, "gateway"),
    ({"containers": NODE["containers"] + [{"name": "c3", "address": "198.51.100.300"}]}, "containers[2].address"),
    ({"containers": [{"name": "c1", "address": "203.0.113.5"}]}, "containers[0].address"),
    ({"port_forwards": [{"port": 70000, "to": "198.51.100.11"}]}, "port_forwards[0].port"),
    ({"port_forwards": [{"port": 80, "to": "198.51.100.11", "protocol": "icmp"}]}, "port_forwards[0].protocol"),
    ({"routes": [{"dst": "198.51.101.0/24"}]}, "routes[0]"),
    ({"routes": [{"dst": "198.51.101.0/24", "gateway": "2001:db8::1"}]}, "routes[0].gateway"),
    ({"cluster_cidr": "203.0.113.0/24"}, "cluster_cidr"),
    ({"uplink": "nosuch0"}, "uplink"),
    ({"containers": [{"name": "c%d" % i, "address": "198.51.100.11"} for i in range(1025)]}, "containers"),
    # The uplink's network (203.0.113.1/24, 2001:db8:203::1/64): the bridge's subnets are its own.
    ({"cidr": "203.0.113.0/24", "cluster_cidr": "", "containers": [], "port_forwards": []}, "cidr"),
    ({"cidr6": "2001:db8:203::/64", "containers": [], "port_forwards": []}, "cidr6"),
])
def test_bad_input_fails_naming_the_field_before_any_change(sandbox, bad, field):
    uplink(sandbox)
    before = node_state(sandbox)
    run = sandbox.playbook(task(dict(NODE, **bad)))
    assert_clean_failure(run, field, before[0], sandbox.settled_snapshot())
    assert node_state(sandbox) == before


def _converged_partly(box):
    """A node where part of the network exists already (c1 and the bridge), so
    a rollback must restore that part, not delete it."""
    first = box.playbook(task(dict(NODE, containers=NODE["containers"][:1], port_forwards=[], routes=[])))
    assert first.rc == 0, first
    return node_state(box)


def test_a_failing_last_step_rolls_the_whole_node_back(sandbox):
    uplink(sandbox)
    before = _converged_partly(sandbox)
    check = sandbox.playbook(task(), check=True)
    steps = len(check.results[0]["operations"])
    assert steps >= 4, check.results[0]["operations"]

    run = sandbox.playbook(task(environment={"NETPLUMB_TEST_FAIL_AT": str(steps)}))
    assert run.rc != 0, run
    result = run.failed[0]
    assert result["failed_operation"]["description"] == check.results[0]["operations"][-1]["description"]
    assert "fails on purpose" in result["msg"] and not result["rollback_errors"], result
    assert result["rolled_back"] and not result["not_undone"], result
    assert node_state(sandbox) == before, "the node was not rolled back whole"
    assert "Traceback" not in run.stdout + run.stderr

    # Nothing is left half done: the next run makes exactly the plan.
    real = sandbox.playbook(task())
    assert real.rc == 0 and descriptions(real.results[0]) == descriptions(check.results[0]), real


def test_a_step_the_kernel_refuses_rolls_the_whole_node_back(sandbox):
    uplink(sandbox)
    before = _converged_partly(sandbox)
    # The uplink network's broadcast address is no gateway: the kernel refuses the route.
    refused = dict(NODE, routes=[{"dst": "198.51.101.0/24", "gateway": "203.0.113.255"}])
    run = sandbox.playbook(task(refused))
    assert run.rc != 0, run
    result = run.failed[0]
    assert result["failed_operation"]["op"] == "route_add", result
    assert "invalid argument" in result["msg"].lower() and result["rolled_back"], result
    assert node_state(sandbox) == before


def test_a_gateway_on_no_connected_network_is_named_before_any_change(sandbox):
    """No interface of the node reaches 192.0.2.99: check mode warns, the real
    run fails naming the route's gateway, before anything changes."""
    uplink(sandbox)
    before = _converged_partly(sandbox)
    unreachable = dict(NODE, routes=[{"dst": "198.51.101.0/24", "gateway": "192.0.2.99"}])
    check = sandbox.playbook(task(unreachable), check=True)
    assert check.rc == 0 and any("192.0.2.99" in w for w in check.results[0].get("warnings", [])), check
    run = sandbox.playbook(task(unreachable))
    assert run.rc != 0, run
    result = run.failed[0]
    assert result["field"] == "routes[0].gateway" and "no network connected" in result["msg"], result
    assert node_state(sandbox) == before


def test_a_change_between_apply_and_read_back_rolls_back_and_names_it(sandbox):
    """Another agent deletes c2's host end after node_network applied its
    plan, before it reads the node back: the read-back names the difference
    and the run is undone (the engine, without Ansible)."""
    uplink(sandbox)
    before = _converged_partly(sandbox)
    script = """
import json, subprocess, sys
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
applied = engine.apply
def racing(ctx, ops):
    done = applied(ctx, ops)
    subprocess.run(["ip", "link", "del", "veth-c2"], check=True)
    return done
engine.apply = racing
try:
    engine.run(node_network, json.loads(sys.argv[1]))
except ApplyError as exc:
    print(json.dumps({"msg": str(exc), "rolled_back": exc.rolled_back, "errors": exc.rollback_errors,
                      "mismatches": exc.mismatches}))
"""
    proc = _engine(script, NODE)
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    failure = json.loads(proc.stdout)
    assert "did not read back as wanted after the apply" in failure["msg"] and "c2" in failure["msg"], failure
    assert any(m.startswith("containers.c2.") for m in failure["mismatches"]), failure["mismatches"]
    assert failure["rolled_back"] and not failure["errors"], failure
    assert node_state(sandbox) == before


def test_drift_is_named_by_check_mode_and_repaired(sandbox):
    uplink(sandbox)
    assert sandbox.playbook(task()).rc == 0
    built = node_state(sandbox)
    sandbox.ip("link", "del", "eth0", netns="c1")                      # c1's cable pulled out
    sandbox.ip("addr", "del", "198.51.100.1/24", "dev", "v-net-0")     # the gateway address gone
    sandbox.ip("route", "del", "198.51.101.0/24")                      # a peer route gone
    with open(SYSCTL_FILE, "w") as handle:                             # the boot setting edited away
        handle.write("# mine\n")

    check = sandbox.playbook(task(), check=True)
    assert check.rc == 0 and check.changed == 1, check
    summary = check.results[0]["summary"]
    assert [(kind, counts["changed"]) for kind, counts in sorted(summary.items())
            if kind != "operations" and counts["changed"]] == [
        ("bridge", 1), ("containers", 1), ("routes", 1), ("sysctl", 1)], summary
    real = sandbox.playbook(task())
    assert real.rc == 0 and descriptions(real.results[0]) == descriptions(check.results[0]), real
    assert sandbox.ping("198.51.100.12", netns="c1")
    _snapshot, ruleset, sysctl, forwarding = node_state(sandbox)
    assert (ruleset, forwarding) == (built[1], built[3]) and sysctl == "# mine\n" + built[2]
    assert sandbox.playbook(task()).changed == 0


_LISTINGS = """
import collections, json, sys
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nft
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
listed, real = collections.Counter(), nft._texts
def counted(netns, family):
    listed[family] += 1
    return real(netns, family)
nft._texts = counted
outcome = engine.run(node_network, json.loads(sys.argv[1]), check_mode=True)
print(json.dumps({"listed": listed, "before": outcome.before["nat_rules"], "changed": outcome.changed}))
"""


def test_a_diff_lists_each_rules_family_once_however_many_rules_change(sandbox):
    """Two port forwards moved to another container and one left unlisted:
    the diff's "before" shows the rules as nft prints them, from one listing
    of the family, not one per rule."""
    uplink(sandbox)
    forwards = [{"port": 80, "to": "198.51.100.11:8080"}, {"port": 443, "to": "198.51.100.11:8443"},
                {"port": 8000, "to": "198.51.100.11:8000"}]
    assert sandbox.playbook(task(dict(NODE, port_forwards=forwards))).rc == 0
    moved = [dict(forward, to=forward["to"].replace(".11:", ".12:")) for forward in forwards[:2]]
    proc = _engine(_LISTINGS, dict(NODE, port_forwards=moved, exclusive=["port_forwards"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    assert found["changed"] and found["listed"] == {"4": 1, "6": 1}, found
    printed = "".join(subprocess.run(["nft", "list", "table", family, "netplumb"], capture_output=True, text=True,
                                     check=True).stdout for family in ("ip", "ip6"))
    shown = [rule for part in found["before"].values() for rule in part.get("rules", []) if "dnat" in rule]
    assert len(shown) >= 3 and all(rule.split(": ", 1)[-1].strip() in printed for rule in shown), (shown, printed)


def test_exclusive_containers_and_port_forwards_remove_what_is_not_listed(sandbox):
    uplink(sandbox)
    assert sandbox.playbook(task()).rc == 0
    fewer = dict(NODE, containers=NODE["containers"][:1], port_forwards=[], exclusive=["containers", "port_forwards"])
    run = sandbox.playbook(task(fewer))
    assert run.rc == 0 and run.changed == 1, run
    assert sorted(sandbox.netns_list()) == ["c1", "wan"]
    ruleset = node_state(sandbox)[1]
    assert "dnat" not in ruleset and "masquerade" in ruleset, ruleset
    assert sandbox.playbook(task(fewer)).changed == 0


def _our_masquerades(backend):
    """The IPv4 masquerade rules of ours, as nft or iptables-save print them."""
    return [line for line in our_rules(backend, (4,)) if "masquerade" in line.lower()]


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_a_changed_cluster_cidr_replaces_the_masquerade(sandbox, backend):
    """The masquerade made with the old cluster CIDR stayed beside the new
    one and went on masquerading traffic between pods toward the part of the
    new CIDR outside the old one; state: absent left it behind too."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    # Another node's pods behind the wan: 198.51.102.1, which routes back to this node's pods.
    sandbox.ip("addr", "add", "198.51.102.1/32", "dev", "lo", netns="wan")
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "203.0.113.1", netns="wan")
    old = dict(NODE, nat_backend=backend, port_forwards=[], routes=[{"dst": "198.51.102.0/24", "gateway": "203.0.113.2"}])
    new = dict(old, cluster_cidr="198.51.100.0/22")
    assert engine.run(node_network, old).changed
    with whoami_server("wan", 7000):
        assert ask("c1", "198.51.102.1", 7000) == "203.0.113.1"  # outside the /23: masqueraded
    before = sandbox.settled_snapshot(), firewall()
    predicted = engine.run(node_network, new, check_mode=True)
    assert (sandbox.snapshot(), firewall()) == before, "check mode changed the node"
    applied = engine.run(node_network, new)
    assert applied.operations == predicted.operations
    assert [(op["args"]["verb"], op["target"].split()[0]) for op in applied.operations] == [
        ("add", "masquerade"), ("delete", "masquerade")], applied.operations
    masquerades = _our_masquerades(backend)
    assert len(masquerades) == 1 and "198.51.100.0/22" in masquerades[0], masquerades
    with whoami_server("wan", 7000):
        assert ask("c1", "198.51.102.1", 7000) == "198.51.100.11"  # inside the /22: the pod's own address
    assert not engine.run(node_network, new).changed
    without = dict(new, cluster_cidr="")
    engine.run(node_network, without)
    masquerades = _our_masquerades(backend)
    assert len(masquerades) == 1 and "198.51.100.0/22" not in masquerades[0], masquerades
    engine.run(node_network, dict(new, state="absent"))  # the desired state names another cluster CIDR
    assert _our_masquerades(backend) == []


def _made(backend, version):
    """The rules node_network made (their comment names it) of IP ``version``, as the backend prints them."""
    return [line for line in our_rules(backend, (version,)) if "node_network" in line]


def _deleted(outcome):
    """The kinds of the rules a run deleted, from its operations' descriptions ("delete rule dnat <id> in ...")."""
    return sorted(op["description"].split()[2] for op in outcome.operations
                  if op["description"].startswith("delete rule"))


def _converged(sandbox, node_network, params):
    """A real run that check mode predicted exactly without changing the node; then nothing left to do."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    before = sandbox.settled_snapshot(), firewall()
    predicted = engine.run(node_network, params, check_mode=True)
    assert (sandbox.snapshot(), firewall()) == before, "check mode changed the node"
    applied = engine.run(node_network, params)
    assert applied.operations == predicted.operations
    assert not engine.run(node_network, params).changed
    return applied


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_rules_made_for_the_bridge_follow_a_node_no_longer_dual_stack(sandbox, backend):
    """Without cidr6, the IPv6 masquerade, forward-accept rules and port
    forward twin made while the node was dual-stack stayed: the twin went on
    forwarding to an address nobody holds any more."""
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    dual = dict(NODE, nat_backend=backend, routes=[])
    _converged(sandbox, node_network, dual)
    assert len(_made(backend, 6)) == 4, _made(backend, 6)  # masquerade, 2 forward-accept, the twin
    ipv4 = sorted(_made(backend, 4))
    single = dict(dual, cidr6="", containers=[{key: value for key, value in c.items() if key != "address6"}
                                              for c in NODE["containers"]])
    applied = _converged(sandbox, node_network, single)
    assert _deleted(applied) == ["dnat", "forward", "forward", "masquerade"], applied.operations
    assert _made(backend, 6) == []
    assert sorted(_made(backend, 4)) == ipv4
    # So do the lines that set IPv6 forwarding at boot.
    assert _keys() == ["net.ipv4.ip_forward"]
    with whoami_server("c1", 8080):
        assert ask("wan", "203.0.113.1", 80) == "203.0.113.2"
    _converged(sandbox, node_network, dict(single, state="absent"))
    assert _made(backend, 4) == _made(backend, 6) == []


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_rules_made_for_the_bridge_follow_a_changed_uplink(sandbox, backend):
    """The port forward and masquerade made out of the old uplink stayed
    beside the new ones (the port forward unless port_forwards was exclusive)."""
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    sandbox.ip("link", "add", "uplink9", "type", "veth", "peer", "name", "eth1", "netns", "wan")  # no addresses
    old = dict(NODE, nat_backend=backend, uplink="uplink9", cidr6="", routes=[],
               containers=[{"name": "c1", "address": "198.51.100.11"}])
    _converged(sandbox, node_network, old)
    assert all("uplink9" in line for line in _made(backend, 4) if "forward" not in line), _made(backend, 4)
    applied = _converged(sandbox, node_network, dict(old, uplink="uplink0"))
    assert _deleted(applied) == ["dnat", "masquerade"], applied.operations
    assert not any("uplink9" in line for line in _made(backend, 4)), _made(backend, 4)
    with whoami_server("c1", 8080):
        assert ask("wan", "203.0.113.1", 80) == "203.0.113.2"
    with whoami_server("wan", 7000):
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"


def _keys():
    """The keys the sysctl file sets at boot."""
    with open(SYSCTL_FILE) as handle:
        return [line.split("=")[0] for line in handle.read().splitlines() if not line.startswith("#")]


def test_another_bridge_s_rules_are_left_alone(sandbox):
    """The rules carry their bridge's name: a node_network call for one bridge
    never takes the rules of another call's bridge for stale ones. Nor the
    lines of the sysctl file both calls share: the second bridge's teardown
    took IPv4 forwarding away at boot from the first."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    first = dict(NODE, routes=[], port_forwards=[])
    engine.run(node_network, first)
    theirs = our_rules("nftables")
    second = {"bridge": "v-net-1", "cidr": "198.51.101.0/24", "uplink": "uplink0", "forward_rules": True,
              "containers": [{"name": "d1", "address": "198.51.101.11"}],
              "port_forwards": [{"port": 81, "to": "198.51.101.11:8080"}]}
    _converged(sandbox, node_network, second)
    assert set(theirs) <= set(our_rules("nftables"))
    assert not engine.run(node_network, first).changed
    _converged(sandbox, node_network, dict(second, state="absent"))
    assert set(our_rules("nftables")) == set(theirs)
    assert _keys() == ["net.ipv4.ip_forward", "net.ipv6.conf.uplink0.accept_ra", "net.ipv6.conf.all.forwarding"]
    assert not engine.run(node_network, first).changed
    _converged(sandbox, node_network, dict(first, state="absent"))
    assert not os.path.exists(SYSCTL_FILE)


def _refused(sandbox, second, field, text, state=None):
    """``second`` (another bridge's call) fails naming ``field``, its message
    holding ``text``, in check mode and for real, and changes nothing."""
    state = state or (lambda: node_state(sandbox))
    before, snapshot = state(), sandbox.settled_snapshot()
    for check in (True, False):
        run = sandbox.playbook(task(second), check=check)
        assert_clean_failure(run, field, snapshot, sandbox.settled_snapshot())
        assert text in run.failed[0]["msg"], run.failed[0]
        assert state() == before


def test_a_container_of_another_bridge_s_call_is_not_taken_over(sandbox):
    """Listed by a call for another bridge, a container was moved to it (its
    addresses replaced), and back by the first call's next run: the two
    calls took it from each other on every run. Now the second call fails
    naming it, in check mode too, and changes nothing. A container whose
    bridge is gone (a call that renamed its bridge) is still taken over."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    engine.run(node_network, dict(NODE, routes=[], port_forwards=[]))
    second = {"bridge": "v-net-1", "cidr": "198.51.101.0/24", "uplink": "uplink0",
              "containers": [{"name": "c1", "address": "198.51.101.11"}]}
    _refused(sandbox, second, "containers[0].name", "is a container of bridge v-net-0")
    sandbox.ip("link", "del", "v-net-0")
    _converged(sandbox, node_network, second)
    assert sandbox.link("veth-c1")["master"] == "v-net-1"
    assert sandbox.ping("198.51.101.1", netns="c1")


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_a_port_another_bridge_s_call_forwards_is_named_before_any_change(sandbox, backend):
    """Two calls forwarding one port of the uplink: the second rule never saw
    a packet (the kernel takes the first that matches), and nothing said so."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    first = dict(NODE, routes=[], cidr6="", containers=[{"name": "c1", "address": "198.51.100.11"}],
                 nat_backend=backend)
    engine.run(node_network, first)
    second = {"bridge": "v-net-1", "cidr": "198.51.101.0/24", "uplink": "uplink0", "nat_backend": backend,
              "containers": [{"name": "d1", "address": "198.51.101.11"}],
              "port_forwards": [{"port": 81, "to": "198.51.101.11:8080"},
                                dict(first["port_forwards"][0], to="198.51.101.11:8080")]}

    def state():  # node_state without nft's own listing: iptables-nft's counters move with any packet
        snapshot, _ruleset, sysctl, forwarding = node_state(sandbox)
        return (snapshot, sysctl, forwarding), firewall()
    _refused(sandbox, second, "port_forwards[1]", "forwarded by bridge v-net-0's call", state)
    # Another protocol of the same port is free.
    _converged(sandbox, node_network, dict(second, port_forwards=[dict(second["port_forwards"][1], protocol="udp")]))
    engine.run(node_network, dict(first, port_forwards=[], exclusive=["port_forwards"]))
    _converged(sandbox, node_network, second)
    with whoami_server("d1", 8080):
        assert ask("wan", "203.0.113.1", first["port_forwards"][0]["port"]) == "203.0.113.2"


def test_a_subnet_another_bridge_s_call_has_is_named_before_any_change(sandbox):
    """Two bridges given one cidr: the second call made its bridge with the
    same network, which took the first's containers' traffic, and deleted the
    first's forward-accept rules (the same rules by content)."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    engine.run(node_network, dict(NODE, routes=[], port_forwards=[]))
    second = {"bridge": "v-net-1", "cidr": "198.51.100.0/25", "uplink": "uplink0",
              "containers": [{"name": "d1", "address": "198.51.100.21"}]}
    _refused(sandbox, second, "cidr", "holds 198.51.100.1/24, an address of v-net-0")
    # A subnet carved from a network the node has (the more specific route wins) is its own.
    sandbox.ip("addr", "add", "198.18.0.5/15", "dev", "uplink0")
    _converged(sandbox, node_network, dict(second, cidr="198.18.4.0/24", containers=[
        {"name": "d1", "address": "198.18.4.11"}]))
    assert sandbox.ping("198.18.4.1", netns="d1") and sandbox.ping("198.18.4.11")


def test_the_bridge_keeps_its_address_when_the_container_that_had_the_lowest_goes(sandbox):
    """Left to the kernel, a bridge takes the lowest MAC address of its
    ports: when that container went, the others' neighbour entries of the
    gateway pointed to an address nothing answered to any more, and their
    traffic beyond the bridge stopped until the kernel probed them again."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    params = dict(NODE, port_forwards=[])
    engine.run(node_network, params)
    made = sandbox.link("v-net-0")["address"]
    # The lowest addresses there are (universally administered): below any the kernel makes at random.
    sandbox.ip("link", "set", "veth-c1", "address", "00:00:00:00:00:05")
    sandbox.ip("link", "set", "veth-c2", "address", "00:00:00:00:00:09")
    assert sandbox.link("v-net-0")["address"] == made
    assert sandbox.ping("198.51.100.1", netns="c2")  # c2 now holds the gateway's address in its neighbour table
    engine.run(node_network, dict(params, containers=NODE["containers"][1:], exclusive=["containers"]))
    assert sandbox.netns_list() == ["c2", "wan"]
    assert sandbox.link("v-net-0")["address"] == made
    assert sandbox.ping("198.51.100.1", netns="c2")


def test_a_port_forwards_ipv6_twin_goes_with_the_containers_ipv6_address(sandbox):
    """The twin (derived from the target container's address6) stayed, toward
    an address nobody had any more, when the container lost its address6."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network

    def twins():
        return [line for line in our_rules("nftables", (6,)) if "dnat" in line]

    uplink(sandbox)
    params = dict(NODE, nat_backend="nftables")
    engine.run(node_network, params)
    assert [line.split(" comment")[0] for line in twins()] == [
        'iifname "uplink0" tcp dport 80 dnat to [2001:db8:100::11]:8080']
    v4_only = dict(params, containers=[{"name": "c1", "address": "198.51.100.11"}] + NODE["containers"][1:])
    before = sandbox.settled_snapshot(), twins()
    predicted = engine.run(node_network, v4_only, check_mode=True)
    assert (sandbox.snapshot(), twins()) == before
    applied = engine.run(node_network, v4_only)
    assert applied.operations == predicted.operations
    assert twins() == []
    assert not engine.run(node_network, v4_only).changed


def test_the_bridge_mtu_holds_when_the_containers_that_set_it_go(sandbox):
    """A bridge made without an MTU takes its ports' lowest; asked for that
    same MTU later, the node planned nothing for it, and removing the
    containers then moved it (1500 without ports): the read-back found the
    bridge's MTU wrong and the run failed, with the containers gone."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
    uplink(sandbox)
    first = dict(NODE, port_forwards=[], containers=[{"name": "c1", "address": "198.51.100.11", "mtu": 1400}])
    engine.run(node_network, first)
    assert sandbox.link("v-net-0")["mtu"] == 1400  # the kernel's: its one port's
    second = dict(first, mtu=1400, containers=[], exclusive=["containers"])
    predicted = engine.run(node_network, second, check_mode=True)
    applied = engine.run(node_network, second)
    assert applied.operations == predicted.operations
    assert [op["op"] for op in applied.operations if op["target"] == "v-net-0"] == ["bridge_mtu_keep"]
    assert sandbox.netns_list() == ["wan"] and sandbox.link("v-net-0")["mtu"] == 1400
    assert not engine.run(node_network, second).changed
    # Kept: a port of a lower MTU does not move it either.
    engine.run(node_network, dict(second, containers=[{"name": "c2", "address": "198.51.100.12", "mtu": 1300}]))
    assert sandbox.link("v-net-0")["mtu"] == 1400 and sandbox.link("eth0", netns="c2")["mtu"] == 1300


def containers_summary(run):
    """The containers' counts of node_network's summary in ``run``, which succeeded."""
    assert run.rc == 0, run
    return run.results[0]["summary"]["containers"]


def test_the_summary_counts_containers_created_updated_removed_and_unchanged(sandbox):
    """As container_net counts them ("updated": changed in place), besides
    "total" and "changed" (every container the plan touches)."""
    uplink(sandbox)
    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    assert containers_summary(sandbox.playbook(task())) == dict(counts, total=2, changed=2, created=2)
    assert sorted(sandbox.netns_list()) == ["c1", "c2", "wan"]
    assert containers_summary(sandbox.playbook(task())) == dict(counts, total=2, changed=0, unchanged=2)

    bigger_mtu = dict(NODE, containers=[NODE["containers"][0], dict(NODE["containers"][1], mtu=1450)])
    updated = containers_summary(sandbox.playbook(task(bigger_mtu)))
    assert updated == dict(counts, total=2, changed=1, updated=1, unchanged=1)
    assert sandbox.link("eth0", netns="c2")["mtu"] == 1450

    fewer = dict(NODE, containers=NODE["containers"][:1], exclusive=["containers"])
    removed = containers_summary(sandbox.playbook(task(fewer)))
    assert removed == dict(counts, total=2, changed=1, removed=1, unchanged=1)
    assert sorted(sandbox.netns_list()) == ["c1", "wan"]

    gone = sandbox.playbook(task(fewer, state="absent"))
    assert containers_summary(gone) == dict(counts, total=1, changed=1, removed=1)
    assert sorted(sandbox.netns_list()) == ["wan"]


def test_no_path_imports_pyroute2(sandbox):
    """Cold, no change and teardown: node_network reads and writes the kernel
    on the standard library alone."""
    uplink(sandbox)
    script = """
import json, sys
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
params = json.loads(sys.argv[1])
runs = [engine.run(node_network, params).changed, engine.run(node_network, params).changed,
        engine.run(node_network, dict(params, state="absent")).changed]
print(json.dumps({"changed": runs, "pyroute2": sorted(m for m in sys.modules if m.startswith("pyroute2"))}))
"""
    proc = _engine(script, NODE)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": [True, False, True], "pyroute2": []}
