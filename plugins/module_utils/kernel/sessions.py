# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink sessions, one socket per namespace, and what they read.

Two kinds of socket answer the same calls: pyroute2's IPRoute, imported on
first use, and the lean socket of rtnl.py (standard library only), which the
modules run per item (netns, veth) and container_net use, so that they neither
pay pyroute2's import time nor need it on the node.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import rtnl
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError, MissingLibrary
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Link, NsView, Route

IFA_F_SECONDARY = 0x1
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
AF_INET = 2
AF_INET6 = 10
_PROTOS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp", 186: "bgp", 188: "ospf"}
_SCOPES = {0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
          7: "unreachable", 8: "prohibit"}


def _iproute_class():
    try:
        from pyroute2 import IPRoute
    except ImportError as exc:
        raise MissingLibrary("pyroute2", exc)
    return IPRoute


def netlink_error(what, exc):
    code = getattr(exc, "code", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    return KernelError(what, code, reason)


class Kernel:
    """Sockets bound to namespaces, opened lazily and reused for a whole call.

    With ``assume_missing_netns_empty`` (check mode), a namespace that does not
    exist yet reads as empty: an earlier task in the same play would create it.
    """

    def __init__(self, assume_missing_netns_empty=False, lean=False):
        self.assume_missing_netns_empty = assume_missing_netns_empty
        self.lean = lean
        self.warnings = []
        self._sockets = {}

    def close(self):
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def require_library():
        """Fail before planning, so a node without pyroute2 is left untouched."""
        _iproute_class()

    def ipr(self, netns):
        if netns not in self._sockets:
            iproute = rtnl.RtnlSocket if self.lean else _iproute_class()
            with namespaces.netns_context(netns):
                self._sockets[netns] = iproute()
        return self._sockets[netns]

    def forget(self, netns):
        """Drop the socket of a namespace about to be deleted."""
        sock = self._sockets.pop(netns, None)
        if sock is not None:
            sock.close()

    def netns_exists(self, netns):
        return netns is None or namespaces.exists(netns)

    def _missing(self, netns):
        if not self.assume_missing_netns_empty:
            raise namespaces.NetnsMissing(netns)
        self.warnings.append("network namespace %r does not exist; check mode assumes an "
                             "earlier task creates it, empty" % netns)

    # -- reading -----------------------------------------------------------------

    def view(self, netns):
        """Links and addresses of one namespace, one dump each."""
        if not self.netns_exists(netns):
            self._missing(netns)
            return NsView(netns, [], exists=False)
        ipr = self.ipr(netns)
        try:
            if self.lean:
                return _lean_view(netns, ipr.links(), ipr.addresses())
            raw_links = ipr.get_links()
            raw_addrs = ipr.get_addr()
        except Exception as exc:  # pyroute2 raises NetlinkError and OSError subclasses
            raise netlink_error("reading links of netns %s" % (netns or "(host)"), exc)
        addrs, secondaries = {}, {}
        for msg in raw_addrs:
            iface = _address(msg)
            if iface is not None:
                addrs.setdefault(msg["index"], []).append(iface)
                if msg["flags"] & IFA_F_SECONDARY:
                    secondaries.setdefault(msg["index"], []).append(iface)
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in raw_links}
        links = [_link(netns, msg, names, addrs.get(msg["index"], []), secondaries.get(msg["index"], ()))
                 for msg in raw_links]
        return NsView(netns, links)

    def nsid_of(self, seen_from, other):
        """The id under which namespace ``seen_from`` knows ``other`` (or None)."""
        if not (self.netns_exists(seen_from) and self.netns_exists(other)):
            return None
        fd = namespaces.open_netns(other)
        try:
            reply = self.ipr(seen_from).get_netnsid(fd=fd)
        finally:
            os.close(fd)
        nsid = reply.get("nsid") if isinstance(reply, dict) else None
        return nsid if isinstance(nsid, int) and nsid >= 0 else None

    def routes(self, netns):
        if not self.netns_exists(netns):
            self._missing(netns)
            return []
        ipr = self.ipr(netns)
        if self.lean:
            names = {rec.index: rec.name for rec in ipr.links()}
            return [_lean_route(netns, msg, names) for msg in ipr.routes(unicast_only=False)]
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in ipr.get_links()}
        result = []
        for family in (AF_INET, AF_INET6):
            for msg in ipr.get_routes(family=family):
                result.append(_route(netns, msg, names))
        return result


