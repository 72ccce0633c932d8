# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource behind container_net: many containers on one bridge in one call.

A container is a named namespace whose interface (``eth0``) is a veth paired
with a host end on the bridge (names: spec.py). The actual state comes from
one link dump of the node's namespace plus, per existing container namespace,
a lookup of ``lo`` and the interface, its addresses and its main-table routes,
all on lean sessions (one per namespace, reused by the ops); planning decides
everything from those reads. A container with nothing of it on the node yet
is one operation, a batch of the kernel's own (operations.py).

Ownership: the host end carries the mark ``netplumb:container_net:<bridge>:<name>``
(its interface alias). ``exclusive`` removes only marked containers of this
bridge; an unmarked link holding a host-end name is left alone (an error),
except the pair of an existing container made by the earlier per-container
tasks (``veth-<name>`` paired with its ``eth0``), which is adopted and marked.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import checks, read, states
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import operations as container_ops
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import spec as container_spec
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.operations import (
    CONTAINER_ADD, CONTAINER_DEL, LINK_ALIAS)
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import mark, owner
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import (
    ADDR_ADD, LINK_ADD, LINK_DEL, LINK_SET, NETNS_ADD, NETNS_DEL, ROUTE_ADD, ROUTE_DEL, ROUTE_REPLACE)
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import reserve_descriptors
from ansible_collections.netplumb.linux.plugins.module_utils.link.linkattrs import LinkAttrs, converge, fresh

NETLINK = "lean"  # no pyroute2
OPERATIONS = (kernel_ops.OPERATIONS, container_ops.OPERATIONS)
parse = container_spec.parse
# What a plan does to a container (outcome()), as the summary counts them.
OUTCOMES = ("created", "changed", "removed", "unchanged")


def plan(ctx, spec):
    """The module's plan: a count of the containers by what happens to them,
    and a diff of only the containers that change (a node of hundreds of
    containers, one of them new, shows one)."""
    result = plan_each(ctx, spec)
    counts = dict((kind, 0) for kind in OUTCOMES)
    counts["unchanged"] = len(result.unchanged)
    for name in list(result.before):
        kind = outcome(result.before[name], result.after.get(name))
        counts[kind] += 1
        if kind == "unchanged":
            del result.before[name], result.after[name]
    result.extra = {"summary": dict(counts, total=sum(counts.values()), operations=len(result.ops))}
    return result


def outcome(before, after):
    """What the plan does to one container, from its before and after states:
    one of OUTCOMES (node_network counts its containers by it too)."""
    if before == after:
        return "unchanged"
    if before.get("state") == "absent":
        return "created"
    return "removed" if after.get("state") == "absent" else "changed"


def plan_each(ctx, spec, unchanged_states=False):
    """The operations and each container's before and after. A container
    the plan leaves as it is has one state for both, built only with
    ``unchanged_states`` (node_network's --diff shows every container) and
    never in a read-back; else only its name is kept, in ``unchanged``."""
    kernel = ctx.kernel
    reserve_descriptors(len(spec.containers))
    host = kernel.view(None, addresses=False)
    if spec.state == "present":
        checks.check_bridge(ctx, host, spec.bridge)
    result = Plan(before={}, after={})
    result.unchanged = []
    # A read-back reads the containers the apply touched, and no other.
    touched = ctx.touched
    if spec.state == "absent":
        for container in spec.containers:
            if _touched(touched, container.name, container.host):
                _plan_absent(result, kernel, spec, host, container.name, container.host)
        return result
    # Host end -> container, of the containers container_net made on the bridge that are not listed.
    listed = {container.name for container in spec.containers}
    unlisted = {}
    for name, link in sorted(host.links.items()):
        ours = owner(link.alias)
        if link.kind == "veth" and ours and ours[0] == spec.bridge and ours[1] not in listed:
            unlisted[name] = ours[1]
    removed = set(unlisted) if spec.exclusive else set()
    checks.check_ports(host, spec, removed)
    if not spec.exclusive and touched is None:
        checks.check_addresses(kernel, spec, host, unlisted)
    states = unchanged_states and touched is None
    for container in spec.containers:
        if _touched(touched, container.name, container.host):
            _plan_container(result, kernel, spec, host, container, states)
    for name in sorted(removed):
        if _touched(touched, unlisted[name], name):
            _plan_absent(result, kernel, spec, host, unlisted[name], name)
    return result


