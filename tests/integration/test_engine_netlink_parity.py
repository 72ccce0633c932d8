"""The two netlink sessions answer the one interface (kernel/session.py) alike.

netns, veth, container_net, nat_rule and the uplink run on the lean session
(kernel/rtnl.py), bridge, route and net_facts on pyroute2's (kernel/iproute.py);
both feed the same planners. On one topology built with ``ip`` in the sandbox
(a bridge with STP (this kernel has no bridge VLAN filtering), veths across
namespaces, IPv4 secondaries, IPv6 with link-local addresses inside and
outside fe80::/16, routes of several types, tables and metrics), every read
of the interface must answer the same through both; every write, made through
each session in a namespace of its own, must leave the same kernel state.
Runs under pyroute2 0.9 and again under 0.7 (make test).
"""

import errno
import ipaddress
import os

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces, session
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import MAIN_TABLE, Route
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns

from topologies import build_topology  # pylint: disable=wrong-import-order

NAMESPACES = (None, "red", "blue")
IMPLEMENTATIONS = session.IMPLEMENTATIONS


def _extra_objects(sandbox):
    ip = sandbox.ip
    ip("link", "set", "br0", "type", "bridge", "stp_state", "1")
    ip("link", "add", "br1", "type", "bridge")
    ip("link", "set", "br1", "alias", "a link's alias")
    ip("addr", "add", "192.0.2.77/24", "dev", "br0")  # a secondary
    # Link-local is fe80::/10: fe90:: is link-local too, and neither session reports it.
    ip("-6", "addr", "add", "fe90::5/64", "dev", "c0", "nodad", netns="red")
    ip("-6", "addr", "add", "fec0::5/64", "dev", "c0", "nodad", netns="red")  # site-local: kept
    ip("route", "add", "blackhole", "203.0.113.0/25", netns="red")
    ip("route", "add", "unreachable", "203.0.113.128/25", "metric", "7", netns="red")
    ip("route", "add", "198.51.100.128/25", "dev", "vr", "table", "1000", "metric", "5", netns="red")
    ip("-6", "route", "add", "2001:db8:2::/64", "dev", "c0", "metric", "300", netns="red")


def _settled(routes):
    """``routes`` without IPv6 link-local and multicast ones: the kernel adds
    those when a link's IPv6 starts, on its own clock."""
    return [r for r in routes if not (r.dst.version == 6 and (r.dst.is_link_local or r.dst.is_multicast))]


def _reads(implementation):
    """Everything the interface reads, through Kernel and through the bare sessions."""
    with Kernel(Context(), implementation) as kernel:
        views = {ns: sorted(kernel.view(ns).links.values(), key=lambda link: link.index) for ns in NAMESPACES}
        only = {ns: sorted(kernel.view(ns, only=("lo", "c0", "nothing")).links.values(), key=repr)
                for ns in NAMESPACES}
        routes = {ns: sorted(kernel.routes(ns), key=repr) for ns in NAMESPACES}
        main = {ns: sorted(kernel.routes(ns, (4, 6), MAIN_TABLE, unicast_only=True), key=repr) for ns in NAMESPACES}
        # The lean session has the kernel filter these dumps (a strict socket);
        # table 4242 does not exist, which the kernel answers with ENOENT.
        tables = {(ns, table, unicast): sorted(kernel.routes(ns, (4, 6), table, unicast_only=unicast), key=repr)
                  for ns in NAMESPACES for table in (MAIN_TABLE, 255, 1000, 4242) for unicast in (False, True)}
        nsids = {(a, b): kernel.nsid_of(a, b) for a in NAMESPACES for b in NAMESPACES if a != b}
        home = {ns: kernel.view(ns, only=("lo", "c0"), home_id=True).home_id for ns in NAMESPACES}
        red = kernel.session("red")
        single = (red.link("c0"), red.link("nothing"), red.index("c0"), red.index("nothing"),
                  sorted(red.addresses(red.index("c0")), key=repr), sorted(red.routes((6,)), key=repr),
                  sorted(red.routes((4,)), key=repr),
                  _settled(red.routes()) == _settled(red.routes((4,)) + red.routes((6,))),
                  red.links_named(("nothing", "c0", "lo", "nothing")))
        links, addresses, home_id = red.read_named(("c0", "nothing"), home_fd=kernel.home_fd())
        some = red.read_named(("lo", "c0"), addresses=("c0",))
        batched = (links, sorted(addresses, key=repr) == sorted(red.addresses(), key=repr), home_id,
                   red.read_named(("lo",), addresses=False),
                   (some[0], sorted(some[1], key=repr) == sorted(red.addresses(red.index("c0")), key=repr),
                    bool(red.addresses(red.index("lo")))))
    return {"views": views, "only": only, "routes": routes, "main": main, "nsids": nsids, "single": single,
            "home": home, "batched": batched, "tables": tables}


