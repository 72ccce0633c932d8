"""The uplink as pure logic (net_facts' uplink option): which interface it is,
from a name or the default routes, and when it must fail or warn; and the
interface names of NAT rules (wildcards, the warnings of nat_rule, what a
teardown reads back from the rules)."""

import ipaddress

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.nat import iptables as nat_iptables
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nft as nat_nft
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.nat import spec as nat_spec
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Route
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.facts.uplink import (
    DefaultRoute, UplinkSpec, choose, default_routes, leaving, parse)

IFACES = ["eth0", "eth1", "lo", "v-net-0"]
VAR = "bridge_network_uplink"


def route(family, dev, metric=0, gateway=None):
    return DefaultRoute(family, dev, gateway, metric)


def defaults(v4=(), v6=()):
    return {4: list(v4), 6: list(v6)}


def spec(name=None, families=(4,), teardown=False):
    return UplinkSpec(name, tuple(families), teardown, VAR)


def pick(routes, name=None, families=(4,), teardown=False, owned=(), check_mode=False):
    return choose(spec(name, families, teardown), routes, IFACES, owned, check_mode=check_mode)


# -- parse ---------------------------------------------------------------------------------


def test_parse_defaults_and_families():
    assert parse({"uplink": {}}) == UplinkSpec(None, (4,), False, "uplink.name")
    parsed = parse({"uplink": {"name": "eth0", "families": ["ipv6", "ipv4"], "teardown": True, "variable": VAR}})
    assert parsed == UplinkSpec("eth0", (4, 6), True, VAR)


@pytest.mark.parametrize("raw, field", [
    ({"name": "eth 0", "variable": VAR}, VAR),
    ({"name": "lo"}, "uplink.name"),
    ({"name": "a" * 16}, "uplink.name"),
    ({"families": ["ipv5"]}, "uplink.families"),
    ({"families": "ipv4"}, "uplink.families"),
    ({"teardown": "maybe"}, "uplink.teardown"),
    ({"variable": "two words"}, "uplink.variable"),
])
def test_parse_rejects_bad_input_naming_the_field(raw, field):
    with pytest.raises(ParamError) as caught:
        parse({"uplink": raw})
    assert caught.value.field == field


# -- the default routes -----------------------------------------------------------------------


def test_default_routes_of_the_main_table():
    def msg(dst, metric, gateway, dev, kind="unicast"):
        return Route(None, ipaddress.ip_network(dst), 254, metric,
                     ipaddress.ip_address(gateway) if gateway else None, dev, type=kind)
    records = [
        msg("0.0.0.0/0", 100, "192.0.2.1", "eth1"),
        msg("0.0.0.0/0", 0, "203.0.113.1", "eth0"),
        msg("192.0.2.0/24", 0, None, "eth1"),
        msg("0.0.0.0/0", 50, None, None, kind="unreachable"),  # not a way out
        msg("::/0", 1024, "fe80::1", "eth0"),
        msg("::/0", 1024, None, None),  # several next hops: no RTA_OIF
    ]
    found = default_routes(records)
    assert found[4] == [route(4, "eth0", 0, "203.0.113.1"), route(4, "eth1", 100, "192.0.2.1")]
    assert found[6] == [route(6, "eth0", 1024, "fe80::1"), route(6, None, 1024)]
    assert leaving(found[4]) == ("eth0",)  # the lowest metric is the kernel's choice
    assert leaving(found[6]) == ("eth0", None)
    assert leaving([]) == ()


# -- present: a name, or the default route ------------------------------------------------------


def test_the_default_route_device_is_the_uplink():
    facts, warnings = pick(defaults([route(4, "eth1", 100), route(4, "eth0", 0, "192.0.2.1")]))
    assert (facts["name"], facts["found_by"], facts["names"], warnings) == ("eth0", "default route", ["eth0"], [])
    assert facts["interfaces"] == IFACES
    assert facts["default_routes"]["ipv4"][0] == {"dev": "eth1", "gateway": None, "metric": 100}


def test_dual_stack_routes_through_one_device():
    facts, warnings = pick(defaults([route(4, "eth0")], [route(6, "eth0", 1024)]), families=(4, 6))
    assert facts["name"] == "eth0" and warnings == []


def test_dual_stack_routes_through_different_devices_fail_saying_which():
    with pytest.raises(ParamError) as caught:
        pick(defaults([route(4, "eth0")], [route(6, "eth1", 1024)]), families=(4, 6))
    assert caught.value.field == VAR
    assert "IPv4 through eth0 and IPv6 through eth1" in str(caught.value), caught.value
    assert str(caught.value).startswith("bridge_network_uplink: '' is not set")


def test_a_family_without_default_route_warns_and_the_other_decides():
    facts, warnings = pick(defaults(v6=[route(6, "eth1", 1024)]), families=(4, 6))
    assert facts["name"] == "eth1"
    assert warnings == ["bridge_network_uplink: this node has no IPv4 default route; the uplink is eth1, "
                        "the device of its IPv6 one"]
    # IPv4 only: the IPv6 route does not count.
    with pytest.raises(ParamError, match="no IPv4 default route"):
        pick(defaults(v6=[route(6, "eth1", 1024)]))


def test_no_default_route_fails_naming_the_variable():
    with pytest.raises(ParamError) as caught:
        pick(defaults(), families=(4, 6))
    assert caught.value.field == VAR
    assert "no IPv4 or IPv6 default route" in str(caught.value)


