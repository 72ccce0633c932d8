# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource behind container_net: many containers on one bridge in one call.

A container is a named namespace whose interface (``eth0``) is a veth paired
with a host end on the bridge (names: container_spec). The actual state comes
from one link dump of the node's namespace plus, per existing container
namespace, one dump each of links, addresses and routes, all through the lean
netlink socket (rtnl.py); planning decides everything from those dumps, and
the ops run through apply.py on the same sockets (one per namespace, reused).

Ownership: the host end carries the mark ``netplumb:container_net:<bridge>:<name>``
(its interface alias). ``exclusive`` removes only marked containers of this
bridge; an unmarked link holding a host-end name is left alone (an error),
except the pair of an existing container made by the earlier per-container
tasks (``veth-<name>`` paired with its ``eth0``), which is adopted and marked.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import ipaddress
import os

from ansible_collections.netplumb.linux.plugins.module_utils.core import apply
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import spec as container_spec
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.read import (
    read_host, read_netns, make_room_for_sockets)
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import default_routes, kernel_metric, mark, owner
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError, ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.link.linkattrs import LinkAttrs, converge, fresh
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Route
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop

NETLINK = "lean"  # rtnl.py's socket: no pyroute2
parse = container_spec.parse
MAIN_TABLE = 254
_FAMILIES = {4: 2, 6: 10}  # AF_INET, AF_INET6
# A container's IPv6 address is usable at once: container_net hands out
# distinct addresses on a bridge it owns (as container runtimes do).
IFA_F_NODAD = 0x02


def _alias(kernel, op):
    sock = kernel.ipr(op.netns)
    found = sock.link_lookup(ifname=op.target)
    if not found:
        raise KernelError("%s in netns %s" % (op.target, op.netns or "(host)"), 19, "no such link")
    sock.link("set", index=found[0], ifalias=op.args["alias"])


def _container_add(kernel, op):
    """A whole new container in one step, on the call's sockets: namespace,
    veth with its peer inside, host end marked on the bridge and up, then lo,
    the address, the interface up and the routes. A failure half way removes
    what this step made before it is reported (earlier steps roll back)."""
    args = op.args
    namespaces.create(op.target)
    try:
        host_sock = kernel.ipr(None)
        fd = namespaces.open_netns(op.target)
        try:
            host_sock.link("add", ifname=args["host"], kind="veth", mtu=args["mtu"],
                           peer={"ifname": args["ifname"], "net_ns_fd": fd, "mtu": args["mtu"]})
        finally:
            os.close(fd)
        host = _index(host_sock, None, args["host"])
        host_sock.link("set", index=host, master=_index(host_sock, None, args["bridge"]), ifalias=args["mark"],
                       state="up")
        sock = kernel.ipr(op.target)
        sock.link("set", index=_index(sock, op.target, "lo"), state="up")
        eth = _index(sock, op.target, args["ifname"])
        for address in map(ipaddress.ip_interface, args["address"].split()):
            sock.addr("add", index=eth, address=str(address.ip), prefixlen=address.network.prefixlen,
                      flags=IFA_F_NODAD if address.version == 6 else 0)
        sock.link("set", index=eth, state="up")
        for text in args["routes"]:
            dst, gateway, metric = _parse_route(text)
            sock.route("add", dst=dst, table=MAIN_TABLE, priority=metric, gateway=gateway, oif=eth)
    except Exception:
        _container_del(kernel, op)
        raise


def _container_del(kernel, op):
    kernel.forget(op.target)
    try:
        found = kernel.ipr(None).link_lookup(ifname=op.args["host"])
        if found:
            kernel.ipr(None).link("del", index=found[0])
    except OSError as exc:
        if getattr(exc, "code", None) != errno.ENODEV:
            raise
    namespaces.delete(op.target)


def _index(sock, netns, name):
    found = sock.link_lookup(ifname=name)
    if not found:
        raise KernelError("%s in netns %s" % (name, netns or "(host)"), errno.ENODEV, "no such link")
    return found[0]


