"""engine.run(route, ...) on the real kernel, without Ansible.

Every test runs in its own sandbox (fresh network + mount namespace). Wrong
states are prepared with ``ip``; after every engine call the kernel's own view
(``ip -j route show``) is checked, not only what the engine reports.
"""
import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.link import route
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, ParamError
import netplumb_testlib as testlib

OP_KEYS = {"op", "netns", "target", "args", "description"}


# -- helpers -------------------------------------------------------------------------


def uplink(sandbox, name="v0", netns=None, v4="192.0.2.2/24", v6="2001:db8::2/64"):
    """A veth pair ``name``/``name``p, both up, ``name`` addressed: the on-link
    subnets 192.0.2.0/24 and 2001:db8::/64 make 192.0.2.1 / 2001:db8::1
    valid gateways."""
    sandbox.ip("link", "add", name, "type", "veth", "peer", "name", name + "p", netns=netns)
    sandbox.ip("link", "set", name, "up", netns=netns)
    sandbox.ip("link", "set", name + "p", "up", netns=netns)
    if v4:
        sandbox.ip("addr", "add", v4, "dev", name, netns=netns)
    if v6:
        sandbox.ip("-6", "addr", "add", v6, "dev", name, "nodad", netns=netns)


def kroutes(sandbox, dst, family=4, netns=None):
    """The kernel's routes to ``dst`` (as ``ip`` prints it) in every table."""
    data = sandbox.ipj("-%d" % family, "route", "show", "table", "all", netns=netns)
    return [r for r in data if r["dst"] == dst]


def table_of(kroute):
    return kroute.get("table", "main")


def metric_of(kroute):
    return kroute.get("metric", 0)


def assert_ops_shape(outcome):
    for op in outcome.operations:
        assert set(op) == OP_KEYS, op
        assert isinstance(op["description"], str) and op["description"]


def op_names(outcome):
    return [op["op"] for op in outcome.operations]


def converge_checked(sandbox, params):
    return testlib.converge_checked(sandbox, route, params, compare_after=False)


# -- add ------------------------------------------------------------------------------


def test_add_route_via_gateway(sandbox):
    uplink(sandbox)
    params = {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"}
    outcome = engine.run(route, params)
    assert outcome.changed
    assert op_names(outcome) == ["route_add"]
    assert_ops_shape(outcome)
    assert outcome.operations[0]["netns"] is None
    assert "198.51.100.0/24" in outcome.operations[0]["description"]
    assert outcome.before == {"state": "absent"}
    assert outcome.after["state"] == "present"
    found = kroutes(sandbox, "198.51.100.0/24")
    assert len(found) == 1
    assert found[0]["gateway"] == "192.0.2.1"
    assert found[0]["dev"] == "v0"
    assert table_of(found[0]) == "main"
    assert metric_of(found[0]) == 0

    again = engine.run(route, params)
    assert not again.changed
    assert again.operations == []
    assert len(kroutes(sandbox, "198.51.100.0/24")) == 1


def test_add_route_via_dev_only(sandbox):
    uplink(sandbox)
    converge_checked(sandbox, {"dst": "203.0.113.0/24", "dev": "v0"})
    found = kroutes(sandbox, "203.0.113.0/24")
    assert len(found) == 1
    assert found[0]["dev"] == "v0"
    assert "gateway" not in found[0]


def test_add_route_with_gateway_and_dev(sandbox):
    uplink(sandbox)
    converge_checked(sandbox, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "dev": "v0"})
    found = kroutes(sandbox, "198.51.100.0/24")
    assert [(r["gateway"], r["dev"]) for r in found] == [("192.0.2.1", "v0")]


def test_ipv4_default_route(sandbox):
    uplink(sandbox)
    outcome = converge_checked(sandbox, {"dst": "default", "gateway": "192.0.2.1"})
    assert outcome.after["dst"] == "default"
    assert outcome.after["family"] == "ipv4"
    assert outcome.after["metric"] == 0
    found = kroutes(sandbox, "default")
    assert len(found) == 1
    assert found[0]["gateway"] == "192.0.2.1"
    assert kroutes(sandbox, "default", family=6) == []
    # 0.0.0.0/0 is the same route
    assert not engine.run(route, {"dst": "0.0.0.0/0", "gateway": "192.0.2.1"}).changed


