"""container_net through the engine, on the real kernel: many containers on one
bridge in one call, check mode, idempotence, ownership, rollback."""

import subprocess

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import MAX_PORTS, host_end
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.rtnl import LeanSession
from netplumb_testlib import converge_checked

BRIDGE = "br-ct"
MARK = "netplumb:container_net:%s:%s"


def bridge(box, name=BRIDGE, address="198.51.100.1/24"):
    box.ip("link", "add", name, "type", "bridge")
    box.ip("addr", "add", address, "dev", name)
    box.ip("link", "set", name, "up")


def params(containers, **extra):
    return dict({"bridge": BRIDGE, "gateway": "198.51.100.1", "containers": containers}, **extra)


def ct(index, **extra):
    return dict({"name": "c%d" % index, "address": "198.51.100.%d/24" % (10 + index)}, **extra)


def test_containers_built_checked_idempotent_and_reachable(sandbox):
    bridge(sandbox)
    want = params([ct(1), ct(2, mtu=1400, routes=[{"dst": "203.0.113.0/24", "gateway": "198.51.100.1"}]),
                   ct(3, gateway="198.51.100.254")])
    real = converge_checked(sandbox, container_net, want)
    assert real.changed
    assert sandbox.netns_list() == ["c1", "c2", "c3"]
    for index in (1, 2, 3):
        host = sandbox.link("veth-c%d" % index)
        assert host["master"] == BRIDGE and "UP" in host["flags"]
        assert host["ifalias"] == MARK % (BRIDGE, "c%d" % index)
        inside = sandbox.link("eth0", netns="c%d" % index)
        assert "UP" in inside["flags"]
        assert sandbox.addresses("eth0", netns="c%d" % index) == ["198.51.100.%d/24" % (10 + index)]
        assert sandbox.link("lo", netns="c%d" % index)["operstate"] in ("UNKNOWN", "UP")
    assert sandbox.link("eth0", netns="c2")["mtu"] == 1400 and sandbox.link("veth-c2")["mtu"] == 1400
    assert sandbox.link("eth0", netns="c1")["mtu"] == 1500
    gateways = {r["dst"]: r.get("gateway") for r in sandbox.routes(netns="c2") if r.get("table", "main") == "main"}
    assert gateways["default"] == "198.51.100.1" and gateways["203.0.113.0/24"] == "198.51.100.1"
    assert [r.get("gateway") for r in sandbox.routes(netns="c3") if r["dst"] == "default"] == ["198.51.100.254"]
    assert sandbox.ping("198.51.100.12", netns="c1")
    assert sandbox.ping("198.51.100.1", netns="c2")
    assert sandbox.ping("198.51.100.13")


def test_a_new_container_looks_each_of_its_links_up_once(sandbox, monkeypatch):
    """Its steps (host end on the bridge, lo up, addresses, eth0 up, routes)
    each need a link's index: the batch asks the kernel once per link."""
    bridge(sandbox)
    asked = []
    real = LeanSession.index

    def counted(session, name):
        asked.append(name)
        return real(session, name)

    monkeypatch.setattr(LeanSession, "index", counted)
    want = params([ct(1, address6="2001:db8:1::11/64", routes=[{"dst": "203.0.113.0/24", "gateway": "198.51.100.1"}])],
                  gateway6="2001:db8:1::1")
    sandbox.ip("-6", "addr", "add", "2001:db8:1::1/64", "dev", BRIDGE, "nodad")
    assert engine.run(container_net, want).changed
    assert sorted(asked) == sorted(["veth-c1", BRIDGE, "lo", "eth0"])
    assert sandbox.ping("198.51.100.1", netns="c1") and sandbox.ping("2001:db8:1::1", netns="c1")


