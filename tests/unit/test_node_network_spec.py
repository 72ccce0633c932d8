"""node_network's parameters as one desired state (plugins/module_utils/node_network/spec.py) and its
sysctl keys and file lines (sysctl.py): what the bridge_network role's controller filter used to derive,
now checked on the node before anything changes. Pure data: no node, no root."""

import ipaddress

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import spec
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import sysctl

CIDR6 = "2001:db8:1::/64"


def parse(**params):
    return spec.parse(dict({"bridge": "br0", "cidr": "198.51.100.0/26"}, **params))


def refused(field, **params):
    """The ParamError that parse raises for ``params``; it must name ``field``."""
    with pytest.raises(ParamError) as caught:
        parse(**params)
    assert caught.value.field == field, str(caught.value)
    return caught.value


def forwards(forwards, containers=(), dual_stack=True):
    return [(rule["port"], rule["protocol"], rule["family"], rule["to"])
            for rule in spec.port_forwards(forwards, list(containers), dual_stack)]


# -- the bridge's addresses ----------------------------------------------------------------


def test_gateway_defaults_to_the_first_address_and_the_bridge_gets_the_subnets_prefix():
    node = parse()
    assert node.gateway == ipaddress.ip_address("198.51.100.1")
    assert (node.network6, node.gateway6) == (None, None)
    assert node.bridge_addresses == ["198.51.100.1/26"]
    assert node.subnets == ["198.51.100.0/26"]
    assert node.families == ("ipv4",)


def test_a_given_gateway_and_the_ipv6_subnet_on_a_dual_stack_node():
    node = parse(gateway="198.51.100.62", cidr6=CIDR6)
    assert node.gateway6 == ipaddress.ip_address("2001:db8:1::1")
    assert node.bridge_addresses == ["198.51.100.62/26", "2001:db8:1::1/64"]
    assert node.subnets == ["198.51.100.0/26", CIDR6]
    assert node.families == ("ipv4", "ipv6")
    assert parse(cidr6=CIDR6, gateway6="2001:db8:1::fe").bridge_addresses[1] == "2001:db8:1::fe/64"
    # An empty cidr6 is no IPv6 subnet (what the role passes when it is unset).
    assert parse(cidr6="", gateway6="").bridge_addresses == ["198.51.100.1/26"]


def test_a_network_without_a_first_host_is_refused_naming_the_gateway_field():
    assert "cannot default to the first address of 198.51.100.7/32" in str(refused("gateway", cidr="198.51.100.7/32"))
    refused("gateway6", cidr6="2001:db8:1::1/128")
    # Given explicitly, a single-address network has its gateway.
    assert parse(cidr="198.51.100.7/32", gateway="198.51.100.7").bridge_addresses == ["198.51.100.7/32"]


def test_subnets_must_be_networks_of_their_family():
    refused("cidr", cidr="nope")
    refused("cidr", cidr="198.51.100.5/26")         # host bits set
    refused("cidr", cidr=CIDR6)
    refused("cidr6", cidr6="198.51.100.64/26")
    refused("cidr6", cidr6="nope")


def test_a_gateway_outside_the_subnet_is_refused():
    assert "is not in 198.51.100.0/26" in str(refused("gateway", gateway="198.51.100.65"))
    refused("gateway", gateway="2001:db8:1::1")
    refused("gateway", gateway="nope")
    refused("gateway6", cidr6=CIDR6, gateway6="2001:db8:2::1")
    refused("gateway6", cidr6=CIDR6, gateway6="198.51.100.1")


# -- containers ----------------------------------------------------------------------------