def test_both_sessions_read_the_same(sandbox):
    build_topology(sandbox)
    _extra_objects(sandbox)
    sandbox.settled_snapshot()
    lean, full = _reads("lean"), _reads("pyroute2")
    for key in lean:
        assert lean[key] == full[key], key
    # The topology is what the comparison is about: not empty, every feature present.
    links = {link.name: link for link in lean["views"][None]}
    assert links["br0"].stp is True and links["br0"].vlan_filtering is False
    assert links["br1"].stp is False and links["br1"].alias == "a link's alias"
    assert len(links["br0"].secondaries) == 1 and links["br0"].mac.count(":") == 5
    assert links["h0"].peer_nsid is not None and links["h0"].master == "br0" and links["lo"].operstate == "unknown"
    c0 = {link.name: link for link in lean["views"]["red"]}["c0"]
    assert [str(a) for a in c0.addresses] == ["192.0.2.10/24", "2001:db8::10/64", "fec0::5/64"]
    assert sorted(link.name for link in lean["only"]["red"]) == ["c0", "lo"] and lean["only"][None][0].name == "lo"
    assert {r.type for r in lean["routes"]["red"]} >= {"unicast", "blackhole", "unreachable", "local"}
    assert {r.type for r in lean["main"]["red"]} == {"unicast"}
    assert [link and link.name for link in lean["single"][-1]] == [None, "c0", "lo", None]
    assert any(r.table == 1000 and r.metric == 5 and r.dev == "vr" for r in lean["routes"]["red"])
    tables = lean["tables"]
    assert [(r.table, r.metric, r.dev) for r in tables[("red", 1000, True)]] == [(1000, 5, "vr")]
    assert {r.type for r in tables[("red", MAIN_TABLE, False)]} == {"unicast", "blackhole", "unreachable"}
    assert {r.type for r in tables[("red", 255, False)]} >= {"local"} and not tables[("red", 255, True)]
    assert not tables[("red", 4242, False)] and not tables[(None, 4242, True)]
    assert any(nsid is not None for nsid in lean["nsids"].values())
    assert lean["single"][1] is None and lean["single"][3] is None
    # One send of lookups, the node's id and the address dump reads what the separate requests read.
    assert lean["home"]["red"] is not None and lean["home"]["red"] == lean["nsids"][("red", None)]
    assert lean["home"][None] is None
    links, same_addresses, home_id, (only_lo, no_addresses, no_id), (lo_c0, of_c0_only, lo_has) = lean["batched"]
    assert [link and link.name for link in links] == ["c0", None] and home_id == lean["home"]["red"]
    assert same_addresses
    assert [link.name for link in only_lo] == ["lo"] and no_addresses == [] and no_id is None
    # Addresses asked of c0 only: c0's, none of lo's own.
    assert [link.name for link in lo_c0] == ["lo", "c0"] and of_c0_only and lo_has


