# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's objects as plain data, normalised from netlink dumps."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import ipaddress
from typing import FrozenSet, Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Link:
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

    def moved(self, netns):
        """What the kernel leaves of a link moved to another namespace:
        addresses flushed, down, released from its master."""
        return dataclasses.replace(self, netns=netns, addresses=(), secondaries=frozenset(), up=False,
                                   master=None)

    def primaries_first(self):
        """Addresses in an order that re-creates primaries before secondaries."""
        return sorted(self.addresses, key=lambda a: (a in self.secondaries, a.version, a))


@dataclasses.dataclass(frozen=True)
class Route:
    netns: Optional[str]
    dst: object  # ipaddress network
    table: int
    metric: int
    gateway: Optional[object] = None
    dev: Optional[str] = None
    proto: str = ""
    scope: str = ""
    type: str = "unicast"

    @property
    def key(self):
        return (self.dst, self.table, self.metric)

    def as_dict(self):
        return {
            "dst": "default" if self.dst.prefixlen == 0 else str(self.dst),
            "family": "ipv%d" % self.dst.version,
            "gateway": str(self.gateway) if self.gateway else None,
            "dev": self.dev,
            "metric": self.metric,
            "table": self.table,
            "proto": self.proto,
            "scope": self.scope,
            "type": self.type,
        }


class NsView:
    """One namespace's links (with their addresses), from one dump."""

    def __init__(self, netns, links, exists=True):
        self.netns = netns
        self.exists = exists
        self.links = {link.name: link for link in links}
        self.by_index = {link.index: link for link in links}

    def get(self, name):
        return self.links.get(name)


def default_network(version):
    return ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")


def addresses_text(addresses):
    return [str(a) for a in addresses]
