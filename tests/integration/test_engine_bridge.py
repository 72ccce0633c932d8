"""engine.run(bridge, ...) on the real kernel, without Ansible.

Every test runs in its own sandbox (fresh network + mount namespace). Wrong
states are prepared with ``ip``; after every engine call the kernel's own view
(``ip -j -d link`` / ``ip -j addr``) is checked, not only what the engine says.
"""

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, ParamError
import netplumb_testlib as testlib

OP_KEYS = {"op", "netns", "target", "args", "description"}


# -- helpers -------------------------------------------------------------------------


def op_names(outcome):
    return [op["op"] for op in outcome.operations]


def is_up(link):
    return "UP" in link["flags"]


def kind(link):
    return link.get("linkinfo", {}).get("info_kind")


def stp_state(link):
    return link["linkinfo"]["info_data"]["stp_state"]


def vlan_filtering(link):
    return link["linkinfo"]["info_data"]["vlan_filtering"]


def set_sysctl(path, value):
    """A per-netns sysctl of the sandbox (/proc/sys/net follows our netns)."""
    with open("/proc/sys/net/" + path, "w") as handle:
        handle.write(str(value))


def converge_checked(sandbox, params):
    return testlib.converge_checked(sandbox, bridge, params)


# -- create ---------------------------------------------------------------------------


@pytest.mark.parametrize("mtu, port_mtu", [(1280, 1500), (1500, 9000), (9000, 1500)])
def test_a_new_bridge_keeps_its_mtu_when_ports_join(sandbox, mtu, port_mtu):
    """The kernel lets a bridge follow its ports' MTU unless its MTU was set
    after it was made; 1500 is the MTU a new bridge already has."""
    converge_checked(sandbox, {"name": "br0", "mtu": mtu})
    sandbox.ip("link", "add", "vp0", "mtu", str(port_mtu), "type", "veth", "peer", "name", "vp1")
    sandbox.ip("link", "set", "vp0", "master", "br0")
    assert sandbox.link("br0")["mtu"] == mtu
    assert not engine.run(bridge, {"name": "br0", "mtu": mtu}).changed


def test_create_bridge(sandbox):
    params = {"name": "br0", "addresses": ["192.0.2.1/24", "2001:db8::1/64"], "mtu": 1400, "stp": True}
    outcome = converge_checked(sandbox, params)
    assert outcome.changed
    assert op_names(outcome)[0] == "link_add"
    assert outcome.operations[0]["args"]["kind"] == "bridge"
    assert outcome.before == {"state": "absent"}
    assert outcome.after["state"] == "present"
    assert outcome.after["addresses"] == ["192.0.2.1/24", "2001:db8::1/64"]

    link = sandbox.link("br0")
    assert kind(link) == "bridge"
    assert link["mtu"] == 1400
    assert is_up(link)
    assert stp_state(link) == 1
    assert vlan_filtering(link) == 0
    assert sandbox.addresses("br0") == ["192.0.2.1/24", "2001:db8::1/64"]


def test_create_minimal_bridge(sandbox):
    outcome = converge_checked(sandbox, {"name": "br0"})
    assert op_names(outcome) == ["link_add", "link_set"]
    link = sandbox.link("br0")
    assert kind(link) == "bridge" and is_up(link)
    assert sandbox.addresses("br0") == []


def test_operations_follow_phase_order(sandbox):
    outcome = engine.run(bridge, {"name": "br0", "addresses": ["192.0.2.1/24"], "mtu": 1450,
                                  "stp": True})
    assert op_names(outcome) == ["link_add", "link_set", "addr_add", "link_set"]
    assert outcome.operations[1]["args"] == {"stp": "on"}
    assert outcome.operations[3]["args"] == {"up": "on"}


