# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Applying a plan: each operation against the kernel, and rollback of the
operations already done when one fails."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError, NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import netlink_error
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import TEXT

# What the kernel answers when it is already as asked; see _tolerated.
_ALREADY = {
    "link_del": (errno.ENODEV,),
    "addr_add": (errno.EEXIST,),
    "addr_del": (errno.EADDRNOTAVAIL,),
    "route_del": (errno.ESRCH,),
}


_IFA_F_NODAD = 0x02
_SCOPE_LINK = 253
_SCOPE_ANY = 255


class ApplyError(NetplumbError):
    def __init__(self, failed, cause, rolled_back, not_undone, rollback_errors):
        self.failed = failed
        self.cause = cause
        self.rolled_back = rolled_back
        self.not_undone = not_undone
        self.rollback_errors = rollback_errors
        msg = "failed to %s: %s" % (failed.describe(), cause)
        if rolled_back or not_undone or rollback_errors:
            msg += "; rolled back %d earlier operation(s)" % len(rolled_back)
        if not_undone:
            msg += "; could not undo: %s" % ", ".join(not_undone)
        if rollback_errors:
            msg += "; rollback errors: %s" % "; ".join(rollback_errors)
        super(ApplyError, self).__init__(msg)


def apply(kernel, ops):
    """Run ``ops`` in order; on failure undo the done ones in reverse."""
    done = []
    for op in ops:
        try:
            run(kernel, op)
        except Exception as exc:  # pyroute2's errors share no base class beyond Exception
            cause = exc if isinstance(exc, NetplumbError) else netlink_error(op.describe(), exc)
            raise _rollback(kernel, op, cause, done)
        done.append(op)
        crashpoint.reached(op.describe())
    return done


def _rollback(kernel, failed, cause, done):
    rolled_back, not_undone, errors = [], [], []
    for op in reversed(done):
        if op.undo is None:
            not_undone.append(op.describe())
            continue
        for undo in op.undo if isinstance(op.undo, tuple) else (op.undo,):
            try:
                run(kernel, undo)
                if undo.action != "noop":
                    rolled_back.append(undo.describe())
            except Exception as exc:  # keep undoing the rest; report every failure
                errors.append("%s: %s" % (undo.describe(), exc))
    reason = cause.args[0].split(": ", 1)[-1] if isinstance(cause, KernelError) else str(cause)
    return ApplyError(failed, reason, rolled_back, not_undone, errors)


def register(action, text, runner, already=()):
    """Teach the engine a new kind of operation: how to describe it (a format
    string over the op's args, target and where) and how to run it.
    ``already``: errnos that mean the kernel or filesystem is already so."""
    TEXT[action] = text
    _ACTIONS[action] = runner
    if already:
        _ALREADY[action] = tuple(already)


def run(kernel, op):
    try:
        _ACTIONS[op.action](kernel, op)
    except Exception as exc:
        if getattr(exc, "code", None) in _ALREADY.get(op.action, ()):
            return
        raise


def _index(kernel, netns, name):
    found = kernel.ipr(netns).link_lookup(ifname=name)
    if not found:
        raise KernelError("%s in netns %s" % (name, netns or "(host)"), errno.ENODEV, "no such link")
    return found[0]


def _with_netns_fd(netns, call):
    fd = namespaces.open_netns(netns)
    try:
        return call(fd)
    finally:
        os.close(fd)


def _netns_add(kernel, op):
    namespaces.create(op.target)


def _netns_del(kernel, op):
    kernel.forget(op.target)
    namespaces.delete(op.target)


def _link_add(kernel, op):
    ipr = kernel.ipr(op.netns)
    extra = {"mtu": op.args["mtu"]} if op.args.get("mtu") else {}
    if op.args["kind"] == "bridge":
        ipr.link("add", ifname=op.target, kind="bridge", **extra)
        return
    peer = dict(ifname=op.args["peer"], **extra)
    if op.args.get("peer_netns") == op.netns:
        ipr.link("add", ifname=op.target, kind="veth", peer=peer, **extra)
        return

    def create(fd):
        peer["net_ns_fd"] = fd
        ipr.link("add", ifname=op.target, kind="veth", peer=peer, **extra)
    _with_netns_fd(op.args.get("peer_netns"), create)


def _link_del(kernel, op):
    kernel.ipr(op.netns).link("del", index=_index(kernel, op.netns, op.target))


def _link_move(kernel, op):
    index = _index(kernel, op.netns, op.target)
    _with_netns_fd(op.args.get("to"), lambda fd: kernel.ipr(op.netns).link("set", index=index, net_ns_fd=fd))


def _link_set(kernel, op):
    ipr = kernel.ipr(op.netns)
    index = _index(kernel, op.netns, op.target)
    args = op.args
    if "mtu" in args:
        ipr.link("set", index=index, mtu=args["mtu"])
    if "master" in args:
        master = _index(kernel, op.netns, args["master"]) if args["master"] else 0
        ipr.link("set", index=index, master=master)
    if "stp" in args:
        ipr.link("set", index=index, kind="bridge", br_stp_state=int(args["stp"]))
    if "vlan_filtering" in args:
        ipr.link("set", index=index, kind="bridge", br_vlan_filtering=int(args["vlan_filtering"]))
    if "up" in args:
        ipr.link("set", index=index, state="up" if args["up"] else "down")


def _addr(kernel, op, command):
    iface = op.args["address"]
    extra = {"flags": _IFA_F_NODAD} if op.args.get("nodad") and command == "add" else {}
    kernel.ipr(op.netns).addr(command, index=_index(kernel, op.netns, op.target),
                              address=str(iface.ip), prefixlen=iface.network.prefixlen, **extra)


def _route(kernel, op, command):
    route = op.args["route"]
    request = {"dst": str(route.dst), "table": route.table, "priority": route.metric}
    if command == "del":
        request["scope"] = _SCOPE_ANY  # match the route whatever its scope, as ip route del
    else:
        if route.gateway is not None:
            request["gateway"] = str(route.gateway)
        else:
            request["scope"] = _SCOPE_LINK  # on-link, as ip route add ... dev X
        if route.dev:
            request["oif"] = _index(kernel, op.netns, route.dev)
    kernel.ipr(op.netns).route(command, **request)


_ACTIONS = {
    "noop": lambda kernel, op: None,
    "netns_add": _netns_add,
    "netns_del": _netns_del,
    "link_add": _link_add,
    "link_del": _link_del,
    "link_move": _link_move,
    "link_set": _link_set,
    "addr_add": lambda kernel, op: _addr(kernel, op, "add"),
    "addr_del": lambda kernel, op: _addr(kernel, op, "del"),
    "route_add": lambda kernel, op: _route(kernel, op, "add"),
    "route_replace": lambda kernel, op: _route(kernel, op, "replace"),
    "route_del": lambda kernel, op: _route(kernel, op, "del"),
}
