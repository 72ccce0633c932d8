# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts: namespaces, links, addresses and routes as plain data to assert on."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import LOCAL_TABLE, addresses_text
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.topology import find_peer, read_views

NETLINK = "pyroute2"
OPERATIONS = ()  # facts change nothing


@dataclasses.dataclass(frozen=True)
class FactsSpec:
    netns: Optional[Tuple[str, ...]] = None
    include_host: bool = True
    routes: bool = True


def parse(params):
    wanted = params.get("netns")
    if wanted is not None:
        if not isinstance(wanted, (list, tuple)):
            raise ParamError("netns", wanted, "must be a list of namespace names")
        wanted = tuple(validate.netns("netns[%d]" % i, name, required=True) for i, name in enumerate(wanted))
    return FactsSpec(wanted, validate.boolean("include_host", params.get("include_host", True)),
                     validate.boolean("routes", params.get("routes", True)))


def plan(ctx, spec):
    """Facts change nothing: the plan is empty and carries the facts."""
    result = Plan()
    result.extra = {"ansible_facts": {"netplumb_net": gather(ctx.kernel, spec)}}
    return result


def gather(kernel, spec):
    all_names = namespaces.list_names()
    names = all_names if spec.netns is None else [n for n in spec.netns if n in all_names]
    missing = [] if spec.netns is None else [n for n in spec.netns if n not in all_names]
    # Peers are resolved across every namespace, even ones not reported.
    views = read_views(kernel, [None] + all_names)
    facts = {"namespaces": all_names, "missing_namespaces": missing, "netns": {}}
    if spec.include_host:
        facts["host"] = _namespace(kernel, views, None, spec.routes)
    for name in names:
        facts["netns"][name] = _namespace(kernel, views, name, spec.routes)
    return facts


def _namespace(kernel, views, netns, with_routes):
    links = {}
    for link in sorted(views[netns].links.values(), key=lambda item: item.index):
        peer = find_peer(kernel, views, link) if link.kind == "veth" else None
        links[link.name] = {
            "name": link.name,
            "index": link.index,
            "kind": link.kind,
            "mtu": link.mtu,
            "mac": link.mac,
            "state": "up" if link.up else "down",
            "operstate": link.operstate,
            "master": link.master,
            "addresses": addresses_text(link.addresses),
            "peer": {"name": peer.name, "netns": peer.netns} if peer is not None else None,
        }
        if link.kind == "bridge":
            links[link.name].update(stp=link.stp, vlan_filtering=link.vlan_filtering)
    result = {"links": links}
    if with_routes:
        result["routes"] = [r.as_dict() for r in kernel.routes(netns) if r.table != LOCAL_TABLE]
    return result
