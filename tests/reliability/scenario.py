"""The node the reliability suite converges: two containers on a bridge with
their default routes (made with netns, veth and route), two more plugged in by
one container_net call, masquerade, a port forward and a forward rule, the CNI
plugins and a conflist: scenarios 2-5 as a list of (module, params) steps.

``converge.py`` runs the steps through the engine in one process (what the
crash test kills); ``tasks()`` gives the same steps as playbook tasks.

A node's whole container network as one node_network call is topologies.NODE
(the one tests/integration/test_node_network.py uses: dual stack, two
containers, a port forward, a peer route, forward rules): its uplink is topologies.wan_uplink
(``node_uplink``), and ``node_drift`` breaks a built node in the ways a repair
run mends."""

import copy
import subprocess

from topologies import NODE, SYSCTL_FILE, wan_uplink

SUBNET = "198.51.100.0/24"
GATEWAY = "198.51.100.1"
CONTAINERS = (("c1", "198.51.100.11"), ("c2", "198.51.100.12"))
# plugged in by container_net, in one call
BATCH = (("c3", "198.51.100.13"), ("c4", "198.51.100.14"))
CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"]
CONFLIST = {
    "cniVersion": "1.0.0",
    "name": "pods",
    "plugins": [
        {"type": "bridge", "bridge": "cni0", "isGateway": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "203.0.113.0/25"}]]}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}


def present(nat_backend="nftables", forward_backend="iptables"):
    steps = [("netns", {"name": name}) for name, _address in CONTAINERS]
    steps.append(("bridge", {"name": "v-net-0", "addresses": [GATEWAY + "/24"]}))
    for name, address in CONTAINERS:
        steps.append(("veth", {"name": "eth0", "netns": name, "addresses": [address + "/24"],
                               "peer": "veth-" + name, "peer_master": "v-net-0"}))
    for name, _address in CONTAINERS:
        steps.append(("route", {"dst": "default", "gateway": GATEWAY, "netns": name}))
    steps.append(("container_net", {"bridge": "v-net-0", "gateway": GATEWAY,
                                    "containers": [{"name": name, "address": address + "/24"}
                                                   for name, address in BATCH]}))
    steps += [
        ("nat_rule", {"kind": "masquerade", "source": SUBNET, "out_interface": "uplink0",
                      "backend": nat_backend}),
        ("nat_rule", {"kind": "dnat", "protocol": "tcp", "dport": "8080", "in_interface": "uplink0",
                      "to": CONTAINERS[0][1] + ":80", "backend": nat_backend}),
        ("nat_rule", {"kind": "forward", "source": SUBNET, "backend": forward_backend}),
        ("cni_install", {"src": "/usr/lib/cni", "plugins": list(CNI_PLUGINS)}),
        ("cni_config", {"name": "pods", "config": copy.deepcopy(CONFLIST), "priority": 10}),
    ]
    return steps


def kernel_and_masquerade():
    """The steps up to the masquerade: the kernel objects and the first rule."""
    steps = present()
    return steps[:[module for module, _params in steps].index("nat_rule") + 1]


def absent(nat_backend="nftables", forward_backend="iptables"):
    """The teardown: every step of present() with state absent, in reverse."""
    return teardown(present(nat_backend, forward_backend))


def nat_only(backend="iptables"):
    """The scenario's three rules alone (masquerade, port forward, forward), on one backend."""
    return [(module, dict(params, backend=backend)) for module, params in present() if module == "nat_rule"]


def teardown(steps):
    """``steps`` with state absent, in reverse."""
    down = []
    for module, params in reversed(steps):
        params = dict(params, state="absent")
        if module == "cni_install":
            params.pop("src")
        if module == "cni_config":
            params.pop("config")
        down.append((module, params))
    return down


# -- node_network: the whole network in one transaction ----------------------------------------


def node_network(**changes):
    """The node as one node_network step (``changes`` merged into NODE)."""
    return [("node_network", dict(copy.deepcopy(NODE), **changes))]


def node_uplink(box):
    """The node's uplink0 (dual stack) to the 'wan' namespace."""
    wan_uplink(box, ipv6=True)


def node_drift(box):
    """A built node broken in every part node_network repairs: c1's cable
    pulled out, the bridge's gateway address and the peer route gone, the
    port forward's rule deleted and the sysctl file edited away."""
    box.ip("link", "del", "eth0", netns="c1")
    box.ip("addr", "del", "198.51.100.1/24", "dev", "v-net-0")
    box.ip("route", "del", "198.51.101.0/24")
    _delete_nft_rules("dnat")
    with open(SYSCTL_FILE, "w") as handle:
        handle.write("# mine\n")


def _delete_nft_rules(word):
    """Delete every rule of the netplumb nft tables whose text has ``word``."""
    listing = subprocess.run(["nft", "-a", "list", "ruleset"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
    family = table = chain = None
    deleted = 0
    for line in listing.splitlines():
        words = line.split()
        if words[:1] == ["table"]:
            family, table = words[1], words[2]
        elif words[:1] == ["chain"]:
            chain = words[1]
        elif word in words and "# handle" in line and "netplumb" in (table or ""):
            subprocess.run(["nft", "delete", "rule", family, table, chain, "handle", words[-1]],
                           capture_output=True, timeout=30, check=True)
            deleted += 1
    assert deleted, "no %s rule of netplumb's in the ruleset:\n%s" % (word, listing)


def tasks(steps):
    return [{"netplumb.linux.%s" % module: params} for module, params in steps]
