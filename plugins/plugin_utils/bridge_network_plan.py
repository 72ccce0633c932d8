# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the bridge_network role derives from its variables, as data.

The role's tasks loop over what plan() returns: the bridge's addresses, the
containers as container_net takes them, the masquerade rules and the ones
they replace, the forward-accept rules, the port forwards with their IPv6
twins, the routes to the other nodes' subnets, the IPv6 sysctl settings, and
the teardown set (every rule with every name the uplink may have had).

Pure Python on the controller (the filter netplumb.linux.bridge_network_plan
calls it): no Ansible import, no module_utils import (plugin_utils' cidr only), tested by
tests/unit/test_bridge_network_plan.py. The items keep the shape the role's
tasks always looped over, so task results and labels stay as they were. The
variables' formats are judged before (the role's validate.yml); a port
forward whose target is not an address is passed on as written, and
nat_rule's own check names it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible_collections.netplumb.linux.plugins.plugin_utils.cidr import CidrError, host, network as cidr_network

MAIN_SYSCTL6 = "net.ipv6.conf.all.forwarding"
# "address[:port]" of an IPv4 port forward target, "[address][:port]" of an IPv6 one.
_TARGET4 = re.compile(r"^(?P<address>[0-9.]+)(?::(?P<port>[0-9]+))?$")


# A value the plan cannot be made from.
PlanError = CidrError


def _address(text):
    """An ipaddress object, or None for what is not an address."""
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def _same_address(one, other):
    first, second = _address(one), _address(other)
    if first is None or second is None:
        return str(one) == str(other)
    return first == second


def port_forward_target(to, port):
    """(target with port, the target's address, the target's port) of an IPv4
    port forward's C(to): V(198.51.100.11) with port 80 gives
    ('198.51.100.11:80', '198.51.100.11', '80'). A target that is not an IPv4
    address (with an optional port) stays as written, with the port appended
    when it has no colon, and has no address: nat_rule rejects it by name."""
    text = str(to)
    match = _TARGET4.match(text)
    if match and isinstance(_address(match.group("address")), ipaddress.IPv4Address):
        target_port = match.group("port") or str(port)
        return "%s:%s" % (match.group("address"), target_port), match.group("address"), target_port
    return (text if ":" in text else "%s:%s" % (text, port)), None, None


def ipv6_target(to6, target_port):
    """The IPv6 twin's C(to): C(to6) as written when bracketed ([address]:port),
    else [to6]:<the IPv4 target's port>."""
    text = str(to6)
    if text.startswith("["):
        return text
    return "[%s]:%s" % (text, target_port)


def _twin_address(forward, containers, target_address):
    """The IPv6 address a port forward's twin goes to: its own C(to6) when it
    has that key, else the C(address6) of the container whose C(address) is
    the IPv4 target; '' for none."""
    if "to6" in forward:
        return forward["to6"] or ""
    if target_address is None:
        return ""
    for container in containers:
        if _same_address(container.get("address"), target_address):
            return container.get("address6") or ""
    return ""


def port_forwards(forwards, containers, dual_stack):
    """Each port forward as nat_rule options (port, protocol, to, family):
    IPv4, and its IPv6 twin on a dual-stack node when there is an IPv6 target."""
    rules = []
    for forward in forwards:
        port = str(forward["port"])
        protocol = forward["protocol"] if "protocol" in forward else "tcp"
        to, target_address, target_port = port_forward_target(forward["to"], port)
        rules.append({"port": port, "protocol": protocol, "to": to, "family": "ipv4"})
        if not dual_stack:
            continue
        to6 = _twin_address(forward, containers, target_address)
        if to6:
            # A target that was not an address keeps what follows its last colon as the port.
            twin_port = target_port if target_port is not None else to.rpartition(":")[2]
            rules.append({"port": port, "protocol": protocol, "family": "ipv6", "to": ipv6_target(to6, twin_port)})
    return rules


def peer_routes(peers):
    """Routes to the peers' container subnets: for each peer (a dict of its
    bridge_network_* variables), per family, when it sets both the subnet and
    its node address."""
    routes = []
    for peer in peers:
        for cidr, gateway in (("bridge_network_cidr", "bridge_network_node_address"),
                              ("bridge_network_cidr6", "bridge_network_node_address6")):
            if peer.get(cidr) and peer.get(gateway):
                routes.append({"dst": peer[cidr], "gateway": peer[gateway]})
    return routes


