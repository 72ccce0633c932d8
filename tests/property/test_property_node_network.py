"""d. Generated node networks for node_network: one node's subnet (IPv4, or
dual-stack), containers with and without IPv6 addresses and MTUs, the
bridge's MTU, masquerade with or without a cluster CIDR, forward-accept
rules, port forwards, routes to other nodes' subnets, forwarding, exclusive
containers or port forwards, on one NAT backend; a first desired state, then
a second one of the same subnet. Each case in a sandbox of its own, with the
uplink to a 'wan' namespace.

Check mode plans the very operations the real run applies and changes
nothing (links, addresses, routes, firewall, sysctl file); after each real
run ip (not the engine) shows every listed container with its addresses,
each container reaches the gateway with real ICMP, only the masquerades the
state wants are in the firewall (and only its port forwards, where they are
exclusive), and a further run plans nothing. ``state:
absent`` of everything either state listed leaves the sandbox as it was
(forwarding switched back by hand: it stays on, as documented).
"""

import os
import re

from hypothesis import given, strategies as st

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
from netplumb_testlib import firewall, our_rules, sandboxed
from property_lib import addresses, count, generated, links
from topologies import SYSCTL_FILE, wan_uplink

CIDR, CIDR6 = "198.51.100.0/24", "2001:db8:100::/64"
NAMES = ("c0", "c1", "c2")
CLUSTERS = {"cluster_cidr": ("", "198.51.100.0/23", "198.51.100.0/22"), "cluster_cidr6": ("", "2001:db8:100::/56")}
ROUTES = {4: ({"dst": "198.51.101.0/24", "gateway": "203.0.113.2"},
              {"dst": "198.51.102.0/24", "gateway": "203.0.113.2"}),
          6: ({"dst": "2001:db8:101::/64", "gateway": "2001:db8:203::2"},)}
# Forwarding at its kernel defaults, for the comparison after a teardown (it stays on, documented).
DEFAULTS = (("net/ipv4/ip_forward", "0"), ("net/ipv6/conf/all/forwarding", "0"), ("net/ipv6/conf/uplink0/accept_ra", "1"))


@st.composite
def containers(draw, dual):
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    found = []
    for name in names:
        # A container's address moves between two of its own: no two containers, listed or
        # left from the first state, share one.
        host = 10 + NAMES.index(name) + draw(st.sampled_from([0, 20]))
        item = {"name": name, "address": "198.51.100.%d" % host}
        if dual and draw(st.booleans()):
            item["address6"] = "2001:db8:100::%x" % host
        mtu = draw(st.sampled_from([None, 1280, 1400]))
        if mtu:
            item["mtu"] = mtu
        found.append(item)
    return found


@st.composite
def nodes(draw, dual, backend):
    """node_network's params for one desired state of the node."""
    items = draw(containers(dual))
    forwards = draw(st.lists(st.tuples(st.sampled_from([80, 443, 8080]), st.sampled_from(["tcp", "udp"]),
                                       st.sampled_from(items), st.sampled_from([None, 8080])),
                             max_size=2, unique_by=lambda f: f[:2])) if items else []
    params = {"cidr": CIDR, "uplink": "uplink0", "nat_backend": backend, "containers": items,
              "mtu": draw(st.sampled_from([None, 1400, 1500])),
              "masquerade": draw(st.booleans()), "forward_rules": draw(st.booleans()),
              "forwarding": draw(st.booleans()),
              "cluster_cidr": draw(st.sampled_from(CLUSTERS["cluster_cidr"])),
              "port_forwards": [{"port": port, "protocol": protocol,
                                 "to": item["address"] + (":%d" % target if target else "")}
                                for port, protocol, item, target in forwards],
              "routes": draw(st.lists(st.sampled_from(ROUTES[4] + (ROUTES[6] if dual else ())), unique_by=str)),
              "exclusive": draw(st.lists(st.sampled_from(["containers", "port_forwards"]), unique=True))}
    if dual:
        params.update(cidr6=CIDR6, cluster_cidr6=draw(st.sampled_from(CLUSTERS["cluster_cidr6"])))
    return {key: value for key, value in params.items() if value is not None}


