# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_network's plan as the union of its parts' plans: each part's plan by
kind and name (the result's before and after), one Plan of all their ops,
and the summary's counts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan

KINDS = ("bridge", "containers", "nat_rules", "routes", "sysctl", "network_managers")
# container_net's outcomes under the summary's names: "changed" is taken (every kind's count of what changes).
CONTAINER_OUTCOMES = {"changed": "updated"}


class Parts:
    """The plans of the parts, by kind, and one Plan of all their ops."""

    def __init__(self):
        self.plan = Plan(before={kind: {} for kind in KINDS}, after={kind: {} for kind in KINDS})
        self.changed = {kind: set() for kind in KINDS}
        self.total = {kind: set() for kind in KINDS}
        self.outcomes = {}  # container -> what the plan does to it (container_net.outcome)

    def add(self, kind, name, part, counts=True):
        self.plan.extend(part)
        self.plan.before[kind][name] = part.before
        self.plan.after[kind][name] = part.after
        if counts:
            self.total[kind].add(name)
        if part:
            self.changed[kind].add(name)

    def summary(self):
        counts = dict((kind, {"total": len(self.total[kind]), "changed": len(self.changed[kind])}) for kind in KINDS)
        # The containers also by outcome, as container_net counts them; its "changed" (changed in place) is
        # "updated" here, where "changed" counts every container the plan touches, as for the other kinds.
        found = list(self.outcomes.values())
        counts["containers"].update((CONTAINER_OUTCOMES.get(kind, kind), found.count(kind))
                                    for kind in container_net.OUTCOMES)
        return counts

    def add_containers(self, containers):
        """container_net's plan of the containers (plan_each), one part per container."""
        self.plan.extend(containers)
        for name in set(containers.before) | set(containers.after):
            before = containers.before.get(name, {"state": "absent"})
            after = containers.after.get(name, {"state": "absent"})
            self.plan.before["containers"][name], self.plan.after["containers"][name] = before, after
            self.total["containers"].add(name)
            self.outcomes[name] = container_net.outcome(before, after)
            if self.outcomes[name] != "unchanged":
                self.changed["containers"].add(name)
        for name in containers.unchanged:  # a read-back's, whose states were not built
            self.total["containers"].add(name)
            self.outcomes[name] = "unchanged"


def parsed(resource, field, params, renamed=None):
    """``resource.parse(params)``, its errors named after node_network's
    option (``renamed``: the resource's field -> the option's key)."""
    try:
        return resource.parse(params)
    except ParamError as exc:
        raise ParamError("%s.%s" % (field, (renamed or {}).get(exc.field, exc.field)), exc.value, exc.reason)