def _write_everything(kernel, ns):
    """Every write of the interface, in namespace ``ns`` (peers go to ``ns``-peer)."""
    sess = kernel.session(ns)
    sess.add_bridge("br0", mtu=1400)
    sess.add_bridge("br1")
    sess.add_veth("a0", "b0", mtu=1300)
    namespaces.create(ns + "-peer")
    fd = namespaces.open_netns(ns + "-peer")
    try:
        sess.add_veth("x0", "y0", peer_netns_fd=fd)
        sess.set_link(sess.index("b0"), netns_fd=fd)
    finally:
        os.close(fd)
    br0, a0 = sess.index("br0"), sess.index("a0")
    sess.set_bridge(br0, stp=True)  # this kernel has no VLAN filtering to set
    sess.set_link(br0, up=True)
    sess.set_link(a0, master=br0, up=True, alias="netplumb:test", mtu=1280)
    sess.set_link(sess.index("x0"), master=br0)
    sess.set_link(sess.index("x0"), master=0)
    for text in ("192.0.2.1/24", "192.0.2.2/24", "2001:db8::1/64"):
        sess.add_address(br0, ipaddress.ip_interface(text), nodad=text.startswith("2001"))
    sess.delete_address(br0, ipaddress.ip_interface("192.0.2.2/24"))
    gateway = Route(ns, ipaddress.ip_network("198.51.100.0/24"), MAIN_TABLE, 10, ipaddress.ip_address("192.0.2.254"))
    onlink = Route(ns, ipaddress.ip_network("203.0.113.0/24"), 1000, 0)
    sess.route("add", gateway, br0)
    sess.route("replace", Route(ns, gateway.dst, MAIN_TABLE, 10, ipaddress.ip_address("192.0.2.253")), br0)
    sess.route("add", onlink, br0)
    sess.route("add", Route(ns, ipaddress.ip_network("2001:db8:1::/64"), MAIN_TABLE, 1024,
                            ipaddress.ip_address("2001:db8::fe")), br0)
    sess.route("add", Route(ns, ipaddress.ip_network("198.51.100.128/25"), MAIN_TABLE, 0,
                            ipaddress.ip_address("192.0.2.9")), br0)
    sess.route("del", Route(ns, ipaddress.ip_network("198.51.100.128/25"), MAIN_TABLE, 0))
    sess.add_bridge("gone")
    sess.delete_link(sess.index("gone"))


def _state(kernel, ns):
    def link_state(link):
        return (link.name, link.kind, link.mtu, link.master, link.up, link.alias, link.stp,
                tuple(str(a) for a in link.addresses), link.peer_index is not None)
    links = sorted(link_state(link) for link in kernel.view(ns).links.values())
    peers = sorted(link_state(link) for link in kernel.view(ns + "-peer").links.values())
    routes = sorted((str(r.dst), r.table, r.metric, str(r.gateway), r.dev, r.scope, r.proto)
                    for r in kernel.routes(ns) if r.proto == "static" or r.table == 1000)
    return links, peers, routes


def test_both_sessions_write_the_same(sandbox):
    with Kernel(Context(), "lean") as kernel:
        for implementation in IMPLEMENTATIONS:
            engine.run(netns, {"name": implementation})
            with Kernel(Context(), implementation) as writer:
                _write_everything(writer, implementation)
        lean, full = _state(kernel, "lean"), _state(kernel, "pyroute2")
    assert lean == full
    links = {state[0]: state for state in lean[0]}
    assert links["br0"][2:7] == (1280, None, True, "", True)  # a bridge takes its smallest port MTU
    assert links["a0"][2:6] == (1280, "br0", True, "netplumb:test") and links["x0"][3] is None
    assert links["br0"][7] == ("192.0.2.1/24", "2001:db8::1/64") and "b0" not in links
    assert {state[0] for state in lean[1]} == {"lo", "b0", "y0"} and "gone" not in links
    assert ("198.51.100.0/24", MAIN_TABLE, 10, "192.0.2.253", "br0", "universe", "static") in lean[2]
    assert ("203.0.113.0/24", 1000, 0, "None", "br0", "link", "static") in lean[2]
    assert not any(route[0] == "198.51.100.128/25" for route in lean[2])


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_refused_request_raises_with_the_kernel_errno(sandbox, implementation):
    sess = session.open_session(implementation)
    try:
        with pytest.raises(Exception) as caught:
            sess.set_link(sess.index("lo"), master=999999)
        assert caught.value.code in (errno.ENODEV, errno.EINVAL)  # as the kernel version says
        with pytest.raises(Exception) as caught:
            sess.delete_link(999999)
        assert caught.value.code == errno.ENODEV
    finally:
        sess.close()
