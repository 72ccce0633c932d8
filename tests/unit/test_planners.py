"""The planners against a fake node (tests/lib/fake_netlink.py): what each
resource plans from a given actual state, in milliseconds and without root.
The same plans against the real kernel, applied and read back, are the
engine tests' (tests/integration/test_engine_*.py)."""

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetnsMissing, ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge, route, veth

from fake_netlink import FakeNode  # pylint: disable=wrong-import-order

MARK = "netplumb:container_net:br0:"


def plan(resource, params, node, check_mode=False):
    ctx = Context(check_mode)
    ctx.kernel = node.kernel(ctx, resource.NETLINK)
    result = resource.plan(ctx, resource.parse(params))
    return result.describe(), ctx


# -- bridge --------------------------------------------------------------------------------


def test_bridge_from_nothing():
    ops, _ctx = plan(bridge, {"name": "br0", "addresses": ["192.0.2.1/24"], "mtu": 1400}, FakeNode())
    assert ops == ["create bridge br0", "add address 192.0.2.1/24 to br0", "set br0 up=on"]


def test_bridge_as_wanted_plans_nothing_and_drift_plans_only_the_repair():
    node = FakeNode()
    node.netns(None).add("br0", "bridge", mtu=1400, addresses=["192.0.2.1/24", "198.51.100.1/24"])
    params = {"name": "br0", "addresses": ["192.0.2.1/24"], "mtu": 1400}
    assert plan(bridge, params, node)[0] == ["remove address 198.51.100.1/24 from br0"]
    assert plan(bridge, dict(params, addresses=None), node)[0] == []
    assert plan(bridge, dict(params, addresses=None, mtu=9000, stp=True), node)[0] == ["set br0 mtu=9000", "set br0 stp=on"]


def test_bridge_name_held_by_another_kind_stops_the_plan():
    node = FakeNode()
    node.veth((None, "br0"), (None, "x0"))
    with pytest.raises(ParamError, match="is already a veth link"):
        plan(bridge, {"name": "br0"}, node)


def test_bridge_in_a_missing_namespace_fails_or_warns_in_check_mode():
    with pytest.raises(ParamError, match="is not an existing network namespace"):
        plan(bridge, {"name": "br0", "netns": "red"}, FakeNode())
    ops, ctx = plan(bridge, {"name": "br0", "netns": "red"}, FakeNode(), check_mode=True)
    assert ops == ["create bridge br0 (netns red)", "set br0 (netns red) up=on"]
    assert ctx.warnings == ["network namespace 'red' does not exist; check mode assumes an earlier task "
                            "creates it, empty"]


# -- veth ----------------------------------------------------------------------------------


def test_veth_pair_with_an_end_elsewhere_is_moved_not_recreated():
    node = FakeNode()
    node.netns("red")
    node.veth((None, "h0"), (None, "c0"))
    ops, _ctx = plan(veth, {"name": "h0", "peer": "c0", "peer_netns": "red"}, node)
    assert ops == ["move c0 to netns red", "set c0 (netns red) up=on"]


def test_veth_across_namespaces_as_wanted_plans_nothing():
    node = FakeNode()
    node.netns("red")
    node.netns(None).add("br0", "bridge")
    node.veth((None, "h0"), ("red", "c0"), master="br0")
    assert plan(veth, {"name": "h0", "peer": "c0", "peer_netns": "red", "master": "br0"}, node)[0] == []


def test_veth_master_must_be_a_bridge_and_check_mode_assumes_it():
    node = FakeNode()
    with pytest.raises(ParamError, match="master: 'br9' is not a link in netns"):
        plan(veth, {"name": "h0", "peer": "c0", "master": "br9"}, node)
    ops, ctx = plan(veth, {"name": "h0", "peer": "c0", "master": "br9"}, node, check_mode=True)
    assert ops[0] == "create veth h0 with peer c0" and "set h0 master=br9" in ops
    assert ctx.warnings == ["master: bridge 'br9' does not exist yet; check mode assumes an earlier task creates it"]


def test_veth_absent_of_a_missing_namespace_reads_as_nothing():
    ops, ctx = plan(veth, {"name": "h0", "netns": "gone", "state": "absent"}, FakeNode())
    assert ops == [] and ctx.warnings == []


# -- route ---------------------------------------------------------------------------------


