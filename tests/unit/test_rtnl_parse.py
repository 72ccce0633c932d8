"""The lean netlink layer's address parsing agrees with model.managed_address
(which the pyroute2 layer uses) on every address, link-local or not."""

import socket
import struct

from hypothesis import given, settings, strategies as st

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import model, rtnl_codec as codec


def expected(family, raw, prefixlen):
    iface = codec.PACKED[family]((raw, prefixlen))
    return iface if model.managed_address(iface) else None


def LINK_LOCAL(tail):  # pylint: disable=invalid-name
    """fe80::/10 and its neighbours: 0xfe then a byte with the top bit set."""
    return b"\xfe" + bytes([0x80 | tail[0] & 0x7f]) + tail[1:]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.tuples(st.just(socket.AF_INET), st.binary(min_size=4, max_size=4), st.integers(0, 32)),
    st.tuples(st.just(socket.AF_INET6), st.binary(min_size=16, max_size=16), st.integers(0, 128)),
    st.tuples(st.just(socket.AF_INET6), st.binary(min_size=15, max_size=15).map(LINK_LOCAL), st.integers(0, 128)),
))
def test_an_address_parses_as_ipaddress_does(case):
    family, raw, prefixlen = case
    assert codec.interface(family, raw, prefixlen) == expected(family, raw, prefixlen)


def test_link_local_is_left_to_the_kernel_and_lo_parsed_once():
    assert codec.interface(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, "fe80::1"), 64) is None
    assert codec.interface(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, "febf::1"), 64) is None
    assert str(codec.interface(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, "fec0::1"), 64)) == "fec0::1/64"
    lo = socket.inet_aton("127.0.0.1")
    assert codec.interface(socket.AF_INET, lo, 8) is codec.interface(socket.AF_INET, lo, 8)


def test_a_decoded_object_is_the_dataclass_the_constructor_makes():
    link = model.decoded(model.Link, netns=None, index=2, name="eth0", kind="veth", up=True, mtu=1500, peer_index=7)
    built = model.Link(None, 2, "eth0", "veth", True, 1500, peer_index=7)
    assert link == built and hash(link) == hash(built) and repr(link) == repr(built)
    try:
        link.mtu = 9000
    except AttributeError:  # dataclasses.FrozenInstanceError
        pass
    else:
        raise AssertionError("a decoded Link must stay frozen")
    route = model.decoded(model.Route, netns="c", dst=model.default_network(4), table=254, metric=0)
    assert route == model.Route("c", model.default_network(4), 254, 0) and route.type == "unicast"


def test_attributes_stop_at_a_malformed_length():
    good = codec.attr(3, b"eth0\0")
    zero = struct.pack("=HH", 0, 4) + b"\0" * 8
    assert codec.pick(good + zero, 0, {3, 4}) == {3: b"eth0\0"}
