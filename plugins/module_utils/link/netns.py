# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A named network namespace, present with its loopback up, or absent."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import operations as kernel_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.operations import LINK_SET, NETNS_ADD, NETNS_DEL


NETLINK = "lean"  # no pyroute2 import, which would double the task's time
OPERATIONS = (kernel_ops.OPERATIONS,)


@dataclasses.dataclass(frozen=True)
class NetnsSpec:
    name: str
    state: str = "present"


def parse(params):
    return NetnsSpec(validate.netns("name", params.get("name"), required=True),
                     validate.choice("state", params.get("state", "present"), ("present", "absent")))


def plan(ctx, spec):
    name = spec.name
    exists = namespaces.exists(name)
    before = {"name": name, "state": "present" if exists else "absent"}
    if exists:
        before["loopback_up"] = ctx.kernel.view(name, only=("lo",), addresses=False).get("lo").up
    result = Plan(before=before)
    if spec.state == "absent":
        if exists or namespaces.stale_file(name):
            result.add("netns", Op(NETNS_DEL, None, name))
        result.after = {"name": name, "state": "absent"}
        return result
    if not exists:
        result.add("netns", Op(NETNS_ADD, None, name, undo=Op(NETNS_DEL, None, name)))
    if not before.get("loopback_up"):
        result.add("up", Op(LINK_SET, name, "lo", {"up": True},
                            noop("lo") if not exists else Op(LINK_SET, name, "lo", {"up": False})))
    result.after = {"name": name, "state": "present", "loopback_up": True}
    return result