def test_bridge_made_by_ip_is_recognised(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    before = sandbox.snapshot()
    outcome = engine.run(bridge, {"name": "br0", "addresses": ["192.0.2.1/24"]})
    assert not outcome.changed
    assert sandbox.snapshot() == before


# -- converge from wrong states ---------------------------------------------------------


def test_down_bridge_is_brought_up(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    assert not is_up(sandbox.link("br0"))
    outcome = converge_checked(sandbox, {"name": "br0"})
    assert op_names(outcome) == ["link_set"]
    assert outcome.operations[0]["args"] == {"up": "on"}
    assert is_up(sandbox.link("br0"))


def test_wrong_mtu_is_fixed(sandbox):
    sandbox.ip("link", "add", "br0", "mtu", "1500", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    outcome = converge_checked(sandbox, {"name": "br0", "mtu": 1400})
    assert op_names(outcome) == ["link_set"]
    assert outcome.operations[0]["args"] == {"mtu": 1400}
    assert outcome.before["mtu"] == 1500 and outcome.after["mtu"] == 1400
    assert sandbox.link("br0")["mtu"] == 1400


def test_mtu_not_given_is_left_alone(sandbox):
    sandbox.ip("link", "add", "br0", "mtu", "1300", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    assert not engine.run(bridge, {"name": "br0"}).changed
    assert sandbox.link("br0")["mtu"] == 1300


def test_extra_and_missing_addresses(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    sandbox.ip("-6", "addr", "add", "2001:db8:9::1/64", "dev", "br0", "nodad")
    params = {"name": "br0", "addresses": ["192.0.2.1/24", "203.0.113.1/24", "2001:db8::1/64"]}
    outcome = converge_checked(sandbox, params)
    ops = [(op["op"], op["args"]["address"]) for op in outcome.operations]
    assert sorted(ops) == sorted([("addr_del", "198.51.100.1/24"), ("addr_del", "2001:db8:9::1/64"),
                                  ("addr_add", "203.0.113.1/24"), ("addr_add", "2001:db8::1/64")])
    # removals come before additions
    assert op_names(outcome) == ["addr_del", "addr_del", "addr_add", "addr_add"]
    assert sandbox.addresses("br0") == ["192.0.2.1/24", "2001:db8::1/64", "203.0.113.1/24"]


def test_wrong_prefix_is_replaced(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/25", "dev", "br0")
    outcome = converge_checked(sandbox, {"name": "br0", "addresses": ["192.0.2.1/24"]})
    assert [(op["op"], op["args"]["address"]) for op in outcome.operations] == [
        ("addr_del", "192.0.2.1/25"), ("addr_add", "192.0.2.1/24")]
    assert sandbox.addresses("br0") == ["192.0.2.1/24"]


def test_empty_address_list_removes_all(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    outcome = converge_checked(sandbox, {"name": "br0", "addresses": []})
    assert op_names(outcome) == ["addr_del", "addr_del"]
    assert sandbox.addresses("br0") == []


def test_addresses_not_given_are_left_alone(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    assert not engine.run(bridge, {"name": "br0", "mtu": 1500}).changed
    assert sandbox.addresses("br0") == ["198.51.100.1/24"]


def test_stp_off_to_on_and_back(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge", "stp_state", "0")
    sandbox.ip("link", "set", "br0", "up")
    on = converge_checked(sandbox, {"name": "br0", "stp": True})
    assert on.operations[0]["op"] == "link_set" and on.operations[0]["args"] == {"stp": "on"}
    assert on.before["stp"] is False and on.after["stp"] is True
    assert stp_state(sandbox.link("br0")) == 1

    off = converge_checked(sandbox, {"name": "br0", "stp": False})
    assert off.operations[0]["args"] == {"stp": "off"}
    assert stp_state(sandbox.link("br0")) == 0

    # not given: left as it is
    sandbox.ip("link", "set", "br0", "type", "bridge", "stp_state", "1")
    assert not engine.run(bridge, {"name": "br0"}).changed
    assert stp_state(sandbox.link("br0")) == 1


def test_everything_wrong_at_once(sandbox):
    sandbox.ip("link", "add", "br0", "mtu", "1500", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    params = {"name": "br0", "mtu": 1400, "stp": True, "addresses": ["192.0.2.1/24"]}
    outcome = converge_checked(sandbox, params)
    assert op_names(outcome) == ["link_set", "link_set", "addr_del", "addr_add", "link_set"]
    link = sandbox.link("br0")
    assert (link["mtu"], stp_state(link), is_up(link)) == (1400, 1, True)
    assert sandbox.addresses("br0") == ["192.0.2.1/24"]


# -- same-named link of another kind -----------------------------------------------------


@pytest.mark.parametrize("state", ["present", "absent"])
def test_same_named_veth_is_refused(sandbox, state):
    sandbox.ip("link", "add", "br0", "type", "veth", "peer", "name", "br0p")
    before = sandbox.snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(bridge, {"name": "br0", "addresses": ["192.0.2.1/24"], "state": state},
                       check_mode=check_mode)
        assert info.value.field == "name"
        assert info.value.value == "br0"
        assert "name" in str(info.value) and "br0" in str(info.value)
        assert "veth" in str(info.value)
    assert sandbox.snapshot() == before
    assert kind(sandbox.link("br0")) == "veth"


# -- vlan_filtering: not supported by this kernel -> rollback ---------------------------------


def test_vlan_filtering_on_new_bridge_rolls_back_the_create(sandbox):
    before = sandbox.snapshot()
    with pytest.raises(ApplyError) as info:
        engine.run(bridge, {"name": "br0", "vlan_filtering": True, "addresses": ["192.0.2.1/24"]})
    error = info.value
    assert error.failed.action == "link_set"
    assert "vlan_filtering" in error.failed.args
    assert "delete br0" in error.rolled_back
    assert error.rollback_errors == []
    assert error.not_undone == []
    assert "br0" in str(error)
    assert sandbox.link("br0") is None
    assert sandbox.snapshot() == before


def test_vlan_filtering_on_existing_bridge_restores_it(sandbox):
    sandbox.ip("link", "add", "br0", "mtu", "1500", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    before = sandbox.snapshot()
    with pytest.raises(ApplyError) as info:
        engine.run(bridge, {"name": "br0", "vlan_filtering": True, "mtu": 1400,
                            "addresses": ["198.51.100.1/24"]})
    assert info.value.rollback_errors == []
    link = sandbox.link("br0")
    assert kind(link) == "bridge"
    assert link["mtu"] == 1500
    assert is_up(link)
    assert vlan_filtering(link) == 0
    assert sandbox.addresses("br0") == ["192.0.2.1/24"]
    assert sandbox.snapshot() == before


def test_vlan_filtering_check_mode_predicts_and_changes_nothing(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(bridge, {"name": "br0", "vlan_filtering": True}, check_mode=True)
    assert outcome.changed
    assert {"op": "link_set", "args": {"vlan_filtering": "on"}} in [
        {"op": op["op"], "args": op["args"]} for op in outcome.operations]
    assert sandbox.snapshot() == before


def test_vlan_filtering_false_on_bridge_without_it_is_no_change(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    assert not engine.run(bridge, {"name": "br0", "vlan_filtering": False}).changed


# -- rollback of address changes, failure in the address phase --------------------------------


def test_failed_address_add_restores_old_addresses(sandbox):
    """IPv6 disabled on the bridge: adding its IPv6 address fails after the
    old IPv4 address was removed and the new one added; all is undone."""
    sandbox.ip("link", "add", "br0", "mtu", "1500", "type", "bridge")
    sandbox.ip("link", "set", "br0", "up")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    set_sysctl("ipv6/conf/br0/disable_ipv6", 1)
    before = sandbox.snapshot()
    with pytest.raises(ApplyError) as info:
        engine.run(bridge, {"name": "br0", "mtu": 1400,
                            "addresses": ["198.51.100.1/24", "2001:db8::1/64"]})
    error = info.value
    assert error.failed.action == "addr_add"
    assert str(error.failed.args["address"]) == "2001:db8::1/64"
    assert error.rollback_errors == []
    assert len(error.rolled_back) == 3  # addr_add v4, addr_del old, mtu
    assert sandbox.addresses("br0") == ["192.0.2.1/24"]
    assert sandbox.link("br0")["mtu"] == 1500
    assert sandbox.snapshot() == before


def test_failed_address_on_new_bridge_leaves_no_bridge(sandbox):
    set_sysctl("ipv6/conf/default/disable_ipv6", 1)
    before = sandbox.snapshot()
    with pytest.raises(ApplyError) as info:
        engine.run(bridge, {"name": "br0", "stp": True,
                            "addresses": ["192.0.2.1/24", "2001:db8::1/64"]})
    assert info.value.rollback_errors == []
    assert "delete br0" in info.value.rolled_back
    assert sandbox.link("br0") is None
    assert sandbox.snapshot() == before


# -- named namespace -----------------------------------------------------------------------


def test_bridge_in_named_netns(sandbox):
    engine.run(netns, {"name": "red"})
    params = {"name": "br0", "netns": "red", "addresses": ["192.0.2.1/24"]}
    outcome = converge_checked(sandbox, params)
    assert all(op["netns"] == "red" for op in outcome.operations)
    assert "(netns red)" in outcome.operations[0]["description"]
    link = sandbox.link("br0", netns="red")
    assert kind(link) == "bridge" and is_up(link)
    assert sandbox.addresses("br0", netns="red") == ["192.0.2.1/24"]
    assert sandbox.link("br0") is None

    # a host bridge of the same name is another object
    host = engine.run(bridge, {"name": "br0"})
    assert op_names(host)[0] == "link_add"
    assert kind(sandbox.link("br0")) == "bridge"

    gone = engine.run(bridge, {"name": "br0", "netns": "red", "state": "absent"})
    assert op_names(gone) == ["link_del"]
    assert sandbox.link("br0", netns="red") is None
    assert kind(sandbox.link("br0")) == "bridge"


def test_bridge_in_missing_netns(sandbox):
    before = sandbox.snapshot()
    with pytest.raises(NetplumbError) as info:
        engine.run(bridge, {"name": "br0", "netns": "ghost"})
    assert "ghost" in str(info.value)
    assert sandbox.snapshot() == before

    predicted = engine.run(bridge, {"name": "br0", "netns": "ghost"}, check_mode=True)
    assert predicted.changed
    assert op_names(predicted) == ["link_add", "link_set"]
    assert any("ghost" in w for w in predicted.warnings)
    assert sandbox.snapshot() == before
    assert sandbox.netns_list() == []


# -- absent -------------------------------------------------------------------------------


def test_absent_deletes_and_twice_is_not_changed(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    params = {"name": "br0", "state": "absent"}
    outcome = converge_checked(sandbox, params)
    assert op_names(outcome) == ["link_del"]
    assert outcome.before["state"] == "present"
    assert outcome.after == {"state": "absent"}
    assert sandbox.link("br0") is None
    assert not engine.run(bridge, params).changed


def test_absent_in_missing_netns_is_not_changed(sandbox):
    before = sandbox.snapshot()
    assert not engine.run(bridge, {"name": "br0", "netns": "ghost", "state": "absent"}).changed
    assert sandbox.snapshot() == before


def test_absent_bridge_with_port_releases_the_port(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "add", "h0", "type", "veth", "peer", "name", "c0")
    sandbox.ip("link", "set", "h0", "master", "br0")
    engine.run(bridge, {"name": "br0", "state": "absent"})
    assert sandbox.link("br0") is None
    assert "master" not in sandbox.link("h0")


# -- bad parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({"name": "a" * 16}, "name"),
    ({"name": "br 0"}, "name"),
    ({"name": "lo"}, "name"),
    ({"name": "br0\n"}, "name"),
    ({"name": None}, "name"),
    ({"name": "br0", "mtu": 20}, "mtu"),
    ({"name": "br0", "mtu": "big"}, "mtu"),
    ({"name": "br0", "addresses": "192.0.2.1/24"}, "addresses"),
    ({"name": "br0", "addresses": ["192.0.2.1"]}, "addresses[0]"),
    ({"name": "br0", "addresses": ["192.0.2.1/24", "192.0.2.1/25"]}, "addresses"),
    ({"name": "br0", "stp": "yes"}, "stp"),
    ({"name": "br0", "vlan_filtering": 1}, "vlan_filtering"),
    ({"name": "br0", "netns": "../etc"}, "netns"),
    ({"name": "br0", "state": "gone"}, "state"),
])
def test_bad_params_fail_before_any_change(sandbox, params, field):
    before = sandbox.snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(bridge, params, check_mode=check_mode)
        assert info.value.field == field
        assert field in str(info.value)
    assert sandbox.snapshot() == before


@pytest.mark.parametrize("where", [None, "red"])
def test_a_bridge_keeps_its_address_as_ports_come_and_go(sandbox, where):
    """Left to the kernel, a bridge takes the lowest MAC address of its ports
    and changes it as they come and go; one the collection makes keeps its own."""
    if where:
        engine.run(netns, {"name": where})
    engine.run(bridge, {"name": "br0", "netns": where, "mtu": 1400})
    made = sandbox.link("br0", netns=where)["address"]
    assert int(made.split(":")[0], 16) & 0x03 == 0x02  # locally administered, unicast
    sandbox.ip("link", "add", "p0", "address", "00:00:00:00:00:01", "type", "veth", "peer", "name", "p1", netns=where)
    sandbox.ip("link", "set", "p0", "master", "br0", "up", netns=where)
    assert sandbox.link("br0", netns=where)["address"] == made
    sandbox.ip("link", "del", "p0", netns=where)
    assert sandbox.link("br0", netns=where)["address"] == made
    assert sandbox.link("br0", netns=where)["mtu"] == 1400
