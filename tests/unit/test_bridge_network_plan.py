"""What the bridge_network role derives from its variables (plugins/plugin_utils/bridge_network_plan.py):
the items its tasks loop over, as data. No Ansible run, no root."""

import pytest

from ansible_collections.netplumb.linux.plugins.plugin_utils import bridge_network_plan as planner

UPLINK = {"name": "eth0", "names": ["eth0"]}


def settings(**overrides):
    base = {"cidr": "198.51.100.0/26", "cidr6": "", "gateway": "", "gateway6": "", "cluster_cidr": "",
            "cluster_cidr6": "", "containers": [], "port_forwards": []}
    base.update(overrides)
    return base


def test_gateway_prefix_and_bridge_addresses_of_an_ipv4_node():
    plan = planner.plan(settings(), uplink=UPLINK)
    assert (plan["gateway"], plan["gateway6"], plan["prefixlen"], plan["prefixlen6"]) == ("198.51.100.1", "", 26, None)
    assert plan["bridge_addresses"] == ["198.51.100.1/26"]
    assert plan["subnets"] == ["198.51.100.0/26"]


def test_a_given_gateway_and_the_ipv6_subnet_on_a_dual_stack_node():
    plan = planner.plan(settings(gateway="198.51.100.62", cidr6="2001:db8:1::/64"), uplink=UPLINK)
    assert plan["bridge_addresses"] == ["198.51.100.62/26", "2001:db8:1::1/64"]
    assert (plan["gateway6"], plan["prefixlen6"]) == ("2001:db8:1::1", 64)
    assert plan["subnets"] == ["198.51.100.0/26", "2001:db8:1::/64"]
    given = planner.plan(settings(cidr6="2001:db8:1::/64", gateway6="2001:db8:1::fe"), uplink=UPLINK)
    assert given["bridge_addresses"][1] == "2001:db8:1::fe/64"


def test_a_network_without_a_first_host_is_refused():
    with pytest.raises(planner.PlanError, match="has no address number 1"):
        planner.plan(settings(cidr="198.51.100.7/32"), uplink=UPLINK)
    with pytest.raises(planner.PlanError, match="bridge_network_cidr6: 'nope'"):
        planner.plan(settings(cidr6="nope"), uplink=UPLINK)


def test_containers_get_the_subnets_prefixes_address6_only_on_a_dual_stack_node_and_an_int_mtu():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11", "mtu": "1400"},
                  {"name": "c2", "address": "198.51.100.12", "mtu": None},
                  {"name": "c3", "address": "198.51.100.13", "address6": ""}]
    dual = planner.plan(settings(cidr6="2001:db8:1::/64", containers=containers), uplink=UPLINK)
    assert dual["containers"] == [
        {"name": "c1", "address": "198.51.100.11/26", "address6": "2001:db8:1::11/64", "mtu": 1400},
        {"name": "c2", "address": "198.51.100.12/26"},
        {"name": "c3", "address": "198.51.100.13/26"}]
    ipv4 = planner.plan(settings(containers=containers), uplink=UPLINK)
    assert ipv4["containers"][0] == {"name": "c1", "address": "198.51.100.11/26", "mtu": 1400}


def test_masquerade_per_subnet_not_toward_the_cluster_and_the_plain_ones_it_replaces():
    plan = planner.plan(settings(cidr6="2001:db8:1::/64", cluster_cidr="198.51.100.0/24"), uplink=UPLINK)
    assert plan["masquerades"] == [{"source": "198.51.100.0/26", "not_to": "198.51.100.0/24"},
                                   {"source": "2001:db8:1::/64", "not_to": ""}]
    assert plan["masquerades_replaced"] == [{"source": "198.51.100.0/26", "not_to": "198.51.100.0/24"}]
    assert planner.plan(settings(), uplink=UPLINK)["masquerades_replaced"] == []


def test_forward_matches_from_each_subnet_then_to_each():
    plan = planner.plan(settings(cidr6="2001:db8:1::/64"), uplink=UPLINK)
    assert plan["forward_matches"] == [{"source": "198.51.100.0/26"}, {"source": "2001:db8:1::/64"},
                                       {"destination": "198.51.100.0/26"}, {"destination": "2001:db8:1::/64"}]


