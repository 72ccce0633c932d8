"""container_net's parameters and names: pure logic, no kernel."""

import struct

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import rtnl_codec as codec
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Link
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import host_end, mark, owner, parse
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError


def test_host_end_keeps_veth_name_when_it_fits_and_hashes_otherwise():
    assert host_end("c1") == "veth-c1"
    assert host_end("abcdefghij") == "veth-abcdefghij"
    long_name = host_end("abcdefghijk")
    assert long_name.startswith("vh-") and len(long_name) == 15
    assert host_end("abcdefghijk") == long_name  # deterministic
    assert host_end("abcdefghijl") != long_name
    assert host_end("a:b").startswith("vh-")  # ':' is fine in a netns name, not in an ifname


def test_mark_round_trips_and_foreign_aliases_are_not_ours():
    assert owner(mark("v-net-0", "c1")) == ("v-net-0", "c1")
    assert owner(mark("br0", "a:b")) == ("br0", "a:b")
    for alias in (None, "", "something else", "netplumb:container_net:", "netplumb:container_net:br0"):
        assert owner(alias) is None


def test_parse_defaults_and_per_container_values():
    spec = parse({"bridge": "br0", "gateway": "198.51.100.1", "containers": [
        {"name": "c1", "address": "198.51.100.11/24"},
        {"name": "c2", "address": "198.51.100.12/24", "gateway": "198.51.100.254", "mtu": "1400",
         "routes": [{"dst": "203.0.113.0/24", "gateway": "198.51.100.1", "metric": 10}]}]})
    assert spec.ifname == "eth0" and not spec.exclusive and spec.state == "present"
    first, second = spec.containers
    assert str(first.gateway) == "198.51.100.1" and first.mtu is None and first.routes == ()
    assert str(second.gateway) == "198.51.100.254" and second.mtu == 1400
    assert [(str(r.dst), str(r.gateway), r.metric) for r in second.routes] == [("203.0.113.0/24", "198.51.100.1", 10)]


@pytest.mark.parametrize("bad, field", [
    ({"name": "c9"}, "containers[2].address"),
    ({"name": "c9", "address": "198.51.100.9"}, "containers[2].address"),
    ({"name": "", "address": "198.51.100.9/24"}, "containers[2].name"),
    ({"name": "c1", "address": "198.51.100.9/24"}, "containers[2].name"),
    ({"name": "c9", "address": "198.51.100.11/24"}, "containers[2].address"),
    ({"name": "c9", "address": "198.51.100.9/24", "gateway": "203.0.113.1"}, "containers[2].gateway"),
    ({"name": "c9", "address": "198.51.100.1/24"}, "containers[2].address"),
    ({"name": "c9", "address": "198.51.100.9/24", "mtu": 70000}, "containers[2].mtu"),
    ({"name": "c9", "address": "198.51.100.9/24", "routes": "x"}, "containers[2].routes"),
    ({"name": "c9", "address": "198.51.100.9/24", "routes": [{"dst": "default", "gateway": "198.51.100.1"}]},
     "containers[2].routes[0].dst"),
    ({"name": "c9", "address": "198.51.100.9/24", "routes": [{"dst": "0.0.0.0/0", "gateway": "198.51.100.2"}]},
     "containers[2].routes[0].dst"),
    ({"name": "c9", "address": "198.51.100.9/24", "address6": "2001:db8::9/64", "gateway6": "2001:db8::1",
      "routes": [{"dst": "::/0", "gateway": "2001:db8::2"}]}, "containers[2].routes[0].dst"),
    ({"name": "c9", "address": "198.51.100.9/24", "routes": [{"dst": "2001:db8::/64", "gateway": "198.51.100.1"}]},
     "containers[2].routes[0].gateway"),
    ({"name": "c9", "address": "198.51.100.9/24", "routes": [{"dst": "192.0.2.0/24", "gateway": "198.51.100.1",
                                                             "via": "x"}]}, "containers[2].routes[0].via"),
    ("c9", "containers[2]"),
])
def test_bad_fields_are_named_with_their_index(bad, field):
    good = [{"name": "c1", "address": "198.51.100.11/24"}, {"name": "c2", "address": "198.51.100.12/24"}]
    with pytest.raises(ParamError) as caught:
        parse({"bridge": "br0", "gateway": "198.51.100.1", "containers": good + [bad]})
    assert caught.value.field == field