def test_the_read_back_reads_the_containers_the_run_touched_and_no_other(sandbox, monkeypatch):
    """One container added to a bridge of many: the read-back read every
    container again (about what the whole no-change run costs), and a change
    another agent made meanwhile to a container the run did not touch rolled
    the run back. Now it reads the new one, and c2 and c3's drift is left for
    the next run to name."""
    from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel
    bridge(sandbox)
    engine.run(container_net, params([ct(1), ct(2), ct(3)]))
    read = []
    view = Kernel.view

    def counted(kernel, netns, *args, **kwargs):
        read.append((getattr(kernel.ctx, "touched", None) is not None, netns))
        return view(kernel, netns, *args, **kwargs)

    applied = engine.apply

    def apply_then_agent(ctx, ops):
        done = applied(ctx, ops)
        sandbox.ip("addr", "del", "198.51.100.12/24", "dev", "eth0", netns="c2")
        return done

    monkeypatch.setattr(Kernel, "view", counted)
    monkeypatch.setattr(engine, "apply", apply_then_agent)
    outcome = engine.run(container_net, params([ct(1), ct(2), ct(3), ct(4)]))
    assert outcome.changed and sandbox.netns_list() == ["c1", "c2", "c3", "c4"]
    assert sorted(netns for again, netns in read if again and netns is not None) == ["c4"]
    assert sorted(netns for again, netns in read if not again and netns is not None) == ["c1", "c2", "c3", "c4"]
    monkeypatch.undo()
    repair = engine.run(container_net, params([ct(1), ct(2), ct(3), ct(4)]), check_mode=True)
    # (With its address the kernel flushed c2's default route.)
    assert [op["description"] for op in repair.operations] == [
        "add address 198.51.100.12/24 to eth0 (netns c2)", "add route default via 198.51.100.1 dev eth0 (netns c2)"]


def test_bad_input_names_index_and_field_and_changes_nothing(sandbox):
    bridge(sandbox)
    before = sandbox.snapshot()
    good = [ct(0), ct(1), ct(2)]
    cases = [
        ([*good, {"name": "c3", "address": "198.51.100.300/24"}], "containers[3].address"),
        ([*good, {"name": "c3"}], "containers[3].address"),
        ([*good, {"name": "c3", "address": "198.51.100.13"}], "containers[3].address"),
        ([*good, {"address": "198.51.100.13/24"}], "containers[3].name"),
        ([*good, {"name": "bad/name", "address": "198.51.100.13/24"}], "containers[3].name"),
        ([*good, ct(0, address="198.51.100.99/24")], "containers[3].name"),
        ([*good, ct(3, address="198.51.100.10/24")], "containers[3].address"),
        ([*good, ct(3, mtu=20)], "containers[3].mtu"),
        ([*good, ct(3, gateway="192.0.2.1")], "containers[3].gateway"),
        ([*good, ct(3, routes=[{"dst": "203.0.113.1/24", "gateway": "198.51.100.1"}])],
         "containers[3].routes[0].dst"),
        ([*good, ct(3, routes=[{"dst": "203.0.113.0/24"}])], "containers[3].routes[0].gateway"),
        ([*good, ct(3, routes=[{"dst": "203.0.113.0/24", "gateway": "192.0.2.1"}])], "containers[3].routes[0].gateway"),
        ([*good, ct(3, colour="red")], "containers[3].colour"),
    ]
    for containers, field in cases:
        with pytest.raises(ParamError) as caught:
            engine.run(container_net, params(containers))
        assert caught.value.field == field, (containers[-1], caught.value)
    with pytest.raises(ParamError) as caught:
        engine.run(container_net, params(good, bridge="nosuchbr"))
    assert caught.value.field == "bridge"
    sandbox.ip("link", "add", "notabr", "type", "veth", "peer", "name", "notabr-p")
    with pytest.raises(ParamError) as caught:
        engine.run(container_net, params(good, bridge="notabr"))
    assert caught.value.field == "bridge"
    sandbox.ip("link", "del", "notabr")
    assert sandbox.snapshot() == before


def test_a_route_through_a_gateway_off_the_containers_subnets_fails_in_check_mode_too(sandbox):
    """The kernel refuses such a route (Network is unreachable) half way
    through a real run; check mode used to predict it as a change."""
    bridge(sandbox)
    before = sandbox.snapshot()
    off = params([ct(1, routes=[{"dst": "203.0.113.0/24", "gateway": "192.0.2.1"}])])
    for check_mode in (True, False):
        with pytest.raises(ParamError) as caught:
            engine.run(container_net, off, check_mode=check_mode)
        assert caught.value.field == "containers[0].routes[0].gateway"
    assert sandbox.snapshot() == before
    # IPv6 link-local gateways are on the interface's own link, with or without address6.
    local = params([ct(1, routes=[{"dst": "2001:db8:5::/64", "gateway": "fe80::1"}])])
    converge_checked(sandbox, container_net, local)
    assert [r.get("gateway") for r in sandbox.ipj("-6", "route", "show", "2001:db8:5::/64", netns="c1")] == ["fe80::1"]


