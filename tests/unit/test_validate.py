"""validate.py: every check, good and bad values. Pure logic, no kernel.

A bad value raises ParamError carrying ``field`` and ``value``, and its
message names both.
"""

import ipaddress

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, ParamError


def assert_param_error(call, field, value, *words):
    """``call`` raises ParamError for ``field``/``value``; the message names
    both (a missing value by its field alone, without Python's None) and
    ``words``."""
    with pytest.raises(ParamError) as info:
        call()
    error = info.value
    assert error.field == field
    assert error.value == value
    text = str(error)
    assert field in text
    if value is None:
        assert "None" not in text, text
    else:
        assert repr(value) in text
    for word in words:
        assert word in text, (word, text)
    return error


# -- ParamError --------------------------------------------------------------------------


def test_param_error_carries_field_value_and_reason():
    error = ParamError("mtu", 20, "must be between 68 and 65535")
    assert isinstance(error, NetplumbError)
    assert (error.field, error.value, error.reason) == ("mtu", 20, "must be between 68 and 65535")
    assert str(error) == "mtu: 20 must be between 68 and 65535"


def test_param_error_quotes_string_values():
    assert str(ParamError("name", "a b", "is bad")) == "name: 'a b' is bad"
    # A missing value is named by its field alone, never as Python's None.
    assert str(ParamError("name", None, "is required")) == "name is required"
    assert str(ParamError("to", None, "is required with kind dnat")) == "to is required with kind dnat"


# -- ifname ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "eth0", "veth-red", "v-net-0", "br.100", "a_b", "x@y", "a+b", "A", "0", "a" * 15, "-a",
])
def test_ifname_good(value):
    assert validate.ifname("name", value) == value


def test_ifname_lo_only_when_allowed():
    assert validate.ifname("dev", "lo", allow_lo=True) == "lo"
    assert_param_error(lambda: validate.ifname("name", "lo"), "name", "lo", "loopback")
    # only the exact name is loopback
    assert validate.ifname("name", "lo0") == "lo0"
    assert validate.ifname("name", "lobby") == "lobby"


@pytest.mark.parametrize("value, words", [
    ("", ("empty",)),
    ("a" * 16, ("15", "IFNAMSIZ")),
    ("\u00e9" * 8, ("IFNAMSIZ",)),  # 8 characters, 16 bytes
    ("a/b", ("not a valid interface name",)),
    ("a b", ("not a valid interface name",)),
    ("a\tb", ("not a valid interface name",)),
    ("a:b", ("not a valid interface name",)),
    (".", ("not a valid interface name",)),
    ("..", ("not a valid interface name",)),
    ("eth0\n", ("not a valid interface name",)),
    ("\neth0", ("not a valid interface name",)),
    ("caf\u00e9", ("not a valid interface name",)),
])
def test_ifname_bad(value, words):
    assert_param_error(lambda: validate.ifname("name", value), "name", value, *words)


@pytest.mark.parametrize("value", [None, 5, ["eth0"], b"eth0"])
def test_ifname_not_a_string(value):
    assert_param_error(lambda: validate.ifname("peer", value), "peer", value, "must be a string")


def test_ifname_uses_the_given_field():
    assert_param_error(lambda: validate.ifname("peer_master", "a b"), "peer_master", "a b")


# -- netns ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["red", "red2", "c1", "pod:abc-123", "a.b", "a_b", "x@y", "a+b",
                                   "cni-5f2f0a1e-1b2c-3d4e", "n" * 255])
def test_netns_good(value):
    assert validate.netns("netns", value) == value
    assert validate.netns("name", value, required=True) == value


@pytest.mark.parametrize("value", [None, ""])
def test_netns_empty_is_the_host(value):
    assert validate.netns("netns", value) is None


@pytest.mark.parametrize("value", [None, ""])
def test_netns_required(value):
    assert_param_error(lambda: validate.netns("name", value, required=True), "name", value, "required")


