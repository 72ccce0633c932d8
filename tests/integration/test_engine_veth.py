"""veth through the engine alone (no Ansible), checked against the kernel."""

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import veth
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
import netplumb_testlib as testlib

PAIR = {
    "name": "veth-red", "netns": "red", "addresses": ["192.0.2.1/24"],
    "peer": "veth-blue", "peer_netns": "blue", "peer_addresses": ["192.0.2.2/24"],
}


@pytest.fixture
def red_blue(sandbox):
    sandbox.ip("netns", "add", "red")
    sandbox.ip("netns", "add", "blue")
    return sandbox


def assert_pair(box, params=None):
    params = params or PAIR
    end = box.link(params["name"], netns=params.get("netns"))
    peer = box.link(params["peer"], netns=params.get("peer_netns"))
    assert end is not None and peer is not None
    assert end["linkinfo"]["info_kind"] == "veth"
    assert "UP" in end["flags"] and "UP" in peer["flags"]
    assert end["link_index"] == peer["ifindex"] and peer["link_index"] == end["ifindex"]
    if params.get("addresses") is not None:
        assert box.addresses(params["name"], params.get("netns")) == sorted(params["addresses"])
    if params.get("peer_addresses") is not None:
        assert box.addresses(params["peer"], params.get("peer_netns")) == sorted(params["peer_addresses"])
    return end, peer


def test_create_then_idempotent_and_traffic(red_blue):
    first = engine.run(veth, PAIR)
    assert first.changed
    assert [op["op"] for op in first.operations][0] == "link_add"
    assert_pair(red_blue)
    assert red_blue.ping("192.0.2.2", netns="red")
    second = engine.run(veth, PAIR)
    assert not second.changed and second.operations == []


def test_check_mode_predicts_and_changes_nothing(red_blue):
    before = red_blue.snapshot()
    predicted = engine.run(veth, PAIR, check_mode=True)
    assert predicted.changed
    assert red_blue.snapshot() == before
    applied = engine.run(veth, PAIR)
    assert [op["description"] for op in predicted.operations] == \
        [op["description"] for op in applied.operations]
    assert predicted.after == engine.run(veth, PAIR, check_mode=True).before


def test_end_in_wrong_netns_is_moved_not_recreated(red_blue):
    red_blue.ip("link", "add", "veth-red", "type", "veth", "peer", "name", "veth-blue")
    red_blue.ip("link", "set", "veth-blue", "netns", "blue")
    outcome = engine.run(veth, PAIR)
    ops = [op["op"] for op in outcome.operations]
    assert "link_move" in ops and "link_add" not in ops and "link_del" not in ops
    assert_pair(red_blue)
    assert red_blue.link("veth-red") is None
    assert not engine.run(veth, PAIR).changed


@pytest.mark.parametrize("moved", ["veth-red", "veth-blue"])
def test_an_end_moved_into_a_namespace_the_task_does_not_name_is_moved_back(red_blue, moved):
    """Not made anew: the other end, its addresses and the routes over it stay."""
    red_blue.ip("netns", "add", "elsewhere")
    engine.run(veth, PAIR)
    red_blue.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.2", netns="red")
    index = red_blue.link("veth-red", netns="red")["ifindex"]
    red_blue.ip("link", "set", moved, "netns", "elsewhere", netns=PAIR["netns"] if moved == "veth-red" else "blue")
    outcome = testlib.converge_checked(red_blue, veth, PAIR, compare_after=False)
    assert [op["op"] for op in outcome.operations][0] == "link_move", outcome.operations
    assert not {"link_add", "link_del"} & {op["op"] for op in outcome.operations}
    end, _peer = assert_pair(red_blue)
    assert red_blue.link(moved, netns="elsewhere") is None
    if moved == "veth-blue":
        assert end["ifindex"] == index
        assert "198.51.100.0/24" in red_blue.ip("route", "show", netns="red")


def test_both_ends_in_host_are_moved(red_blue):
    red_blue.ip("link", "add", "veth-red", "type", "veth", "peer", "name", "veth-blue")
    outcome = engine.run(veth, PAIR)
    assert [op["op"] for op in outcome.operations].count("link_move") == 2
    assert_pair(red_blue)
    assert red_blue.ping("192.0.2.1", netns="blue")


def test_wrong_peer_is_replaced(red_blue):
    red_blue.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "other",
                "netns", "blue")
    engine.run(veth, PAIR)
    assert_pair(red_blue)
    assert red_blue.link("other", netns="blue") is None


def test_same_names_but_ends_swapped_between_namespaces(red_blue):
    red_blue.ip("link", "add", "veth-red", "netns", "blue", "type", "veth", "peer", "name", "veth-blue",
                "netns", "red")
    engine.run(veth, PAIR)
    assert_pair(red_blue)


def test_extra_address_removed_and_down_end_brought_up(red_blue):
    engine.run(veth, PAIR)
    red_blue.ip("addr", "add", "203.0.113.9/24", "dev", "veth-red", netns="red")
    red_blue.ip("link", "set", "veth-blue", "down", netns="blue")
    outcome = engine.run(veth, PAIR)
    assert {op["op"] for op in outcome.operations} == {"addr_del", "link_set"}
    assert_pair(red_blue)