@st.composite
def cases(draw):
    dual, backend = draw(st.booleans()), draw(st.sampled_from(["nftables", "iptables"]))
    return draw(nodes(dual, backend)), draw(nodes(dual, backend))


def rules(text):
    """The rule lines of ``firewall()``: a teardown leaves the built-in tables
    and chains that iptables-nft makes on first use (iptables' own, empty)."""
    return [line.strip() for line in text.splitlines()
            if line.startswith("-A") or (line.startswith("\t\t") and not line.strip().startswith("type "))]


def sysctl_file():
    return open(SYSCTL_FILE).read() if os.path.exists(SYSCTL_FILE) else None


def node_state(box):
    return box.snapshot(), firewall(), sysctl_file()


def wrong_containers(box, params):
    """The containers of ``params`` that ip shows without their addresses or
    that do not reach the gateway (one ICMP echo, 2 s at most)."""
    wrong = set()
    spaces = box.netns_list()
    for item in params["containers"]:
        name = item["name"]
        eth = links(box, name).get("eth0") if name in spaces else None
        wanted = sorted(["%s/24" % item["address"]] + (["%s/64" % item["address6"]] if "address6" in item else []))
        if eth is None or addresses(eth) != wanted or not box.ping("198.51.100.1", netns=name):
            wrong.add(name)
    return wrong


def masquerades(params):
    """The masquerade rules of ours, as (source, excluded) pairs, and those the state wants."""
    found = []
    for line in our_rules(params["nat_backend"]):
        if "masquerade" in line.lower():
            source = re.search(r"(?:saddr|-s) (\S+)", line).group(1)
            excluded = re.search(r"(?:daddr != |! -d )(\S+)", line)
            found.append((source, excluded.group(1) if excluded else ""))
    wanted = []
    if params["masquerade"]:
        wanted.append((CIDR, params["cluster_cidr"]))
        if "cidr6" in params:
            wanted.append((CIDR6, params["cluster_cidr6"]))
    return sorted(found), sorted(wanted)


def port_forwards(params):
    """The DNAT rules of ours in the firewall, and how many the state wants
    (each forward, and its IPv6 twin on a dual-stack node toward a container
    with an IPv6 address): exactly as many when port forwards are exclusive."""
    found = [line for line in our_rules(params["nat_backend"]) if "dnat" in line.lower()]
    by_address = {item["address"]: item for item in params["containers"]}
    wanted = sum(1 + ("cidr6" in params and "address6" in by_address[forward["to"].split(":")[0]])
                 for forward in params["port_forwards"])
    return len(found), wanted


def teardown(first, second):
    """``state: absent`` of everything either state listed (non-exclusive lists keep what they do not name)."""
    listed = {}
    for params in (first, second):
        for key, unique in (("containers", "name"), ("port_forwards", None), ("routes", None)):
            for item in params[key]:
                ident = item[unique] if unique else (item.get("port"), item.get("protocol"), item.get("dst"))
                listed.setdefault(key, {})[ident] = item
    return dict(second, state="absent", forwarding=True,
                **{key: list(listed.get(key, {}).values()) for key in ("containers", "port_forwards", "routes")})


@generated(bounded=6)
@given(cases())
def test_d_node_networks_converge_change_and_tear_down(case):
    count("d. node_network: converge, change, check mode, teardown")
    first, second = case
    with sandboxed() as box:
        wan_uplink(box, ipv6=True)
        cold = box.settled_snapshot(), rules(firewall()), None
        for params in (first, second):
            before = box.settled_snapshot(), firewall(), sysctl_file()
            predicted = engine.run(node_network, params, check_mode=True)
            assert node_state(box) == before, "check mode changed the node"
            applied = engine.run(node_network, params)
            assert applied.operations == predicted.operations
            assert wrong_containers(box, params) == set()
            found, wanted = masquerades(params)
            assert found == wanted
            found, wanted = port_forwards(params)
            assert found == wanted if "port_forwards" in params["exclusive"] else found >= wanted
            assert not engine.run(node_network, params).changed
        engine.run(node_network, teardown(first, second))
        for name, value in DEFAULTS:
            with open("/proc/sys/" + name, "w") as handle:
                handle.write(value)
        assert (box.settled_snapshot(), rules(firewall()), sysctl_file()) == cold
