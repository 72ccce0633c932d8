"""The bad-input corpus: every module and every role variable.

A module case is (module, args, field, value): run with ``args`` on a prepared
node (see prepare()), the module must fail with a message naming ``field``
and ``value`` (its text), print no traceback, and leave the node exactly as it
was. ``value`` defaults to the text of ``args[field]``. Archive cases name an
archive built by cni_fixtures (``@bad:<kind>``, ``@good``) and get its path.
A case with ``engine_field`` must also return exactly ``field`` as the
result's ``field`` (the engine's ParamError, index included). A case with
``defect`` is a known defect of the module: it must still fail cleanly and
change nothing, but it names another field (the defect's text says which);
once it names the right one the test fails until the mark goes.
"""

import copy

from scenario import NODE

LONG = "x" * 300
GOOD_CONFLIST = {"cniVersion": "1.0.0", "name": "pods",
                 "plugins": [{"type": "bridge", "bridge": "cni0",
                              "ipam": {"type": "host-local", "ranges": [[{"subnet": "203.0.113.0/25"}]]}}]}


def conflist(**changes):
    config = {"cniVersion": "1.0.0", "name": "pods",
              "plugins": [{"type": "bridge", "bridge": "cni0",
                           "ipam": {"type": "host-local", "ranges": [[{"subnet": "203.0.113.0/25"}]]}}]}
    config.update(changes)
    return config


_UNSET = object()


def case(module, args, field, value=_UNSET, engine_field=False, defect=None):
    return {"module": module, "args": args, "field": field,
            "value": args.get(field) if value is _UNSET else value, "engine_field": engine_field, "defect": defect}


VETH = {"name": "eth0", "peer": "veth-c9", "netns": "red"}
NAT_DNAT = {"kind": "dnat", "protocol": "tcp", "dport": "8080", "to": "198.51.100.11:80"}


def containers(*changes, **params):
    """container_net on the prepared bridge br-ext: c1 and c2, then ``changes``
    (index, {field: value}) merged into the listed containers."""
    listed = [{"name": "c1", "address": "198.51.100.11/24"}, {"name": "c2", "address": "198.51.100.12/24"}]
    for index, change in changes:
        while len(listed) <= index:
            listed.append({"name": "c%d" % (len(listed) + 1), "address": "198.51.100.%d/24" % (len(listed) + 11)})
        listed[index] = dict(listed[index], **change)
    return dict({"bridge": "br-ext", "gateway": "198.51.100.1", "containers": listed}, **params)


FORWARD = NODE["port_forwards"][0]
PEER_ROUTE = NODE["routes"][0]


def node(field, value=_UNSET, engine_field=True, defect=None, **changes):
    """node_network: the whole node (scenario.NODE, on the prepared node's
    uplink0) with ``changes``. ``engine_field``: the result's ``field`` must be
    ``field`` exactly; False where Ansible's argument spec refuses the value
    before the module's code runs (it names the option, with no ``field``)."""
    return case("node_network", dict(copy.deepcopy(NODE), **changes), field, value, engine_field, defect)


def node_containers(index, **change):
    """NODE's containers with ``change`` merged into the one at ``index``."""
    listed = copy.deepcopy(NODE["containers"])
    listed[index] = dict(listed[index], **change)
    return listed


