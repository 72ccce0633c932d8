"""The invalid_vars filter the roles' tasks/validate.yml use: one message per
bad value, naming the variable and the value. Pure logic, no kernel."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netplumb.linux.plugins.filter.invalid_vars import FilterModule, invalid_vars


def test_good_values_give_no_message():
    assert invalid_vars([
        ["v_cidr", "198.51.100.0/24", "network"],
        ["v_cidr6", "2001:db8::/64", "network"],
        ["v_gw", "198.51.100.1", "address"],
        ["v_gw_empty", "", "address?"],
        ["v_none", None, "network?"],
        ["v_bridge", "v-net-0", "ifname"],
        ["v_name", "pods.1", "cni_network_name"],
        ["v_dir", "/etc/cni/net.d", "absolute_path"],
    ]) == []


@pytest.mark.parametrize("check, words", [
    (["bridge_network_cidr", "300.0.0.0/24", "network"], ["'300.0.0.0/24'", "CIDR"]),
    (["bridge_network_cidr", "198.51.100.7/24", "network"], ["'198.51.100.7/24'", "host bits"]),
    (["bridge_network_cidr", "198.51.100.0", "network"], ["'198.51.100.0'", "prefix length"]),
    (["bridge_network_cidr", ["198.51.100.0/24"], "network"], ["['198.51.100.0/24']", "string"]),
    (["bridge_network_cidr", "", "network"], ["''"]),
    (["bridge_network_gateway", "gw", "address?"], ["'gw'", "not an IP address"]),
    (["bridge_network_bridge", "br/0", "ifname"], ["'br/0'", "interface name"]),
    (["bridge_network_bridge", "a-very-long-bridge", "ifname"], ["IFNAMSIZ"]),
    (["cni_network_name", "a b", "cni_network_name"], ["'a b'", "CNI network name"]),
    (["cni_conf_dir", "net.d", "absolute_path"], ["'net.d'", "absolute"]),
])
def test_each_bad_value_is_one_message_naming_variable_and_value(check, words):
    problems = invalid_vars([["fine", "198.51.100.0/24", "network"], check])
    assert len(problems) == 1
    assert problems[0].startswith(check[0] + ": ")
    for word in words:
        assert word in problems[0], problems


def test_every_bad_value_is_reported_not_only_the_first():
    problems = invalid_vars([["a", "x", "network"], ["b", "y", "address"], ["c", "z/", "ifname"]])
    assert [p.split(":")[0] for p in problems] == ["a", "b", "c"]


@pytest.mark.parametrize("checks", ["not a list", [["only", "two"]], [["v", "x", "colour"]]])
def test_a_wrong_call_is_a_filter_error(checks):
    with pytest.raises(AnsibleFilterError):
        invalid_vars(checks)


def test_registered_under_its_name():
    assert FilterModule().filters() == {"invalid_vars": invalid_vars}


def test_a_supernet_may_be_empty_and_must_hold_the_inner_network():
    inner = "198.51.100.32/27"
    assert invalid_vars([["cluster", ["", inner, "bridge_network_cidr"], "supernet"],
                         ["cluster", ["198.51.100.0/24", inner, "bridge_network_cidr"], "supernet"],
                         ["cluster6", ["2001:db8::/44", "", "bridge_network_cidr6"], "supernet"]]) == []
    for outer, words in (("203.0.113.0/24", ["must contain bridge_network_cidr (198.51.100.32/27)"]),
                         ("198.51.100.32/28", ["must contain"]),
                         ("2001:db8::/44", ["must contain"]),
                         ("198.51.100.1/24", ["host bits"])):
        problems = invalid_vars([["bridge_network_cluster_cidr", [outer, inner, "bridge_network_cidr"], "supernet"]])
        assert len(problems) == 1 and problems[0].startswith("bridge_network_cluster_cidr: '%s'" % outer), problems
        for word in words:
            assert word in problems[0], problems
