# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's uplink, behind ``net_facts``' ``uplink`` option: the interface
the caller names, which must exist, or else the device of the node's default
route, for each address family asked for (they must agree).

Read on the lean netlink session (one link dump, one route dump of the main
table), so it needs no pyroute2: node_network (the bridge_network role) asks
it before it plans anything.

For a teardown (``teardown``) the name the NAT rules were made with is what
counts: a named uplink need not exist any more, a node without a default
route is no failure, and ``names`` adds every interface that the
collection's own NAT rules match, so a teardown after the default route went
(or moved to another device) still finds the rules it has to remove.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import re
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import MAIN_TABLE

NETLINK = "lean"
OPERATIONS = ()  # facts change nothing
FAMILIES = {"ipv4": 4, "ipv6": 6}
SHOWN = 30  # interfaces named in a message, at most
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]-]*")


@dataclasses.dataclass(frozen=True)
class UplinkSpec:
    """net_facts' ``uplink`` parameter, checked."""
    name: Optional[str] = None          # None: the device of the default route
    families: Tuple[int, ...] = (4,)
    teardown: bool = False
    variable: str = "uplink.name"       # what messages call ``name``


@dataclasses.dataclass(frozen=True)
class DefaultRoute:
    """A default route of the main table, as the uplink facts show it."""
    family: int
    dev: Optional[str]                  # None: no single device (several next hops)
    gateway: Optional[str]
    metric: int

    def as_dict(self):
        return {"dev": self.dev, "gateway": self.gateway, "metric": self.metric}


def parse(params):
    raw = params.get("uplink")
    if not isinstance(raw, dict):
        raise ParamError("uplink", raw, "must be a dictionary")
    variable = raw.get("variable") or "uplink.name"
    if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
        raise ParamError("uplink.variable", variable, "must be a variable or option name")
    name = raw.get("name")
    name = None if name in (None, "") else validate.ifname(variable, name)
    families = raw.get("families") or ["ipv4"]
    if not isinstance(families, (list, tuple)):
        raise ParamError("uplink.families", families, "must be a list of ipv4 and ipv6")
    numbers = tuple(sorted({FAMILIES[validate.choice("uplink.families", f, tuple(FAMILIES))] for f in families}))
    teardown = validate.boolean("uplink.teardown", raw.get("teardown")) or False
    return UplinkSpec(name, numbers, teardown, variable)


def plan(ctx, spec):
    """Facts change nothing: the plan is empty and carries ``netplumb_uplink``."""
    names = {link.index: link.name for link in ctx.kernel.view(None).links.values()}
    defaults = default_routes(ctx.kernel.routes(None, table=MAIN_TABLE, names=names))
    owned = nat_rule.owned_interfaces(None) if spec.teardown and spec.name is None else ()
    facts, warnings = choose(spec, defaults, sorted(names.values()), owned, check_mode=ctx.check_mode)
    ctx.warnings.extend(warnings)
    result = Plan()
    result.extra = {"ansible_facts": {"netplumb_uplink": facts}}
    return result


def default_routes(routes):
    """{4: [DefaultRoute], 6: [...]}, lowest metric first, of model.Routes
    (with their devices by name) of the main table."""
    found = {4: [], 6: []}
    for route in routes:
        if route.dst.prefixlen != 0 or route.type != "unicast":
            continue
        found[route.dst.version].append(DefaultRoute(
            route.dst.version, route.dev,
            str(route.gateway) if route.gateway is not None else None, route.metric))
    for family in found:
        found[family].sort(key=lambda r: r.metric)
    return found


def leaving(routes):
    """The devices the default routes of one family leave through: those of
    the lowest metric, the kernel's choice (None for one with several next
    hops). Empty when there is no default route."""
    if not routes:
        return ()
    best = min(r.metric for r in routes)
    return tuple(sorted({r.dev for r in routes if r.metric == best}, key=lambda d: (d is None, d or "")))


def choose(spec, defaults, interfaces, owned=(), check_mode=False):
    """(facts, warnings) for ``spec``, from the default routes by family, the
    node's interface names and, for a teardown, the interfaces the
    collection's NAT rules match. Raises ParamError naming ``spec.variable``."""
    warnings = []
    facts = {"name": None, "found_by": "none", "names": [], "interfaces": list(interfaces),
             "default_routes": {label: [r.as_dict() for r in defaults.get(number, [])]
                                for label, number in sorted(FAMILIES.items())}}
    if spec.name is not None:
        if spec.name not in interfaces and not spec.teardown:
            if not check_mode:
                raise ParamError(spec.variable, spec.name, "is not an interface of this node, which has %s"
                                 % _listing(interfaces))
            warnings.append("%s: %r is not an interface of this node yet; check mode assumes an earlier task "
                            "creates it" % (spec.variable, spec.name))
        facts.update(name=spec.name, found_by="named", names=[spec.name])
        return facts, warnings
    seen = {family: leaving(defaults.get(family, [])) for family in spec.families}
    if spec.teardown:
        devices = [dev for family in spec.families for dev in seen[family] if dev is not None]
        names = sorted(set(devices) | set(owned))
        if devices:
            facts.update(name=devices[0], found_by="default route")
        elif names:
            facts.update(name=next((n for n in names if not n.endswith("+")), names[0]), found_by="nat rules")
        facts["names"] = names
        return facts, warnings
    present = dict((family, devs) for family, devs in seen.items() if devs)
    if not present:
        raise ParamError(spec.variable, "", "is not set, and this node has no %s default route to find the "
                         "uplink from: set it to the interface that leaves the node"
                         % " or ".join(_family(f) for f in spec.families))
    for family, devs in sorted(present.items()):
        if len(devs) > 1 or devs[0] is None:
            raise ParamError(spec.variable, "", "is not set, and the node's %s default route leaves through %s: "
                             "set it to the interface that masquerade and port forwards should use"
                             % (_family(family), _devices(devs)))
    distinct = sorted({devs[0] for devs in present.values()})
    if len(distinct) > 1:
        raise ParamError(spec.variable, "", "is not set, and the node's default routes leave through different "
                         "devices, %s: set it to the interface that masquerade and port forwards should use"
                         % " and ".join("%s through %s" % (_family(f), devs[0]) for f, devs in sorted(present.items())))
    name = distinct[0]
    for family in spec.families:
        if family not in present:
            warnings.append("%s: this node has no %s default route; the uplink is %s, the device of its %s one"
                            % (spec.variable, _family(family), name, _family(sorted(present)[0])))
    facts.update(name=name, found_by="default route", names=[name])
    return facts, warnings


def _family(number):
    return "IPv%d" % number


def _devices(devs):
    named = [d for d in devs if d is not None]
    text = " and ".join(named) if len(named) > 1 else (named[0] if named else "")
    if None in devs:
        text = (text + " and " if text else "") + "a route with several next hops"
    elif len(named) > 1:
        text = "several devices (%s) at the same metric" % text
    return text


def _listing(interfaces):
    shown = list(interfaces[:SHOWN])
    more = len(interfaces) - len(shown)
    if not shown:
        return "no interfaces"
    return "the interfaces " + ", ".join(shown) + (" and %d more" % more if more > 0 else "")
