# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_net's parameters: the containers on one bridge, checked before
anything on the node changes, and the names derived from them.

Naming, deterministic and documented in the module:

- each container is the named network namespace ``<name>``, its interface
  ``ifname`` (default ``eth0``) inside;
- the host end of its veth is ``veth-<name>`` when that is a valid interface
  name of at most 15 bytes (names of up to 10 characters), else
  ``vh-<first 12 hex digits of sha256(name)>``; the two forms never collide
  (one starts ``veth-``, the other ``vh-``);
- the host end carries the ownership mark ``netplumb:container_net:<bridge>:<name>``
  as its interface alias (``ip link show`` prints it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import hashlib
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import (
    MAIN_TABLE, Route, default_network, kernel_metric)

MARK = "netplumb:container_net:"
_HOST_PREFIX = "veth-"
_HASHED_PREFIX = "vh-"
# Every host end's name, as glob patterns (the node's network managers are told to leave them alone).
HOST_END_PATTERNS = (_HOST_PREFIX + "*", _HASHED_PREFIX + "*")
_KEYS = ("name", "address", "gateway", "address6", "gateway6", "mtu", "routes")
_ROUTE_KEYS = ("dst", "gateway", "metric")
# The ports one Linux bridge holds: the kernel numbers them below its
# BR_MAX_PORTS (1024) and keeps port 0 for itself, so it refuses the 1,024th.
MAX_PORTS = 1023


@dataclasses.dataclass(frozen=True)
class ExtraRoute:
    """A route a container's parameters ask for beside its default routes."""
    dst: object  # ipaddress network
    gateway: object  # ipaddress address
    metric: int = 0


@dataclasses.dataclass(frozen=True)
class Container:
    """One container of container_net's parameters, checked; index is its place in the list."""
    index: int
    name: str
    host: str
    address: object  # ipaddress interface
    gateway: Optional[object] = None
    mtu: Optional[int] = None
    routes: Tuple = ()
    address6: Optional[object] = None  # ipaddress interface, the second family of a dual-stack container
    gateway6: Optional[object] = None
    # Its routes (the defaults first) as the kernel holds them: model.Routes,
    # made once here for every plan of the call (the read-back plans again).
    kernel_routes: Tuple = ()

    @property
    def addresses(self):
        return tuple(a for a in (self.address, self.address6) if a is not None)

    def field(self, key):
        return "containers[%d].%s" % (self.index, key)


@dataclasses.dataclass(frozen=True)
class ContainerNetSpec:
    """container_net's parameters, checked: the bridge, the containers' interface name, the containers."""
    bridge: str
    ifname: str
    containers: Tuple
    exclusive: bool = False
    state: str = "present"


def host_end(name):
    """The host end's interface name for container ``name``."""
    candidate = _HOST_PREFIX + name
    try:
        return validate.ifname("host end", candidate)
    except ParamError:
        return _HASHED_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:12]


def mark(bridge, name):
    return "%s%s:%s" % (MARK, bridge, name)


def owner(alias):
    """(bridge, container name) of an ownership mark, or None."""
    if not alias or not alias.startswith(MARK):
        return None
    bridge, sep, name = alias[len(MARK):].partition(":")
    return (bridge, name) if sep and bridge and name else None


def parse(params):
    state = validate.choice("state", params.get("state") or "present", ("present", "absent"))
    bridge = validate.ifname("bridge", params.get("bridge"))
    ifname = validate.ifname("ifname", params.get("ifname") or "eth0")
    exclusive = bool(validate.boolean("exclusive", params.get("exclusive")))
    default_gw = params.get("gateway")
    default_gw = validate.ip("gateway", default_gw) if default_gw not in (None, "") else None
    default_gw6 = params.get("gateway6")
    default_gw6 = validate.ip("gateway6", default_gw6) if default_gw6 not in (None, "") else None
    if default_gw6 is not None and default_gw6.version != 6:
        raise ParamError("gateway6", params.get("gateway6"), "is not an IPv6 address")
    raw = params.get("containers")
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        raise ParamError("containers", raw, "must be a list of containers")
    if state == "present" and len(raw) > MAX_PORTS:
        raise ParamError("containers", "%d containers" % len(raw), "are more than the %d ports a Linux bridge holds: "
                         "spread them over several bridges" % MAX_PORTS)
    containers, names, hosts, addresses = [], {}, {}, {}
    for index, item in enumerate(raw):
        container = _container(index, item, (default_gw, default_gw6), state, ifname)
        checks = [(names, "name", container.name, container.name),
                  (hosts, "name", container.host, container.name)]
        for key, address in (("address", container.address), ("address6", container.address6)):
            if address is not None:
                checks.append((addresses, key, address.ip, str(address)))
        for seen, key, value, shown in checks:
            if value in seen:
                raise ParamError(container.field(key), shown, "is already used by containers[%d]" % seen[value])
            seen[value] = index
        containers.append(container)
    return ContainerNetSpec(bridge, ifname, tuple(containers), exclusive, state)


