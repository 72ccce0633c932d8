# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink sessions of one call, one per namespace, and what they read.

Kernel opens a session (session.py) per namespace the call touches, lazily,
inside that namespace, and reuses it for the whole call. Its readers turn the
sessions' model objects into views: masters and route devices by name,
addresses on their links.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import copy
import errno
import os
import resource

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError, NetnsMissing
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces, session
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import NsView


class Kernel:
    """``netlink``: the session implementation ("lean" or "pyroute2").
    ``ctx``: the call's context (core.context.Context): in check mode a
    namespace that does not exist yet reads as empty, with a warning, since an
    earlier task of the same play would create it.
    ``opener(netns)``, ``exists(netns)`` and ``names()`` stand in for the
    kernel's sessions and named namespaces (the planner tests' fake); by
    default the real ones."""

    def __init__(self, ctx, netlink="lean", opener=None, exists=None, names=None):
        self.ctx = ctx
        self.netlink = netlink
        self._opener = opener or self._open
        self._exists = exists or namespaces.exists
        self._names = names or namespaces.list_names
        self._sessions = {}
        self._shared = False
        self._home = []  # an fd on the caller's namespace, opened once (a list: read-back copies share it)
        self._kept = None  # {(netns, name): ifindex} inside kept_indexes()

    def sharing(self, ctx):
        """This Kernel for another context (a read-back after the apply):
        fresh reads over the sessions already open, which it does not close."""
        other = copy.copy(self)
        other.ctx = ctx
        other._shared = True
        return other

    def close(self):
        if self._shared:
            return
        for sess in self._sessions.values():
            sess.close()
        self._sessions.clear()
        while self._home:
            os.close(self._home.pop())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def session(self, netns):
        if netns not in self._sessions:
            self._sessions[netns] = self._opener(netns)
        return self._sessions[netns]

    def _open(self, netns):
        with namespaces.netns_context(netns):
            return session.open_session(self.netlink)

    def home_fd(self):
        """An fd on the namespace the call runs in (the node's), for the
        namespace ids other namespaces know it by."""
        if not self._home:
            self._home.append(namespaces.open_netns(None))
        return self._home[0]

    def forget(self, netns):
        """Drop the session of a namespace about to be deleted."""
        sess = self._sessions.pop(netns, None)
        if sess is not None:
            sess.close()

    def netns_exists(self, netns):
        return netns is None or self._exists(netns)

    def netns_names(self):
        """The named namespaces (ip netns list)."""
        return self._names()

    def index(self, netns, name):
        """The ifindex of link ``name``; KernelError (ENODEV) when there is none."""
        kept = self._kept
        if kept is not None and (netns, name) in kept:
            return kept[(netns, name)]
        found = self.session(netns).index(name)
        if found is None:
            raise KernelError("%s in netns %s" % (name, netns or "(host)"), errno.ENODEV, "no such link")
        if kept is not None:
            kept[(netns, name)] = found
        return found

    @contextlib.contextmanager
    def kept_indexes(self):
        """Inside the block each link's index is looked up once, not once per
        step: for a batch that makes its links itself and renames or moves
        none of them (a new container: nothing else knows the links of its
        new namespace yet). Only the batch's own undo deletes them, after
        its last lookup."""
        self._kept = {}
        try:
            yield
        finally:
            self._kept = None

    def _missing(self, netns, missing_ok):
        if missing_ok:
            return
        if not self.ctx.assume_earlier_task("network namespace %r does not exist; check mode assumes an earlier "
                                            "task creates it, empty" % netns):
            raise NetnsMissing(netns)

    # -- reading -----------------------------------------------------------------

    def view(self, netns, only=None, missing_ok=False, addresses=True, home_id=False):
        """Links and addresses of one namespace: one dump of each, or with
        ``only`` (names) a lookup per name and those links' addresses (one
        send; only those of the links ``addresses`` names, if it names some),
        with ``home_id`` also the id under which the namespace knows the
        node's (view.home_id); no address dump with ``addresses=False``. A
        namespace that does not exist reads as empty (exists=False) with
        ``missing_ok``, or in check mode."""
        if not self.netns_exists(netns):
            self._missing(netns, missing_ok)
            return NsView(netns, [], exists=False)
        memo = getattr(self.ctx, "memo", {})
        if only is None:
            # Several planners of one run (node_network) read the same namespace whole.
            shared = memo.get(("view", netns, True)) or (memo.get(("view", netns, False)) if not addresses else None)
            if shared is not None:
                return shared
        sess = self.session(netns)
        home = None
        try:
            if only is None:
                links = sess.links()
                found = sess.addresses() if addresses else []
            else:
                named, found, home = sess.read_named(only, addresses, self.home_fd() if home_id else None)
                links = [link for link in named if link is not None]
        except OSError as exc:
            raise KernelError.of("reading links of netns %s" % (netns or "(host)"), exc)
        view = NsView(netns, place(netns, links, found), home_id=home)
        if only is None and getattr(self.ctx, "share_views", False):
            memo[("view", netns, addresses)] = view
        return view

    def routes(self, netns, families=(4, 6), table=None, names=None, unicast_only=False):
        """Routes of ``netns`` with their devices by name (from ``names``,
        index -> name, or a link dump)."""
        if not self.netns_exists(netns):
            self._missing(netns, False)
            return []
        return self._routes(netns, families, table, names, unicast_only)

    def view_routes(self, view, families=(4, 6), table=None, unicast_only=False):
        """Routes of the namespace of ``view``, a view() just taken, with
        their devices named from its links; none where it found no namespace."""
        if not view.exists:
            return []
        names = {link.index: link.name for link in view.links.values()}
        return self._routes(view.netns, families, table, names, unicast_only)

    def _routes(self, netns, families, table, names, unicast_only):
        sess = self.session(netns)
        try:
            routes = sess.routes(families, table, unicast_only)
            if names is None:
                names = {link.index: link.name for link in sess.links()}
        except OSError as exc:
            raise KernelError.of("reading routes of netns %s" % (netns or "(host)"), exc)
        return [_fill(route, netns=netns, dev=names.get(route.oif) if route.oif else None) for route in routes]

    def nsid_of(self, seen_from, other):
        """The id under which namespace ``seen_from`` knows ``other`` (or None)."""
        if not (self.netns_exists(seen_from) and self.netns_exists(other)):
            return None
        try:
            if other is None:
                return self.session(seen_from).netnsid(self.home_fd())
            return with_netns_fd(other, self.session(seen_from).netnsid)
        except OSError as exc:
            raise KernelError.of("reading the id of netns %s in netns %s"
                                 % (other or "(host)", seen_from or "(host)"), exc)


