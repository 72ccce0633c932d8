# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A route. Its identity is (dst, table, metric), as the kernel's: a new
gateway or device replaces the route in place, never adds a second one."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Route, default_network, kernel_metric
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import ROUTE_ADD, ROUTE_DEL, ROUTE_REPLACE
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.topology import require_namespaces

NETLINK = "lean"
OPERATIONS = (kernel_ops.OPERATIONS,)


@dataclasses.dataclass(frozen=True)
class RouteSpec:
    """route's parameters, checked: the route as the kernel would hold it."""
    route: Route
    state: str = "present"


def parse(params):
    state = validate.choice("state", params.get("state", "present"), ("present", "absent"))
    netns = validate.netns("netns", params.get("netns"))
    gateway = params.get("gateway")
    gateway = validate.ip("gateway", gateway) if gateway not in (None, "") else None
    raw_dst = params.get("dst")
    if raw_dst == "default":
        dst = default_network(gateway.version if gateway else 4)
    else:
        dst = validate.network("dst", raw_dst)
    if gateway is not None and gateway.version != dst.version:
        raise ParamError("gateway", str(gateway), "is IPv%d but dst %s is IPv%d"
                         % (gateway.version, raw_dst, dst.version))
    dev = params.get("dev")
    dev = validate.ifname("dev", dev, allow_lo=True) if dev not in (None, "") else None
    if state == "present" and gateway is None and dev is None:
        raise ParamError("gateway", None, "or dev is required when state is present")
    metric = validate.integer("metric", params.get("metric"), 0, 2 ** 32 - 1)
    if metric is None or (metric == 0 and dst.version == 6):
        metric = kernel_metric(dst.version, 0)
    route = Route(netns=netns, dst=dst, table=validate.table("table", params.get("table")),
                  metric=metric,
                  gateway=gateway, dev=dev)
    return RouteSpec(route, state)


def plan(ctx, spec):
    kernel = ctx.kernel
    want = spec.route
    if spec.state == "absent" and not kernel.netns_exists(want.netns):
        return Plan(before={"state": "absent"}, after={"state": "absent"})
    require_namespaces(ctx, (("netns", want.netns),))
    routes = kernel.routes(want.netns)
    have = next((r for r in routes if r.key == want.key), None)
    result = Plan(before=_diff_state(have))
    if spec.state == "absent":
        if have is not None:
            result.add("route", Op(ROUTE_DEL, want.netns, _text(have), {"route": have},
                                   Op(ROUTE_ADD, want.netns, _text(have), {"route": have})))
        result.after = {"state": "absent"}
        return result

    _check_dev(ctx, want)
    _check_gateway(ctx, want, routes)
    if have is None:
        result.add("route", Op(ROUTE_ADD, want.netns, _text(want), {"route": want},
                               Op(ROUTE_DEL, want.netns, _text(want), {"route": want})))
        after = want
    else:
        # Without dev, the kernel picks the device for the gateway, as ip route replace does.
        after = dataclasses.replace(have, gateway=want.gateway, dev=want.dev)
        if after.gateway != have.gateway or (want.dev is not None and want.dev != have.dev):
            result.add("route", Op(ROUTE_REPLACE, want.netns, _text(after), {"route": after},
                                   Op(ROUTE_REPLACE, want.netns, _text(have), {"route": have})))
        else:
            after = have
    if after.dev is None and after.gateway is not None:
        after = dataclasses.replace(after, dev=_onlink_device(kernel, want.netns, after.gateway))
    result.after = _diff_state(after)
    return result


def _check_dev(ctx, want):
    if want.dev is None:
        return
    view = ctx.kernel.view(want.netns)
    if view.exists and view.get(want.dev) is None:
        if ctx.assume_earlier_task("dev: %r does not exist yet; check mode assumes an earlier task "
                                   "creates it" % want.dev):
            return
        raise ParamError("dev", want.dev, "is not a link in netns %s" % (want.netns or "(host)"))


def _check_gateway(ctx, want, routes):
    """The kernel takes a gateway only on a network the namespace is connected
    to (a route to it without a gateway, through ``dev`` when given), and
    refuses the route otherwise: say so before anything changes."""
    gateway = want.gateway
    if gateway is None or (gateway.version == 6 and gateway.is_link_local):
        return  # a link-local gateway is on every link; the kernel needs only its dev
    for route in routes:
        if (route.gateway is None and route.type in ("unicast", "local") and gateway in route.dst
                and (want.dev is None or route.dev == want.dev)):
            return
    if ctx.plans_network_of(want.netns, gateway):
        return
    where = "netns %s" % want.netns if want.netns else "the node"
    through = " through %s" % want.dev if want.dev else ""
    reason = ("is on no network connected to %s%s (no route to it without a gateway): the kernel would refuse "
              "the route with 'Network is unreachable'" % (where, through))
    if ctx.assume_earlier_task("gateway: %s %s; check mode assumes an earlier task connects it"
                               % (gateway, reason)):
        return
    raise ParamError("gateway", str(gateway), reason)


def _onlink_device(kernel, netns, gateway):
    """The device the kernel will pick for a gateway: the one whose subnet holds it."""
    for link in kernel.view(netns).links.values():
        if any(gateway in address.network for address in link.addresses):
            return link.name
    return None


def _text(route):
    return route.text(table=True)


def _diff_state(route):
    if route is None:
        return {"state": "absent"}
    shown = {k: v for k, v in route.as_dict().items() if k not in ("proto", "scope", "type")}
    return dict(shown, state="present")
