# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource behind node_network: a node's whole container network as one plan.

The plan is the union of the resources' own plans, each made by its planner
from the one desired state: the bridge (link.bridge), the containers
(container_net), the NAT rules (nat_rule: masquerade, forward-accept, port
forwards), the routes to the other nodes' subnets (link.route) and the
forwarding settings (sysctl). The engine applies it in one pass under the
node lock, so a failure anywhere undoes everything done before it, and
reads the node back after (as every resource). Every read goes through the lean
netlink session: a run that changes nothing never imports pyroute2.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses

from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops, unmanaged
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import HOST_END_PATTERNS
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop
from ansible_collections.netplumb.linux.plugins.module_utils.facts import uplink as uplink_facts
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import BRIDGE_MTU_KEEP
from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge, route
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import rules, spec as node_spec, sysctl
from ansible_collections.netplumb.linux.plugins.module_utils.node_network.parts import Parts, parsed

NETLINK = "lean"
OPERATIONS = (bridge.OPERATIONS + container_net.OPERATIONS + nat_rule.OPERATIONS
              + (file_ops.OPERATIONS, sysctl.OPERATIONS, unmanaged.OPERATIONS))


def parse(params):
    return node_spec.parse(params)


def plan(ctx, spec):
    # The planners read the node's own namespace whole, each: one read serves them all.
    ctx.share_views = True
    found = _uplink(ctx, spec)
    parts = Parts()
    if spec.state == "present":
        _present(ctx, spec, found, parts)
    else:
        _absent(ctx, spec, found, parts)
    result = parts.plan
    result.extra = {
        "summary": dict(parts.summary(), operations=len(result.ops)),
        "uplink": found["name"],
        "ansible_facts": {
            "netplumb_uplink": found,
            "netplumb_container_network": {"bridge": spec.bridge, "cidr": str(spec.network),
                                           "cidr6": str(spec.network6) if spec.network6 is not None else ""},
        },
    }
    return result


def _uplink(ctx, spec):
    """The uplink's facts (net_facts' uplink): the name given, or the device
    of the default route; for a teardown, every name rules of ours may carry."""
    want = uplink_facts.UplinkSpec(spec.uplink, tuple(4 if f == "ipv4" else 6 for f in spec.families),
                                   spec.state == "absent", spec.uplink_variable)
    return uplink_facts.plan(ctx, want).extra["ansible_facts"]["netplumb_uplink"]


def _managers(parts, spec, state):
    """The node's network managers told to leave the bridge and the containers' host ends alone."""
    part = Plan()
    devices = (spec.bridge,) + HOST_END_PATTERNS
    part.before, part.after = unmanaged.plan(part, spec.network_managers, spec.bridge,
                                             "node_network, bridge %s" % spec.bridge, devices, state)
    parts.add("network_managers", spec.bridge, part, counts=bool(part.before or part.after))


def _present(ctx, spec, found, parts):
    _managers(parts, spec, "present")
    want = bridge.parse({"name": spec.bridge, "addresses": spec.bridge_addresses, "mtu": spec.mtu})
    # The gateway's IPv6 address is usable at once: no duplicate address
    # detection on a bridge the node owns (as the containers' addresses).
    want = dataclasses.replace(want, attrs=dataclasses.replace(want.attrs, nodad=True))
    try:
        bridge_plan = bridge.plan(ctx, want)
    except ParamError as exc:  # a link of another kind holds the name
        raise ParamError("bridge", exc.value, exc.reason)
    if bridge_plan.before.get("state") == "absent":
        ctx.planned_links.add((None, spec.bridge))
    _check_networks(ctx, spec)
    ctx.planned_networks.update((None, address.network) for address in want.attrs.addresses)

    containers = None
    if spec.containers or "containers" in spec.exclusive:
        containers = container_net.plan_each(ctx, container_net.parse({
            "bridge": spec.bridge, "containers": list(spec.containers),
            "gateway": str(spec.gateway),
            "gateway6": str(spec.gateway6) if spec.gateway6 is not None else None,
            "exclusive": "containers" in spec.exclusive}), unchanged_states=True)
        if containers.ops and spec.mtu and _mtu_may_follow_ports(bridge_plan):
            bridge_plan.add("bridge", Op(BRIDGE_MTU_KEEP, None, spec.bridge, {"mtu": spec.mtu}, noop(spec.bridge)))
    parts.add("bridge", spec.bridge, bridge_plan)
    if containers is not None:
        parts.add_containers(containers)

    uplink = found["name"]
    planned = set()
    for rule in spec.masquerades:
        masquerade = rules.masquerade(spec.bridge, rule["source"], uplink, rule["not_to"])
        planned.add(rules.nat(ctx, parts, masquerade, spec, "present" if spec.masquerade else "absent").identity)
        if rule["not_to"]:
            # A masquerade of everything, from before the cluster CIDR was set,
            # would still catch the traffic between pods: it goes.
            everything = rules.masquerade(spec.bridge, rule["source"], uplink, "")
            planned.add(rules.nat(ctx, parts, everything, spec, "absent", counts=False).identity)
    # So does one made with another subnet, cluster CIDR or uplink, or of a family the node no longer has.
    rules.stale(ctx, parts, spec, "masquerade", {rules.MASQUERADE_NOTE % spec.bridge}, planned)
    accept = "present" if spec.forward_rules else "absent"
    planned = {rules.nat(ctx, parts, rules.forward_accept(spec.bridge, match), spec, accept).identity
               for match in spec.forward_matches}
    rules.stale(ctx, parts, spec, "forward", {rules.FORWARD_NOTE % spec.bridge}, planned)
    named = set()
    for forward in spec.port_forwards:
        # A twin that lost its IPv6 target (the container's address6 went) goes, whatever it forwarded to.
        gone = forward.get("gone", False)
        if not gone:
            rules.check_port_free(ctx, spec, forward, uplink)
        rule = rules.nat(ctx, parts, rules.dnat(spec.bridge, forward, uplink), spec, "absent" if gone else "present",
                         "port_forwards[%d]" % forward["index"], counts=not gone, renamed={"to": forward["field"]})
        named.add(rule.identity)
    if "port_forwards" in spec.exclusive:
        rules.others(ctx, parts, spec, named)
    else:
        # A listed port forward made out of another uplink, or its IPv6 twin on a node no longer dual-stack.
        rules.stale(ctx, parts, spec, "dnat", rules.dnat_notes(spec), named)

    for index, item in enumerate(spec.routes):
        want = parsed(route, "routes[%d]" % index, dict(item))
        try:
            parts.add("routes", item["dst"], route.plan(ctx, want))
        except ParamError as exc:  # the node cannot take it (a gateway on no connected network)
            raise ParamError("routes[%d].%s" % (index, exc.field), exc.value, exc.reason)

    if spec.forwarding:
        settings = [(node_spec.IPV4_FORWARDING, "1")]
        if spec.network6 is not None:
            # Forwarding makes the kernel ignore router advertisements on every
            # interface; accept_ra 2 keeps the uplink configured by them.
            settings += [(sysctl.key(uplink, "accept_ra"), "2"), (node_spec.IPV6_FORWARDING, "1")]
        _sysctl(parts, spec, settings, [])