@pytest.mark.parametrize("routes, said", [
    ([route(4, "eth0"), route(4, "eth1")], "several devices (eth0 and eth1) at the same metric"),
    ([route(4, None)], "a route with several next hops"),
])
def test_one_family_through_several_devices_fails(routes, said):
    with pytest.raises(ParamError, match=r"IPv4 default route leaves through %s" % said.replace("(", r"\(")
                       .replace(")", r"\)")):
        pick(defaults(routes))


def test_a_named_uplink_wins_over_the_routes():
    facts, warnings = pick(defaults([route(4, "eth0")], [route(6, "eth1")]), name="eth1", families=(4, 6))
    assert (facts["name"], facts["found_by"], facts["names"], warnings) == ("eth1", "named", ["eth1"], [])


def test_a_named_uplink_that_is_missing_fails_listing_the_interfaces():
    with pytest.raises(ParamError) as caught:
        pick(defaults([route(4, "eth0")]), name="eth9")
    assert caught.value.field == VAR
    assert str(caught.value) == ("bridge_network_uplink: 'eth9' is not an interface of this node, which has "
                                 "the interfaces eth0, eth1, lo, v-net-0")


def test_a_long_interface_list_is_cut():
    many = ["veth%03d" % i for i in range(40)]
    with pytest.raises(ParamError, match=r"veth029 and 10 more$"):
        choose(spec("eth9"), defaults(), many)


def test_check_mode_only_warns_about_a_missing_named_uplink():
    facts, warnings = pick(defaults(), name="eth9", check_mode=True)
    assert facts["name"] == "eth9"
    assert warnings == ["bridge_network_uplink: 'eth9' is not an interface of this node yet; check mode assumes "
                        "an earlier task creates it"]


# -- teardown -------------------------------------------------------------------------------


def test_teardown_with_a_name_needs_no_interface():
    facts, warnings = pick(defaults(), name="gone0", teardown=True)
    assert (facts["name"], facts["names"], warnings) == ("gone0", ["gone0"], [])


def test_teardown_without_route_takes_the_names_the_rules_carry():
    facts, _warnings = pick(defaults(), families=(4, 6), teardown=True, owned=["old0", "eth+"])
    assert (facts["name"], facts["found_by"], facts["names"]) == ("old0", "nat rules", ["eth+", "old0"])


def test_teardown_adds_every_default_route_device_and_never_fails():
    routes = defaults([route(4, "eth0")], [route(6, "eth1")])
    facts, _warnings = pick(routes, families=(4, 6), teardown=True, owned=["old0"])
    assert (facts["name"], facts["found_by"], facts["names"]) == ("eth0", "default route", ["eth0", "eth1", "old0"])
    facts, _warnings = pick(defaults(), teardown=True)
    assert (facts["name"], facts["found_by"], facts["names"]) == (None, "none", [])


# -- interface names in NAT rules ------------------------------------------------------------------


MASQ = {"kind": "masquerade", "source": "198.51.100.0/24"}
DNAT = {"kind": "dnat", "protocol": "tcp", "dport": "80", "to": "198.51.100.11"}


def rule(base, **params):
    return nat_spec.parse(dict(base, **params)).rule


def test_a_wildcard_is_the_same_match_in_both_backends():
    wild = rule(MASQ, out_interface="eth+")
    assert nat_nft.ifname("eth+") == "eth*" and nat_nft.ifname("eth0") == "eth0"
    assert {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth*"}} \
        in nat_nft.natives(wild)[0]["expr"]
    assert 'oifname "eth*"' in nat_nft.render(wild)[0]
    assert "-o eth+" in nat_iptables.render(wild)[0]


@pytest.mark.parametrize("params", [dict(MASQ, out_interface="eth+"), dict(DNAT, in_interface="uplink0"),
                                    dict(MASQ, out_interface="uplink0")])
def test_the_interfaces_a_rule_matches_read_back_as_written(params):
    parsed = rule(params)
    wanted = {parsed.in_interface or parsed.out_interface}
    assert nat_nft.interfaces(nat_nft.natives(parsed)[0]) == wanted
    assert nat_iptables.interfaces(nat_iptables.natives(parsed)[0]) == wanted
    assert nat_nft.interfaces(nat_nft.natives(rule(MASQ))[0]) == set()


def test_missing_interfaces_warn_existing_ones_and_matching_wildcards_do_not():
    names = ["lo", "uplink0", "veth-c1"]
    assert nat_rule.interface_warnings(rule(MASQ, out_interface="uplink0"), names) == []
    assert nat_rule.interface_warnings(rule(MASQ, out_interface="veth+"), names) == []
    assert nat_rule.interface_warnings(rule(MASQ, out_interface="+"), names) == []
    assert nat_rule.interface_warnings(rule(MASQ), names) == []
    assert nat_rule.interface_warnings(rule(DNAT, in_interface="uplink9"), names, "red") == [
        "in_interface: 'uplink9' is not an interface of network namespace 'red' (yet); the rule does nothing "
        "until it exists"]
    assert nat_rule.interface_warnings(rule(MASQ, out_interface="wg+"), names) == [
        "out_interface: 'wg+' matches no interface of the node yet (a wildcard: every name starting with 'wg'); "
        "the rule does nothing until one exists"]


def test_interfaces_cannot_be_negated():
    with pytest.raises(ParamError) as caught:
        rule(MASQ, out_interface="!eth0")
    assert caught.value.field == "out_interface"