def test_ipv6_default_route_is_zero_prefix_with_metric_1024(sandbox):
    uplink(sandbox)
    outcome = converge_checked(sandbox, {"dst": "default", "gateway": "2001:db8::1"})
    assert outcome.after["dst"] == "default"
    assert outcome.after["family"] == "ipv6"
    assert outcome.after["metric"] == 1024
    assert outcome.operations[0]["target"].startswith("default via 2001:db8::1")
    found = kroutes(sandbox, "default", family=6)
    assert len(found) == 1
    assert found[0]["gateway"] == "2001:db8::1"
    assert found[0]["metric"] == 1024
    assert kroutes(sandbox, "default", family=4) == []
    # ::/0 and the explicit kernel default metric name the same route
    assert not engine.run(route, {"dst": "::/0", "gateway": "2001:db8::1"}).changed
    assert not engine.run(route, {"dst": "::/0", "gateway": "2001:db8::1", "metric": 1024}).changed
    assert len(kroutes(sandbox, "default", family=6)) == 1


def test_ipv6_route_absent_by_zero_prefix(sandbox):
    uplink(sandbox)
    sandbox.ip("-6", "route", "add", "default", "via", "2001:db8::1")
    outcome = engine.run(route, {"dst": "::/0", "state": "absent"})
    assert op_names(outcome) == ["route_del"]
    assert kroutes(sandbox, "default", family=6) == []
    assert not engine.run(route, {"dst": "::/0", "state": "absent"}).changed


def test_ipv6_explicit_metric_zero_is_idempotent(sandbox):
    """For IPv6 the kernel stores metric 0 as 1024 (``ip -6 route add ...
    metric 0`` shows metric 1024). A second identical run must not fail."""
    uplink(sandbox)
    params = {"dst": "2001:db8:5::/64", "gateway": "2001:db8::1", "metric": 0}
    engine.run(route, params)
    assert len(kroutes(sandbox, "2001:db8:5::/64", family=6)) == 1
    again = engine.run(route, params)
    assert not again.changed, again.operations
    assert len(kroutes(sandbox, "2001:db8:5::/64", family=6)) == 1


# -- converge from wrong states --------------------------------------------------------


