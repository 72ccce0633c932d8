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

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import spec as container_spec
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.operations import (
    CONTAINER_ADD, CONTAINER_DEL, LINK_ALIAS)
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import operations as container_ops
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import MAX_PORTS, mark, owner
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import MAIN_TABLE
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import (
    ADDR_ADD, LINK_ADD, LINK_DEL, LINK_SET, NETNS_ADD, NETNS_DEL, ROUTE_ADD, ROUTE_DEL, ROUTE_REPLACE)
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import reserve_descriptors
from ansible_collections.netplumb.linux.plugins.module_utils.link.linkattrs import LinkAttrs, converge, fresh

NETLINK = "lean"  # no pyroute2
OPERATIONS = (kernel_ops.OPERATIONS, container_ops.OPERATIONS)
parse = container_spec.parse
# What a plan does to a container (outcome()), as the summary counts them.
OUTCOMES = ("created", "changed", "removed", "unchanged")


class _Container:
    """What planning reads of one container namespace."""

    def __init__(self, view, routes):
        self.exists = view.exists
        self.get = view.get
        self.home_id = view.home_id
        self.routes = routes  # {(dst, metric): model.Route} of the main table


def _read_container(kernel, name, ifname, families=()):
    """Namespace ``name``: lo and ``ifname`` with their addresses and, for
    ``families``, the main-table routes. A namespace that does not exist yet
    is empty."""
    view = kernel.view(name, only=("lo", ifname), missing_ok=True, home_id=True)
    eth = view.get(ifname)
    routes = {}
    if families and eth is not None:
        names = {link.index: link.name for link in view.links.values()}
        for route in kernel.routes(name, families, MAIN_TABLE, names, unicast_only=True):
            routes[(route.dst, route.metric)] = route
    return _Container(view, routes)


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
        _check_bridge(ctx, host, spec.bridge)
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
    _check_ports(host, spec, removed)
    if not spec.exclusive and touched is None:
        _check_addresses(kernel, spec, host, unlisted)
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


def _check_ports(host, spec, removed):
    """The bridge's ports after the run, its other ports counted (the
    kernel refuses the port over MAX_PORTS half way through a run): more
    fail before any read of the containers."""
    listed = {container.host for container in spec.containers}
    others = sum(1 for name, link in host.links.items()
                 if link.master == spec.bridge and name not in listed and name not in removed)
    if others + len(listed) > MAX_PORTS:
        raise ParamError("containers", "%d containers" % len(listed), "and the %d other ports of bridge %s are more "
                         "than the %d ports a Linux bridge holds: spread them over several bridges"
                         % (others, spec.bridge, MAX_PORTS))


def _check_addresses(kernel, spec, host, staying):
    """A listed container's address that a container left in place on the
    bridge holds (``staying``: host end -> container, ones container_net
    made and the call neither lists nor removes) would be on the bridge
    twice, and the two would take each other's traffic: fail before any
    change, naming both. One read per such container, and a node without
    any reads nothing."""
    wanted = {address.ip: (container, "address" if address.version == 4 else "address6")
              for container in spec.containers for address in container.addresses}
    for name, other in sorted(staying.items()):
        ns = _read_container(kernel, other, spec.ifname)
        eth = ns.get(spec.ifname)
        if not _paired(ns, host.get(name), eth):
            continue
        for address in eth.addresses:
            if address.ip in wanted:
                container, key = wanted[address.ip]
                raise ParamError(container.field(key), str(address.ip), "is the address of container %s on bridge "
                                 "%s, which is not listed and stays: list it with another address, or remove it "
                                 "(state absent, or containers exclusive)" % (other, spec.bridge))


def _check_bridge(ctx, host, bridge):
    link = host.get(bridge)
    if link is None:
        if ctx.plans_link(None, bridge):
            return
        if ctx.assume_earlier_task("bridge: %r does not exist yet; check mode assumes an earlier task "
                                   "creates it" % bridge):
            return
        raise ParamError("bridge", bridge, "is not a link in the node's namespace")
    if link.kind != "bridge":
        raise ParamError("bridge", bridge, "is a %s, not a bridge" % link.kind)


def _paired(ns, hlink, eth):
    """Whether host link ``hlink`` and ``eth`` of container namespace ``ns``
    are the two ends of one veth. Interface indexes are per namespace (eth0 is
    nearly always 2), so eth's peer must also be in the node's namespace: its
    peer's namespace id is the one ``ns`` knows the node's by. Then that peer
    is the node's link of that index, ``hlink``."""
    return (hlink is not None and eth is not None and hlink.kind == "veth" and eth.kind == "veth"
            and hlink.peer_nsid is not None and eth.peer_nsid is not None
            and hlink.peer_index == eth.index and eth.peer_index == hlink.index
            and eth.peer_nsid == ns.home_id)