def test_route_with_another_gateway_is_replaced_and_a_missing_one_added():
    node = FakeNode()
    node.netns(None).add("eth0", "device", addresses=["192.0.2.10/24", "2001:db8::10/64"])
    node.netns(None).route("198.51.100.0/24", "192.0.2.1", "eth0")
    ops, _ctx = plan(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.2"}, node)
    assert ops == ["replace route 198.51.100.0/24 via 192.0.2.2 table 254 metric 0"]
    ops, _ctx = plan(route, {"dst": "2001:db8:1::/64", "gateway": "2001:db8::1", "dev": "eth0"}, node)
    assert ops == ["add route 2001:db8:1::/64 via 2001:db8::1 dev eth0 table 254 metric 1024"]


def test_route_gateway_must_be_on_a_connected_network_or_check_mode_warns():
    node = FakeNode()
    node.netns(None).add("eth0", "device", addresses=["192.0.2.10/24"])
    node.netns(None).add("eth1", "device", addresses=["203.0.113.10/24"])
    with pytest.raises(ParamError, match="gateway: '198.51.100.1' is on no network connected to the node"):
        plan(route, {"dst": "default", "gateway": "198.51.100.1"}, node)
    with pytest.raises(ParamError, match="connected to the node through eth1"):
        plan(route, {"dst": "default", "gateway": "192.0.2.1", "dev": "eth1"}, node)
    _ops, ctx = plan(route, {"dst": "default", "gateway": "198.51.100.1"}, node, check_mode=True)
    assert len(ctx.warnings) == 1 and "check mode assumes an earlier task connects it" in ctx.warnings[0]
    ops, ctx = plan(route, {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"}, node)
    assert ops == ["add route default via 192.0.2.1 dev eth0 table 254 metric 0"] and not ctx.warnings
    # A link-local gateway is on every link: the kernel needs only its dev.
    ops, _ctx = plan(route, {"dst": "default", "gateway": "fe80::1", "dev": "eth0"}, node)
    assert len(ops) == 1


def test_route_dev_must_exist_or_check_mode_warns():
    with pytest.raises(ParamError, match="dev: 'eth9' is not a link"):
        plan(route, {"dst": "default", "dev": "eth9"}, FakeNode())
    _ops, ctx = plan(route, {"dst": "default", "dev": "eth9"}, FakeNode(), check_mode=True)
    assert ctx.warnings == ["dev: 'eth9' does not exist yet; check mode assumes an earlier task creates it"]


# -- container_net -------------------------------------------------------------------------


def _container_node():
    node = FakeNode()
    node.netns(None).add("br0", "bridge", addresses=["198.51.100.1/24"])
    return node


def _existing(node, name, addresses, routes=True):
    node.netns(name)
    node.veth((None, "veth-" + name), (name, "eth0"), master="br0", alias=MARK + name)
    ns = node.netns(name)
    for text in addresses:
        ns.address("eth0", text)
    if routes:
        ns.route("0.0.0.0/0", "198.51.100.1", "eth0")


CONTAINERS = {"bridge": "br0", "containers": [{"name": "c1", "address": "198.51.100.11/24", "gateway": "198.51.100.1"}]}


def test_container_net_new_container_is_one_batch_of_kernel_operations():
    node = _container_node()
    ctx = Context()
    ctx.kernel = node.kernel(ctx)
    result = container_net.plan(ctx, container_net.parse(CONTAINERS))
    (op,) = result.ops
    assert op.describe() == ("create container c1: eth0 198.51.100.11/24 in netns c1, host end veth-c1 on br0")
    assert op.as_dict()["args"]["routes"] == ["default via 198.51.100.1"]
    assert [step.describe() for step in op.steps] == [
        "create netns c1",
        "create veth veth-c1 with peer eth0 (netns c1)",
        "set veth-c1 alias=%sc1 master=br0 up=on" % MARK,
        "set lo (netns c1) up=on",
        "add address 198.51.100.11/24 to eth0 (netns c1)",
        "set eth0 (netns c1) up=on",
        "add route default via 198.51.100.1 dev eth0 (netns c1)",
    ]
    assert op.undo.describe() == "remove container c1 (host end veth-c1 and netns c1)"


def test_container_net_existing_container_plans_only_its_drift():
    node = _container_node()
    _existing(node, "c1", ["198.51.100.11/24"])
    assert plan(container_net, CONTAINERS, node)[0] == []
    node = _container_node()
    _existing(node, "c1", ["198.51.100.99/24"], routes=False)
    assert plan(container_net, CONTAINERS, node)[0] == [
        "remove address 198.51.100.99/24 from eth0 (netns c1)",
        "add address 198.51.100.11/24 to eth0 (netns c1)",
        "add route default via 198.51.100.1 dev eth0 (netns c1)",
    ]


def test_container_net_states_are_built_only_for_containers_that_change():
    """A container the plan leaves as it is has no operation and one state
    for before and after: container_net's plan names it only (its diff shows
    what changes), node_network's shows it, and a read-back builds none."""
    node = _container_node()
    _existing(node, "c1", ["198.51.100.11/24"])
    params = {"bridge": "br0", "containers": CONTAINERS["containers"] + [
        {"name": "c2", "address": "198.51.100.12/24", "gateway": "198.51.100.1"}]}
    ctx = Context()
    ctx.kernel = node.kernel(ctx)
    spec = container_net.parse(params)
    each = container_net.plan_each(ctx, spec)
    assert each.unchanged == ["c1"] and sorted(each.before) == sorted(each.after) == ["c2"]
    shown = container_net.plan_each(ctx, spec, unchanged_states=True)
    assert shown.unchanged == [] and shown.before["c1"] is shown.after["c1"]
    assert shown.before["c1"] == {"state": "present", "host_end": "veth-c1", "master": "br0", "mtu": 1500,
                                  "addresses": ["198.51.100.11/24"], "up": True, "routes": ["default via 198.51.100.1"]}
    ctx.touched = {"c1", "c2"}
    again = container_net.plan_each(ctx, spec, unchanged_states=True)
    assert again.unchanged == ["c1"] and "c1" not in again.before
    ctx.touched = None
    result = container_net.plan(ctx, spec)
    assert result.extra["summary"] == {"created": 1, "changed": 0, "removed": 0, "unchanged": 1, "total": 2,
                                       "operations": 1}
    assert list(result.before) == ["c2"]


def test_container_net_adopting_an_unmarked_container_marks_it_and_counts_it_unchanged():
    """The pair of an existing container made by the earlier per-container
    tasks gets the mark: an operation, but before and after read the same."""
    node = _container_node()
    node.netns("c1")
    node.veth((None, "veth-c1"), ("c1", "eth0"), master="br0")
    node.netns("c1").address("eth0", "198.51.100.11/24")
    node.netns("c1").route("0.0.0.0/0", "198.51.100.1", "eth0")
    ctx = Context()
    ctx.kernel = node.kernel(ctx)
    result = container_net.plan(ctx, container_net.parse(CONTAINERS))
    assert result.describe() == ["mark veth-c1 as %sc1" % MARK]
    assert result.extra["summary"]["unchanged"] == 1 and result.before == {}


def test_container_net_exclusive_removes_only_marked_containers_of_this_bridge():
    node = _container_node()
    _existing(node, "c1", ["198.51.100.11/24"])
    _existing(node, "old", ["198.51.100.12/24"])
    node.veth((None, "veth-x"), (None, "peer-x"), alias="someone else's")
    ops, _ctx = plan(container_net, dict(CONTAINERS, exclusive=True), node)
    assert ops == ["delete veth-old", "delete netns old"]


def test_container_net_unmarked_link_in_the_way_is_left_alone():
    node = _container_node()
    node.netns(None).add("veth-c1", "device")
    with pytest.raises(ParamError, match="needs the host end veth-c1, which is a device link not made by container_net"):
        plan(container_net, CONTAINERS, node)


def test_container_net_missing_bridge_fails_or_check_mode_assumes_it():
    with pytest.raises(ParamError, match="bridge: 'br0' is not a link in the node's namespace"):
        plan(container_net, CONTAINERS, FakeNode())
    ops, ctx = plan(container_net, CONTAINERS, FakeNode(), check_mode=True)
    assert len(ops) == 1 and ctx.warnings[0].startswith("bridge: 'br0' does not exist yet")


def test_a_missing_namespace_read_outside_check_mode_is_an_error():
    node = FakeNode()
    ctx = Context()
    with pytest.raises(NetnsMissing):
        node.kernel(ctx).view("red")