def test_kernel_refusal_in_the_middle_rolls_everything_back(sandbox):
    bridge(sandbox)
    converge_checked(sandbox, container_net, params([ct(1)]))
    before = sandbox.settled_snapshot()
    # c3's extra route goes through its subnet's broadcast address, which is
    # no gateway: the kernel refuses it after c2 was made whole and c3 up to
    # its routes (new containers come before changes to existing ones, such
    # as c1's MTU, in the phase order).
    want = params([ct(1, mtu=1400), ct(2), ct(3, routes=[{"dst": "203.0.113.0/24", "gateway": "198.51.100.255"}])])
    with pytest.raises(ApplyError) as caught:
        engine.run(container_net, want)
    assert caught.value.failed.action == "container_add" and caught.value.failed.target == "c3"
    assert caught.value.rolled_back == ["remove container c2 (host end veth-c2 and netns c2)"]
    assert not caught.value.rollback_errors
    assert sandbox.settled_snapshot() == before
    assert sandbox.netns_list() == ["c1"]


def test_an_address_a_container_left_in_place_holds_stops_before_any_change(sandbox):
    """c1 is not listed and stays (containers not exclusive): c3 with c1's
    address would have put it on the bridge twice."""
    bridge(sandbox)
    converge_checked(sandbox, container_net, params([ct(1), ct(2)]))
    taken = params([ct(2), dict(ct(3), address="198.51.100.11/24")])
    before = sandbox.settled_snapshot()
    with pytest.raises(ParamError) as caught:
        engine.run(container_net, taken)
    assert caught.value.field == "containers[1].address"
    assert "is the address of container c1 on bridge br-ct, which is not listed and stays" in str(caught.value)
    assert sandbox.settled_snapshot() == before
    converge_checked(sandbox, container_net, dict(taken, exclusive=True))
    assert sandbox.netns_list() == ["c2", "c3"]
    assert sandbox.ping("198.51.100.11", netns="c2")
    assert sandbox.addresses("eth0", netns="c3") == ["198.51.100.11/24"]


def test_names_taken_by_foreign_links_stop_before_any_change(sandbox):
    bridge(sandbox)
    sandbox.ip("link", "add", "veth-c2", "type", "bridge")
    before = sandbox.snapshot()
    with pytest.raises(ParamError) as caught:
        engine.run(container_net, params([ct(1), ct(2)]))
    assert caught.value.field == "containers[1].name"
    sandbox.ip("link", "del", "veth-c2")
    # A foreign veth holding the name, on the bridge: never touched.
    sandbox.ip("link", "add", "veth-c2", "type", "veth", "peer", "name", "other")
    sandbox.ip("link", "set", "veth-c2", "master", BRIDGE)
    before = sandbox.settled_snapshot()
    with pytest.raises(ParamError) as caught:
        engine.run(container_net, params([ct(1), ct(2)]))
    assert caught.value.field == "containers[1].name"
    assert sandbox.snapshot() == before


def _foreign_ports(count):
    """``count`` foreign veths on the bridge, in one ip -batch."""
    lines = []
    for index in range(count):
        lines += ["link add p%d type veth peer name p%dx" % (index, index), "link set p%d master %s" % (index, BRIDGE)]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", text=True, check=True, timeout=120)


def test_a_bridge_holds_1023_ports_and_its_other_ports_count(sandbox):
    bridge(sandbox)
    engine.run(container_net, params([ct(1), ct(2)]))
    _foreign_ports(MAX_PORTS - 2)
    before = sandbox.settled_snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as caught:
            engine.run(container_net, params([ct(1), ct(2), ct(3)]), check_mode=check_mode)
        assert caught.value.field == "containers"
        assert "'3 containers' and the 1021 other ports of bridge br-ct are more than the 1023 ports" in str(caught.value)
        assert sandbox.snapshot() == before
    # Exclusive: its own containers that go do not count.
    assert engine.run(container_net, params([ct(3)], exclusive=True)).changed
    assert sandbox.netns_list() == ["c3"]
    assert engine.run(container_net, params([ct(1), ct(3)])).changed
    assert sandbox.netns_list() == ["c1", "c3"]
    # The limit is the kernel's: the bridge now has 1023 ports, and it refuses one more.
    sandbox.ip("link", "add", "p-last", "type", "veth", "peer", "name", "p-lastx")
    refused = subprocess.run(["ip", "link", "set", "p-last", "master", BRIDGE], capture_output=True, text=True, check=False,
                             timeout=30)
    assert refused.returncode != 0 and "Exchange full" in refused.stderr


