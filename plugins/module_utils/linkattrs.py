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

from ansible_collections.netplumb.linux.plugins.module_utils.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.model import Link, addresses_text
from ansible_collections.netplumb.linux.plugins.module_utils.plan import Op, noop


@dataclasses.dataclass(frozen=True)
class LinkAttrs:
    """The desired attributes of one link end."""
    netns: Optional[str]
    name: str
    addresses: Optional[Tuple] = None
    master: Optional[str] = None
    mtu: Optional[int] = None


def fresh(netns, name, kind, mtu=None):
    """What a link looks like right after the plan creates it."""
    return Link(netns=netns, index=0, name=name, kind=kind, up=False, mtu=mtu or 1500)


def check_master(kernel, view, field, master):
    """The master must be a bridge in the same namespace as the port."""
    if master is None:
        return
    link = view.get(master)
    if link is None:
        if kernel.assume_missing_netns_empty:
            kernel.warnings.append("%s: bridge %r does not exist yet; check mode assumes an earlier "
                                   "task creates it" % (field, master))
            return
        raise ParamError(field, master, "is not a link in netns %s" % (view.netns or "(host)"))
    if link.kind != "bridge":
        raise ParamError(field, master, "is a %s, not a bridge" % link.kind)


def converge(plan, want, have, is_new=False):
    """Add the ops that bring link ``have`` to ``want``'s attributes."""
    def undo(args):
        return noop(want.name) if is_new else Op("link_set", want.netns, want.name, args)

    if want.mtu is not None and have.mtu != want.mtu:
        plan.add("link", Op("link_set", want.netns, want.name, {"mtu": want.mtu}, undo({"mtu": have.mtu})))
    if want.master is not None and have.master != want.master:
        plan.add("link", Op("link_set", want.netns, want.name, {"master": want.master},
                            undo({"master": have.master})))
    if want.addresses is not None:
        current, desired = set(have.addresses), set(want.addresses)
        for address in sorted(current - desired, key=_order):
            plan.add("address", Op("addr_del", want.netns, want.name, {"address": address},
                                   noop(want.name) if is_new else
                                   Op("addr_add", want.netns, want.name, {"address": address})))
        for address in sorted(desired - current, key=_order):
            plan.add("address", Op("addr_add", want.netns, want.name, {"address": address},
                                   noop(want.name) if is_new else
                                   Op("addr_del", want.netns, want.name, {"address": address})))
    if not have.up:
        plan.add("up", Op("link_set", want.netns, want.name, {"up": True}, undo({"up": False})))


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
