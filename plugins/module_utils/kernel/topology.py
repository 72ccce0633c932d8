# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading several namespaces at once and following veth peers across them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError


def require_namespaces(ctx, fields):
    """Each named namespace must exist; in check mode reading it warns instead
    (an earlier task of the same play would create it). ``fields``: (field,
    netns) pairs."""
    for field, netns in fields:
        if not (ctx.kernel.netns_exists(netns) or ctx.check_mode):
            raise ParamError(field, netns, "is not an existing network namespace")


def read_views(kernel, netns_names, missing_ok=False):
    """One view per distinct namespace, in the order given."""
    views = {}
    for netns in netns_names:
        if netns not in views:
            views[netns] = kernel.view(netns, missing_ok=missing_ok)
    return views


def find_peer(kernel, views, link):
    """The peer of a veth among the viewed namespaces, or None.

    A peer in another namespace is reported by index plus the id under which
    the link's namespace knows the peer's: match that id to a namespace.
    """
    if link.peer_index is None:
        return None
    if link.peer_nsid is None:
        return views[link.netns].by_index.get(link.peer_index)
    for netns, view in views.items():
        if netns == link.netns or not view.exists:
            continue
        if kernel.nsid_of(link.netns, netns) == link.peer_nsid:
            return view.by_index.get(link.peer_index)
    return None


def find_peer_elsewhere(kernel, views, link):
    """The peer of a veth, also in a named namespace not viewed yet (one an
    admin or another tool moved it into), whose view is then added to
    ``views``; None when the peer is in no named namespace."""
    found = find_peer(kernel, views, link)
    if found is not None or link.peer_nsid is None:
        return found
    for netns in kernel.netns_names():
        if netns not in views and kernel.nsid_of(link.netns, netns) == link.peer_nsid:
            views[netns] = kernel.view(netns)
            return views[netns].by_index.get(link.peer_index)
    return None