def _plan_container(result, kernel, spec, host, want, unchanged_states):
    routes = want.kernel_routes
    ns = _read_container(kernel, want.name, spec.ifname, tuple(sorted({r.dst.version for r in routes})))
    hlink = host.get(want.host)
    eth = ns.get(spec.ifname)
    paired = _paired(ns, hlink, eth)
    ours = hlink is not None and owner(hlink.alias) == (spec.bridge, want.name)
    if paired and not ours:
        _check_not_taken(spec, want, hlink)
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
        if _paired(ns, other, eth) and owner(other.alias) is None:
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
            result.before[want.name] = result.after[want.name] = _state(spec, hlink, eth, ns)
        else:
            result.unchanged.append(want.name)
        return
    result.before[want.name] = _state(spec, hlink, eth, ns) if paired else {"state": "absent"}
    result.after[want.name] = _want_state(spec, want, have_eth, routes, actual)


def _check_not_taken(spec, want, hlink):
    """A container that container_net made for another bridge, still a port
    of that bridge, belongs to that bridge's call: taking it over would move
    it to and fro on every run of the two calls. One whose bridge is gone is
    taken over (a call that renamed its bridge)."""
    made_for = owner(hlink.alias)
    if made_for is not None and made_for[0] != spec.bridge and hlink.master == made_for[0]:
        raise ParamError(want.field("name"), want.name, "is a container of bridge %s (its host end %s is a port of "
                         "it), made for that bridge's call: remove it there first (state absent with bridge %s), "
                         "or give this one another name" % (made_for[0], want.host, made_for[0]))


def _loses_ipv4(link, desired):
    """Whether the address changes leave ``link`` without any IPv4 address for
    a moment (deletes come first; a deleted primary takes its subnet's
    secondaries along): the kernel then flushes the link's IPv4 routes, which
    are to be made again."""
    current = {a for a in link.addresses if a.version == 4}
    removed = current - set(desired)
    primaries = {a for a in removed if a not in link.secondaries}
    kept = {a for a in current - removed if not any(a.network == p.network for p in primaries)}
    return bool(removed) and not kept


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
            "routes": [_route_line(r) for r in routes]}
    result.add("veth", Op(CONTAINER_ADD, None, name, args, Op(CONTAINER_DEL, None, name, {"host": host}),
                          steps=tuple(steps)))
    result.after[want.name] = _want_state(spec, want, fresh(want.name, spec.ifname, "veth", want.mtu), routes, {})


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
    ns = _read_container(kernel, name, spec.ifname, (4, 6))  # the diff's "before" shows its routes
    hlink = host.get(host_name)
    eth = ns.get(spec.ifname)
    paired = _paired(ns, hlink, eth)
    ours = hlink is not None and hlink.kind == "veth" and owner(hlink.alias) == (spec.bridge, name)
    result.before[name] = _state(spec, hlink, eth, ns) if paired else (
        {"state": "present", "netns": True} if ns.exists else {"state": "absent"})
    result.after[name] = {"state": "absent"}
    if hlink is not None and (ours or paired):
        result.add("delete", Op(LINK_DEL, None, host_name))
    if ns.exists or namespaces.stale_file(name):
        result.add("delete", Op(NETNS_DEL, None, name))


def _route_target(route):
    return route.text(metric="set")


def _route_line(route):
    return route.text(dev=False, metric="custom")


def _routes_state(routes):
    return sorted(_route_line(r) for r in routes if r.gateway is not None)


def _state(spec, hlink, eth, ns):
    return {
        "state": "present",
        "host_end": hlink.name,
        "master": hlink.master,
        "mtu": eth.mtu,
        "addresses": [str(a) for a in eth.addresses],
        "up": hlink.up and eth.up,
        "routes": _routes_state(ns.routes.values()),
    }


def _want_state(spec, want, have_eth, wanted, actual):
    routes = dict(actual)
    for route in wanted:
        routes[(route.dst, route.metric)] = route
    return {
        "state": "present",
        "host_end": want.host,
        "master": spec.bridge,
        "mtu": want.mtu if want.mtu is not None else have_eth.mtu,
        "addresses": [str(a) for a in want.addresses],
        "up": True,
        "routes": _routes_state(routes.values()),
    }
