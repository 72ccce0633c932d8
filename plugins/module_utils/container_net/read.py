# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What planning reads of one container: its namespace's ``lo`` and interface
with their addresses and main-table routes (one lookup send and one route
dump on its lean session), and whether its interface and a host link are the
two ends of one veth."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import MAIN_TABLE


class Found:
    """What planning reads of one container namespace."""

    def __init__(self, view, routes):
        self.exists = view.exists
        self.get = view.get
        self.home_id = view.home_id
        self.routes = routes  # {(dst, metric): model.Route} of the main table


def read_container(kernel, name, ifname, families=()):
    """Namespace ``name``: lo, and ``ifname`` with its addresses and, for
    ``families``, the main-table routes. A namespace that does not exist yet
    is empty."""
    view = kernel.view(name, only=("lo", ifname), missing_ok=True, addresses=(ifname,), home_id=True)
    eth = view.get(ifname)
    routes = {}
    if families and eth is not None:
        for route in kernel.view_routes(view, families, MAIN_TABLE, unicast_only=True):
            routes[(route.dst, route.metric)] = route
    return Found(view, routes)


def paired(ns, hlink, eth):
    """Whether host link ``hlink`` and ``eth`` of container namespace ``ns``
    are the two ends of one veth. Interface indexes are per namespace (eth0 is
    nearly always 2), so eth's peer must also be in the node's namespace: its
    peer's namespace id is the one ``ns`` knows the node's by. Then that peer
    is the node's link of that index, ``hlink``."""
    return (hlink is not None and eth is not None and hlink.kind == "veth" and eth.kind == "veth"
            and hlink.peer_nsid is not None and eth.peer_nsid is not None
            and hlink.peer_index == eth.index and eth.peer_index == hlink.index
            and eth.peer_nsid == ns.home_id)