def _absent(ctx, spec, found, parts):
    """Exactly what a present run makes, in reverse: with every name the
    uplink may have had, so a teardown after the default route moved still
    finds the rules."""
    _managers(parts, spec, "absent")
    for index, item in enumerate(spec.routes):
        want = parsed(route, "routes[%d]" % index, dict(item, state="absent"))
        parts.add("routes", item["dst"], route.plan(ctx, want))
    names = found["names"]
    planned = set()
    for forward in spec.port_forwards:
        for name in names:
            planned.add(rules.nat(ctx, parts, rules.dnat(spec.bridge, forward, name), spec, "absent",
                                  "port_forwards[%d]" % forward["index"], renamed={"to": forward["field"]}).identity)
    rules.stale(ctx, parts, spec, "dnat", rules.dnat_notes(spec), planned)
    planned = {rules.nat(ctx, parts, rules.forward_accept(spec.bridge, match), spec, "absent").identity
               for match in spec.forward_matches}
    rules.stale(ctx, parts, spec, "forward", {rules.FORWARD_NOTE % spec.bridge}, planned)
    planned = set()
    for rule in spec.masquerades:
        for name in names:
            for not_to in ("", rule["not_to"]) if rule["not_to"] else ("",):
                masquerade = rules.masquerade(spec.bridge, rule["source"], name, not_to)
                planned.add(rules.nat(ctx, parts, masquerade, spec, "absent").identity)
    rules.stale(ctx, parts, spec, "masquerade", {rules.MASQUERADE_NOTE % spec.bridge}, planned)
    if spec.containers:
        parts.add_containers(container_net.plan_each(ctx, container_net.parse({
            "bridge": spec.bridge, "containers": [{"name": c.get("name")} for c in spec.containers],
            "state": "absent"})))
    if spec.forwarding:
        # Forwarding stays on until the next boot (other software may rely on
        # it by now); the lines that set it at boot go.
        removed = [node_spec.IPV4_FORWARDING]
        if spec.network6 is not None:
            removed += [node_spec.IPV6_FORWARDING] + [sysctl.key(name, "accept_ra") for name in names]
        _sysctl(parts, spec, [], removed, runtime=False)
    parts.add("bridge", spec.bridge, bridge.plan(ctx, bridge.parse({"name": spec.bridge, "state": "absent"})))


def _check_networks(ctx, spec):
    """The bridge's subnets are its own: another link of the node with an
    address in one of them, or a network within one (another bridge's call
    given the same cidr, an uplink's network), would take part of the
    containers' traffic, and the rules of both calls would match each
    other's. A network that holds the subnet but not the address (a node
    address in a /8 the subnet is carved from) is fine: the bridge's route
    is the more specific."""
    for field, network in (("cidr", spec.network), ("cidr6", spec.network6)):
        if network is None:
            continue
        for name, link in sorted(ctx.kernel.view(None).links.items()):
            if name == spec.bridge:
                continue
            for address in link.addresses:
                if address.version != network.version:
                    continue
                if address.ip in network or address.network.subnet_of(network):
                    raise ParamError(field, str(network), "holds %s, an address of %s on the node already: give the "
                                     "bridge a network of its own" % (address, name))


def _mtu_may_follow_ports(bridge_plan):
    """Whether the bridge has the wanted MTU without this run setting it: it
    may be the kernel's, the lowest of its ports', which changes with them (as
    the containers change) unless set. Nothing tells which; keeping it costs
    two requests, in runs that change containers only."""
    return bridge_plan.before.get("state") != "absent" and not any(
        "mtu" in step.args for op in bridge_plan.ops for step in (op.steps or (op,)))


def _sysctl(parts, spec, settings, removed, runtime=True):
    part = Plan()
    if runtime:
        sysctl.plan_runtime(part, settings)
    before, after = sysctl.plan_file(part, spec.sysctl_file, spec.bridge, settings, removed)
    part.before = {"settings": dict((name, sysctl.current(name)) for name, _value in settings), "file": before}
    part.after = {"settings": dict(settings), "file": after}
    parts.add("sysctl", spec.sysctl_file, part)
