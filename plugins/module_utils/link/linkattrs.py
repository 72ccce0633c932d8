# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes every managed link shares: MTU, master, addresses, up.

Only what the user set is compared; ``None`` means "leave it as it is".
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.validate import IPV6_MTU_MIN
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import Link, addresses_text
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import ADDR_ADD, ADDR_DEL, LINK_SET
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, noop


@dataclasses.dataclass(frozen=True)
class LinkAttrs:
    """The desired attributes of one link end."""
    netns: Optional[str]
    name: str
    addresses: Optional[Tuple] = None
    master: Optional[str] = None
    mtu: Optional[int] = None
    nodad: bool = False  # IPv6 addresses added without duplicate address detection


def fresh(netns, name, kind, mtu=None):
    """What a link looks like right after the plan creates it."""
    return Link(netns=netns, index=0, name=name, kind=kind, up=False, mtu=mtu or 1500)


def check_master(ctx, view, field, master):
    """The master must be a bridge in the same namespace as the port."""
    if master is None:
        return
    link = view.get(master)
    if link is None:
        if ctx.assume_earlier_task("%s: bridge %r does not exist yet; check mode assumes an earlier "
                                   "task creates it" % (field, master)):
            return
        raise ParamError(field, master, "is not a link in netns %s" % (view.netns or "(host)"))
    if link.kind != "bridge":
        raise ParamError(field, master, "is a %s, not a bridge" % link.kind)


def converge(plan, want, have, is_new=False, fields=("mtu", "addresses")):
    """Add the ops that bring link ``have`` to ``want``'s attributes
    (``fields``: the parameters the MTU and the addresses came from)."""
    def undo(args):
        return noop(want.name) if is_new else Op(LINK_SET, want.netns, want.name, args)

    _check_ipv6_mtu(want, have, fields)

    if want.mtu is not None and have.mtu != want.mtu:
        plan.add("link", Op(LINK_SET, want.netns, want.name, {"mtu": want.mtu}, undo({"mtu": have.mtu})))
    if want.master is not None and have.master != want.master:
        plan.add("link", Op(LINK_SET, want.netns, want.name, {"master": want.master},
                            undo({"master": have.master})))
    if want.addresses is not None:
        _converge_addresses(plan, want, have, is_new)
    if not have.up:
        plan.add("up", Op(LINK_SET, want.netns, want.name, {"up": True}, undo({"up": False})))


def _check_ipv6_mtu(want, have, fields):
    """Below IPv6's minimum MTU the kernel refuses an IPv6 address, and
    drops those a link has, unasked, when its MTU goes below (before any
    removal the plan makes, and beyond a rollback): both fail before any
    change. (A wanted MTU with wanted IPv6 addresses is checked at parse.)"""
    mtu = want.mtu if want.mtu is not None else have.mtu
    if mtu is None or mtu >= IPV6_MTU_MIN:
        return
    held = [a for a in have.addresses if a.version == 6]
    if held and want.mtu is not None and want.mtu != have.mtu:
        raise ParamError(fields[0], want.mtu, "is below %d, IPv6's minimum, and %s has the IPv6 address %s: the kernel "
                         "would drop it with the change (remove it in an earlier run)"
                         % (IPV6_MTU_MIN, want.name, held[0]))
    added = [a for a in want.addresses or () if a.version == 6 and a not in have.addresses]
    if added:
        raise ParamError(fields[1], str(added[0]), "needs an MTU of at least %d (IPv6's minimum), and %s has %d: the "
                         "kernel refuses it" % (IPV6_MTU_MIN, want.name, mtu))


def _converge_addresses(plan, want, have, is_new):
    if have.addresses == want.addresses:  # as the kernel lists them: nothing to do
        return
    current, desired = set(have.addresses), set(want.addresses)
    removed = sorted(current - desired, key=_order)
    # Deleting an IPv4 primary makes the kernel delete its subnet's secondaries
    # too: wanted secondaries of that subnet are added back. The undo of the
    # delete restores them all, so their re-add needs none.
    lost = {a for a in desired & have.secondaries
            if any(r.version == 4 and r not in have.secondaries and r.network == a.network for r in removed)}
    for address in removed:
        plan.add("address", Op(ADDR_DEL, want.netns, want.name, {"address": address},
                               noop(want.name) if is_new else
                               _readd(want, [address] + _secondaries_of(have, address))))
    for address in sorted((desired - current) | lost, key=_order):
        args = {"address": address, "nodad": True} if want.nodad and address.version == 6 else {"address": address}
        plan.add("address", Op(ADDR_ADD, want.netns, want.name, args,
                               noop(want.name) if is_new or address in lost else
                               Op(ADDR_DEL, want.netns, want.name, {"address": address})))


def _secondaries_of(link, address):
    """What the kernel deletes along with ``address``."""
    if address.version != 4 or address in link.secondaries:
        return []
    return sorted((a for a in link.secondaries if a.network == address.network), key=_order)


def _readd(want, addresses):
    return tuple(Op(ADDR_ADD, want.netns, want.name, {"address": a}) for a in addresses)


def restore_ops(link):
    """Ops that give a link back what a move to another namespace took away."""
    ops = list(_readd(link, link.primaries_first()))
    if link.master:
        ops.append(Op(LINK_SET, link.netns, link.name, {"master": link.master}))
    if link.up:
        ops.append(Op(LINK_SET, link.netns, link.name, {"up": True}))
    return ops


def _order(iface):
    return (iface.version, iface)


def state_dict(link, extra=None):
    """A link as --diff shows it; None when it does not exist."""
    if link is None:
        return None
    result = {
        "name": link.name,
        "netns": link.netns,
        "kind": link.kind,
        "mtu": link.mtu,
        "master": link.master,
        "addresses": addresses_text(link.addresses),
        "up": link.up,
    }
    result.update(extra or {})
    return result


def predicted(want, have):
    """``have`` with ``want``'s attributes applied: the --diff 'after'."""
    changes = {"netns": want.netns, "up": True}
    if want.mtu is not None:
        changes["mtu"] = want.mtu
    if want.master is not None:
        changes["master"] = want.master
    if want.addresses is not None:
        changes["addresses"] = want.addresses
    return dataclasses.replace(have, **changes)