def test_exclusive_removes_only_its_own_containers_on_that_bridge(sandbox):
    bridge(sandbox)
    bridge(sandbox, "br-other", "192.0.2.1/24")
    engine.run(container_net, params([ct(1), ct(2), ct(3)]))
    engine.run(container_net, {"bridge": "br-other", "containers": [{"name": "o1", "address": "192.0.2.10/24"}]})
    # Foreign: a veth on the same bridge, and a namespace with a pair of its own.
    sandbox.ip("link", "add", "foreign0", "type", "veth", "peer", "name", "foreign0p")
    sandbox.ip("link", "set", "foreign0", "master", BRIDGE)
    sandbox.ip("netns", "add", "f1")
    sandbox.ip("link", "add", "veth-f1", "type", "veth", "peer", "name", "eth0", "netns", "f1")
    sandbox.ip("link", "set", "veth-f1", "master", BRIDGE)

    def foreign_links():
        return {name: {k: sandbox.link(name).get(k) for k in ("ifindex", "master", "ifalias", "mtu", "address")}
                for name in ("foreign0", "foreign0p", "veth-f1")}
    foreign = foreign_links()

    want = params([ct(1)], exclusive=True)
    real = converge_checked(sandbox, container_net, want)
    assert {op["target"] for op in real.operations} == {"veth-c2", "veth-c3", "c2", "c3"}
    assert sandbox.netns_list() == ["c1", "f1", "o1"]
    assert sandbox.link("veth-c2") is None and sandbox.link("veth-c3") is None
    assert foreign_links() == foreign
    assert sandbox.link("veth-o1")["master"] == "br-other"
    assert sandbox.ping("198.51.100.11")


def test_existing_pair_made_by_the_per_container_tasks_is_adopted(sandbox):
    bridge(sandbox)
    sandbox.ip("netns", "add", "c1")
    sandbox.ip("link", "set", "lo", "up", netns="c1")
    sandbox.ip("link", "add", "veth-c1", "type", "veth", "peer", "name", "eth0", "netns", "c1")
    sandbox.ip("link", "set", "veth-c1", "master", BRIDGE)
    sandbox.ip("link", "set", "veth-c1", "up")
    sandbox.ip("addr", "add", "198.51.100.11/24", "dev", "eth0", netns="c1")
    sandbox.ip("link", "set", "eth0", "up", netns="c1")
    sandbox.ip("route", "add", "default", "via", "198.51.100.1", netns="c1")
    sandbox.settled_snapshot()
    index = sandbox.link("veth-c1")["ifindex"]
    real = converge_checked(sandbox, container_net, params([ct(1)]))
    assert [op["op"] for op in real.operations] == ["link_alias"]
    assert sandbox.link("veth-c1")["ifindex"] == index


def test_drift_is_repaired(sandbox):
    bridge(sandbox)
    want = params([ct(1), ct(2)])
    engine.run(container_net, want)
    sandbox.ip("link", "del", "eth0", netns="c1")
    sandbox.ip("addr", "add", "198.51.100.99/24", "dev", "eth0", netns="c2")
    sandbox.ip("link", "set", "veth-c2", "nomaster")
    sandbox.ip("link", "set", "lo", "down", netns="c2")
    sandbox.settled_snapshot()
    real = converge_checked(sandbox, container_net, want)
    ops = {(op["op"], op["netns"], op["target"]) for op in real.operations}
    assert ("link_add", None, "veth-c1") in ops and ("addr_del", "c2", "eth0") in ops
    assert ("link_set", None, "veth-c2") in ops and ("link_set", "c2", "lo") in ops
    assert sandbox.addresses("eth0", netns="c2") == ["198.51.100.12/24"]
    assert sandbox.ping("198.51.100.11", netns="c2")


def test_long_names_get_a_hashed_host_end(sandbox):
    bridge(sandbox)
    name = "a-rather-long-container-name"
    converge_checked(sandbox, container_net, params([{"name": name, "address": "198.51.100.50/24"}]))
    host = host_end(name)
    assert host.startswith("vh-") and len(host) == 15
    assert sandbox.link(host)["ifalias"] == MARK % (BRIDGE, name)
    assert sandbox.ping("198.51.100.50")