def test_more_containers_than_a_bridge_has_ports_are_refused_and_absent_takes_any_number():
    many = [{"name": "c%d" % i, "address": "198.18.%d.%d/16" % (i // 250, i % 250 + 1)} for i in range(1024)]
    with pytest.raises(ParamError) as caught:
        parse({"bridge": "br0", "containers": many})
    assert caught.value.field == "containers" and "1024 containers" in str(caught.value)
    assert "1023 ports a Linux bridge holds" in str(caught.value)
    assert len(parse({"bridge": "br0", "containers": many[:1023]}).containers) == 1023
    assert len(parse({"bridge": "br0", "containers": [{"name": c["name"]} for c in many],
                      "state": "absent"}).containers) == 1024


def test_absent_needs_only_names():
    spec = parse({"bridge": "br0", "state": "absent", "containers": [{"name": "c1", "address": "198.51.100.11"}]})
    assert [c.name for c in spec.containers] == ["c1"]


def _attr(kind, payload):
    return codec.attr(kind, payload)


def test_lean_socket_decodes_a_link_message():
    info = _attr(codec.IFLA_INFO_KIND, b"veth")
    payload = (struct.pack("=BxHiII", 0, 1, 7, 0x1043, 0)
               + _attr(codec.IFLA_IFNAME, b"veth-c1\0") + _attr(codec.IFLA_MTU, struct.pack("=I", 1400))
               + _attr(99, b"\0" * 37)  # an attribute the fast path skips
               + _attr(codec.IFLA_MASTER, struct.pack("=I", 3)) + _attr(codec.IFLA_LINK, struct.pack("=I", 2))
               + _attr(codec.IFLA_LINKINFO, info) + _attr(codec.IFLA_LINK_NETNSID, struct.pack("=i", 0))
               + _attr(codec.IFLA_IFALIAS, b"netplumb:container_net:br0:c1"))
    link = codec.link(payload)
    assert link == Link(netns=None, index=7, name="veth-c1", kind="veth", up=True, mtu=1400, master_index=3,
                        peer_index=2, peer_nsid=0, alias="netplumb:container_net:br0:c1")


def test_attributes_are_padded_to_four_bytes():
    assert len(_attr(1, b"abc")) == 8 and len(_attr(1, b"abcd")) == 8 and len(_attr(1, b"")) == 4


def test_a_route_gateway_must_be_on_one_of_the_containers_subnets_or_ipv6_link_local():
    def routes(*gateways, **container):
        item = dict({"name": "c1", "address": "198.51.100.11/24"}, **container)
        item["routes"] = [{"dst": "203.0.113.0/24" if "." in gw else "2001:db8:5::/64", "gateway": gw}
                          for gw in gateways]
        return parse({"bridge": "br0", "containers": [item]}).containers[0].routes

    assert [str(r.gateway) for r in routes("198.51.100.254", "fe80::1")] == ["198.51.100.254", "fe80::1"]
    assert [str(r.gateway) for r in routes("2001:db8::1", address6="2001:db8::11/64")] == ["2001:db8::1"]
    for gateway, container, found in (("192.0.2.1", {}, "(198.51.100.0/24)"),
                                      ("2001:db8::1", {}, "(it has no IPv6 address)"),
                                      ("2001:db8:9::1", {"address6": "2001:db8::11/64"}, "(2001:db8::/64)")):
        with pytest.raises(ParamError) as caught:
            routes(gateway, **container)
        assert caught.value.field == "containers[0].routes[0].gateway"
        assert "is on none of the container's subnets %s: the kernel refuses a route through it" % found \
            in str(caught.value)


def test_another_default_route_needs_another_metric():
    item = {"name": "c1", "address": "198.51.100.11/24", "gateway": "198.51.100.1",
            "routes": [{"dst": "0.0.0.0/0", "gateway": "198.51.100.2"}]}
    with pytest.raises(ParamError) as caught:
        parse({"bridge": "br0", "containers": [item]})
    assert str(caught.value) == ("containers[0].routes[0].dst: '0.0.0.0/0' with metric 0 is the default route, "
                                 "which gateway makes")
    item["routes"][0]["metric"] = 100
    assert [(str(r.dst), r.metric) for r in parse({"bridge": "br0", "containers": [item]}).containers[0].routes] == [
        ("0.0.0.0/0", 100)]
