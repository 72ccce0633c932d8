"""plan.py: operations as data, their descriptions, the phase order of a plan,
and the no-op undo. Pure logic, no kernel. (Rollback is tested on the real
kernel, in tests/integration/test_engine_bridge.py.)"""

import ipaddress
import json

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import operations as container_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core import apply, operations
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Route
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import PHASES, Op, Plan, noop

K = operations.merge(kernel_ops.OPERATIONS)
V4 = ipaddress.ip_interface("192.0.2.1/24")
V6 = ipaddress.ip_interface("2001:db8::1/64")


def _route():
    return Route(netns=None, dst=ipaddress.ip_network("198.51.100.0/24"), table=254, metric=0,
                 gateway=ipaddress.ip_address("192.0.2.254"))


# -- Op.describe ---------------------------------------------------------------------------


@pytest.mark.parametrize("op, text", [
    (Op(K["netns_add"], None, "red"), "create netns red"),
    (Op(K["netns_del"], None, "red"), "delete netns red"),
    (Op(K["link_add"], None, "br0", {"kind": "bridge", "mtu": None}), "create bridge br0"),
    (Op(K["link_add"], "red", "br0", {"kind": "bridge"}), "create bridge br0 (netns red)"),
    (Op(K["link_add"], None, "veth-red", {"kind": "veth", "peer": "veth-blue", "peer_netns": None}),
     "create veth veth-red with peer veth-blue"),
    (Op(K["link_add"], "red", "veth-red", {"kind": "veth", "peer": "veth-blue", "peer_netns": "blue"}),
     "create veth veth-red (netns red) with peer veth-blue (netns blue)"),
    (Op(K["link_add"], None, "x0", {}), "create link x0"),
    (Op(K["link_del"], None, "br0"), "delete br0"),
    (Op(K["link_del"], "red", "br0"), "delete br0 (netns red)"),
    (Op(K["link_move"], None, "c0", {"to": "red"}), "move c0 to netns red"),
    (Op(K["link_move"], "red", "c0", {"to": None}), "move c0 (netns red) to netns (host)"),
    (Op(K["link_set"], None, "br0", {"up": True}), "set br0 up=on"),
    (Op(K["link_set"], "red", "lo", {"up": False}), "set lo (netns red) up=off"),
    (Op(K["link_set"], None, "br0", {"stp": True, "mtu": 1400}), "set br0 mtu=1400 stp=on"),
    (Op(K["link_set"], None, "h0", {"master": None}), "set h0 master=none"),
    (Op(K["link_set"], None, "h0", {"master": "br0"}), "set h0 master=br0"),
    (Op(K["addr_add"], None, "br0", {"address": V4}), "add address 192.0.2.1/24 to br0"),
    (Op(K["addr_add"], "red", "c0", {"address": V6}), "add address 2001:db8::1/64 to c0 (netns red)"),
    (Op(K["addr_del"], None, "br0", {"address": V4}), "remove address 192.0.2.1/24 from br0"),
    (Op(K["route_add"], None, "default via 192.0.2.1", {"route": None}), "add route default via 192.0.2.1"),
    (Op(K["route_replace"], "red", "default via 192.0.2.1"), "replace route default via 192.0.2.1 (netns red)"),
    (Op(K["route_del"], None, "198.51.100.0/24"), "delete route 198.51.100.0/24"),
    (Op(K["noop"], None, "br0"), "nothing for br0 (it goes with an earlier step)"),
])
def test_describe(op, text):
    assert op.describe() == text


def test_the_catalogues_merge_into_one_meaning_per_name():
    merged = operations.merge(kernel_ops.OPERATIONS, file_ops.OPERATIONS, container_ops.OPERATIONS,
                              *nat_rule.OPERATIONS)
    assert len(merged) == 1 + len(kernel_ops.OPERATIONS) + len(file_ops.OPERATIONS) + len(container_ops.OPERATIONS) + 1
    assert all(callable(operation.run) and operation.text for operation in merged.values())


def test_two_operations_of_one_name_do_not_merge():
    twin = operations.Operation("link_add", "make {target}", lambda ctx, op: None)
    with pytest.raises(ValueError, match="two operations are named 'link_add'"):
        operations.merge(kernel_ops.OPERATIONS, (twin,))


def test_the_engine_finds_operations_a_resource_did_not_declare():
    stray = Op(file_ops.FILE_DELETE, None, "/x", undo=Op(K["netns_del"], None, "red"))
    assert apply.unknown([stray], K) == {"file_delete"}
    batch = Op(container_ops.CONTAINER_ADD, None, "c1", steps=(Op(K["netns_add"], None, "c1"),))
    assert apply.unknown([batch], operations.merge(container_ops.OPERATIONS)) == {"netns_add"}


# -- Op.as_dict -----------------------------------------------------------------------------


def test_as_dict_keys_and_values():
    op = Op(K["link_set"], "red", "c0", {"up": True, "mtu": 1400, "master": None, "stp": False},
            undo=Op(K["link_set"], "red", "c0", {"up": False}))
    data = op.as_dict()
    assert data == {
        "op": "link_set",
        "netns": "red",
        "target": "c0",
        "args": {"up": "on", "mtu": 1400, "master": None, "stp": "off"},
        "description": "set c0 (netns red) master=none mtu=1400 stp=off up=on",
    }
    assert "undo" not in data


def test_as_dict_renders_addresses_and_routes_as_text():
    data = Op(K["addr_add"], None, "br0", {"address": V6}).as_dict()
    assert data["args"] == {"address": "2001:db8::1/64"}
    route = Op(K["route_add"], None, "198.51.100.0/24 via 192.0.2.254", {"route": _route()}).as_dict()
    assert route["args"]["route"]["dst"] == "198.51.100.0/24"
    assert route["args"]["route"]["gateway"] == "192.0.2.254"


