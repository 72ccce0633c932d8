# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's plan and its fabric.

``plan`` judges the options that shape the lab and lays it out: names,
indexes, addresses, and the nodes on record. ``refuse_overlap`` refuses a
fabric that overlaps a route of this namespace. ``fabric_todo`` and
``uplink_todo`` compare what the wan and the nodes have with what they
need and return the ``ip`` commands that make up the difference (none when
all is there); ``apply`` runs them, or only lists them in check mode.

Options are a dict keyed by the action plugin's option names; a message
about a bad one names it with ``variable_prefix`` in front (the lab role
passes ``lab_``, so its users read their own variable names)."""

import ipaddress
import json
import re

from . import state
from .system import LabError, add_address, addresses, ip_in, is_up, links, run

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,9}$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
BRIDGE = "fabric0"


def named(options, option):
    """The name of ``option`` as the user gave it."""
    return (options.get("variable_prefix") or "") + option


def plan(options):
    """The lab's layout: names, indexes, addresses; and the recorded nodes.
    Reads only. Raises LabError naming the option whose value is wrong."""
    count, prefix, user = options["node_count"], options["node_prefix"], options["user"]
    net = _network(options, "fabric_cidr", 4, 24)
    if count < 1:
        raise LabError("%s must be at least 1, not %d" % (named(options, "node_count"), count), field="node_count")
    if not NAME_RE.match(prefix) or prefix == state.WAN:
        raise LabError("%s %r: lower case letters, digits and '-', at most 10, not 'wan'"
                       % (named(options, "node_prefix"), prefix), field="node_prefix")
    if not USER_RE.match(user) or user == "root":
        raise LabError("%s %r: a user name (lower case letters, digits, '_' and '-'), not root"
                       % (named(options, "user"), user), field="user")
    gateway = net.network_address + 254
    if 10 + count >= 254:
        raise LabError("%s %d does not fit: node addresses run from .11 to .253" % (named(options, "node_count"), count),
                       field="node_count")
    net6 = _network(options, "fabric_cidr6", 6, 120) if options["fabric_cidr6"] else None
    nodes = [{"name": "%s%d" % (prefix, i), "index": i, "uplink": "n%d" % i,
              "address": "%s/%d" % (net.network_address + 10 + i, net.prefixlen),
              "address6": "%s/%d" % (net6.network_address + 10 + i, net6.prefixlen) if net6 else ""}
             for i in range(1, count + 1)]
    wanted = {n["name"] for n in nodes} | {state.WAN}
    present = state.recorded(options["state_dir"])
    present.update(state.find_nodes(options["state_dir"]))
    gateway6 = net6.network_address + 254 if net6 else ""
    return {"state_dir": options["state_dir"], "nodes": nodes,
            "wan": {"name": state.WAN, "index": 0, "address": "%s/%d" % (gateway, net.prefixlen),
                    "address6": "%s/%d" % (gateway6, net6.prefixlen) if net6 else ""},
            "gateway": str(gateway), "gateway6": str(gateway6), "bridge": BRIDGE,
            "recorded": present, "extra": sorted(set(present) - wanted)}


def _network(options, option, version, longest):
    """The fabric network of one family: strict CIDR, at least /``longest``."""
    text = options[option]
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise LabError("%s %r is not an IPv%d network: %s" % (named(options, option), text, version, exc),
                       field=option)
    if net.version != version or net.prefixlen > longest:
        raise LabError("%s %s: an IPv%d network of /%d or larger is needed"
                       % (named(options, option), net, version, longest), field=option)
    return net


def refuse_overlap(options, layout):
    """A fabric that overlaps a route of this namespace would send an ssh that
    misses the relay out through a real interface: refuse it."""
    for family, key, option in (("-4", "address", "fabric_cidr"), ("-6", "address6", "fabric_cidr6")):
        if not layout["wan"][key]:
            continue
        fabric = ipaddress.ip_interface(layout["wan"][key]).network
        routes = json.loads(run(["ip", "-j", family, "route", "show", "table", "all"], timeout=30).stdout or "[]")
        for route in routes:
            dst = route.get("dst", "")
            if route.get("type", "unicast") != "unicast" or dst.startswith("fe80") or dst == "default":
                continue
            try:
                net = ipaddress.ip_network(dst if "/" in dst else dst + ("/32" if family == "-4" else "/128"),
                                           strict=False)
            except ValueError:
                continue
            if net.overlaps(fabric):
                raise LabError("the lab fabric %s overlaps this machine's route %s dev %s: a connection to a lab"
                               " address could leave through it; run the lab inside its own network namespace"
                               " (make demo and the tests do) or pick another %s"
                               % (fabric, dst, route.get("dev", "?"), named(options, option)), field=option)


def fabric_todo(wan_pid, bridge_name, wanted):
    """ip commands (in the wan) for the fabric bridge with the wan's addresses, up."""
    todo = []
    have = links(wan_pid) if wan_pid else {}
    bridge = have.get(bridge_name)
    if bridge is not None and bridge.get("linkinfo", {}).get("info_kind") != "bridge":
        raise LabError("%s in the wan is not a bridge" % bridge_name)
    if bridge is None:
        todo.append(["link", "add", bridge_name, "type", "bridge"])
    for address in wanted:
        if bridge is None or address not in addresses(bridge):
            todo.append(add_address(address, bridge_name))
    if bridge is None or not is_up(bridge):
        todo.append(["link", "set", bridge_name, "up"])
    return todo


