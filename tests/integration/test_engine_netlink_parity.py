"""The lean netlink socket (rtnl.py) reads and writes what pyroute2 does.

netns, veth and container_net run on the lean socket, bridge, route and
net_facts on pyroute2's IPRoute; both feed the same planner through
kernel.Kernel. On one topology built with ``ip`` in the sandbox (bridge with
STP (this kernel has no bridge VLAN filtering), veths across namespaces, IPv4 secondaries, IPv6,
routes of several types, tables and metrics), a Kernel on each socket must
report the same links, addresses, routes and namespace ids, and the lean
socket's writes must read back the same through pyroute2.
"""

import errno
import ipaddress

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import apply
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import rtnl
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op

from test_engine_facts import build_topology  # pylint: disable=wrong-import-order

NAMESPACES = (None, "red", "blue")


def _extra_objects(sandbox):
    ip = sandbox.ip
    ip("link", "set", "br0", "type", "bridge", "stp_state", "1")
    ip("link", "add", "br1", "type", "bridge")
    ip("addr", "add", "192.0.2.77/24", "dev", "br0")  # a secondary
    ip("route", "add", "blackhole", "203.0.113.0/25", netns="red")
    ip("route", "add", "unreachable", "203.0.113.128/25", "metric", "7", netns="red")
    ip("route", "add", "198.51.100.128/25", "dev", "vr", "table", "1000", "metric", "5", netns="red")
    ip("-6", "route", "add", "2001:db8:2::/64", "dev", "c0", "metric", "300", netns="red")


def _read(lean):
    with Kernel(lean=lean) as kernel:
        views = {ns: sorted(kernel.view(ns).links.values(), key=lambda link: link.index) for ns in NAMESPACES}
        routes = {ns: sorted(kernel.routes(ns), key=repr) for ns in NAMESPACES}
        nsids = {(a, b): kernel.nsid_of(a, b) for a in NAMESPACES for b in NAMESPACES if a != b}
    return views, routes, nsids


def test_both_sockets_read_the_same_links_addresses_routes_and_nsids(sandbox):
    build_topology(sandbox)
    _extra_objects(sandbox)
    sandbox.settled_snapshot()
    lean, full = _read(lean=True), _read(lean=False)
    assert lean[0] == full[0]
    assert lean[1] == full[1]
    assert lean[2] == full[2]
    # The topology is what the comparison is about: not empty, every feature present.
    links = {link.name: link for link in lean[0][None]}
    assert links["br0"].stp is True and links["br0"].vlan_filtering is False
    assert links["br1"].stp is False and links["br1"].vlan_filtering is False
    assert len(links["br0"].secondaries) == 1 and links["br0"].mac.count(":") == 5
    assert links["h0"].peer_nsid is not None and links["lo"].operstate == "unknown"
    assert {r.type for r in lean[1]["red"]} >= {"unicast", "blackhole", "unreachable", "local"}
    assert any(r.table == 1000 and r.metric == 5 for r in lean[1]["red"])
    assert any(nsid is not None for nsid in lean[2].values())


def test_writes_through_the_lean_socket_read_back_the_same_through_pyroute2(sandbox):
    engine.run(netns, {"name": "red"})
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "add", "a0", "type", "veth", "peer", "name", "b0")
    ops = [Op("link_set", None, "br0", {"stp": True, "mtu": 1400, "up": True}),
           Op("link_set", None, "a0", {"master": "br0", "up": True}),
           Op("link_move", None, "b0", {"to": "red"}),
           Op("addr_add", None, "br0", {"address": ipaddress.ip_interface("192.0.2.1/24")})]
    with Kernel(lean=True) as kernel:
        apply.apply(kernel, ops)
    with Kernel(lean=False) as kernel:
        br0, a0 = kernel.view(None).get("br0"), kernel.view(None).get("a0")
        assert (br0.stp, br0.mtu, br0.up) == (True, 1400, True)
        assert (a0.master, a0.up) == ("br0", True)
        assert kernel.view("red").get("b0") is not None and kernel.view(None).get("b0") is None
        assert [str(a) for a in br0.addresses] == ["192.0.2.1/24"]


def test_a_refused_request_raises_with_the_kernel_errno(sandbox):
    sock = rtnl.RtnlSocket()
    try:
        with pytest.raises(rtnl.NetlinkError) as caught:
            sock.link("set", index=sock.link_lookup("lo")[0], master=999999)
        assert caught.value.code in (errno.ENODEV, errno.EINVAL)  # as the kernel version says
    finally:
        sock.close()