def test_addresses_unset_are_left_alone_and_empty_list_clears(red_blue):
    engine.run(veth, PAIR)
    unmanaged = dict(PAIR, addresses=None, peer_addresses=None)
    red_blue.ip("addr", "add", "203.0.113.9/24", "dev", "veth-red", netns="red")
    assert not engine.run(veth, unmanaged).changed
    engine.run(veth, dict(PAIR, addresses=[]))
    assert red_blue.addresses("veth-red", "red") == []


def test_ipv6_link_local_is_ignored(red_blue):
    params = dict(PAIR, addresses=["2001:db8::1/64"], peer_addresses=["2001:db8::2/64"])
    engine.run(veth, params)
    assert not engine.run(veth, params).changed


def test_master_and_mtu_converge(sandbox):
    sandbox.ip("netns", "add", "c1")
    sandbox.ip("link", "add", "v-net-0", "type", "bridge")
    sandbox.ip("link", "add", "br-other", "type", "bridge")
    params = {"name": "eth0", "netns": "c1", "peer": "veth-c1", "peer_master": "v-net-0", "mtu": 1400}
    engine.run(veth, params)
    host_end = sandbox.link("veth-c1")
    assert host_end["master"] == "v-net-0" and host_end["mtu"] == 1400
    assert sandbox.link("eth0", netns="c1")["mtu"] == 1400
    sandbox.ip("link", "set", "veth-c1", "master", "br-other")
    sandbox.ip("link", "set", "eth0", "mtu", "1300", netns="c1")
    outcome = engine.run(veth, params)
    assert len(outcome.operations) == 2
    assert sandbox.link("veth-c1")["master"] == "v-net-0"
    assert sandbox.link("eth0", netns="c1")["mtu"] == 1400


def test_foreign_link_with_the_name_stops_before_any_change(red_blue):
    red_blue.ip("link", "add", "veth-red", "type", "bridge", netns="red")
    before = red_blue.snapshot()
    with pytest.raises(ParamError) as err:
        engine.run(veth, PAIR)
    assert err.value.field == "name" and "bridge" in str(err.value)
    assert red_blue.snapshot() == before


@pytest.mark.parametrize("change, field", [
    ({"netns": "nosuch"}, "netns"),
    ({"peer_master": "nosuch"}, "peer_master"),
    ({"name": "x" * 16}, "name"),
    ({"peer": "veth-red", "peer_netns": "red"}, "peer"),
    ({"addresses": ["192.0.2.1"]}, "addresses[0]"),
    ({"mtu": 10}, "mtu"),
    ({"name": "lo"}, "name"),
    ({"peer_netns": "../etc"}, "peer_netns"),
    ({"peer_netns": "red", "master": "br-red", "peer_master": "br-red"}, "peer_master"),  # a loop
])
def test_bad_input_changes_nothing(red_blue, change, field):
    before = red_blue.snapshot()
    with pytest.raises(Exception) as err:
        engine.run(veth, dict(PAIR, **change))
    if field:
        assert isinstance(err.value, ParamError) and err.value.field == field
    assert "nosuch" in str(err.value) or field in str(err.value)
    assert red_blue.snapshot() == before


def test_failure_half_way_rolls_back(red_blue):
    engine.run(veth, PAIR)
    # IPv6 off on the red end: the kernel refuses the IPv6 address only after
    # the IPv4 address swap before it has been applied.
    red_blue.ip("netns", "exec", "red", "sysctl", "-q", "-w", "net.ipv6.conf.veth-red.disable_ipv6=1")
    before = red_blue.snapshot()
    params = dict(PAIR, addresses=["192.0.2.11/24", "2001:db8::1/64"])
    with pytest.raises(ApplyError) as err:
        engine.run(veth, params)
    assert "2001:db8::1/64" in str(err.value)
    assert err.value.rolled_back == [
        "remove address 192.0.2.11/24 from veth-red (netns red)",
        "add address 192.0.2.1/24 to veth-red (netns red)",
    ]
    assert red_blue.snapshot() == before
    assert red_blue.ping("192.0.2.2", netns="red")


def test_absent_removes_pair_and_is_idempotent(red_blue):
    engine.run(veth, PAIR)
    outcome = engine.run(veth, dict(PAIR, state="absent"))
    assert [op["op"] for op in outcome.operations] == ["link_del"]
    assert red_blue.link("veth-red", "red") is None and red_blue.link("veth-blue", "blue") is None
    assert not engine.run(veth, dict(PAIR, state="absent")).changed


def test_absent_leaves_other_kinds_alone(red_blue):
    red_blue.ip("link", "add", "veth-red", "type", "bridge", netns="red")
    with pytest.raises(ParamError):
        engine.run(veth, dict(PAIR, state="absent"))
    assert red_blue.link("veth-red", "red") is not None