def test_as_dict_is_json_ready():
    ops = [Op(K["addr_add"], None, "br0", {"address": V4}),
           Op(K["link_add"], "red", "a", {"kind": "veth", "peer": "b", "peer_netns": None, "mtu": None}),
           Op(K["route_add"], None, "r", {"route": _route()}),
           Op(K["netns_add"], None, "red"), noop("x")]
    for op in ops:
        data = op.as_dict()
        assert json.loads(json.dumps(data)) == data
        assert set(data) == {"op", "netns", "target", "args", "description"}


def test_as_dict_does_not_change_the_op():
    op = Op(K["link_set"], None, "br0", {"up": True})
    op.as_dict()
    assert op.args == {"up": True}


def test_as_dict_keeps_ints_and_strings():
    data = Op(K["link_add"], None, "br0", {"kind": "bridge", "mtu": 9000}).as_dict()
    assert data["args"] == {"kind": "bridge", "mtu": 9000}


# -- noop --------------------------------------------------------------------------------


def test_noop_is_data():
    op = noop("br0")
    assert (op.action, op.netns, op.target, op.args, op.undo) == ("noop", None, "br0", {}, None)
    assert op.as_dict() == {"op": "noop", "netns": None, "target": "br0", "args": {},
                            "description": "nothing for br0 (it goes with an earlier step)"}


def test_noop_undo_runs_without_touching_anything():
    """Running a noop never reaches for the kernel: there is none here."""
    assert apply.run(None, noop("br0")) is None


def test_noop_instances_are_independent():
    first, second = noop("a"), noop("a")
    first.args["x"] = 1
    assert second.args == {}


# -- Plan -------------------------------------------------------------------------------


def test_phases_follow_the_design_order():
    order = ["netns", "bridge", "veth", "address", "up", "route"]
    assert [PHASES.index(p) for p in order] == sorted(PHASES.index(p) for p in order)
    assert PHASES.index("delete") < PHASES.index("bridge")
    assert PHASES.index("move") < PHASES.index("address")
    assert PHASES.index("link") < PHASES.index("address") < PHASES.index("up")


def test_plan_sorts_ops_by_phase():
    result = Plan()
    route = Op(K["route_add"], None, "r")
    up = Op(K["link_set"], None, "br0", {"up": True})
    address = Op(K["addr_add"], None, "br0", {"address": V4})
    bridge = Op(K["link_add"], None, "br0", {"kind": "bridge"})
    ns = Op(K["netns_add"], None, "red")
    for phase, op in [("route", route), ("up", up), ("address", address), ("bridge", bridge), ("netns", ns)]:
        result.add(phase, op)
    assert result.ops == [ns, bridge, address, up, route]


def test_plan_keeps_insertion_order_within_a_phase():
    result = Plan()
    ops = [Op(K["addr_del"], None, "br0", {"address": V4}), Op(K["addr_add"], None, "br0", {"address": V6}),
           Op(K["addr_add"], None, "br0", {"address": V4})]
    result.add("up", Op(K["link_set"], None, "br0", {"up": True}))
    for op in ops:
        result.add("address", op)
    assert result.ops[:3] == ops
    assert result.ops[3].action == "link_set"


def test_plan_every_phase():
    result = Plan()
    for phase in reversed(PHASES):
        result.add(phase, Op(K["noop"], None, phase))
    assert [op.target for op in result.ops] == list(PHASES)


def test_plan_unknown_phase_is_refused():
    with pytest.raises(ValueError):
        Plan().add("later", Op(K["noop"], None, "x"))


def test_plan_truthiness_and_describe():
    result = Plan(before={"state": "absent"}, after={"state": "present"})
    assert not result
    assert result.ops == []
    assert result.describe() == []
    result.add("up", Op(K["link_set"], None, "br0", {"up": True}))
    result.add("bridge", Op(K["link_add"], None, "br0", {"kind": "bridge"}))
    assert result
    assert result.describe() == ["create bridge br0", "set br0 up=on"]
    assert (result.before, result.after) == ({"state": "absent"}, {"state": "present"})


def test_plan_ops_is_a_copy():
    result = Plan()
    result.add("netns", Op(K["netns_add"], None, "red"))
    result.ops.clear()
    assert len(result.ops) == 1


# -- ApplyError (the message a failed call reports) ------------------------------------------


def test_apply_error_message_names_failure_and_rollback():
    failed = Op(K["link_set"], None, "br0", {"vlan_filtering": True})
    error = ApplyError(failed, "Operation not supported", ["delete br0"], [], [])
    assert error.failed is failed
    assert str(error) == ("failed to set br0 vlan_filtering=on: Operation not supported; "
                          "rolled back 1 earlier operation(s)")


def test_apply_error_without_earlier_ops():
    error = ApplyError(Op(K["route_add"], None, "r"), "Network is unreachable", [], [], [])
    assert str(error) == "failed to add route r: Network is unreachable"


def test_apply_error_reports_what_could_not_be_undone():
    error = ApplyError(Op(K["addr_add"], None, "br0", {"address": V6}), "Permission denied",
                       ["remove address 192.0.2.1/24 from br0"], ["create netns red"],
                       ["delete br0: No such device"])
    text = str(error)
    assert "rolled back 1 earlier operation(s)" in text
    assert "could not undo: create netns red" in text
    assert "rollback errors: delete br0: No such device" in text
    assert error.not_undone == ["create netns red"]