@pytest.mark.parametrize("value, words", [
    ("n" * 256, ("255",)),
    ("a/b", ("not a valid namespace name",)),
    ("../red", ("not a valid namespace name",)),
    ("/run/netns/red", ("not a valid namespace name",)),
    (".", ("not a valid namespace name",)),
    ("..", ("not a valid namespace name",)),
    ("red blue", ("not a valid namespace name",)),
    ("red\n", ("not a valid namespace name",)),
    ("red\tx", ("not a valid namespace name",)),
    ("r\u00f6d", ("not a valid namespace name",)),
])
def test_netns_bad(value, words):
    assert_param_error(lambda: validate.netns("netns", value), "netns", value, *words)


@pytest.mark.parametrize("value", [5, ["red"], True])
def test_netns_not_a_string(value):
    assert_param_error(lambda: validate.netns("peer_netns", value), "peer_netns", value, "must be a string")


# -- interface_address ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["192.0.2.1/24", "192.0.2.0/24", "198.51.100.7/32", "203.0.113.1/30",
                                   "2001:db8::1/64", "2001:db8::1/128", "2001:db8:ffff::1/48"])
def test_interface_address_good(value):
    parsed = validate.interface_address("addresses[0]", value)
    assert parsed == ipaddress.ip_interface(value)
    assert isinstance(parsed, (ipaddress.IPv4Interface, ipaddress.IPv6Interface))


@pytest.mark.parametrize("value, words", [
    ("192.0.2.1", ("prefix",)),
    ("2001:db8::1", ("prefix",)),
    ("192.0.2.300/24", ("not an address",)),
    ("192.0.2.1/33", ("not an address",)),
    ("2001:db8::1/129", ("not an address",)),
    ("host/24", ("not an address",)),
    ("/24", ("not an address",)),
    ("fe80::1/64", ("link-local",)),
    ("224.0.0.1/24", ("unicast",)),
    ("ff02::1/64", ("unicast",)),
    ("0.0.0.0/0", ("unicast",)),
    ("::/0", ("unicast",)),
])
def test_interface_address_bad(value, words):
    assert_param_error(lambda: validate.interface_address("addresses[0]", value),
                       "addresses[0]", value, *words)


@pytest.mark.parametrize("value", [None, 5, ipaddress.ip_interface("192.0.2.1/24")])
def test_interface_address_not_a_string(value):
    assert_param_error(lambda: validate.interface_address("a", value), "a", value, "must be a string")


# -- address_list ------------------------------------------------------------------------


def test_address_list_none_means_leave_alone():
    assert validate.address_list("addresses", None) is None


def test_address_list_empty_means_none_at_all():
    assert validate.address_list("addresses", []) == ()


def test_address_list_sorted_v4_first_and_deduplicated():
    parsed = validate.address_list("addresses", ["2001:db8::1/64", "203.0.113.1/24", "192.0.2.1/24",
                                                 "192.0.2.1/24"])
    assert parsed == (ipaddress.ip_interface("192.0.2.1/24"), ipaddress.ip_interface("203.0.113.1/24"),
                      ipaddress.ip_interface("2001:db8::1/64"))
    assert isinstance(parsed, tuple)


def test_address_list_accepts_a_tuple():
    assert validate.address_list("addresses", ("192.0.2.1/24",)) == (ipaddress.ip_interface("192.0.2.1/24"),)


@pytest.mark.parametrize("value", ["192.0.2.1/24", {"a": 1}, 5])
def test_address_list_not_a_list(value):
    assert_param_error(lambda: validate.address_list("addresses", value), "addresses", value, "list")


def test_address_list_names_the_bad_item():
    assert_param_error(lambda: validate.address_list("peer_addresses", ["192.0.2.1/24", "192.0.2.2"]),
                       "peer_addresses[1]", "192.0.2.2", "prefix")
    assert_param_error(lambda: validate.address_list("addresses", [5]), "addresses[0]", 5)


def test_address_list_same_address_two_prefixes():
    value = ["192.0.2.1/24", "192.0.2.1/25"]
    assert_param_error(lambda: validate.address_list("addresses", value), "addresses", value,
                       "192.0.2.1", "twice")