def _parse_route(text):
    """'default via 198.51.100.1' or '203.0.113.0/24 via 198.51.100.1 metric 10'."""
    words = text.split()
    gateway = ipaddress.ip_address(words[2])
    dst = words[0] if words[0] != "default" else ("0.0.0.0/0" if gateway.version == 4 else "::/0")
    return dst, str(gateway), int(words[4]) if len(words) > 4 else kernel_metric(gateway.version, 0)


apply.register("link_alias", "mark {target}{where} as {alias}", _alias)
apply.register("container_add", "create container {target}: {ifname} {address} in netns {target}, "
                                "host end {host} on {bridge}", _container_add)
apply.register("container_del", "remove container {target} (host end {host} and netns {target})",
               _container_del)


def plan(kernel, spec):
    make_room_for_sockets(len(spec.containers))
    host = read_host(kernel)
    if spec.state == "present":
        _check_bridge(kernel, host, spec.bridge)
    result = Plan(before={}, after={})
    if spec.state == "absent":
        for container in spec.containers:
            _plan_absent(result, kernel, spec, host, container.name, container.host)
        return result
    for container in spec.containers:
        _plan_container(result, kernel, spec, host, container)
    if spec.exclusive:
        listed = {container.name for container in spec.containers}
        for name, rec in sorted(host.records.items()):
            ours = owner(rec.alias)
            if rec.kind == "veth" and ours and ours[0] == spec.bridge and ours[1] not in listed:
                _plan_absent(result, kernel, spec, host, ours[1], name)
    return result


def _check_bridge(kernel, host, bridge):
    link = host.link(bridge)
    if link is None:
        if kernel.assume_missing_netns_empty:
            kernel.warnings.append("bridge: %r does not exist yet; check mode assumes an earlier task "
                                   "creates it" % bridge)
            return
        raise ParamError("bridge", bridge, "is not a link in the node's namespace")
    if link.kind != "bridge":
        raise ParamError("bridge", bridge, "is a %s, not a bridge" % link.kind)


def _paired(hlink, eth):
    return (hlink is not None and eth is not None and hlink.kind == "veth" and eth.kind == "veth"
            and hlink.peer_nsid is not None and eth.peer_nsid is not None
            and hlink.peer_index == eth.index and eth.peer_index == hlink.index)


def _plan_container(result, kernel, spec, host, want):
    families = {_FAMILIES[r.dst.version] for r in _wanted_routes(want)}
    ns = read_netns(kernel, want.name, spec.ifname, tuple(sorted(families)))
    hlink = host.link(want.host)
    eth = ns.get(spec.ifname)
    paired = _paired(hlink, eth)
    ours = owner(host.alias(want.host)) == (spec.bridge, want.name)
    result.before[want.name] = _state(spec, hlink, eth, ns) if paired else {"state": "absent"}
    if hlink is not None and not paired:
        if not ours:
            raise ParamError(want.field("name"), want.name, "needs the host end %s, which is a %s link not made "
                             "by container_net; left alone" % (want.host, hlink.kind))
        result.add("delete", Op("link_del", None, want.host))
    if eth is not None and not paired:
        if eth.kind != "veth":
            raise ParamError(want.field("name"), want.name, "has a %s link %s in the way in its namespace; "
                             "only a veth is replaced" % (eth.kind, spec.ifname))
        other = host.link(host.name_of(eth.peer_index)) if eth.peer_nsid is not None else None
        if _paired(other, eth) and owner(host.alias(other.name)) is None:
            raise ParamError(want.field("name"), want.name, "has %s paired with %s, a veth not made by "
                             "container_net; left alone" % (spec.ifname, other.name))
        result.add("delete", Op("link_del", want.name, spec.ifname))
    new_ns = not ns.exists
    if new_ns and hlink is None:
        _plan_new(result, spec, want)
        return
    if new_ns:
        result.add("netns", Op("netns_add", None, want.name, undo=Op("netns_del", None, want.name)))
    lo = ns.get("lo")
    if new_ns or (lo is not None and not lo.up):
        result.add("up", Op("link_set", want.name, "lo", {"up": True},
                            noop("lo") if new_ns else Op("link_set", want.name, "lo", {"up": False})))
    if paired:
        have_host, have_eth = hlink, eth
    else:
        result.add("veth", Op("link_add", None, want.host,
                              {"kind": "veth", "peer": spec.ifname, "peer_netns": want.name, "mtu": want.mtu},
                              Op("link_del", None, want.host)))
        have_host = fresh(None, want.host, "veth", want.mtu)
        have_eth = fresh(want.name, spec.ifname, "veth", want.mtu)
    if not (paired and ours):
        result.add("link", Op("link_alias", None, want.host, {"alias": mark(spec.bridge, want.name)},
                              noop(want.host) if not paired else
                              Op("link_alias", None, want.host, {"alias": host.alias(want.host) or ""})))
    converge(result, LinkAttrs(None, want.host, None, spec.bridge, want.mtu), have_host, is_new=not paired)
    converge(result, LinkAttrs(want.name, spec.ifname, want.addresses, None, want.mtu, nodad=True), have_eth,
             is_new=not paired)
    _plan_routes(result, spec, want, ns.routes if paired else {}, is_new=not paired)
    result.after[want.name] = _want_state(spec, want, have_eth, ns.routes if paired else {})