def _address(msg):
    addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    if addr is None:
        return None
    iface = ipaddress.ip_interface("%s/%d" % (addr, msg["prefixlen"]))
    if iface.version == 6 and iface.ip.is_link_local:
        return None
    return iface


def _link(netns, msg, names, addresses, secondaries):
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    data = info.get_attr("IFLA_INFO_DATA") if info is not None else None
    if not kind:
        kind = "loopback" if msg["flags"] & IFF_LOOPBACK else "device"
    stp = vlan_filtering = None
    if kind == "bridge" and data is not None:
        stp = bool(data.get_attr("IFLA_BR_STP_STATE"))
        vlan_filtering = bool(data.get_attr("IFLA_BR_VLAN_FILTERING"))
    master = msg.get_attr("IFLA_MASTER")
    return Link(
        netns=netns,
        index=msg["index"],
        name=msg.get_attr("IFLA_IFNAME"),
        kind=kind,
        up=bool(msg["flags"] & IFF_UP),
        mtu=msg.get_attr("IFLA_MTU"),
        master=names.get(master) if master else None,
        addresses=tuple(sorted(addresses, key=lambda i: (i.version, i))),
        secondaries=frozenset(secondaries),
        peer_index=msg.get_attr("IFLA_LINK") if kind == "veth" else None,
        peer_nsid=msg.get_attr("IFLA_LINK_NETNSID") if kind == "veth" else None,
        mac=msg.get_attr("IFLA_ADDRESS") or "",
        operstate=(msg.get_attr("IFLA_OPERSTATE") or "").lower(),
        stp=stp,
        vlan_filtering=vlan_filtering,
    )


def _route(netns, msg, names):
    version = 4 if msg["family"] == AF_INET else 6
    dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if version == 4 else "::")
    gateway = msg.get_attr("RTA_GATEWAY")
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    return Route(
        netns=netns,
        dst=ipaddress.ip_network("%s/%d" % (dst, msg["dst_len"]), strict=False),
        table=table,
        metric=msg.get_attr("RTA_PRIORITY") or 0,
        gateway=ipaddress.ip_address(gateway) if gateway else None,
        dev=names.get(msg.get_attr("RTA_OIF")),
        proto=_PROTOS.get(msg["proto"], str(msg["proto"])),
        scope=_SCOPES.get(msg["scope"], str(msg["scope"])),
        type=_TYPES.get(msg["type"], str(msg["type"])),
    )


# -- the lean socket's records (rtnl.py) -----------------------------------------

def _lean_view(netns, records, addrs):
    mine, secondaries = {}, {}
    for addr in addrs:
        mine.setdefault(addr.index, []).append(addr.address)
        if addr.flags & IFA_F_SECONDARY:
            secondaries.setdefault(addr.index, []).append(addr.address)
    names = {rec.index: rec.name for rec in records}
    return NsView(netns, [link_from_record(netns, rec, names, mine.get(rec.index, ()), secondaries.get(rec.index, ()))
                          for rec in records])


def link_from_record(netns, rec, names, addresses, secondaries=()):
    """model.Link of an rtnl.LinkMsg; ``names``: index -> name in its namespace."""
    kind = rec.kind or ("loopback" if rec.flags & IFF_LOOPBACK else "device")
    return Link(netns=netns, index=rec.index, name=rec.name, kind=kind, up=bool(rec.flags & IFF_UP),
                mtu=rec.mtu, master=names.get(rec.master) if rec.master else None,
                addresses=tuple(sorted(addresses, key=lambda i: (i.version, i))),
                secondaries=frozenset(secondaries),
                peer_index=rec.peer_index if kind == "veth" else None,
                peer_nsid=rec.peer_nsid if kind == "veth" else None,
                mac=rec.mac, operstate=rec.operstate, stp=rec.stp, vlan_filtering=rec.vlan_filtering)


def _lean_route(netns, msg, names):
    return Route(netns=netns, dst=msg.dst, table=msg.table, metric=msg.metric, gateway=msg.gateway,
                 dev=names.get(msg.oif), proto=_PROTOS.get(msg.proto, str(msg.proto)),
                 scope=_SCOPES.get(msg.scope, str(msg.scope)), type=_TYPES.get(msg.type, str(msg.type)))