def test_containers_get_the_subnets_prefix_length_when_written_without_one():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11", "mtu": 1400},
                  {"name": "c2", "address": "198.51.100.12/26"},
                  {"name": "c3", "address": "198.51.100.13", "address6": ""},
                  {"name": "c4", "address": "198.51.100.14", "address6": None}]
    node = parse(cidr6=CIDR6, containers=containers)
    assert list(node.containers) == [
        {"name": "c1", "address": "198.51.100.11/26", "address6": "2001:db8:1::11/64", "mtu": 1400},
        {"name": "c2", "address": "198.51.100.12/26"},
        {"name": "c3", "address": "198.51.100.13/26"},
        {"name": "c4", "address": "198.51.100.14/26"}]
    # The caller's dicts are left as they were.
    assert containers[0]["address"] == "198.51.100.11" and "address6" in containers[2]


def test_a_container_address_outside_the_subnet_or_with_another_prefix_is_refused():
    for address in ("198.51.100.12/28", "203.0.113.12"):
        error = refused("containers[0].address", containers=[{"name": "c1", "address": address}])
        assert "is not an address of 198.51.100.0/26" in str(error)


def test_address6_is_refused_without_cidr6():
    error = refused("containers[1].address6", containers=[{"name": "c1", "address": "198.51.100.11"},
                                                          {"name": "c2", "address": "198.51.100.12",
                                                           "address6": "2001:db8:1::12"}])
    assert "needs cidr6" in error.reason
    # Empty, it is no address6 at all.
    assert parse(containers=[{"name": "c1", "address": "198.51.100.11", "address6": ""}]).containers == (
        {"name": "c1", "address": "198.51.100.11/26"},)
    refused("containers[0]", containers=["c1"])
    refused("containers", containers="c1")


# -- masquerade and forward rules ----------------------------------------------------------


def test_masquerade_per_subnet_not_toward_the_cluster_cidr():
    node = parse(cidr6=CIDR6, cluster_cidr="198.51.100.0/24")
    assert list(node.masquerades) == [{"source": "198.51.100.0/26", "not_to": "198.51.100.0/24"},
                                      {"source": CIDR6, "not_to": ""}]
    assert list(parse(cidr6=CIDR6, cluster_cidr6="2001:db8::/32").masquerades) == [
        {"source": "198.51.100.0/26", "not_to": ""}, {"source": CIDR6, "not_to": "2001:db8::/32"}]
    assert list(parse().masquerades) == [{"source": "198.51.100.0/26", "not_to": ""}]
    # The rules are listed whether masquerade is on or not: off, the planner removes them.
    assert (parse().masquerade, parse(masquerade=False).masquerade) == (True, False)
    assert parse(masquerade=False).masquerades == parse().masquerades


def test_the_cluster_cidr_must_contain_the_subnet():
    assert "must contain 198.51.100.0/26" in str(refused("cluster_cidr", cluster_cidr="198.51.100.64/26"))
    refused("cluster_cidr", cluster_cidr="198.51.100.0/27")
    refused("cluster_cidr", cluster_cidr="2001:db8::/48")
    refused("cluster_cidr6", cidr6=CIDR6, cluster_cidr6="2001:db8:2::/48")
    # The subnet itself contains itself.
    assert parse(cluster_cidr="198.51.100.0/26").masquerades[0]["not_to"] == "198.51.100.0/26"


def test_forward_matches_from_each_subnet_then_to_each():
    assert parse(cidr6=CIDR6).forward_matches == [{"source": "198.51.100.0/26"}, {"source": CIDR6},
                                                  {"destination": "198.51.100.0/26"}, {"destination": CIDR6}]
    assert parse().forward_matches == [{"source": "198.51.100.0/26"}, {"destination": "198.51.100.0/26"}]
    assert (parse().forward_rules, parse(forward_rules=True).forward_rules) == (False, True)


# -- port forwards -------------------------------------------------------------------------


def test_port_forwards_take_the_port_as_target_port_when_the_target_has_none():
    given = [{"port": 80, "to": "198.51.100.11:8080"}, {"port": "53", "to": "198.51.100.12", "protocol": "udp"}]
    assert list(parse(port_forwards=given).port_forwards) == [
        {"port": "80", "protocol": "tcp", "to": "198.51.100.11:8080", "family": "ipv4", "index": 0, "field": "to"},
        {"port": "53", "protocol": "udp", "to": "198.51.100.12:53", "family": "ipv4", "index": 1, "field": "to"}]


