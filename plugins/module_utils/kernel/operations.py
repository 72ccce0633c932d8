# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's operations: namespaces, links, addresses and routes, each run
on the call's session of its namespace (ctx.kernel)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os

from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import with_netns_fd


def _netns_add(ctx, op):
    namespaces.create(op.target)


def _netns_del(ctx, op):
    ctx.kernel.forget(op.target)
    namespaces.delete(op.target)


def _link_add(ctx, op):
    sess = ctx.kernel.session(op.netns)
    mtu = op.args.get("mtu")
    if op.args["kind"] == "bridge":
        sess.add_bridge(op.target, mtu, address=_own_address())
        if mtu:
            _keep_mtu(sess, ctx.kernel.index(op.netns, op.target), mtu)
    elif op.args.get("peer_netns") == op.netns:
        sess.add_veth(op.target, op.args["peer"], mtu=mtu)
    else:
        with_netns_fd(op.args.get("peer_netns"),
                      lambda fd: sess.add_veth(op.target, op.args["peer"], peer_netns_fd=fd, mtu=mtu))


def _keep_mtu(sess, index, mtu):
    """A bridge follows its ports' MTU unless its MTU was changed after it was
    made (the MTU given at creation does not count), and the kernel ignores a
    change to the MTU a link already has: so it is changed twice."""
    sess.set_link(index, mtu=mtu - 1 if mtu > 68 else mtu + 1)
    sess.set_link(index, mtu=mtu)


def _bridge_mtu_keep(ctx, op):
    _keep_mtu(ctx.kernel.session(op.netns), ctx.kernel.index(op.netns, op.target), op.args["mtu"])


def _own_address():
    """A random locally administered unicast MAC address, as the kernel makes
    one. Set when a bridge is made, the bridge keeps it. Left to the kernel, a
    bridge takes the lowest address of its ports: when that port goes with its
    container, the other containers' neighbour entries of the gateway point
    to an address nothing answers to, until the kernel probes them again
    (tens of seconds)."""
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02
    return bytes(raw)


def _link_del(ctx, op):
    ctx.kernel.session(op.netns).delete_link(ctx.kernel.index(op.netns, op.target))


def _link_move(ctx, op):
    index = ctx.kernel.index(op.netns, op.target)
    with_netns_fd(op.args.get("to"), lambda fd: ctx.kernel.session(op.netns).set_link(index, netns_fd=fd))


def _link_set(ctx, op):
    kernel, args = ctx.kernel, op.args
    sess = kernel.session(op.netns)
    index = kernel.index(op.netns, op.target)
    if {"mtu", "master", "up", "alias"} & set(args):
        master = args.get("master")
        sess.set_link(index, mtu=args.get("mtu"), up=args.get("up"), alias=args.get("alias"),
                      master=(kernel.index(op.netns, master) if master else 0) if "master" in args else None)
    if "stp" in args or "vlan_filtering" in args:
        sess.set_bridge(index, stp=args.get("stp"), vlan_filtering=args.get("vlan_filtering"))


def _addr_add(ctx, op):
    ctx.kernel.session(op.netns).add_address(ctx.kernel.index(op.netns, op.target), op.args["address"],
                                             nodad=bool(op.args.get("nodad")))


def _addr_del(ctx, op):
    ctx.kernel.session(op.netns).delete_address(ctx.kernel.index(op.netns, op.target), op.args["address"])


def _route(command):
    def run(ctx, op):
        route = op.args["route"]
        oif = ctx.kernel.index(op.netns, route.dev) if route.dev and command != "del" else None
        ctx.kernel.session(op.netns).route(command, route, oif)
    return run


NETNS_ADD = Operation("netns_add", "create netns {target}", _netns_add)
NETNS_DEL = Operation("netns_del", "delete netns {target}", _netns_del)
LINK_ADD = Operation("link_add", "create {kind} {target}{where}{peer_text}", _link_add)
LINK_DEL = Operation("link_del", "delete {target}{where}", _link_del, already=(errno.ENODEV,))
LINK_MOVE = Operation("link_move", "move {target}{where} to netns {to_text}", _link_move)
LINK_SET = Operation("link_set", "set {target}{where} {changes}", _link_set)
BRIDGE_MTU_KEEP = Operation("bridge_mtu_keep", "keep the MTU of bridge {target}{where} at {mtu} as its ports change",
                            _bridge_mtu_keep)
ADDR_ADD = Operation("addr_add", "add address {address} to {target}{where}", _addr_add, already=(errno.EEXIST,))
ADDR_DEL = Operation("addr_del", "remove address {address} from {target}{where}", _addr_del,
                     already=(errno.EADDRNOTAVAIL,))
ROUTE_ADD = Operation("route_add", "add route {target}{where}", _route("add"))
ROUTE_REPLACE = Operation("route_replace", "replace route {target}{where}", _route("replace"))
ROUTE_DEL = Operation("route_del", "delete route {target}{where}", _route("del"), already=(errno.ESRCH,))

OPERATIONS = (NETNS_ADD, NETNS_DEL, LINK_ADD, LINK_DEL, LINK_MOVE, LINK_SET, BRIDGE_MTU_KEEP, ADDR_ADD, ADDR_DEL,
              ROUTE_ADD, ROUTE_REPLACE, ROUTE_DEL)