def _touched(touched, name, host_end):
    """Whether a container is planned: always, but in a read-back
    (``touched``, ctx.touched) only when the apply acted on it."""
    return touched is None or name in touched or host_end in touched


def _plan_container(result, kernel, spec, host, want, unchanged_states):
    routes = want.kernel_routes
    ns = read.read_container(kernel, want.name, spec.ifname, tuple(sorted({r.dst.version for r in routes})))
    hlink = host.get(want.host)
    eth = ns.get(spec.ifname)
    paired = read.paired(ns, hlink, eth)
    ours = hlink is not None and owner(hlink.alias) == (spec.bridge, want.name)
    if paired and not ours:
        checks.check_not_taken(spec, want, hlink)
    planned = len(result)
    if hlink is not None and not paired:
        if not ours:
            raise ParamError(want.field("name"), want.name, "needs the host end %s, which is a %s link not made "
                             "by container_net; left alone" % (want.host, hlink.kind))
        result.add("delete", Op(LINK_DEL, None, want.host))
    if eth is not None and not paired:
        if eth.kind != "veth":
            raise ParamError(want.field("name"), want.name, "has a %s link %s in the way in its namespace; "
                             "only a veth is replaced" % (eth.kind, spec.ifname))
        other = host.by_index.get(eth.peer_index) if eth.peer_nsid is not None else None
        if read.paired(ns, other, eth) and owner(other.alias) is None:
            raise ParamError(want.field("name"), want.name, "has %s paired with %s, a veth not made by "
                             "container_net; left alone" % (spec.ifname, other.name))
        result.add("delete", Op(LINK_DEL, want.name, spec.ifname))
    new_ns = not ns.exists
    if new_ns and hlink is None:
        result.before[want.name] = {"state": "absent"}
        _plan_new(result, spec, want, routes)
        return
    if new_ns:
        result.add("netns", Op(NETNS_ADD, None, want.name, undo=Op(NETNS_DEL, None, want.name)))
    lo = ns.get("lo")
    if new_ns or (lo is not None and not lo.up):
        result.add("up", Op(LINK_SET, want.name, "lo", {"up": True},
                            noop("lo") if new_ns else Op(LINK_SET, want.name, "lo", {"up": False})))
    if paired:
        have_host, have_eth = hlink, eth
    else:
        result.add("veth", Op(LINK_ADD, None, want.host,
                              {"kind": "veth", "peer": spec.ifname, "peer_netns": want.name, "mtu": want.mtu},
                              Op(LINK_DEL, None, want.host)))
        have_host = fresh(None, want.host, "veth", want.mtu)
        have_eth = fresh(want.name, spec.ifname, "veth", want.mtu)
    if not (paired and ours):
        result.add("link", Op(LINK_ALIAS, None, want.host, {"alias": mark(spec.bridge, want.name)},
                              noop(want.host) if not paired else
                              Op(LINK_ALIAS, None, want.host, {"alias": hlink.alias})))
    fields = (want.field("mtu"), want.field("address6"))
    converge(result, LinkAttrs(None, want.host, None, spec.bridge, want.mtu), have_host, is_new=not paired,
             fields=fields)
    converge(result, LinkAttrs(want.name, spec.ifname, want.addresses, None, want.mtu, nodad=True), have_eth,
             is_new=not paired, fields=fields)
    actual = ns.routes if paired else {}
    if paired and _loses_ipv4(have_eth, want.addresses):
        actual = {key: route for key, route in actual.items() if key[0].version != 4}
    _plan_routes(result, spec, want, routes, actual, is_new=not paired)
    # Without an operation the container stays as it is: one state for its
    # before and after, built only where asked (it costs, for hundreds).
    if len(result) == planned:
        if unchanged_states:
            result.before[want.name] = result.after[want.name] = states.state(spec, hlink, eth, ns)
        else:
            result.unchanged.append(want.name)
        return
    result.before[want.name] = states.state(spec, hlink, eth, ns) if paired else {"state": "absent"}
    result.after[want.name] = states.want_state(spec, want, have_eth, routes, actual)