# -- ip -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["192.0.2.1", "2001:db8::1", "198.51.100.254", "::1"])
def test_ip_good(value):
    assert validate.ip("gateway", value) == ipaddress.ip_address(value)


@pytest.mark.parametrize("value", ["192.0.2.1/24", "192.0.2.256", "gateway", "", "2001:db8::g"])
def test_ip_bad(value):
    assert_param_error(lambda: validate.ip("gateway", value), "gateway", value, "not an IP address")


@pytest.mark.parametrize("value", [None, 3232235777])
def test_ip_not_a_string(value):
    assert_param_error(lambda: validate.ip("gateway", value), "gateway", value, "must be a string")


# -- network ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["198.51.100.0/24", "0.0.0.0/0", "203.0.113.128/25", "192.0.2.5/32",
                                   "2001:db8::/32", "::/0", "2001:db8:1::/64"])
def test_network_good(value):
    assert validate.network("dst", value) == ipaddress.ip_network(value)


@pytest.mark.parametrize("value, words", [
    ("198.51.100.0", ("prefix",)),
    ("default", ("prefix",)),
    ("198.51.100.1/24", ("not a network",)),  # host bits set
    ("2001:db8::1/64", ("not a network",)),
    ("198.51.100.0/33", ("not a network",)),
    ("net/24", ("not a network",)),
])
def test_network_bad(value, words):
    assert_param_error(lambda: validate.network("dst", value), "dst", value, *words)


@pytest.mark.parametrize("value", [None, 24])
def test_network_not_a_string(value):
    assert_param_error(lambda: validate.network("dst", value), "dst", value, "must be a string")


# -- integer / mtu --------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(0, 0), (5, 5), (10, 10), ("7", 7), ("10", 10)])
def test_integer_good(value, expected):
    assert validate.integer("metric", value, 0, 10) == expected


def test_integer_none_means_unset():
    assert validate.integer("metric", None, 0, 10) is None


@pytest.mark.parametrize("value", [-1, 11, "11", "-1", 2 ** 40])
def test_integer_out_of_range(value):
    error = assert_param_error(lambda: validate.integer("metric", value, 0, 10), "metric",
                               value if not isinstance(value, str) else int(value), "between 0 and 10")
    assert error.reason == "must be between 0 and 10"


@pytest.mark.parametrize("value", [True, False, "ten", "1.5", 1.5, "0x10", "", [1]])
def test_integer_not_an_integer(value):
    assert_param_error(lambda: validate.integer("metric", value, 0, 10), "metric", value, "integer")


@pytest.mark.parametrize("value", [68, 1280, 1500, 9000, 65535, "1400"])
def test_mtu_good(value):
    assert validate.mtu("mtu", value) == int(value)


def test_mtu_none():
    assert validate.mtu("mtu", None) is None


@pytest.mark.parametrize("value", [0, 67, 65536, -1500])
def test_mtu_bad(value):
    assert_param_error(lambda: validate.mtu("mtu", value), "mtu", value, "68", "65535")


def test_mtu_not_an_integer():
    assert_param_error(lambda: validate.mtu("mtu", "jumbo"), "mtu", "jumbo", "integer")


# -- table -----------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (None, 254), ("main", 254), ("local", 255), ("default", 253),
    (1, 1), (100, 100), ("100", 100), (254, 254), (2 ** 32 - 1, 2 ** 32 - 1),
])
def test_table_good(value, expected):
    assert validate.table("table", value) == expected


@pytest.mark.parametrize("value, shown", [(0, 0), ("0", 0), (2 ** 32, 2 ** 32), (-5, -5)])
def test_table_out_of_range(value, shown):
    assert_param_error(lambda: validate.table("table", value), "table", shown, "between 1 and")


@pytest.mark.parametrize("value", ["custom", "Main", "", True])
def test_table_unknown_name(value):
    assert_param_error(lambda: validate.table("table", value), "table", value)


# -- choice / boolean -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["present", "absent"])
def test_choice_good(value):
    assert validate.choice("state", value, ("present", "absent")) == value