def test_the_ipv6_twin_goes_to_the_target_containers_address6_or_its_own_to6():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11"},
                  {"name": "c2", "address": "198.51.100.12"},
                  {"name": "c3", "address": "198.51.100.13/26", "address6": "2001:db8:1::13/64"}]
    given = [{"port": 80, "to": "198.51.100.11:8080"},                                 # twin to c1's address6
             {"port": 81, "to": "198.51.100.12"},                                      # c2 has none: no twin
             {"port": 82, "to": "198.51.100.13", "to6": "2001:db8:1::99"},             # to6 wins
             {"port": 83, "to": "198.51.100.13:443", "to6": "[2001:db8:1::98]:9443"},  # bracketed: as written
             {"port": 84, "to": "198.51.100.13", "to6": ""},                           # to6 empty: no twin
             {"port": 85, "to": "198.51.100.99"},                                      # no container: no twin
             {"port": 86, "to": "198.51.100.13"}]                                      # prefixes dropped
    node = parse(cidr6=CIDR6, containers=containers, port_forwards=given)
    # No twin: one made before (with another address6 or to6) goes, whatever its target ("gone").
    assert [(r["index"], r["family"], r["to"], r.get("gone", False)) for r in node.port_forwards] == [
        (0, "ipv4", "198.51.100.11:8080", False), (0, "ipv6", "[2001:db8:1::11]:8080", False),
        (1, "ipv4", "198.51.100.12:81", False), (1, "ipv6", None, True),
        (2, "ipv4", "198.51.100.13:82", False), (2, "ipv6", "[2001:db8:1::99]:82", False),
        (3, "ipv4", "198.51.100.13:443", False), (3, "ipv6", "[2001:db8:1::98]:9443", False),
        (4, "ipv4", "198.51.100.13:84", False), (4, "ipv6", None, True),
        (5, "ipv4", "198.51.100.99:85", False), (5, "ipv6", None, True),
        (6, "ipv4", "198.51.100.13:86", False), (6, "ipv6", "[2001:db8:1::13]:86", False)]
    # The twin keeps the forward's port and protocol.
    assert forwards([{"port": 53, "protocol": "udp", "to": "198.51.100.11", "to6": "2001:db8:1::11"}]) == [
        ("53", "udp", "ipv4", "198.51.100.11:53"), ("53", "udp", "ipv6", "[2001:db8:1::11]:53")]
    # An IPv4-only node has no twins at all, to6 or not.
    ipv4 = parse(containers=[{"name": "c1", "address": "198.51.100.11"}], port_forwards=given)
    assert {r["family"] for r in ipv4.port_forwards} == {"ipv4"} and len(ipv4.port_forwards) == len(given)


def test_the_target_container_is_found_by_address_value_not_by_text():
    """198.51.100.1 is not 198.51.100.11, though one is a prefix of the other."""
    containers = [{"name": "c11", "address": "198.51.100.11", "address6": "2001:db8:1::11"},
                  {"name": "c1", "address": "198.51.100.1", "address6": "2001:db8:1::1"}]
    assert forwards([{"port": 80, "to": "198.51.100.1:8080"}], containers)[1] == (
        "80", "tcp", "ipv6", "[2001:db8:1::1]:8080")
    assert forwards([{"port": 80, "to": "198.51.100.11"}], containers)[1][3] == "[2001:db8:1::11]:80"
    # Written differently, the same address: the twin is found.
    containers = [{"name": "c", "address": "198.51.100.1/26", "address6": "2001:DB8:1:0::1"}]
    assert forwards([{"port": 80, "to": "198.51.100.1"}], containers)[1][3] == "[2001:DB8:1:0::1]:80"
    # A container whose address is not an address matches nothing, even written as the target is.
    assert forwards([{"port": 80, "to": "c1"}], [{"name": "c1", "address": "c1", "address6": "2001:db8:1::5"}]) == [
        ("80", "tcp", "ipv4", "c1:80"), ("80", "tcp", "ipv6", None)]