def _loses_ipv4(link, desired):
    """Whether the address changes leave ``link`` without any IPv4 address for
    a moment (deletes come first; a deleted primary takes its subnet's
    secondaries along): the kernel then flushes the link's IPv4 routes, which
    are to be made again."""
    current = {a for a in link.addresses if a.version == 4}
    removed = {a for a in current if a not in desired}
    if not removed:
        return False
    primaries = {a for a in removed if a not in link.secondaries}
    kept = {a for a in current - removed if not any(a.network == p.network for p in primaries)}
    return not kept


def _plan_new(result, spec, want, routes):
    """A container with nothing of it on the node yet: one step, a batch of
    the kernel's operations; the args say what it makes."""
    name, host, ifname = want.name, want.host, spec.ifname
    steps = [Op(NETNS_ADD, None, name, undo=Op(NETNS_DEL, None, name)),
             Op(LINK_ADD, None, host, {"kind": "veth", "peer": ifname, "peer_netns": name, "mtu": want.mtu},
                Op(LINK_DEL, None, host)),
             Op(LINK_SET, None, host, {"master": spec.bridge, "alias": mark(spec.bridge, name), "up": True}),
             Op(LINK_SET, name, "lo", {"up": True})]
    steps += [Op(ADDR_ADD, name, ifname, {"address": a, "nodad": a.version == 6}) for a in want.addresses]
    steps.append(Op(LINK_SET, name, ifname, {"up": True}))
    steps += [Op(ROUTE_ADD, name, _route_target(r), {"route": r}) for r in routes]
    args = {"host": host, "bridge": spec.bridge, "mark": mark(spec.bridge, name), "ifname": ifname,
            "address": " ".join(str(a) for a in want.addresses), "mtu": want.mtu,
            "routes": [states.route_line(r) for r in routes]}
    result.add("veth", Op(CONTAINER_ADD, None, name, args, Op(CONTAINER_DEL, None, name, {"host": host}),
                          steps=tuple(steps)))
    result.after[want.name] = states.want_state(spec, want, fresh(want.name, spec.ifname, "veth", want.mtu), routes, {})


def _plan_routes(result, spec, want, routes, actual, is_new):
    for route in routes:
        have = actual.get((route.dst, route.metric))
        if have is None:
            result.add("route", Op(ROUTE_ADD, want.name, _route_target(route), {"route": route},
                                   noop(spec.ifname) if is_new else
                                   Op(ROUTE_DEL, want.name, _route_target(route), {"route": route})))
        elif have.gateway != route.gateway or have.dev != route.dev:
            result.add("route", Op(ROUTE_REPLACE, want.name, _route_target(route), {"route": route},
                                   Op(ROUTE_REPLACE, want.name, _route_target(have), {"route": have})))


def _plan_absent(result, kernel, spec, host, name, host_name):
    ns = read.read_container(kernel, name, spec.ifname, (4, 6))  # the diff's "before" shows its routes
    hlink = host.get(host_name)
    eth = ns.get(spec.ifname)
    paired = read.paired(ns, hlink, eth)
    ours = hlink is not None and hlink.kind == "veth" and owner(hlink.alias) == (spec.bridge, name)
    result.before[name] = states.state(spec, hlink, eth, ns) if paired else (
        {"state": "present", "netns": True} if ns.exists else {"state": "absent"})
    result.after[name] = {"state": "absent"}
    if hlink is not None and (ours or paired):
        result.add("delete", Op(LINK_DEL, None, host_name))
    if ns.exists or namespaces.stale_file(name):
        result.add("delete", Op(NETNS_DEL, None, name))


def _route_target(route):
    return route.text(metric="set")