def test_gateway_change_is_a_replace(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1")
    params = {"dst": "198.51.100.0/24", "gateway": "192.0.2.254"}
    outcome = converge_checked(sandbox, params)
    assert op_names(outcome) == ["route_replace"]
    assert outcome.before["gateway"] == "192.0.2.1"
    assert outcome.after["gateway"] == "192.0.2.254"
    found = kroutes(sandbox, "198.51.100.0/24")
    assert len(found) == 1, found
    assert found[0]["gateway"] == "192.0.2.254"
    assert metric_of(found[0]) == 0 and table_of(found[0]) == "main"


def test_ipv6_gateway_change_is_a_replace(sandbox):
    uplink(sandbox)
    sandbox.ip("-6", "route", "add", "2001:db8:7::/64", "via", "2001:db8::1")
    outcome = converge_checked(sandbox, {"dst": "2001:db8:7::/64", "gateway": "2001:db8::3"})
    assert op_names(outcome) == ["route_replace"]
    found = kroutes(sandbox, "2001:db8:7::/64", family=6)
    assert [(r["gateway"], r["metric"]) for r in found] == [("2001:db8::3", 1024)]


def test_dev_change_is_a_replace(sandbox):
    uplink(sandbox, "v0", v4="192.0.2.2/24", v6=None)
    uplink(sandbox, "v1", v4="203.0.113.2/24", v6=None)
    sandbox.ip("route", "add", "198.51.100.0/24", "dev", "v0")
    outcome = converge_checked(sandbox, {"dst": "198.51.100.0/24", "dev": "v1"})
    assert op_names(outcome) == ["route_replace"]
    found = kroutes(sandbox, "198.51.100.0/24")
    assert [r["dev"] for r in found] == ["v1"]


def test_dev_route_becomes_gateway_route(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "dev", "v0")
    converge_checked(sandbox, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"})
    found = kroutes(sandbox, "198.51.100.0/24")
    assert [(r.get("gateway"), r["dev"]) for r in found] == [("192.0.2.1", "v0")]


def test_metric_is_part_of_identity(sandbox):
    uplink(sandbox)
    first = {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "metric": 100}
    second = {"dst": "198.51.100.0/24", "gateway": "192.0.2.254", "metric": 200}
    converge_checked(sandbox, first)
    outcome = converge_checked(sandbox, second)
    assert op_names(outcome) == ["route_add"]
    found = sorted((metric_of(r), r["gateway"]) for r in kroutes(sandbox, "198.51.100.0/24"))
    assert found == [(100, "192.0.2.1"), (200, "192.0.2.254")]
    # the first is still converged, and removing one keeps the other
    assert not engine.run(route, first).changed
    gone = engine.run(route, {"dst": "198.51.100.0/24", "metric": 100, "state": "absent"})
    assert op_names(gone) == ["route_del"]
    found = [(metric_of(r), r["gateway"]) for r in kroutes(sandbox, "198.51.100.0/24")]
    assert found == [(200, "192.0.2.254")]


def test_route_with_other_metric_is_left_alone(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1", "metric", "50")
    outcome = converge_checked(sandbox, {"dst": "198.51.100.0/24", "gateway": "192.0.2.254"})
    assert op_names(outcome) == ["route_add"]
    found = sorted((metric_of(r), r["gateway"]) for r in kroutes(sandbox, "198.51.100.0/24"))
    assert found == [(0, "192.0.2.254"), (50, "192.0.2.1")]


def test_table_by_number(sandbox):
    uplink(sandbox)
    outcome = converge_checked(sandbox, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "table": 100})
    assert outcome.after["table"] == 100
    found = kroutes(sandbox, "198.51.100.0/24")
    assert [table_of(r) for r in found] == ["100"]
    assert sandbox.ipj("route", "show", "table", "main", "198.51.100.0/24") == []
    # a numeric string is the same table
    assert not engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "table": "100"}).changed


def test_table_by_name(sandbox):
    uplink(sandbox)
    by_name = {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "table": "main"}
    outcome = converge_checked(sandbox, by_name)
    assert outcome.after["table"] == 254
    assert [table_of(r) for r in kroutes(sandbox, "198.51.100.0/24")] == ["main"]
    assert not engine.run(route, dict(by_name, table=254)).changed
    assert not engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"}).changed

    converge_checked(sandbox, {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "table": "default"})
    assert [table_of(r) for r in kroutes(sandbox, "203.0.113.0/24")] == ["default"]