def with_netns_fd(netns, call):
    """call(fd) with an fd on namespace ``netns`` (None: the caller's own)."""
    fd = namespaces.open_netns(netns)
    try:
        return call(fd)
    finally:
        os.close(fd)


def reserve_descriptors(count):
    """Make room for ``count`` more descriptors: a call holds one netlink
    session per namespace it touches (container_net: one per container)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        raise_to = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if raise_to > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))


def place(netns, links, addresses):
    """model.Links of one namespace with their addresses, masters by name."""
    mine, secondaries = {}, {}
    for addr in addresses:
        mine.setdefault(addr.index, []).append(addr.address)
        if addr.secondary:
            secondaries.setdefault(addr.index, []).append(addr.address)
    # The addresses of links not among ``links`` (a view of some links) are left out here.
    names = None
    for link in links:
        master = None
        if link.master_index:
            if names is None:
                names = {other.index: other.name for other in links}
            master = names.get(link.master_index)
        own = mine.get(link.index, ())
        held = secondaries.get(link.index)
        _fill(link, netns=netns, master=master,
              addresses=tuple(sorted(own, key=_address_order)) if len(own) > 1 else tuple(own),
              secondaries=frozenset(held) if held else _NONE)
    return links


_NONE = frozenset()


def _address_order(iface):
    return iface.version, iface


def _fill(obj, **fields):
    """Complete an object a session just decoded, which nothing else holds yet,
    in place: dataclasses.replace would copy it at about 15 us an object, a
    quarter of container_net's per-container budget when nothing changes."""
    obj.__dict__.update(fields)
    return obj