def _plan_new(result, spec, want):
    """A container with nothing of it on the node yet: one batched step."""
    args = {"host": want.host, "bridge": spec.bridge, "mark": mark(spec.bridge, want.name), "ifname": spec.ifname,
            "address": " ".join(str(a) for a in want.addresses), "mtu": want.mtu, "routes": [_route_line(r) for r in _wanted_routes(want)]}
    result.add("veth", Op("container_add", None, want.name, args,
                          Op("container_del", None, want.name, {"host": want.host})))
    result.after[want.name] = _want_state(spec, want, fresh(want.name, spec.ifname, "veth", want.mtu), {})


def _wanted_routes(want):
    return default_routes(want) + list(want.routes)


def _plan_routes(result, spec, want, actual, is_new):
    for extra in _wanted_routes(want):
        route = Route(netns=want.name, dst=extra.dst, table=MAIN_TABLE, metric=extra.metric,
                      gateway=extra.gateway, dev=spec.ifname)
        have = actual.get((extra.dst, extra.metric))
        if have is None:
            result.add("route", Op("route_add", want.name, _route_text(route), {"route": route},
                                   noop(spec.ifname) if is_new else
                                   Op("route_del", want.name, _route_text(route), {"route": route})))
        elif have.gateway != route.gateway or have.dev != route.dev:
            result.add("route", Op("route_replace", want.name, _route_text(route), {"route": route},
                                   Op("route_replace", want.name, _route_text(have), {"route": have})))


def _plan_absent(result, kernel, spec, host, name, host_name):
    ns = read_netns(kernel, name, spec.ifname)
    hlink = host.link(host_name)
    eth = ns.get(spec.ifname)
    paired = _paired(hlink, eth)
    ours = hlink is not None and hlink.kind == "veth" and owner(host.alias(host_name)) == (spec.bridge, name)
    result.before[name] = _state(spec, hlink, eth, ns) if paired else (
        {"state": "present", "netns": True} if ns.exists else {"state": "absent"})
    result.after[name] = {"state": "absent"}
    if hlink is not None and (ours or paired):
        result.add("delete", Op("link_del", None, host_name))
    if ns.exists or namespaces.stale_file(name):
        result.add("delete", Op("netns_del", None, name))


def _route_text(route):
    text = route.as_dict()["dst"]
    if route.gateway is not None:
        text += " via %s" % route.gateway
    return text + (" dev %s" % route.dev if route.dev else "") + (" metric %d" % route.metric if route.metric else "")


def _route_line(route):
    shown = route.metric != kernel_metric(route.dst.version, 0)
    return "%s via %s%s" % ("default" if route.dst.prefixlen == 0 else route.dst, route.gateway,
                            " metric %d" % route.metric if shown else "")


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


def _want_state(spec, want, have_eth, actual):
    routes = dict(actual)
    for extra in _wanted_routes(want):
        routes[(extra.dst, extra.metric)] = extra
    return {
        "state": "present",
        "host_end": want.host,
        "master": spec.bridge,
        "mtu": want.mtu if want.mtu is not None else have_eth.mtu,
        "addresses": [str(a) for a in want.addresses],
        "up": True,
        "routes": _routes_state(routes.values()),
    }