def test_port_forwards_take_the_port_as_target_port_when_the_target_has_none():
    forwards = [{"port": 80, "to": "198.51.100.11:8080"}, {"port": 53, "to": "198.51.100.12", "protocol": "udp"}]
    plan = planner.plan(settings(port_forwards=forwards), uplink=UPLINK)
    assert plan["port_forwards"] == [
        {"port": "80", "protocol": "tcp", "to": "198.51.100.11:8080", "family": "ipv4"},
        {"port": "53", "protocol": "udp", "to": "198.51.100.12:53", "family": "ipv4"}]


def test_the_ipv6_twin_goes_to_the_target_containers_address6_or_its_own_to6():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11"},
                  {"name": "c2", "address": "198.51.100.12"},
                  {"name": "c3", "address": "198.51.100.13", "address6": "2001:db8:1::13"}]
    forwards = [{"port": 80, "to": "198.51.100.11:8080"},                               # twin to c1's address6
                {"port": 81, "to": "198.51.100.12"},                                    # c2 has none: no twin
                {"port": 82, "to": "198.51.100.13", "to6": "2001:db8:1::99"},           # to6 wins
                {"port": 83, "to": "198.51.100.13:443", "to6": "[2001:db8:1::98]:9443"},  # bracketed: as written
                {"port": 84, "to": "198.51.100.13", "to6": ""},                         # to6 empty: no twin
                {"port": 85, "to": "198.51.100.99"}]                                    # no container: no twin
    plan = planner.plan(settings(cidr6="2001:db8:1::/64", containers=containers, port_forwards=forwards),
                        uplink=UPLINK)
    assert [(r["port"], r["family"], r["to"]) for r in plan["port_forwards"]] == [
        ("80", "ipv4", "198.51.100.11:8080"), ("80", "ipv6", "[2001:db8:1::11]:8080"),
        ("81", "ipv4", "198.51.100.12:81"),
        ("82", "ipv4", "198.51.100.13:82"), ("82", "ipv6", "[2001:db8:1::99]:82"),
        ("83", "ipv4", "198.51.100.13:443"), ("83", "ipv6", "[2001:db8:1::98]:9443"),
        ("84", "ipv4", "198.51.100.13:84"),
        ("85", "ipv4", "198.51.100.99:85")]
    # An IPv4-only node has no twins at all.
    ipv4 = planner.plan(settings(containers=containers, port_forwards=forwards), uplink=UPLINK)
    assert {r["family"] for r in ipv4["port_forwards"]} == {"ipv4"}


def test_the_target_container_is_found_by_address_not_by_text():
    """198.51.100.1 is not 198.51.100.11, though one is a prefix of the other."""
    containers = [{"name": "c11", "address": "198.51.100.11", "address6": "2001:db8:1::11"},
                  {"name": "c1", "address": "198.51.100.1", "address6": "2001:db8:1::1"}]
    plan = planner.plan(settings(cidr6="2001:db8:1::/64", containers=containers,
                                 port_forwards=[{"port": 80, "to": "198.51.100.1:8080"}]), uplink=UPLINK)
    assert plan["port_forwards"][1]["to"] == "[2001:db8:1::1]:8080"


def test_a_target_that_is_not_an_address_is_passed_on_for_nat_rule_to_name():
    for to, expected in (("c1", "c1:80"), ("c1:8080", "c1:8080"), ("2001:db8::1", "2001:db8::1"),
                         ("300.1.1.1:80", "300.1.1.1:80")):
        plan = planner.plan(settings(cidr6="2001:db8:1::/64", port_forwards=[{"port": 80, "to": to}],
                                     containers=[{"name": "c1", "address": "c1", "address6": "2001:db8:1::5"}]),
                            uplink=UPLINK)
        assert plan["port_forwards"] == [{"port": "80", "protocol": "tcp", "to": expected, "family": "ipv4"}], to


def test_port_forward_target_parses_address_and_port():
    assert planner.port_forward_target("198.51.100.11", "80") == ("198.51.100.11:80", "198.51.100.11", "80")
    assert planner.port_forward_target("198.51.100.11:8080", "80") == ("198.51.100.11:8080", "198.51.100.11", "8080")
    assert planner.port_forward_target("nope", 80) == ("nope:80", None, None)
    assert planner.ipv6_target("2001:db8::1", "443") == "[2001:db8::1]:443"
    assert planner.ipv6_target("[2001:db8::1]:8443", "443") == "[2001:db8::1]:8443"


