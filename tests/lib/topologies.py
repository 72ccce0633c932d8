"""Topologies that several test files build in their sandbox."""

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns


def build_topology(sandbox):
    """Namespaces red and blue; br0 with an address; h0-c0 (red) and h1-c1
    (blue) on br0; vr (red) - vb (blue); addresses of both families and routes."""
    engine.run(netns, {"name": "red"})
    engine.run(netns, {"name": "blue"})
    ip = sandbox.ip
    ip("link", "add", "br0", "type", "bridge")
    ip("addr", "add", "192.0.2.1/24", "dev", "br0")
    ip("link", "set", "br0", "up")

    ip("link", "add", "h0", "type", "veth", "peer", "name", "c0", "netns", "red")
    ip("link", "set", "h0", "master", "br0")
    ip("link", "set", "h0", "up")
    ip("addr", "add", "192.0.2.10/24", "dev", "c0", netns="red")
    ip("-6", "addr", "add", "2001:db8::10/64", "dev", "c0", "nodad", netns="red")
    ip("link", "set", "c0", "up", netns="red")
    ip("route", "add", "default", "via", "192.0.2.1", netns="red")
    ip("-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8::1", netns="red")

    ip("link", "add", "h1", "type", "veth", "peer", "name", "c1", "netns", "blue")
    ip("link", "set", "h1", "master", "br0")
    ip("link", "set", "h1", "up")

    ip("link", "add", "vr", "netns", "red", "mtu", "1400", "type", "veth",
       "peer", "name", "vb", "netns", "blue", "mtu", "1400")
    ip("addr", "add", "198.51.100.1/24", "dev", "vr", netns="red")
    ip("addr", "add", "198.51.100.2/24", "dev", "vb", netns="blue")
    ip("link", "set", "vr", "up", netns="red")
    ip("link", "set", "vb", "up", netns="blue")


# node_network's file of boot settings, and a whole dual-stack node for it on
# wan_uplink(box, ipv6=True): two containers, masquerade except toward the
# cluster, forward rules, a port forward with its IPv6 twin, a peer route.
SYSCTL_FILE = "/etc/sysctl.d/60-netplumb.conf"
NODE = {
    "cidr": "198.51.100.0/24",
    "cidr6": "2001:db8:100::/64",
    "cluster_cidr": "198.51.100.0/23",
    "uplink": "uplink0",
    "containers": [{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:100::11"},
                   {"name": "c2", "address": "198.51.100.12", "mtu": 1400}],
    "port_forwards": [{"port": 80, "to": "198.51.100.11:8080"}],
    "routes": [{"dst": "198.51.101.0/24", "gateway": "203.0.113.2"}],
    "forward_rules": True,
}


def wan_uplink(box, ipv6=False):
    """The node's uplink0 (203.0.113.1/24) to a 'wan' namespace (203.0.113.2/24 on
    its eth0), which has no route to the containers; with ``ipv6``, 2001:db8:203::1/64
    on uplink0 too."""
    box.ip("netns", "add", "wan")
    box.ip("link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", "wan")
    box.ip("addr", "add", "203.0.113.1/24", "dev", "uplink0")
    if ipv6:
        box.ip("addr", "add", "2001:db8:203::1/64", "dev", "uplink0", "nodad")
    box.ip("link", "set", "uplink0", "up")
    box.ip("addr", "add", "203.0.113.2/24", "dev", "eth0", netns="wan")
    box.ip("link", "set", "eth0", "up", netns="wan")
