"""A fake node for the fast planner tests: namespaces of links, addresses
and routes held as the model's objects, read through the netlink session
interface (kernel/session.py) by a real Kernel. No root, no kernel.

It answers reads only: the planners decide from reads, and what the plans do
to a real kernel is the engine tests' business (tests/integration). Its
reads mean what the real sessions' mean because the parity suite
(test_engine_netlink_parity.py) holds both to the same interface.
"""

import dataclasses
import ipaddress

from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Address, Link, Route
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.session import NetlinkSession
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel


# The fake Kernel's fd on the node's namespace (Kernel.home_fd).
HOME = object()


class FakeNamespace:
    def __init__(self, node, name):
        self.node = node
        self.name = name
        self.links = {}
        self.addresses = []
        self.routes = []
        self.nsids = {}  # other namespace -> the id this one knows it by
        self.add("lo", "loopback", mtu=65536)

    def add(self, name, kind, up=True, mtu=1500, master=None, alias="", stp=None, addresses=()):
        index = self.node.next_index()
        master_index = self.links[master].index if master else None
        self.links[name] = Link(None, index, name, kind, up, mtu, master_index=master_index, alias=alias,
                                stp=stp if kind != "bridge" else bool(stp),
                                vlan_filtering=False if kind == "bridge" else None)
        for text in addresses:
            self.address(name, text)
        return self.links[name]

    def address(self, link, text):
        """An address, and the route to its network the kernel adds with it on a link that is up."""
        found = self.links[link]
        iface = ipaddress.ip_interface(text)
        self.addresses.append(Address(found.index, iface))
        if found.up:
            self.routes.append(Route(None, iface.network, 254, 0 if iface.version == 4 else 256, None,
                                     proto="kernel", scope="link", type="unicast", oif=found.index))

    def set(self, link, **changes):
        self.links[link] = dataclasses.replace(self.links[link], **changes)

    def route(self, dst, gateway=None, dev=None, table=254, metric=0, kind="unicast"):
        self.routes.append(Route(None, ipaddress.ip_network(dst), table, metric,
                                 ipaddress.ip_address(gateway) if gateway else None, proto="static",
                                 type=kind, oif=self.links[dev].index if dev else None))


class FakeNode:
    """Namespaces by name; None is the node's own."""

    def __init__(self):
        self._index = 0
        self.namespaces = {}
        self.namespaces[None] = FakeNamespace(self, None)

    def next_index(self):
        self._index += 1
        return self._index

    def netns(self, name):
        if name not in self.namespaces:
            self.namespaces[name] = FakeNamespace(self, name)
        return self.namespaces[name]

    def veth(self, end, peer, **attrs):
        """A pair: ``end`` and ``peer`` are (netns, name)."""
        (ns_a, name_a), (ns_b, name_b) = end, peer
        a, b = self.netns(ns_a).add(name_a, "veth", **attrs), self.netns(ns_b).add(name_b, "veth")
        nsid_a = nsid_b = None
        if ns_a != ns_b:
            nsid_a = self.netns(ns_a).nsids.setdefault(ns_b, len(self.netns(ns_a).nsids))
            nsid_b = self.netns(ns_b).nsids.setdefault(ns_a, len(self.netns(ns_b).nsids))
        self.netns(ns_a).links[name_a] = dataclasses.replace(a, peer_index=b.index, peer_nsid=nsid_a)
        self.netns(ns_b).links[name_b] = dataclasses.replace(b, peer_index=a.index, peer_nsid=nsid_b)

    def kernel(self, ctx, netlink="lean"):
        return _FakeKernel(self, ctx, netlink)


class _FakeKernel(Kernel):
    def __init__(self, node, ctx, netlink):
        super(_FakeKernel, self).__init__(ctx, netlink, opener=lambda netns: FakeSession(node.namespaces[netns]),
                                          exists=lambda netns: netns in node.namespaces,
                                          names=lambda: sorted(name for name in node.namespaces if name))
        self.node = node

    def nsid_of(self, seen_from, other):
        if seen_from not in self.node.namespaces or other not in self.node.namespaces:
            return None
        return self.node.namespaces[seen_from].nsids.get(other)

    def home_fd(self):
        return HOME


class FakeSession(NetlinkSession):
    def __init__(self, namespace):
        self.ns = namespace

    def close(self):
        pass

    def links(self):
        return list(self.ns.links.values())

    def link(self, name):
        return self.ns.links.get(name)

    def addresses(self, index=None):
        return [a for a in self.ns.addresses if index is None or a.index == index]

    def routes(self, families=(4, 6), table=None, unicast_only=False):
        return [r for r in self.ns.routes if r.dst.version in families and (table is None or r.table == table)
                and (not unicast_only or r.type == "unicast")]

    def netnsid(self, fd):
        if fd is not HOME:
            raise AssertionError("the fake node answers namespace ids through Kernel.nsid_of")
        return self.ns.nsids.get(None)