def uplink_todo(wan_pid, node_pid, node, bridge, gateways):
    """(node deletions, wan commands, node commands): the node's uplink, a veth
    ``eth0`` in the node with its addresses and default routes, its peer on the fabric."""
    wan = links(wan_pid) if wan_pid else {}
    mine = links(node_pid) if node_pid else {}
    wan_end, node_end = wan.get(node["uplink"]), mine.get("eth0")
    paired = (wan_end is not None and node_end is not None
              and wan_end.get("linkinfo", {}).get("info_kind") == "veth"
              and node_end.get("linkinfo", {}).get("info_kind") == "veth"
              and wan_end.get("link_netnsid") is not None and node_end.get("link_netnsid") is not None)
    first, wan_todo, node_todo = [], [], []
    if not paired:
        if wan_end is not None:
            wan_todo.append(["link", "del", node["uplink"]])
        if node_end is not None:
            first.append(["link", "del", "eth0"])
        wan_todo.append(["link", "add", node["uplink"], "type", "veth", "peer", "name", "eth0",
                         "netns", str(node_pid or "NODE")])
        wan_end = node_end = None
    if wan_end is None or wan_end.get("master") != bridge:
        wan_todo.append(["link", "set", node["uplink"], "master", bridge])
    if wan_end is None or not is_up(wan_end):
        wan_todo.append(["link", "set", node["uplink"], "up"])
    for address in filter(None, (node["address"], node["address6"])):
        if node_end is None or address not in addresses(node_end):
            node_todo.append(add_address(address, "eth0"))
    if node_end is None or not is_up(node_end):
        node_todo.append(["link", "set", "eth0", "up"])
    for family, gateway in (("-4", gateways[0]), ("-6", gateways[1])):
        if not gateway:
            continue
        routes = []
        if node_end is not None:
            routes = json.loads(ip_in(node_pid, "-j", family, "route", "show", "default").stdout or "[]")
        if not any(r.get("gateway") == gateway and r.get("dev") == "eth0" for r in routes):
            node_todo.append([family, "route", "replace", "default", "via", gateway, "dev", "eth0"])
    return first, wan_todo, node_todo


def apply(check, pid, todo):
    """Run ``todo`` in the network of ``pid`` (not in check mode); the commands as text."""
    if not check:
        for command in todo:
            ip_in(pid, *command)
    return ["ip " + " ".join(c) for c in todo]