def test_peer_routes_per_family_from_peers_that_set_both_subnet_and_node_address():
    peers = [{"bridge_network_cidr": "198.51.100.64/26", "bridge_network_node_address": "192.0.2.21",
              "bridge_network_cidr6": "2001:db8:2::/64", "bridge_network_node_address6": "2001:db8:ffff::21"},
             {"bridge_network_cidr": "198.51.100.128/26", "bridge_network_node_address": "",
              "bridge_network_cidr6": "2001:db8:3::/64", "bridge_network_node_address6": "2001:db8:ffff::22"},
             {"bridge_network_cidr": "198.51.100.192/26", "bridge_network_node_address": "192.0.2.23"},
             {}]
    plan = planner.plan(settings(), uplink=UPLINK, peers=peers)
    assert plan["routes_to_peers"] == [
        {"dst": "198.51.100.64/26", "gateway": "192.0.2.21"},
        {"dst": "2001:db8:2::/64", "gateway": "2001:db8:ffff::21"},
        {"dst": "2001:db8:3::/64", "gateway": "2001:db8:ffff::22"},
        {"dst": "198.51.100.192/26", "gateway": "192.0.2.23"}]


def test_peer_routes_given_are_used_as_they_are():
    given = [{"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}]
    peers = [{"bridge_network_cidr": "198.51.100.128/26", "bridge_network_node_address": "192.0.2.22"}]
    assert planner.plan(settings(peer_routes=given), uplink=UPLINK, peers=peers)["routes_to_peers"] == given
    assert planner.plan(settings(peer_routes=[]), uplink=UPLINK, peers=peers)["routes_to_peers"] == []


def test_ipv6_sysctl_names_write_an_interface_names_dots_as_slashes():
    plan = planner.plan(settings(cidr6="2001:db8:1::/64"), uplink={"name": "eth0.100", "names": ["eth0.100"]})
    assert plan["sysctl6"] == [{"name": "net.ipv6.conf.eth0/100.accept_ra", "value": "2"},
                               {"name": "net.ipv6.conf.all.forwarding", "value": "1"}]


def test_the_teardown_set_names_each_rule_with_each_name_the_uplink_may_have_had():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11"}]
    plan = planner.plan(settings(cidr6="2001:db8:1::/64", cluster_cidr="198.51.100.0/24", containers=containers,
                                 port_forwards=[{"port": 80, "to": "198.51.100.11:8080"}]),
                        uplink={"name": "eth0", "names": ["eth0", "old0"]})
    teardown = plan["teardown"]
    assert teardown["masquerades"] == [
        [{"source": "198.51.100.0/26"}, "eth0"], [{"source": "198.51.100.0/26"}, "old0"],
        [{"source": "198.51.100.0/26", "destination": "!198.51.100.0/24"}, "eth0"],
        [{"source": "198.51.100.0/26", "destination": "!198.51.100.0/24"}, "old0"],
        [{"source": "2001:db8:1::/64"}, "eth0"], [{"source": "2001:db8:1::/64"}, "old0"]]
    assert [(rule["family"], name) for rule, name in teardown["port_forwards"]] == [
        ("ipv4", "eth0"), ("ipv4", "old0"), ("ipv6", "eth0"), ("ipv6", "old0")]
    assert teardown["sysctl6"] == ["net.ipv6.conf.all.forwarding", "net.ipv6.conf.eth0.accept_ra",
                                   "net.ipv6.conf.old0.accept_ra"]
    # No uplink names (a node without a default route and without the collection's rules): nothing to name.
    bare = planner.plan(settings(port_forwards=[{"port": 80, "to": "198.51.100.11"}]), uplink={"name": "", "names": []})
    assert bare["teardown"]["port_forwards"] == [] and bare["teardown"]["masquerades"] == []


def test_the_filter_reads_only_the_peers_four_variables_and_takes_what_fails_as_unset():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.netplumb.linux.plugins.filter import bridge_network_plan as plan_filter

    class Peer(dict):
        """hostvars[peer]: each variable templated when read; one of them cannot be."""
        def __getitem__(self, name):
            if name == "bridge_network_cidr6":
                raise RuntimeError("undefined variable in the peer's template")
            return dict.__getitem__(self, name)

    peer = Peer(bridge_network_cidr="198.51.100.64/26", bridge_network_node_address="192.0.2.21",
                bridge_network_node_address6="2001:db8:ffff::21", other="{{ never read }}")
    plan = plan_filter.bridge_network_plan(settings(), uplink=UPLINK, peers=[peer])
    assert plan["routes_to_peers"] == [{"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}]
    with pytest.raises(AnsibleFilterError, match="bridge_network_plan: .*has no address number 1"):
        plan_filter.bridge_network_plan(settings(cidr="198.51.100.7/32"), uplink=UPLINK)