def test_same_route_in_another_table_is_not_ours(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1", "table", "100")
    outcome = converge_checked(sandbox, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"})
    assert op_names(outcome) == ["route_add"]
    assert sorted(table_of(r) for r in kroutes(sandbox, "198.51.100.0/24")) == ["100", "main"]
    engine.run(route, {"dst": "198.51.100.0/24", "state": "absent"})
    assert [table_of(r) for r in kroutes(sandbox, "198.51.100.0/24")] == ["100"]


def test_route_made_by_ip_is_recognised(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1")
    before = sandbox.settled_snapshot()  # the veth's carrier brings the IPv6 prefix route
    outcome = engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"})
    assert not outcome.changed
    assert outcome.operations == []
    assert sandbox.snapshot() == before


# -- absent -----------------------------------------------------------------------


def test_absent_deletes_and_twice_is_not_changed(sandbox):
    uplink(sandbox)
    engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1"})
    params = {"dst": "198.51.100.0/24", "state": "absent"}
    outcome = converge_checked(sandbox, params)
    assert op_names(outcome) == ["route_del"]
    assert outcome.after == {"state": "absent"}
    assert kroutes(sandbox, "198.51.100.0/24") == []
    assert not engine.run(route, params).changed


def test_absent_ignores_gateway_for_identity(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1")
    engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.77", "state": "absent"})
    assert kroutes(sandbox, "198.51.100.0/24") == []


def test_absent_in_named_table_only(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1")
    sandbox.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1", "table", "100")
    engine.run(route, {"dst": "198.51.100.0/24", "table": 100, "state": "absent"})
    assert [table_of(r) for r in kroutes(sandbox, "198.51.100.0/24")] == ["main"]


def test_absent_when_nothing_is_there(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(route, {"dst": "198.51.100.0/24", "state": "absent"})
    assert not outcome.changed
    assert outcome.operations == []
    assert sandbox.snapshot() == before


def test_absent_in_missing_netns_is_not_changed(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(route, {"dst": "198.51.100.0/24", "netns": "ghost", "state": "absent"})
    assert not outcome.changed
    assert sandbox.snapshot() == before
    assert sandbox.netns_list() == []


# -- named namespace ----------------------------------------------------------------


def test_route_in_named_netns(sandbox):
    engine.run(netns, {"name": "red"})
    uplink(sandbox, "c0", netns="red")
    params = {"dst": "default", "gateway": "192.0.2.1", "netns": "red"}
    outcome = converge_checked(sandbox, params)
    assert outcome.operations[0]["netns"] == "red"
    assert "(netns red)" in outcome.operations[0]["description"]
    found = kroutes(sandbox, "default", netns="red")
    assert [(r["gateway"], r["dev"]) for r in found] == [("192.0.2.1", "c0")]
    assert kroutes(sandbox, "default") == []

    # the same dst in the host is a different route
    uplink(sandbox, "v0", v6=None)
    host = engine.run(route, {"dst": "default", "gateway": "192.0.2.1"})
    assert op_names(host) == ["route_add"]
    assert host.operations[0]["netns"] is None
    assert [r["dev"] for r in kroutes(sandbox, "default")] == ["v0"]

    moved = engine.run(route, {"dst": "default", "netns": "red", "gateway": "192.0.2.254"})
    assert op_names(moved) == ["route_replace"]
    assert [r["gateway"] for r in kroutes(sandbox, "default", netns="red")] == ["192.0.2.254"]
    assert [r["gateway"] for r in kroutes(sandbox, "default")] == ["192.0.2.1"]

    gone = engine.run(route, {"dst": "default", "netns": "red", "state": "absent"})
    assert op_names(gone) == ["route_del"]
    assert kroutes(sandbox, "default", netns="red") == []
    assert [r["gateway"] for r in kroutes(sandbox, "default")] == ["192.0.2.1"]


def test_route_in_missing_netns_fails_and_creates_nothing(sandbox):
    before = sandbox.snapshot()
    with pytest.raises(NetplumbError) as info:
        engine.run(route, {"dst": "default", "gateway": "192.0.2.1", "netns": "ghost"})
    assert "ghost" in str(info.value)
    assert sandbox.snapshot() == before
    assert sandbox.netns_list() == []


def test_route_in_missing_netns_check_mode_warns(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(route, {"dst": "default", "gateway": "192.0.2.1", "netns": "ghost"},
                         check_mode=True)
    assert outcome.changed
    assert op_names(outcome) == ["route_add"]
    assert any("ghost" in w for w in outcome.warnings)
    assert sandbox.snapshot() == before


# -- errors -------------------------------------------------------------------------


def test_missing_dev_is_param_error(sandbox):
    uplink(sandbox)
    before = sandbox.settled_snapshot()  # the veth's carrier brings the IPv6 prefix route
    with pytest.raises(ParamError) as info:
        engine.run(route, {"dst": "198.51.100.0/24", "dev": "nosuch0"})
    assert info.value.field == "dev"
    assert info.value.value == "nosuch0"
    assert "dev" in str(info.value) and "nosuch0" in str(info.value)
    assert sandbox.snapshot() == before


def test_missing_dev_in_check_mode_warns_and_changes_nothing(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(route, {"dst": "198.51.100.0/24", "dev": "nosuch0"}, check_mode=True)
    assert outcome.changed
    assert any("nosuch0" in w for w in outcome.warnings)
    assert sandbox.snapshot() == before


@pytest.mark.parametrize("params, field", [
    ({"dst": "198.51.100.1/24", "gateway": "192.0.2.1"}, "dst"),
    ({"dst": "198.51.100.0", "gateway": "192.0.2.1"}, "dst"),
    ({"dst": "nowhere", "gateway": "192.0.2.1"}, "dst"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.x"}, "gateway"),
    ({"dst": "198.51.100.0/24", "gateway": "2001:db8::1"}, "gateway"),
    ({"dst": "198.51.100.0/24"}, "gateway"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "metric": -1}, "metric"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "metric": "low"}, "metric"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "table": "custom"}, "table"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "table": 0}, "table"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "netns": "a/b"}, "netns"),
    ({"dst": "198.51.100.0/24", "dev": "a" * 16}, "dev"),
    ({"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "state": "gone"}, "state"),
])
def test_bad_params_fail_before_any_change(sandbox, params, field):
    uplink(sandbox)
    before = sandbox.settled_snapshot()  # the veth's carrier brings the IPv6 prefix route
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(route, params, check_mode=check_mode)
        assert info.value.field == field
        assert field in str(info.value)
    assert sandbox.snapshot() == before


def test_unreachable_gateway_fails_and_changes_nothing(sandbox):
    """A gateway on no connected network: the kernel would answer "Network is
    unreachable"; the planner says so first, naming the gateway, and check
    mode warns (an earlier task may still connect it) instead of predicting a
    change the real run cannot make."""
    uplink(sandbox)
    before = sandbox.settled_snapshot()  # the veth's carrier brings the IPv6 prefix route
    want = {"dst": "198.51.100.0/24", "gateway": "203.0.113.1"}
    checked = engine.run(route, want, check_mode=True)
    assert any("203.0.113.1" in w and "Network is unreachable" in w for w in checked.warnings), checked.warnings
    with pytest.raises(ParamError) as info:
        engine.run(route, want)
    assert info.value.field == "gateway" and "no network connected" in str(info.value)
    with pytest.raises(ParamError) as info:
        engine.run(route, dict(want, gateway="192.0.2.1", dev="lo"))  # connected, but not through lo
    assert "through lo" in str(info.value)
    assert sandbox.snapshot() == before


# -- check mode ---------------------------------------------------------------------


def test_check_mode_predicts_add_replace_delete(sandbox):
    """Each step: check mode predicts, changes nothing, the real run applies
    exactly the prediction, the next run is a no-op."""
    uplink(sandbox)
    steps = [
        {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "metric": 10},
        {"dst": "198.51.100.0/24", "gateway": "192.0.2.9", "metric": 10},
        {"dst": "198.51.100.0/24", "dev": "v0", "metric": 10},
        {"dst": "default", "gateway": "2001:db8::1"},
        {"dst": "default", "gateway": "2001:db8::5"},
        {"dst": "198.51.100.0/24", "metric": 10, "state": "absent"},
        {"dst": "::/0", "state": "absent"},
    ]
    expected = ["route_add", "route_replace", "route_replace", "route_add", "route_replace",
                "route_del", "route_del"]
    for params, op in zip(steps, expected):
        outcome = converge_checked(sandbox, params)
        assert op_names(outcome) == [op], (params, outcome.operations)
    assert kroutes(sandbox, "198.51.100.0/24") == []
    assert kroutes(sandbox, "default", family=6) == []


def test_check_mode_on_clean_host_is_not_an_error(sandbox):
    """In check mode a dev made by an earlier task may not exist yet."""
    before = sandbox.snapshot()
    outcome = engine.run(route, {"dst": "198.51.100.0/24", "gateway": "192.0.2.1", "dev": "later0"},
                         check_mode=True)
    assert outcome.changed
    assert sandbox.snapshot() == before
