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
    assert codec.pick(good + zero, 0, frozenset((3, 4))) == {3: b"eth0\0"}


def _walked(data, offset, wanted):
    """pick() as a plain walk, for comparison."""
    found = {}
    while offset <= len(data) - 4:
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        if kind & 0x3FFF in wanted:
            found[kind & 0x3FFF] = data[offset + 4:offset + length]
        offset += (length + 3) & -4
    return found


_ATTRS = st.lists(st.tuples(st.integers(1, 12), st.binary(max_size=9)), min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(_ATTRS, st.data(), st.frozensets(st.integers(1, 12), max_size=5), st.binary(max_size=3))
def test_pick_with_learned_layouts_finds_what_a_walk_finds(attrs, data, wanted, tail):
    """Messages of one length and first attribute but their other attributes
    in other orders (so other layouts), read in turn and again: each time
    what a walk of that message finds."""
    first, rest = attrs[0], attrs[1:]
    orders = [rest] + [data.draw(st.permutations(rest)) for _unused in range(3)]
    messages = [b"".join(codec.attr(kind, value) for kind, value in [first] + order) + tail for order in orders]
    codec._LAYOUTS.clear()  # pylint: disable=protected-access
    for message in messages + messages[::-1] + messages:
        assert codec.pick(message, 0, wanted) == _walked(message, 0, wanted)


def test_a_layout_is_used_only_when_every_header_is_its_own():
    """Same length and first attribute, a later attribute of another type:
    the learned layout does not fit and the message is walked."""
    first = codec.attr(3, b"eth0\0") + codec.attr(4, struct.pack("=I", 1500)) + codec.attr(10, struct.pack("=I", 7))
    other = codec.attr(3, b"eth0\0") + codec.attr(4, struct.pack("=I", 1500)) + codec.attr(11, struct.pack("=I", 7))
    assert len(first) == len(other)
    codec._LAYOUTS.clear()  # pylint: disable=protected-access
    assert codec.pick(first, 0, frozenset((4, 10))) == {4: struct.pack("=I", 1500), 10: struct.pack("=I", 7)}
    assert codec.pick(first, 0, frozenset((4, 10))) == {4: struct.pack("=I", 1500), 10: struct.pack("=I", 7)}
    assert codec.pick(other, 0, frozenset((4, 10))) == {4: struct.pack("=I", 1500)}
    assert codec.pick(first, 0, frozenset((4, 10))) == {4: struct.pack("=I", 1500), 10: struct.pack("=I", 7)}
    assert len(codec._LAYOUTS) == 1  # pylint: disable=protected-access