MODULE_CASES = [
    # netns
    case("netns", {"name": LONG}, "name"),
    case("netns", {"name": "a/b"}, "name"),
    case("netns", {"name": "red blue"}, "name"),
    case("netns", {"name": "red;reboot"}, "name"),
    case("netns", {"name": ".."}, "name"),
    case("netns", {"name": "../../etc"}, "name"),
    case("netns", {"name": ""}, "name", "''"),
    case("netns", {"name": "red", "state": "gone"}, "state"),
    # veth
    case("veth", dict(VETH, name="veth-much-too-long"), "name"),
    case("veth", dict(VETH, name="a/b"), "name"),
    case("veth", dict(VETH, name="eth 0"), "name"),
    case("veth", dict(VETH, peer="veth;ls"), "peer"),
    case("veth", dict(VETH, peer=".."), "peer"),
    case("veth", dict(VETH, netns="nosuch"), "netns"),
    case("veth", dict(VETH, peer_netns="a/b"), "peer_netns"),
    case("veth", dict(VETH, addresses=["198.51.100.300/24"]), "addresses", "198.51.100.300/24"),
    case("veth", dict(VETH, addresses=["198.51.100.11"]), "addresses", "198.51.100.11"),
    case("veth", dict(VETH, peer_addresses=["fe80::1/64"]), "peer_addresses", "fe80::1/64"),
    case("veth", dict(VETH, peer_master="nosuchbr"), "peer_master"),
    case("veth", dict(VETH, peer_master="veth-x"), "peer_master"),
    case("veth", dict(VETH, mtu=10), "mtu"),
    case("veth", dict(VETH, mtu=70000), "mtu"),
    case("veth", dict(VETH, mtu="big"), "mtu"),
    case("veth", {"name": "eth0", "peer": "eth0"}, "peer"),
    case("veth", dict(VETH, name="brx"), "name"),
    # bridge
    case("bridge", {"name": "br/x"}, "name"),
    case("bridge", {"name": "lo"}, "name"),
    case("bridge", {"name": "br-0123456789abc"}, "name"),
    case("bridge", {"name": "br0", "addresses": ["192.0.2.0/33"]}, "addresses", "192.0.2.0/33"),
    case("bridge", {"name": "br0", "addresses": ["224.0.0.1/24"]}, "addresses", "224.0.0.1/24"),
    case("bridge", {"name": "br0", "mtu": 67}, "mtu"),
    case("bridge", {"name": "br0", "stp": "perhaps"}, "stp"),
    case("bridge", {"name": "br0", "netns": "nosuch"}, "netns"),
    case("bridge", {"name": "br0", "vlan_filtering": "sometimes"}, "vlan_filtering"),
    case("bridge", {"name": "veth-x"}, "name"),
    # route
    case("route", {"dst": "300.0.0.0/8", "dev": "br-ext"}, "dst"),
    case("route", {"dst": "192.0.2.1/24", "dev": "br-ext"}, "dst"),
    case("route", {"dst": "default;reboot", "dev": "br-ext"}, "dst"),
    case("route", {"dst": "default", "gateway": "192.0.2.999"}, "gateway"),
    case("route", {"dst": "default", "gateway": "router"}, "gateway"),
    case("route", {"dst": "203.0.113.0/24", "dev": "nosuchdev"}, "dev"),
    case("route", {"dst": "203.0.113.0/24", "dev": "br ext"}, "dev"),
    case("route", {"dst": "203.0.113.0/24", "dev": "br-ext", "metric": -1}, "metric"),
    case("route", {"dst": "203.0.113.0/24", "dev": "br-ext", "metric": 2 ** 32}, "metric"),
    case("route", {"dst": "203.0.113.0/24", "dev": "br-ext", "table": "nosuchtable"}, "table"),
    case("route", {"dst": "203.0.113.0/24", "dev": "eth0", "netns": "nosuch"}, "netns"),
    case("route", {"dst": "203.0.113.0/24", "gateway": "2001:db8::1"}, "gateway"),
    # container_net: a bad field names the container's index
    case("container_net", containers((1, {"address": "198.51.100.300/24"})), "containers[1].address",
         "198.51.100.300/24"),
    case("container_net", containers((1, {"address": "198.51.100.12"})), "containers[1].address", "198.51.100.12"),
    case("container_net", containers((1, {"address": None})), "containers[1].address", None),
    case("container_net", containers((2, {"name": "a/b"})), "containers[2].name", "a/b"),
    case("container_net", containers((1, {"name": ".."})), "containers[1].name", ".."),
    case("container_net", containers((1, {"name": "c1"})), "containers[1].name", "c1"),
    case("container_net", containers((1, {"address": "198.51.100.11/24"})), "containers[1].address",
         "198.51.100.11/24"),
    # an unknown key is refused by Ansible's argument spec, which names it without the index or value
    case("container_net", containers((0, {"colour": "red"})), "containers.colour", None),
    case("container_net", containers((1, {"mtu": 10})), "containers[1].mtu", "10"),
    case("container_net", containers((1, {"gateway": "203.0.113.1"})), "containers[1].gateway", "203.0.113.1"),
    case("container_net", containers((1, {"address": "198.51.100.1/24"})), "containers[1].address",
         "198.51.100.1/24"),
    case("container_net", containers((1, {"routes": [{"dst": "default", "gateway": "198.51.100.1"}]})),
         "containers[1].routes[0].dst", "default"),
    case("container_net", containers((1, {"routes": [{"dst": "203.0.113.0/24", "gateway": "2001:db8::1"}]})),
         "containers[1].routes[0].gateway", "2001:db8::1"),
    case("container_net", containers(gateway="nowhere"), "gateway"),
    case("container_net", containers(bridge="nosuchbr"), "bridge"),
    case("container_net", containers(bridge="veth-x"), "bridge"),
    case("container_net", containers(ifname="eth 0"), "ifname"),
    # host end veth-x is taken by a veth nobody marked; red holds a bridge named brx
    case("container_net", containers((1, {"name": "x"})), "containers[1].name", "x"),
    case("container_net", containers((0, {"name": "red"}), ifname="brx"), "containers[0].name", "red"),
    # node_network: each part of the one desired state, the index of a bad item named
    node("cidr", cidr="198.51.100.1/24"),                  # host bits set: an address, not a network
    node("cidr", cidr="198.51.100.0/33"),
    node("cidr", cidr="198.51.100.0"),
    node("cidr", cidr="2001:db8:100::/64"),                # the other family
    node("cidr6", cidr6="198.51.100.0/24"),
    node("cidr6", cidr6="2001:db8:100::1/64"),
    node("gateway", gateway="203.0.113.1"),                # outside the subnet
    node("gateway", gateway="198.51.100.0"),               # the network address
    node("gateway", gateway="198.51.100.255"),             # the broadcast address
    node("gateway", gateway="2001:db8:100::1"),
    node("gateway6", gateway6="2001:db8:200::1"),
    node("containers[1].address", "203.0.113.12", containers=node_containers(1, address="203.0.113.12")),
    node("containers[1].address", "198.51.100.12/25", containers=node_containers(1, address="198.51.100.12/25")),
    node("containers[1].address", "198.51.100.12/16", containers=node_containers(1, address="198.51.100.12/16")),
    node("containers[1].address", "198.51.100.300", containers=node_containers(1, address="198.51.100.300")),
    node("containers[1].address", "198.51.100.11", containers=node_containers(1, address="198.51.100.11")),
    node("containers[1].address", "198.51.100.1", containers=node_containers(1, address="198.51.100.1")),
    node("containers[0].address6", "2001:db8:200::11", containers=node_containers(0, address6="2001:db8:200::11")),
    node("containers[0].address6", "2001:db8:100::11/56",
         containers=node_containers(0, address6="2001:db8:100::11/56")),
    node("containers[0].address6", "2001:db8:100::11", cidr6=""),    # address6 without cidr6
    node("containers[1].name", "a/b", containers=node_containers(1, name="a/b")),
    node("containers[1].name", "c1", containers=node_containers(1, name="c1")),
    node("containers[0].colour", "red", containers=node_containers(0, colour="red")),
    node("containers", "1025 containers",
         containers=[{"name": "c%d" % i, "address": "198.51.100.11"} for i in range(1025)]),
    node("port_forwards[0].port", "70000", port_forwards=[dict(FORWARD, port=70000)]),
    node("port_forwards[0].port", "0", port_forwards=[dict(FORWARD, port=0)]),
    node("port_forwards[1].port", "http", port_forwards=[FORWARD, dict(FORWARD, port="http")]),
    node("port_forwards[0].protocol", "icmp", port_forwards=[dict(FORWARD, protocol="icmp")]),
    node("port_forwards[0]", "{'port': 80}", port_forwards=[{"port": 80}]),          # no to
    node("port_forwards[0]", "'to': ''", port_forwards=[{"port": 80, "to": ""}]),
    node("port_forwards[0]", "dport", port_forwards=[dict(FORWARD, dport=8080)]),   # not a port forward key
    node("port_forwards[0].to", "198.51.100.300", port_forwards=[{"port": 80, "to": "198.51.100.300"}]),
    node("port_forwards[0].to6", "198.51.100.11", port_forwards=[dict(FORWARD, to6="198.51.100.11")]),
    node("routes[0]", "{'dst': '198.51.101.0/24'}", routes=[{"dst": "198.51.101.0/24"}]),
    node("routes[0]", "{'gateway': '203.0.113.2'}", routes=[{"gateway": "203.0.113.2"}]),
    node("routes[0]", "'dev': 'uplink0'", routes=[dict(PEER_ROUTE, dev="uplink0")]),
    node("routes[1].gateway", "2001:db8::1", routes=[PEER_ROUTE, {"dst": "198.51.102.0/24", "gateway": "2001:db8::1"}]),
    node("routes[0].dst", "198.51.101.1/24", routes=[dict(PEER_ROUTE, dst="198.51.101.1/24")]),
    # a gateway on no network the node is connected to: the kernel would say "Network is unreachable"
    node("routes[1].gateway", "192.0.2.99", routes=[PEER_ROUTE, {"dst": "198.51.102.0/24", "gateway": "192.0.2.99"}]),
    node("cluster_cidr", cluster_cidr="203.0.113.0/24"),   # does not contain cidr
    node("cluster_cidr", cluster_cidr="198.51.100.0/25"),  # inside cidr, not around it
    node("cluster_cidr", cluster_cidr="2001:db8::/32"),
    node("cluster_cidr6", cluster_cidr6="2001:db8:200::/56"),
    # refused by Ansible's argument spec (choices), which names the option and the value, no field
    node("exclusive", "routes", engine_field=False, exclusive=["containers", "routes"]),
    node("nat_backend", engine_field=False, nat_backend="pf"),
    node("uplink", uplink="nosuch0"),
    node("uplink", uplink="wan"),                          # the far end's namespace
    node("uplink", uplink="eth0"),                         # an interface of the wan namespace, not of the node
    node("uplink", uplink="a/b"),
    node("uplink", "''", uplink=""),                       # no default route to find it from
    node("node_uplink", "nosuch0", uplink="nosuch0", uplink_variable="node_uplink"),
    node("sysctl_file", sysctl_file="sysctl.d/60-netplumb.conf"),
    node("sysctl_file", sysctl_file="60-netplumb.conf"),
    node("mtu", "10", mtu=10),
    node("bridge", bridge="a/b"),
    node("bridge", bridge="veth-x"),                       # a veth's name
    # net_facts
    case("net_facts", {"netns": ["a/b"]}, "netns", "a/b"),
    case("net_facts", {"netns": ["red", ".."]}, "netns", ".."),
    case("net_facts", {"include_host": "maybe"}, "include_host"),
    # nat_rule
    case("nat_rule", {"kind": "explode"}, "kind"),
    case("nat_rule", {"kind": "masquerade", "source": "10.0.0.0/33"}, "source"),
    case("nat_rule", {"kind": "masquerade", "source": "198.51.100.1/24"}, "source"),
    case("nat_rule", dict(NAT_DNAT, destination="nowhere"), "destination"),
    case("nat_rule", dict(NAT_DNAT, dport="0"), "dport"),
    case("nat_rule", dict(NAT_DNAT, dport="70000"), "dport"),
    case("nat_rule", dict(NAT_DNAT, dport="90-80"), "dport"),
    case("nat_rule", dict(NAT_DNAT, protocol="icmp"), "protocol"),
    case("nat_rule", dict(NAT_DNAT, to="198.51.100.300:80"), "to"),
    case("nat_rule", dict(NAT_DNAT, to="198.51.100.11:99999"), "to"),
    case("nat_rule", {"kind": "dnat", "protocol": "tcp", "dport": "8080"}, "to", None),
    case("nat_rule", {"kind": "dnat", "dport": "8080", "to": "198.51.100.11"}, "protocol", "dport"),
    case("nat_rule", dict(NAT_DNAT, in_interface="eth 0"), "in_interface"),
    case("nat_rule", {"kind": "masquerade", "out_interface": "a/b"}, "out_interface"),
    case("nat_rule", {"kind": "masquerade", "source": "198.51.100.0/24", "to": "192.0.2.1"}, "to"),
    case("nat_rule", {"kind": "masquerade", "backend": "pf"}, "backend"),
    case("nat_rule", {"kind": "masquerade", "netns": "nosuch"}, "netns"),
    case("nat_rule", {"kind": "masquerade", "comment": "x\n-j ACCEPT"}, "comment"),
    # cni_install
    case("cni_install", {"src": "https://example.invalid/cni.tgz"}, "checksum", "https://example.invalid/cni.tgz"),
    case("cni_install", {"src": "@good", "checksum": "md5:0123"}, "checksum"),
    case("cni_install", {"src": "@good", "checksum": "sha256:" + "0" * 64}, "checksum"),
    case("cni_install", {"src": "cni.tgz"}, "src"),
    case("cni_install", {"src": "/nonexistent/cni.tgz"}, "src"),
    case("cni_install", {"src": "/usr/lib/cni", "plugins": ["../bridge"]}, "plugins", "../bridge"),
    case("cni_install", {"src": "/usr/lib/cni", "plugins": ["a/b"]}, "plugins", "a/b"),
    case("cni_install", {"src": "/usr/lib/cni", "plugins": ["aws-cni"]}, "plugins", "aws-cni"),
    case("cni_install", {"src": "/usr/lib/cni", "bin_dir": "opt/cni/bin"}, "bin_dir"),
    case("cni_install", {"plugins": ["bridge"], "state": "purged"}, "state"),
    case("cni_install", {"src": "@bad:traversal"}, "src"),
    case("cni_install", {"src": "@bad:absolute"}, "src"),
    case("cni_install", {"src": "@bad:symlink"}, "src"),
    case("cni_install", {"src": "@bad:hardlink"}, "src"),
    case("cni_install", {"src": "@bad:device"}, "src"),
    case("cni_install", {"src": "@bad:oversized"}, "src"),
    case("cni_install", {"src": "@bad:garbage"}, "src"),
    # cni_config
    case("cni_config", {"name": "a/b", "config": conflist(name="a/b")}, "name"),
    case("cni_config", {"name": "..", "config": conflist(name="..")}, "name"),
    case("cni_config", {"name": LONG, "config": conflist(name=LONG)}, "name"),
    case("cni_config", {"name": "pods", "priority": 100, "config": conflist()}, "priority"),
    case("cni_config", {"name": "pods", "priority": -1, "config": conflist()}, "priority"),
    case("cni_config", {"name": "pods", "priority": "first", "config": conflist()}, "priority"),
    case("cni_config", {"name": "pods", "conf_dir": "etc/cni", "config": conflist()}, "conf_dir"),
    case("cni_config", {"name": "pods", "bin_dir": "bin", "config": conflist()}, "bin_dir"),
    case("cni_config", {"name": "pods", "config": conflist(cniVersion="banana")}, "cniVersion", "banana"),
    case("cni_config", {"name": "pods", "config": conflist(plugins=[])}, "plugins", "[]"),
    case("cni_config", {"name": "pods", "config": conflist(plugins="bridge")}, "plugins", "bridge"),
    case("cni_config", {"name": "pods", "config": conflist(plugins=[{"type": "../../../bin/sh"}])},
         "type", "../../../bin/sh"),
    case("cni_config", {"name": "pods", "config": conflist(plugins=[{"type": "aws-cni"}])}, "type", "aws-cni"),
    case("cni_config", {"name": "pods", "config": conflist(name="other")}, "name", "other"),
    # cni_check
    case("cni_check", {"name": "nosuch"}, "name"),
    case("cni_check", {"name": "a/b"}, "name"),
    case("cni_check", {"name": "pods", "ifname": "eth 0"}, "ifname"),
    case("cni_check", {"name": "pods", "timeout": 0}, "timeout"),
    case("cni_check", {"config": conflist(plugins=[{"type": "aws-cni"}])}, "type", "aws-cni"),
    case("cni_check", {"name": "pods", "conf_dir": "net.d"}, "conf_dir"),
]
