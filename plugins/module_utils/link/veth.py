# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A veth pair, both ends managed: namespace, addresses, master, MTU, up.

A pair counts as present only when the end ``name`` and the end ``peer`` are
each other's peer. Links that merely carry one of the names are in the way:
a veth in the way is replaced, any other kind of link stops the plan.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.link.linkattrs import (
    LinkAttrs, check_master, converge, fresh, predicted, restore_ops, state_dict)
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import LINK_ADD, LINK_DEL, LINK_MOVE
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.topology import (
    find_peer, find_peer_elsewhere, read_views, require_namespaces)


NETLINK = "lean"  # no pyroute2 import, which would double the task's time
OPERATIONS = (kernel_ops.OPERATIONS,)


@dataclasses.dataclass(frozen=True)
class VethSpec:
    end: LinkAttrs
    peer: LinkAttrs
    state: str = "present"


def parse(params):
    state = validate.choice("state", params.get("state", "present"), ("present", "absent"))
    name = validate.ifname("name", params.get("name"))
    peer_name = params.get("peer")
    if peer_name is None and state == "present":
        raise ParamError("peer", None, "is required when state is present")
    peer_name = validate.ifname("peer", peer_name) if peer_name is not None else None
    netns = validate.netns("netns", params.get("netns"))
    peer_netns = validate.netns("peer_netns", params.get("peer_netns"))
    if peer_name == name and peer_netns == netns:
        raise ParamError("peer", peer_name, "must differ from name when both ends are in the same netns")
    addresses = validate.address_list("addresses", params.get("addresses"))
    peer_addresses = validate.address_list("peer_addresses", params.get("peer_addresses"))
    mtu = validate.mtu_for("mtu", params.get("mtu"), tuple(addresses or ()) + tuple(peer_addresses or ()))
    end = LinkAttrs(netns, name, addresses, _master("master", params.get("master")), mtu)
    peer = LinkAttrs(peer_netns, peer_name or "", peer_addresses, _master("peer_master", params.get("peer_master")),
                     mtu)
    if end.master is not None and end.master == peer.master and netns == peer_netns:
        raise ParamError("peer_master", peer.master, "is the bridge the other end (master) is a port of too: the pair "
                         "would loop it, and every broadcast would circle it without end")
    return VethSpec(end, peer, state)


def _master(field, value):
    return None if value is None else validate.ifname(field, value)


def plan(ctx, spec):
    kernel = ctx.kernel
    end, peer = spec.end, spec.peer
    if spec.state == "present":
        require_namespaces(ctx, (("netns", end.netns), ("peer_netns", peer.netns)))
    views = read_views(kernel, [end.netns, peer.netns, None], missing_ok=spec.state == "absent")
    pair = _find_pair(kernel, views, end, peer)
    if spec.state == "absent":
        return _plan_absent(kernel, views, spec, pair)
    check_master(ctx, views[end.netns], "master", end.master)
    check_master(ctx, views[peer.netns], "peer_master", peer.master)

    result = Plan(before=_diff_state(pair))
    if pair:
        have_end = _place(result, kernel, views, pair[0], end, "name")
        have_peer = _place(result, kernel, views, pair[1], peer, "peer")
    else:
        gone = _clear(result, kernel, views, end, "name", set())
        _clear(result, kernel, views, peer, "peer", gone)
        result.add("veth", Op(LINK_ADD, end.netns, end.name,
                              {"kind": "veth", "peer": peer.name, "peer_netns": peer.netns, "mtu": end.mtu},
                              Op(LINK_DEL, end.netns, end.name)))
        have_end = fresh(end.netns, end.name, "veth", end.mtu)
        have_peer = fresh(peer.netns, peer.name, "veth", peer.mtu)
    converge(result, end, have_end, is_new=not pair)
    converge(result, peer, have_peer, is_new=not pair, fields=("mtu", "peer_addresses"))
    result.after = _diff_state((predicted(end, have_end), predicted(peer, have_peer)))
    return result


def _plan_absent(kernel, views, spec, pair):
    result = Plan(before=_diff_state(pair), after={"state": "absent"})
    gone = set()
    for want, field in ((spec.end, "name"), (spec.peer, "peer")):
        link = views[want.netns].get(want.name) if want.name else None
        if link is None or (link.netns, link.name) in gone:
            continue
        if link.kind != "veth":
            raise ParamError(field, want.name, "is a %s link in netns %s, not a veth; left alone"
                             % (link.kind, want.netns or "(host)"))
        gone |= _delete(result, kernel, views, link)
    if not result:
        result.before = result.after
    return result


def _find_pair(kernel, views, end, peer):
    """The existing pair (end link, peer link), wherever its ends are now: an
    end moved into another named namespace is moved back, not made anew (which
    would drop the routes over the pair)."""
    for view in list(views.values()):
        for name, other_name, flip in ((end.name, peer.name, False), (peer.name, end.name, True)):
            link = view.get(name)
            if link is None or link.kind != "veth" or (flip and name == end.name):
                continue
            other = find_peer_elsewhere(kernel, views, link)
            if other is not None and other.name == other_name:
                return (other, link) if flip else (link, other)
    return None


def _place(result, kernel, views, link, want, field):
    """Move an end of an existing pair into its namespace."""
    if link.netns == want.netns:
        return link
    blocker = views[want.netns].get(want.name)
    if blocker is not None:
        _delete(result, kernel, views, _replaceable(blocker, field))
    result.add("move", Op(LINK_MOVE, link.netns, link.name, {"to": want.netns},
                          (Op(LINK_MOVE, want.netns, link.name, {"to": link.netns}),) + tuple(restore_ops(link))))
    return link.moved(want.netns)


def _clear(result, kernel, views, want, field, gone):
    """Delete a veth that holds ``want``'s name in its namespace."""
    blocker = views[want.netns].get(want.name)
    if blocker is None or (blocker.netns, blocker.name) in gone:
        return gone
    return gone | _delete(result, kernel, views, _replaceable(blocker, field))


def _replaceable(link, field):
    if link.kind != "veth":
        raise ParamError(field, link.name, "is already a %s link in netns %s; only a veth is replaced"
                         % (link.kind, link.netns or "(host)"))
    return link


def _delete(result, kernel, views, link):
    """Delete a veth; returns the ends that go with it."""
    result.add("delete", Op(LINK_DEL, link.netns, link.name))
    gone = {(link.netns, link.name)}
    other = find_peer(kernel, views, link)
    if other is not None:
        gone.add((other.netns, other.name))
    return gone


def _diff_state(pair):
    if not pair:
        return {"state": "absent"}
    return {"state": "present", "end": state_dict(pair[0]), "peer": state_dict(pair[1])}