def test_a_target_that_is_not_an_address_is_passed_on_for_nat_rule_to_name():
    containers = [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::5"}]
    for to, expected in (("c1", "c1:80"), ("c1:8080", "c1:8080"), ("2001:db8::1", "2001:db8::1"),
                         ("300.1.1.1:80", "300.1.1.1:80"), ("300.1.1.1", "300.1.1.1:80")):
        assert forwards([{"port": 80, "to": to}], containers) == [("80", "tcp", "ipv4", expected),
                                                                  ("80", "tcp", "ipv6", None)], to
    # With its own to6, such a target still gets a twin, on what follows its last colon.
    assert forwards([{"port": 80, "to": "c1:8080", "to6": "2001:db8:1::5"}])[1][3] == "[2001:db8:1::5]:8080"


def test_port_forward_target_and_ipv6_target():
    assert spec.port_forward_target("198.51.100.11", "80") == ("198.51.100.11:80", "198.51.100.11", "80")
    assert spec.port_forward_target("198.51.100.11:8080", 80) == ("198.51.100.11:8080", "198.51.100.11", "8080")
    assert spec.port_forward_target("nope", 80) == ("nope:80", None, None)
    assert spec.port_forward_target("nope:81", 80) == ("nope:81", None, None)
    assert spec.ipv6_target("2001:db8::1", "443") == "[2001:db8::1]:443"
    assert spec.ipv6_target("[2001:db8::1]:8443", "443") == "[2001:db8::1]:8443"


@pytest.mark.parametrize("forward, field", [
    ({"port": "http", "to": "198.51.100.11"}, "port_forwards[1].port"),
    ({"port": 0, "to": "198.51.100.11"}, "port_forwards[1].port"),
    ({"port": 65536, "to": "198.51.100.11"}, "port_forwards[1].port"),
    ({"port": True, "to": "198.51.100.11"}, "port_forwards[1].port"),
    ({"port": 80, "to": "198.51.100.11", "protocol": "sctp"}, "port_forwards[1].protocol"),
    ({"port": 80}, "port_forwards[1]"),
    ({"to": "198.51.100.11"}, "port_forwards[1]"),
    ({"port": 80, "to": "198.51.100.11", "proto": "udp"}, "port_forwards[1]"),
    ("80:198.51.100.11", "port_forwards[1]"),
])
def test_port_and_protocol_are_checked_naming_the_forward(forward, field):
    error = refused(field, port_forwards=[{"port": 22, "to": "198.51.100.10"}, forward])
    key = field.partition("].")[2]
    assert error.value == (forward[key] if key else forward)


def test_unknown_port_forward_keys_are_named():
    error = refused("port_forwards[0]", port_forwards=[{"port": 80, "to": "198.51.100.11", "proto": "udp"}])
    assert error.reason.endswith("unknown: proto")
    refused("port_forwards", port_forwards={"port": 80, "to": "198.51.100.11"})


def test_a_protocol_left_empty_is_tcp_and_ports_are_text():
    assert forwards([{"port": 8080, "to": "198.51.100.11", "protocol": None}], dual_stack=False) == [
        ("8080", "tcp", "ipv4", "198.51.100.11:8080")]
    assert forwards([{"port": "65535", "to": "198.51.100.11", "protocol": ""}], dual_stack=False) == [
        ("65535", "tcp", "ipv4", "198.51.100.11:65535")]


# -- routes, exclusive and the rest --------------------------------------------------------


def test_routes_items_must_be_exactly_dst_and_gateway():
    good = {"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}
    assert list(parse(routes=[good]).routes) == [good]
    refused("routes[1]", routes=[good, {"dst": "198.51.100.128/26"}])
    refused("routes[1]", routes=[good, {"gateway": "192.0.2.22"}])
    refused("routes[0]", routes=[dict(good, metric=10)])
    refused("routes[0]", routes=["198.51.100.64/26 via 192.0.2.21"])
    refused("routes", routes=good)
    assert parse(routes=None).routes == ()


def test_exclusive_takes_only_containers_and_port_forwards():
    assert parse().exclusive == frozenset()
    assert parse(exclusive=["containers", "port_forwards"]).exclusive == frozenset(["containers", "port_forwards"])
    assert refused("exclusive", exclusive=["containers", "routes"]).value == "routes"
    refused("exclusive", exclusive="containers")


def test_the_other_options_and_their_defaults():
    node = parse()
    assert (node.state, node.mtu, node.uplink, node.forwarding, node.nat_backend, node.sysctl_file) == (
        "present", None, None, True, "auto", "/etc/sysctl.d/60-netplumb.conf")
    node = parse(state="absent", mtu="1400", uplink="eth0.100", forwarding=False, nat_backend="iptables",
                 sysctl_file="/tmp/x.conf")
    assert (node.state, node.mtu, node.uplink, node.forwarding, node.nat_backend, node.sysctl_file) == (
        "absent", 1400, "eth0.100", False, "iptables", "/tmp/x.conf")
    refused("bridge_network_uplink", uplink="bad name", uplink_variable="bridge_network_uplink")
    refused("state", state="gone")
    refused("bridge", bridge="")
    refused("nat_backend", nat_backend="pf")
    refused("sysctl_file", sysctl_file="relative.conf")
    refused("masquerade", masquerade="yes")


# -- sysctl --------------------------------------------------------------------------------


def test_sysctl_key_writes_an_interface_names_dots_as_slashes_and_path_turns_them_back():
    assert sysctl.key("eth0", "accept_ra") == "net.ipv6.conf.eth0.accept_ra"
    assert sysctl.key("eth0.100", "accept_ra") == "net.ipv6.conf.eth0/100.accept_ra"
    assert sysctl.path("net.ipv6.conf.eth0/100.accept_ra") == "/proc/sys/net/ipv6/conf/eth0.100/accept_ra"
    assert sysctl.path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward"


MINE = "# node_network br0 needs net.ipv4.ip_forward"


def test_file_lines_keeps_foreign_lines_and_replaces_ours_in_place():
    old = ("# set by netplumb\n"
           "net.ipv4.ip_forward = 0\n"
           "vm.swappiness=10\n"
           "; net.ipv6.conf.all.forwarding=0\n"
           "\n"
           "net.ipv6.conf.all.forwarding=0\n")
    settings = [(spec.IPV4_FORWARDING, "1"), (spec.IPV6_FORWARDING, "1")]
    assert sysctl.file_lines(old, "br0", settings, ()) == [
        "# set by netplumb", "net.ipv4.ip_forward=1", "vm.swappiness=10", "; net.ipv6.conf.all.forwarding=0", "",
        "net.ipv6.conf.all.forwarding=1", MINE + " net.ipv6.conf.all.forwarding"]


def test_file_lines_appends_missing_keys_in_order_and_drops_removed_ones():
    settings = [(spec.IPV4_FORWARDING, "1"), ("net.ipv6.conf.eth0/100.accept_ra", "2"), (spec.IPV6_FORWARDING, "1")]
    mine = MINE + " net.ipv6.conf.eth0/100.accept_ra net.ipv6.conf.all.forwarding"
    assert sysctl.file_lines(None, "br0", settings, ()) == [
        mine, "net.ipv4.ip_forward=1", "net.ipv6.conf.eth0/100.accept_ra=2", "net.ipv6.conf.all.forwarding=1"]
    assert sysctl.file_lines("vm.swappiness=10\nnet.ipv6.conf.all.forwarding=1\n", "br0", settings, ()) == [
        "vm.swappiness=10", "net.ipv6.conf.all.forwarding=1", mine, "net.ipv4.ip_forward=1",
        "net.ipv6.conf.eth0/100.accept_ra=2"]
    # A file written before the marker lines: the keys named go.
    old = "net.ipv4.ip_forward=1\n# keep\nnet.ipv6.conf.eth0.accept_ra = 2\nnet.ipv6.conf.all.forwarding=1\n"
    assert sysctl.file_lines(old, "br0", [], {spec.IPV4_FORWARDING, "net.ipv6.conf.eth0.accept_ra"}) == [
        "# keep", "net.ipv6.conf.all.forwarding=1"]
    # Removing what is not there changes nothing; a file left without a key is empty.
    assert sysctl.file_lines("# keep\n", "br0", [], {spec.IPV4_FORWARDING}) == ["# keep"]
    assert sysctl.file_lines("net.ipv4.ip_forward=1\n", "br0", [], {spec.IPV4_FORWARDING}) == []
    assert sysctl.file_lines(MINE + "\nnet.ipv4.ip_forward=1\n", "br0", [], ()) == []


def test_file_lines_never_duplicates_a_key():
    old = "net.ipv4.ip_forward=0\nvm.swappiness=10\nnet.ipv4.ip_forward = 1\n" + MINE + "\n" + MINE + "\n"
    lines = sysctl.file_lines(old, "br0", [(spec.IPV4_FORWARDING, "1")], ())
    assert lines == ["net.ipv4.ip_forward=1", "vm.swappiness=10", MINE]
    # Run again on its own output: the same lines.
    assert sysctl.file_lines("\n".join(lines) + "\n", "br0", [(spec.IPV4_FORWARDING, "1")], ()) == lines


def test_a_key_stays_while_another_bridge_needs_it():
    ipv6 = [(spec.IPV4_FORWARDING, "1"), ("net.ipv6.conf.eth0.accept_ra", "2"), (spec.IPV6_FORWARDING, "1")]
    both = sysctl.file_lines(None, "br0", ipv6, ())
    both = sysctl.file_lines("\n".join(both) + "\n", "br1", [(spec.IPV4_FORWARDING, "1")], ())
    assert both == [MINE + " net.ipv6.conf.eth0.accept_ra net.ipv6.conf.all.forwarding", "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.eth0.accept_ra=2", "net.ipv6.conf.all.forwarding=1",
                    "# node_network br1 needs net.ipv4.ip_forward"]
    text = "\n".join(both) + "\n"
    # br0 gone (state absent names every key it may have set): br1's key stays.
    assert sysctl.file_lines(text, "br0", [], [key for key, _value in ipv6]) == [
        "net.ipv4.ip_forward=1", "# node_network br1 needs net.ipv4.ip_forward"]
    # br0 no longer dual-stack: its IPv6 keys go, the key both need stays.
    assert sysctl.file_lines(text, "br0", [(spec.IPV4_FORWARDING, "1")], ()) == [
        MINE, "net.ipv4.ip_forward=1", "# node_network br1 needs net.ipv4.ip_forward"]
    # br1 gone: br0 needs all it had.
    assert sysctl.file_lines(text, "br1", [], [spec.IPV4_FORWARDING]) == both[:-1]
    # Another uplink: the old one's accept_ra goes.
    moved = [(spec.IPV4_FORWARDING, "1"), ("net.ipv6.conf.eth1.accept_ra", "2"), (spec.IPV6_FORWARDING, "1")]
    assert sysctl.file_lines(text, "br0", moved, ()) == [
        MINE + " net.ipv6.conf.eth1.accept_ra net.ipv6.conf.all.forwarding", "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1", "# node_network br1 needs net.ipv4.ip_forward",
        "net.ipv6.conf.eth1.accept_ra=2"]
