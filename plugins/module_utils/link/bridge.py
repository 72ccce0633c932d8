# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Linux bridge: namespace, addresses, MTU, STP, VLAN filtering, up."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.link.linkattrs import (
    LinkAttrs, converge, fresh, predicted, state_dict)
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import LINK_ADD, LINK_DEL, LINK_SET
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.topology import read_views, require_namespaces


NETLINK = "lean"
OPERATIONS = (kernel_ops.OPERATIONS,)


@dataclasses.dataclass(frozen=True)
class BridgeSpec:
    """bridge's parameters, checked."""
    attrs: LinkAttrs
    stp: Optional[bool] = None
    vlan_filtering: Optional[bool] = None
    state: str = "present"


def parse(params):
    state = validate.choice("state", params.get("state", "present"), ("present", "absent"))
    addresses = validate.address_list("addresses", params.get("addresses"))
    attrs = LinkAttrs(
        netns=validate.netns("netns", params.get("netns")),
        name=validate.ifname("name", params.get("name")),
        addresses=addresses,
        mtu=validate.mtu_for("mtu", params.get("mtu"), addresses or ()),
    )
    return BridgeSpec(attrs, validate.boolean("stp", params.get("stp")),
                      validate.boolean("vlan_filtering", params.get("vlan_filtering")), state)


def plan(ctx, spec):
    kernel = ctx.kernel
    want = spec.attrs
    if spec.state == "present":
        require_namespaces(ctx, (("netns", want.netns),))
    view = read_views(kernel, [want.netns], missing_ok=spec.state == "absent")[want.netns]
    have = view.get(want.name)
    if have is not None and have.kind != "bridge":
        raise ParamError("name", want.name, "is already a %s link in netns %s, not a bridge"
                         % (have.kind, want.netns or "(host)"))
    result = Plan(before=_diff_state(have))
    if spec.state == "absent":
        if have is not None:
            result.add("delete", Op(LINK_DEL, want.netns, want.name))
        result.after = {"state": "absent"}
        return result

    is_new = have is None
    if is_new:
        result.add("bridge", Op(LINK_ADD, want.netns, want.name, {"kind": "bridge", "mtu": want.mtu},
                                Op(LINK_DEL, want.netns, want.name)))
        have = fresh(want.netns, want.name, "bridge", want.mtu)
        have = dataclasses.replace(have, stp=False, vlan_filtering=False)
    converge(result, want, have, is_new)
    for option in ("stp", "vlan_filtering"):
        wanted, current = getattr(spec, option), getattr(have, option)
        if wanted is not None and wanted != current:
            result.add("link", Op(LINK_SET, want.netns, want.name, {option: wanted},
                                  noop(want.name) if is_new else
                                  Op(LINK_SET, want.netns, want.name, {option: current})))
    after = predicted(want, have)
    bridge_options = {o: getattr(spec, o) for o in ("stp", "vlan_filtering") if getattr(spec, o) is not None}
    after = dataclasses.replace(after, **bridge_options)
    result.after = _diff_state(after)
    return result


def _diff_state(link):
    if link is None:
        return {"state": "absent"}
    return dict(state_dict(link, {"stp": link.stp, "vlan_filtering": link.vlan_filtering}), state="present")
