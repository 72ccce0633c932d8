# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What container_net reads: one link dump of the node's namespace, and for
each container namespace that exists one dump each of links, addresses and
routes, through the lean socket (rtnl.py) bound to that namespace. A namespace
that does not exist yet is not entered: it is empty."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import resource

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import link_from_record, netlink_error
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Route

IFA_F_SECONDARY = 0x1
MAIN_TABLE = 254
_PROTOS = {2: "kernel", 3: "boot", 4: "static"}


class NsState:
    """Links (model.Link, addresses included) and main-table routes of one namespace."""

    def __init__(self, netns, links, routes, exists=True):
        self.netns = netns
        self.exists = exists
        self.links = {link.name: link for link in links}
        self.routes = routes

    def get(self, name):
        return self.links.get(name)


class HostState:
    """The node's namespace: raw link records by name, converted on demand."""

    def __init__(self, records):
        self.records = {rec.name: rec for rec in records}
        self._names = {rec.index: rec.name for rec in records}

    def link(self, name):
        rec = self.records.get(name)
        return None if rec is None else link_from_record(None, rec, self._names, ())

    def name_of(self, index):
        return self._names.get(index)

    def alias(self, name):
        rec = self.records.get(name)
        return rec.alias if rec is not None else None


def make_room_for_sockets(count):
    """The call holds one netlink socket per namespace (the resource's
    NETLINK is "lean": rtnl.RtnlSocket): make room for that many descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        raise_to = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if raise_to > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))


def read_host(kernel):
    try:
        return HostState(kernel.ipr(None).links())
    except OSError as exc:
        raise netlink_error("reading links of the node's namespace", exc)


def read_netns(kernel, name, ifname, route_families=()):
    """NsState of namespace ``name``; an empty one (exists=False) when missing.
    Addresses are read for ``ifname`` only, main-table routes of the address
    families in ``route_families`` only (none: no route dump)."""
    if not namespaces.exists(name):
        return NsState(name, [], {}, exists=False)
    sock = kernel.ipr(name)
    try:
        # Two lookups by name answer faster than a dump: only lo and ifname matter.
        records = [rec for rec in (sock.get_link("lo"), sock.get_link(ifname)) if rec is not None]
        names = {rec.index: rec.name for rec in records}
        index = next((rec.index for rec in records if rec.name == ifname), None)
        addrs = sock.addresses(index) if index is not None else []
        routes = sock.routes(route_families, MAIN_TABLE) if route_families and index is not None else []
    except OSError as exc:
        raise netlink_error("reading netns %s" % name, exc)
    mine = [a.address for a in addrs]
    secondaries = [a.address for a in addrs if a.flags & IFA_F_SECONDARY]
    links = [link_from_record(name, rec, names, mine if rec.index == index else (),
                              secondaries if rec.index == index else ())
             for rec in records]
    main = {}
    for msg in routes:
        route = Route(netns=name, dst=msg.dst, table=msg.table, metric=msg.metric, gateway=msg.gateway,
                      dev=names.get(msg.oif), proto=_PROTOS.get(msg.proto, str(msg.proto)))
        main[(route.dst, route.metric)] = route
    return NsState(name, links, main)
