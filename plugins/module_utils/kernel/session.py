# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one netlink session interface, and the factory that picks its
implementation.

A session is one rtnetlink socket, bound to the namespace it was opened in.
Its reads return the model's objects (model.Link, model.Address,
model.Route); a Link's ``master`` and a Route's ``dev`` are names only once
Kernel resolves them against a link dump (``master_index``, ``oif``).
Writes take ifindexes and the model's values. A refused request raises an
exception whose ``code`` is the errno, whichever implementation sent it.

Two implementations answer it:
  "lean"      rtnl.LeanSession (its bytes in rtnl_codec.py), standard
              library only: every resource that changes the node;
  "pyroute2"  iproute.Pyroute2Session over pyroute2's IPRoute, imported on
              first use: net_facts, which reports what pyroute2 decodes.
What each implementation needs to agree with the other lives in its own file;
tests/integration/test_engine_netlink_parity.py holds them to it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import MissingLibrary

IMPLEMENTATIONS = ("lean", "pyroute2")


class NetlinkSession:
    """The interface; see the module docstring."""

    def close(self):
        raise NotImplementedError

    # -- reads -------------------------------------------------------------------

    def links(self):
        """Every link of the namespace: [model.Link] without addresses."""
        raise NotImplementedError

    def link(self, name):
        """One link by name (one request, no dump), or None."""
        raise NotImplementedError

    def links_named(self, names):
        """[model.Link or None] of each name, in order."""
        return [self.link(name) for name in names]

    def addresses(self, index=None):
        """[model.Address] of the namespace (of link ``index`` only if given),
        IPv6 link-local left out (model.managed_address)."""
        raise NotImplementedError

    def read_named(self, names, addresses=True, home_fd=None):
        """What a read of some links needs, in one go: ([model.Link or None]
        of each name, [model.Address] of the namespace if ``addresses`` is
        True, of the links it names if it names some, and with ``home_fd``
        the id under which this namespace knows that fd's namespace, or None)."""
        home = self.netnsid(home_fd) if home_fd is not None else None
        links = self.links_named(names)
        found = self.addresses() if addresses else []
        if addresses and addresses is not True:
            indexes = address_indexes(links, addresses)
            found = [a for a in found if a.index in indexes]
        return links, found, home

    def routes(self, families=(4, 6), table=None, unicast_only=False):
        """[model.Route] of ``families`` (of ``table`` only if given)."""
        raise NotImplementedError

    def netnsid(self, fd):
        """The id under which this namespace knows the namespace of ``fd``, or None."""
        raise NotImplementedError

    # -- writes ------------------------------------------------------------------

    def add_bridge(self, name, mtu=None, address=None):
        """A bridge; with ``address`` (6 bytes) it keeps that MAC address,
        where the kernel would give it the lowest of its ports'."""
        raise NotImplementedError

    def add_veth(self, name, peer, peer_netns_fd=None, mtu=None):
        """A veth pair; its peer end goes into the namespace of ``peer_netns_fd`` if given."""
        raise NotImplementedError

    def delete_link(self, index):
        raise NotImplementedError

    def set_link(self, index, mtu=None, master=None, up=None, netns_fd=None, alias=None):
        """One request; ``master`` 0 releases the link from its master."""
        raise NotImplementedError

    def set_bridge(self, index, stp=None, vlan_filtering=None):
        raise NotImplementedError

    def add_address(self, index, iface, nodad=False):
        raise NotImplementedError

    def delete_address(self, index, iface):
        raise NotImplementedError

    def route(self, command, route, oif=None):
        """``command``: "add", "replace" or "del" of a model.Route in its
        table with its metric; a route without gateway is on-link (scope
        link); "del" matches whatever the route's scope."""
        raise NotImplementedError

    def index(self, name):
        found = self.link(name)
        return found.index if found is not None else None


def address_indexes(links, names):
    """The indexes of those of ``links`` (read by name, None where missing)
    that ``names`` names: whose addresses read_named() returns."""
    return {link.index for link in links if link is not None and link.name in names}


def require(implementation):
    """Fail before planning when the implementation's library is missing, so
    a node without it is left untouched."""
    if implementation == "pyroute2":
        _pyroute2()


def open_session(implementation):
    """A session of ``implementation`` in the calling thread's namespace."""
    if implementation == "pyroute2":
        from ansible_collections.netplumb.linux.plugins.module_utils.kernel.iproute import Pyroute2Session
        return Pyroute2Session.open(_pyroute2())
    if implementation == "lean":
        from ansible_collections.netplumb.linux.plugins.module_utils.kernel.rtnl import LeanSession
        return LeanSession.open()
    raise ValueError("netlink implementation %r (known: %s)" % (implementation, ", ".join(IMPLEMENTATIONS)))


def _pyroute2():
    try:
        from pyroute2 import IPRoute
    except ImportError as exc:
        raise MissingLibrary("pyroute2", exc)
    return IPRoute