def container_list(containers, prefixlen, prefixlen6):
    """The containers as container_net takes them: name, address(es) with the
    subnets' prefix lengths, and the mtu where one is set."""
    result = []
    for item in containers:
        container = {"name": item["name"], "address": "%s/%s" % (item["address"], prefixlen)}
        if prefixlen6 is not None and item.get("address6"):
            container["address6"] = "%s/%s" % (item["address6"], prefixlen6)
        if item.get("mtu") is not None:
            container["mtu"] = int(item["mtu"])
        result.append(container)
    return result


def _sysctl_name(interface, setting):
    # sysctl writes the dots of an interface name (a VLAN's eth0.100) as slashes.
    return "net.ipv6.conf.%s.%s" % (str(interface).replace(".", "/"), setting)


def plan(settings, uplink=None, peers=()):
    """Everything the role's tasks loop over, from its variables.

    settings: the role's variables without their bridge_network_ prefix
    (cidr, cidr6, gateway, gateway6, cluster_cidr, cluster_cidr6, containers,
    port_forwards, and peer_routes when set). uplink: net_facts' uplink
    result (name, names). peers: the bridge_network_* variables of each
    other host of the peer group, in the group's order."""
    uplink = uplink or {}
    network = cidr_network(settings["cidr"], "bridge_network_cidr")
    cidr6 = settings.get("cidr6") or ""
    network6 = cidr_network(cidr6, "bridge_network_cidr6") if cidr6 else None

    gateway = settings.get("gateway") or str(host(network, 1))
    gateway6 = (settings.get("gateway6") or str(host(network6, 1))) if network6 else ""
    prefixlen = network.prefixlen
    prefixlen6 = network6.prefixlen if network6 else None

    subnets = [settings["cidr"]] + ([cidr6] if cidr6 else [])
    masquerades = [{"source": subnet, "not_to": cluster}
                   for subnet, cluster in ((settings["cidr"], settings.get("cluster_cidr", "")),
                                           (cidr6, settings.get("cluster_cidr6", "")))
                   if subnet]
    forwards = port_forwards(settings.get("port_forwards") or [], settings.get("containers") or [], bool(cidr6))
    if "peer_routes" in settings and settings["peer_routes"] is not None:
        routes = list(settings["peer_routes"])
    else:
        routes = peer_routes(peers)

    uplink_name = uplink.get("name", "")
    uplink_names = list(uplink.get("names") or [])
    masquerade_teardown = []
    for rule in masquerades:
        masquerade_teardown.append({"source": rule["source"]})
        if rule["not_to"]:
            masquerade_teardown.append({"source": rule["source"], "destination": "!" + rule["not_to"]})

    return {
        "gateway": gateway,
        "gateway6": gateway6,
        "prefixlen": prefixlen,
        "prefixlen6": prefixlen6,
        "bridge_addresses": ["%s/%s" % (gateway, prefixlen)] + (["%s/%s" % (gateway6, prefixlen6)] if network6 else []),
        "containers": container_list(settings.get("containers") or [], prefixlen, prefixlen6),
        "subnets": subnets,
        # Masquerade per subnet; with a cluster CIDR of its family, not toward it.
        "masquerades": masquerades,
        # A masquerade of everything, from before the cluster CIDR was set, goes.
        "masquerades_replaced": [rule for rule in masquerades if rule["not_to"]],
        # Forward-accept rules: from each subnet, then to each.
        "forward_matches": [{key: subnet} for key in ("source", "destination") for subnet in subnets],
        "port_forwards": forwards,
        "routes_to_peers": routes,
        "uplink": uplink_name,
        "uplink_names": uplink_names,
        # IPv6 forwarding, the uplink still taking router advertisements (the
        # role's task applies them on a dual-stack node, and skips each on another).
        "sysctl6": [{"name": _sysctl_name(uplink_name, "accept_ra"), "value": "2"},
                    {"name": MAIN_SYSCTL6, "value": "1"}],
        # Each rule with each name the uplink may have had.
        "teardown": {
            "port_forwards": [[rule, name] for rule in forwards for name in uplink_names],
            "masquerades": [[rule, name] for rule in masquerade_teardown for name in uplink_names],
            "sysctl6": [MAIN_SYSCTL6] + [_sysctl_name(name, "accept_ra") for name in uplink_names],
        },
    }