def test_absent_removes_the_listed_containers(sandbox):
    bridge(sandbox)
    # A foreign port keeps the bridge's carrier (and its route's flags) as they are.
    sandbox.ip("link", "add", "fa", "up", "master", BRIDGE, "type", "veth", "peer", "name", "fb")
    sandbox.ip("link", "set", "fb", "up")
    before = sandbox.settled_snapshot()
    engine.run(container_net, params([ct(1), ct(2)]))
    sandbox.settled_snapshot()
    gone = converge_checked(sandbox, container_net, params([{"name": "c1"}, {"name": "c2"}], state="absent"))
    assert gone.changed
    assert sandbox.settled_snapshot() == before


def test_check_mode_on_a_fresh_node_without_the_bridge(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(container_net, params([ct(1), ct(2)]), check_mode=True)
    assert outcome.changed and any("bridge" in w for w in outcome.warnings)
    assert sandbox.snapshot() == before


def test_a_hundred_containers_in_one_call(sandbox):
    bridge(sandbox, address="198.51.100.1/25")
    containers = [{"name": "n%d" % i, "address": "198.51.100.%d/25" % (2 + i)} for i in range(100)]
    real = converge_checked(sandbox, container_net, params(containers))
    assert len(sandbox.netns_list()) == 100
    ports = [link for link in sandbox.ipj("link", "show") if link.get("master") == BRIDGE]
    assert len(ports) == 100
    assert sandbox.ping("198.51.100.101", netns="n0")
    assert sandbox.ping("198.51.100.2", netns="n99")
    # Each new container is one batched step.
    assert [op["op"] for op in real.operations] == ["container_add"] * 100


def dual(index, **extra):
    return ct(index, address6="2001:db8:100::%d/64" % (10 + index), **extra)


def test_dual_stack_containers_reach_each_other_in_both_families(sandbox):
    bridge(sandbox)
    sandbox.ip("addr", "add", "2001:db8:100::1/64", "dev", BRIDGE, "nodad")
    want = params([dual(1), dual(2), ct(3)], gateway6="2001:db8:100::1")
    real = converge_checked(sandbox, container_net, want)
    assert real.changed
    assert sandbox.addresses("eth0", netns="c1") == ["198.51.100.11/24", "2001:db8:100::11/64"]
    assert sandbox.addresses("eth0", netns="c3") == ["198.51.100.13/24"]  # IPv4 only: no IPv6 address added
    defaults = sorted(r.get("gateway") for r in sandbox.routes(netns="c2") if r["dst"] == "default")
    assert defaults == ["198.51.100.1", "2001:db8:100::1"], defaults
    assert sandbox.ping("2001:db8:100::12", netns="c1")  # usable at once: no duplicate address detection wait
    assert sandbox.ping("2001:db8:100::1", netns="c2")
    assert sandbox.ping("198.51.100.12", netns="c1")
    assert not engine.run(container_net, want).changed
    # drift in the second family only: its address is put back (the kernel keeps an
    # IPv6 route via a gateway when the address goes), nothing else
    sandbox.ip("addr", "del", "2001:db8:100::12/64", "dev", "eth0", netns="c2")
    sandbox.settled_snapshot()
    repaired = converge_checked(sandbox, container_net, want)
    assert [(op["op"], op["args"].get("address")) for op in repaired.operations] == [
        ("addr_add", "2001:db8:100::12/64")], repaired.operations
    assert sandbox.ping("2001:db8:100::11", netns="c2")


@pytest.mark.parametrize("container, field", [
    (dict(ct(1), address6="2001:db8:100::11"), "containers[0].address6"),
    (dict(ct(1), address6="198.51.100.99/24"), "containers[0].address6"),
    (dict(ct(1), gateway6="2001:db8:100::1"), "containers[0].gateway6"),
    (dict(ct(1), address6="2001:db8:100::11/64", gateway6="2001:db8:999::1"), "containers[0].gateway6"),
])
def test_bad_ipv6_input_names_the_field(sandbox, container, field):
    bridge(sandbox)
    before = sandbox.snapshot()
    with pytest.raises(ParamError) as err:
        engine.run(container_net, params([container]))
    assert err.value.field == field, err.value
    assert sandbox.snapshot() == before