def _container(index, item, default_gws, state, ifname):
    prefix = "containers[%d]" % index
    if not isinstance(item, dict):
        raise ParamError(prefix, item, "must be a dictionary with name and address")
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise ParamError("%s.%s" % (prefix, unknown[0]), item[unknown[0]], "is not a container option (%s)"
                         % ", ".join(_KEYS))
    if item.get("name") in (None, ""):
        raise ParamError(prefix + ".name", item.get("name"), "is required")
    name = validate.netns(prefix + ".name", item["name"], required=True)
    if state == "absent":
        return Container(index, name, host_end(name), None)
    if item.get("address") in (None, ""):
        raise ParamError(prefix + ".address", item.get("address"), "is required (an address with prefix)")
    address = validate.interface_address(prefix + ".address", item["address"])
    gateway = _gateway(prefix, item, "", address, default_gws[0])
    address6 = gateway6 = None
    if item.get("address6") not in (None, ""):
        address6 = validate.interface_address(prefix + ".address6", item["address6"])
        if address6.version != 6 or address.version != 4:
            raise ParamError(prefix + ".address6", item["address6"],
                             "must be IPv6, next to an IPv4 address (a dual-stack container)")
        gateway6 = _gateway(prefix, item, "6", address6, default_gws[1])
    elif item.get("gateway6") not in (None, ""):
        raise ParamError(prefix + ".gateway6", item["gateway6"], "needs address6")
    mtu = validate.mtu_for(prefix + ".mtu", item.get("mtu"), (address6,))
    routes = _routes(prefix + ".routes", item.get("routes"), (address, address6), (gateway, gateway6))
    kernel_routes = tuple(Route(netns=name, dst=route.dst, table=MAIN_TABLE, metric=route.metric,
                                gateway=route.gateway, dev=ifname)
                          for route in _defaults((gateway, gateway6)) + list(routes))
    return Container(index, name, host_end(name), address, gateway, mtu, routes, address6, gateway6, kernel_routes)


def _gateway(prefix, item, suffix, address, default):
    """The container's own gateway(6), else the call's default, checked against its address(6)."""
    key = "gateway" + suffix
    gateway = item.get(key)
    gateway = validate.ip("%s.%s" % (prefix, key), gateway) if gateway not in (None, "") else default
    if gateway is None:
        return None
    own = item.get(key) not in (None, "")
    field = "%s.%s" % (prefix, key if own else "address" + suffix)
    if gateway.version != address.version or gateway not in address.network:
        raise ParamError(field, str(gateway) if own else str(address),
                         "puts the gateway %s outside the container's subnet %s" % (gateway, address.network))
    if gateway == address.ip:
        raise ParamError(field, str(address), "is the gateway's own address")
    return gateway


def _routes(field, raw, addresses, gateways):
    """The container's extra routes. Each gateway is on one of its subnets
    (``addresses``, the only addresses in the container) or IPv6 link-local:
    the kernel refuses any other (Network is unreachable). None repeats a
    default route that ``gateways`` make (same metric): the kernel refuses a
    second one."""
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise ParamError(field, raw, "must be a list of routes (dst, gateway)")
    defaults = {(route.dst, route.metric) for route in _defaults(gateways)}
    result, seen = [], set()
    for index, item in enumerate(raw):
        where = "%s[%d]" % (field, index)
        if not isinstance(item, dict):
            raise ParamError(where, item, "must be a dictionary with dst and gateway")
        unknown = sorted(set(item) - set(_ROUTE_KEYS))
        if unknown:
            raise ParamError("%s.%s" % (where, unknown[0]), item[unknown[0]], "is not a route option (%s)"
                             % ", ".join(_ROUTE_KEYS))
        dst = item.get("dst")
        if dst == "default":
            raise ParamError(where + ".dst", dst, "is the default route: set gateway instead")
        dst = validate.network(where + ".dst", dst)
        if item.get("gateway") in (None, ""):
            raise ParamError(where + ".gateway", item.get("gateway"), "is required")
        gateway = validate.ip(where + ".gateway", item["gateway"])
        if gateway.version != dst.version:
            raise ParamError(where + ".gateway", item["gateway"], "is not of the same family as dst %s" % dst)
        subnets = [a.network for a in addresses if a is not None and a.version == gateway.version]
        if not (gateway.version == 6 and gateway.is_link_local) and not any(gateway in net for net in subnets):
            known = ", ".join(str(net) for net in subnets) or "it has no IPv%d address" % gateway.version
            raise ParamError(where + ".gateway", item["gateway"], "is on none of the container's subnets (%s): the "
                             "kernel refuses a route through it" % known)
        metric = kernel_metric(dst.version, validate.integer(where + ".metric", item.get("metric"), 0, 2 ** 32 - 1))
        if (dst, metric) in defaults:
            raise ParamError(where + ".dst", str(dst), "with metric %d is the default route, which gateway%s makes"
                             % (metric, "6" if dst.version == 6 else ""))
        if (dst, metric) in seen:
            raise ParamError(where + ".dst", str(dst), "is listed twice with metric %d" % metric)
        seen.add((dst, metric))
        result.append(ExtraRoute(dst, gateway, metric))
    return tuple(result)


def _defaults(gateways):
    return [ExtraRoute(default_network(gateway.version), gateway, kernel_metric(gateway.version, 0))
            for gateway in gateways if gateway is not None]
