"""The recipe's scenario 4 topology inside a sandbox, built with plain ip:

    c1 (198.51.100.11) --eth0/veth-c1-- v-net-0 (198.51.100.1)   node
    node uplink0 (203.0.113.1) ---- eth0 (203.0.113.2) wan

The wan has no route back to the container subnet: only masquerade brings
the answers home. Forwarding is on in the sandbox's own namespace only.
``build6`` adds the same in IPv6 (2001:db8:100::/64 for the containers,
2001:db8:203::/64 between node and wan)."""

CONTAINER = "198.51.100.11"
SUBNET = "198.51.100.0/24"
UPLINK = "203.0.113.1"
WAN = "203.0.113.2"


def build(box):
    box.ip("netns", "add", "c1")
    box.ip("netns", "add", "wan")
    box.ip("link", "add", "v-net-0", "type", "bridge")
    box.ip("addr", "add", "198.51.100.1/24", "dev", "v-net-0")
    box.ip("link", "set", "v-net-0", "up")
    box.ip("link", "add", "veth-c1", "type", "veth", "peer", "name", "eth0", "netns", "c1")
    box.ip("link", "set", "veth-c1", "master", "v-net-0", "up")
    box.ip("addr", "add", CONTAINER + "/24", "dev", "eth0", netns="c1")
    box.ip("link", "set", "eth0", "up", netns="c1")
    box.ip("link", "set", "lo", "up", netns="c1")
    box.ip("route", "add", "default", "via", "198.51.100.1", netns="c1")
    box.ip("link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", "wan")
    box.ip("addr", "add", UPLINK + "/24", "dev", "uplink0")
    box.ip("link", "set", "uplink0", "up")
    box.ip("addr", "add", WAN + "/24", "dev", "eth0", netns="wan")
    box.ip("link", "set", "eth0", "up", netns="wan")
    box.ip("link", "set", "lo", "up", netns="wan")
    with open("/proc/sys/net/ipv4/ip_forward", "w") as handle:  # this sandbox's netns only
        handle.write("1\n")


CONTAINER6 = "2001:db8:100::11"
SUBNET6 = "2001:db8:100::/64"
UPLINK6 = "2001:db8:203::1"
WAN6 = "2001:db8:203::2"


def build6(box):
    """IPv6 on top of ``build``; nodad, so addresses are usable at once."""
    for address, dev, netns in (("2001:db8:100::1/64", "v-net-0", None), (CONTAINER6 + "/64", "eth0", "c1"),
                                (UPLINK6 + "/64", "uplink0", None), (WAN6 + "/64", "eth0", "wan")):
        box.ip("addr", "add", address, "dev", dev, "nodad", netns=netns)
    box.ip("-6", "route", "add", "default", "via", "2001:db8:100::1", netns="c1")
    with open("/proc/sys/net/ipv6/conf/all/forwarding", "w") as handle:  # this sandbox's netns only
        handle.write("1\n")


MASQUERADE6 = {"kind": "masquerade", "source": SUBNET6, "out_interface": "uplink0"}
PORT_FORWARD6 = {"kind": "dnat", "protocol": "tcp", "dport": "80", "in_interface": "uplink0",
                 "to": "[%s]:8080" % CONTAINER6}
FORWARD6 = {"kind": "forward", "source": SUBNET6}
FORWARD_BACK6 = {"kind": "forward", "destination": SUBNET6}

MASQUERADE = {"kind": "masquerade", "source": SUBNET, "out_interface": "uplink0"}
PORT_FORWARD = {"kind": "dnat", "protocol": "tcp", "dport": "80", "in_interface": "uplink0",
                "to": CONTAINER + ":8080"}
FORWARD = {"kind": "forward", "source": SUBNET}
FORWARD_BACK = {"kind": "forward", "destination": SUBNET}
