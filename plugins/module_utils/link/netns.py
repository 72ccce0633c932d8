# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A named network namespace, present with its loopback up, or absent."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan, noop


NETLINK = "lean"  # rtnl.py's socket: no pyroute2 import, which would double the task's time


@dataclasses.dataclass(frozen=True)
class NetnsSpec:
    name: str
    state: str = "present"


def parse(params):
    return NetnsSpec(validate.netns("name", params.get("name"), required=True),
                     validate.choice("state", params.get("state", "present"), ("present", "absent")))


def plan(kernel, spec):
    name = spec.name
    exists = namespaces.exists(name)
    before = {"name": name, "state": "present" if exists else "absent"}
    if exists:
        before["loopback_up"] = kernel.view(name).get("lo").up
    result = Plan(before=before)
    if spec.state == "absent":
        if exists or namespaces.stale_file(name):
            result.add("netns", Op("netns_del", None, name))
        result.after = {"name": name, "state": "absent"}
        return result
    if not exists:
        result.add("netns", Op("netns_add", None, name, undo=Op("netns_del", None, name)))
    if not before.get("loopback_up"):
        result.add("up", Op("link_set", name, "lo", {"up": True},
                            noop("lo") if not exists else Op("link_set", name, "lo", {"up": False})))
    result.after = {"name": name, "state": "present", "loopback_up": True}
    return result
