# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's objects as plain data, as both netlink sessions decode them,
and the kernel's numbers the engine uses by name."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import ipaddress
from typing import FrozenSet, Optional, Tuple

MAIN_TABLE = 254
LOCAL_TABLE = 255
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
# The metric the kernel stores for a route added with metric 0.
DEFAULT_METRIC = {4: 0, 6: 1024}
PROTOS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp", 186: "bgp", 188: "ospf"}
SCOPES = {0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
         7: "unreachable", 8: "prohibit"}


def kernel_metric(version, metric):
    """The metric as the kernel stores it: an IPv6 route's 0 becomes 1024."""
    return metric or DEFAULT_METRIC[version]


def decoded(cls, **fields):
    """A ``cls`` (Link, Address, Route) that a session just decoded, every
    field given or left at its default, written straight into the new
    object: a frozen dataclass's __init__ sets each field through
    object.__setattr__, about 4 us for a Link against 1 us here, and a
    no-change run or a read-back decodes several objects per container."""
    obj = object.__new__(cls)
    values = obj.__dict__
    values.update(_DEFAULTS[cls])
    values.update(fields)
    return obj


def named(table, number):
    return table.get(number, str(number))


def managed_address(iface):
    """Addresses the engine manages: all but IPv6 link-local (fe80::/10),
    which the kernel gives every link itself."""
    return not (iface.version == 6 and iface.ip.is_link_local)


@dataclasses.dataclass(frozen=True)
class Link:
    """One link of a namespace as the kernel reports it (its addresses placed on it)."""
    netns: Optional[str]
    index: int
    name: str
    kind: str
    up: bool
    mtu: int
    master: Optional[str] = None
    addresses: Tuple = ()
    secondaries: FrozenSet = frozenset()  # IPv4 addresses the kernel holds as secondary
    peer_index: Optional[int] = None
    peer_nsid: Optional[int] = None
    mac: str = ""
    operstate: str = ""
    stp: Optional[bool] = None
    vlan_filtering: Optional[bool] = None
    alias: str = ""
    master_index: Optional[int] = None

    def moved(self, netns):
        """What the kernel leaves of a link moved to another namespace:
        addresses flushed, down, released from its master."""
        return dataclasses.replace(self, netns=netns, addresses=(), secondaries=frozenset(), up=False,
                                   master=None, master_index=None)

    def primaries_first(self):
        """Addresses in an order that re-creates primaries before secondaries."""
        return sorted(self.addresses, key=lambda a: (a in self.secondaries, a.version, a))


@dataclasses.dataclass(frozen=True)
class Address:
    """One address of a link, by the link's index, with the kernel's flags."""
    index: int
    address: object  # ipaddress interface
    secondary: bool = False
    flags: int = 0  # the kernel's IFA_F_* bits

    @property
    def dad(self):
        """Duplicate address detection: "failed", "tentative" (running, or
        waiting for the link's carrier) or "" (done, or none)."""
        if self.flags & IFA_F_DADFAILED:
            return "failed"
        return "tentative" if self.flags & IFA_F_TENTATIVE else ""


@dataclasses.dataclass(frozen=True)
class Route:
    """One route of a namespace as the kernel holds it; dev is the name of its oif."""
    netns: Optional[str]
    dst: object  # ipaddress network
    table: int
    metric: int
    gateway: Optional[object] = None
    dev: Optional[str] = None
    proto: str = ""
    scope: str = ""
    type: str = "unicast"
    oif: Optional[int] = dataclasses.field(default=None, compare=False)  # as read; dev is its name

    @property
    def key(self):
        return (self.dst, self.table, self.metric)

    def as_dict(self):
        return {
            "dst": self.dst_text(),
            "family": "ipv%d" % self.dst.version,
            "gateway": str(self.gateway) if self.gateway else None,
            "dev": self.dev,
            "metric": self.metric,
            "table": self.table,
            "proto": self.proto,
            "scope": self.scope,
            "type": self.type,
        }

    def dst_text(self):
        return "default" if self.dst.prefixlen == 0 else str(self.dst)

    def text(self, dev=True, table=False, metric="always"):
        """'dst via gateway dev D table T metric M', the way ``ip route`` words
        it; ``metric``: "always", "set" (when not 0) or "custom" (when not
        the kernel's default for the family)."""
        words = [self.dst_text()]
        if self.gateway is not None:
            words += ["via", str(self.gateway)]
        if dev and self.dev:
            words += ["dev", self.dev]
        if table:
            words += ["table", str(self.table)]
        shown = {"always": True, "set": bool(self.metric),
                 "custom": self.metric != DEFAULT_METRIC[self.dst.version]}[metric]
        if shown:
            words += ["metric", str(self.metric)]
        return " ".join(words)


class NsView:
    """One namespace's links (with their addresses), from one dump."""

    def __init__(self, netns, links, exists=True, home_id=None):
        self.netns = netns
        self.exists = exists
        self.home_id = home_id  # the id this namespace knows the node's by, when read (Kernel.view)
        self.links = {link.name: link for link in links}
        self.get = self.links.get
        self._by_index = None

    @property
    def by_index(self):
        if self._by_index is None:  # built when asked: most views are only looked up by name
            self._by_index = {link.index: link for link in self.links.values()}
        return self._by_index


_DEFAULT_NETWORKS = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def default_network(version):
    return _DEFAULT_NETWORKS[version]


def addresses_text(addresses):
    return [str(a) for a in addresses]


_DEFAULTS = {cls: {field.name: field.default for field in dataclasses.fields(cls)} for cls in (Link, Address, Route)}