@pytest.mark.parametrize("value", ["gone", "Present", "", None, 1])
def test_choice_bad(value):
    assert_param_error(lambda: validate.choice("state", value, ("present", "absent")), "state", value,
                       "present, absent")


@pytest.mark.parametrize("value", [None, True, False])
def test_boolean_good(value):
    assert validate.boolean("stp", value) is value


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "", []])
def test_boolean_bad(value):
    assert_param_error(lambda: validate.boolean("stp", value), "stp", value, "boolean")


# -- the resources' parse(): validate applied to module params ---------------------------------


def test_route_parse_defaults_per_family():
    from ansible_collections.netplumb.linux.plugins.module_utils.link import route
    v4 = route.parse({"dst": "default", "gateway": "192.0.2.1"}).route
    assert (str(v4.dst), v4.metric, v4.table) == ("0.0.0.0/0", 0, 254)
    v6 = route.parse({"dst": "default", "gateway": "2001:db8::1"}).route
    assert (str(v6.dst), v6.metric, v6.table) == ("::/0", 1024, 254)
    assert route.parse({"dst": "::/0", "gateway": "2001:db8::1"}).route.key == v6.key
    assert route.parse({"dst": "198.51.100.0/24", "dev": "lo", "table": "local"}).route.table == 255


def test_route_parse_absent_needs_neither_gateway_nor_dev():
    from ansible_collections.netplumb.linux.plugins.module_utils.link import route
    spec = route.parse({"dst": "198.51.100.0/24", "state": "absent"})
    assert spec.state == "absent" and spec.route.gateway is None and spec.route.dev is None


def test_route_parse_family_mismatch_names_gateway():
    from ansible_collections.netplumb.linux.plugins.module_utils.link import route
    assert_param_error(lambda: route.parse({"dst": "2001:db8::/64", "gateway": "192.0.2.1"}),
                       "gateway", "192.0.2.1", "IPv4", "IPv6")


def test_bridge_parse():
    from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge
    spec = bridge.parse({"name": "br0", "addresses": ["192.0.2.1/24"], "mtu": "1400", "stp": True})
    assert spec.attrs.name == "br0" and spec.attrs.netns is None and spec.attrs.mtu == 1400
    assert spec.attrs.addresses == (ipaddress.ip_interface("192.0.2.1/24"),)
    assert spec.stp is True and spec.vlan_filtering is None and spec.state == "present"


def test_netns_parse():
    from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
    assert netns.parse({"name": "red"}).state == "present"
    assert_param_error(lambda: netns.parse({"name": "red", "state": "gone"}), "state", "gone")
    assert_param_error(lambda: netns.parse({}), "name", None, "required")


def test_facts_parse():
    from ansible_collections.netplumb.linux.plugins.module_utils.facts import net_facts
    spec = net_facts.parse({})
    assert (spec.netns, spec.include_host, spec.routes) == (None, True, True)
    assert net_facts.parse({"netns": ["red", "blue"]}).netns == ("red", "blue")
    assert_param_error(lambda: net_facts.parse({"netns": "red"}), "netns", "red", "list")
    assert_param_error(lambda: net_facts.parse({"netns": ["red", ""]}), "netns[1]", "", "required")


def test_an_mtu_below_ipv6s_minimum_is_refused_with_an_ipv6_address():
    v4, v6 = ipaddress.ip_interface("192.0.2.1/24"), ipaddress.ip_interface("2001:db8::1/64")
    assert validate.mtu_for("mtu", 1279, (v4, None)) == 1279
    assert validate.mtu_for("mtu", 1280, (v4, v6)) == 1280
    assert validate.mtu_for("mtu", None, (v6,)) is None
    with pytest.raises(ParamError) as caught:
        validate.mtu_for("containers[0].mtu", 1200, (v4, v6))
    assert str(caught.value) == ("containers[0].mtu: 1200 is below 1280, IPv6's minimum: the kernel refuses the "
                                 "IPv6 address 2001:db8::1/64 on it")
