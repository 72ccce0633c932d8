# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""parse -> plan -> (the one apply gate) -> outcome. No Ansible in here, so
the engine runs the same from a module, a test or a script:

    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.link import veth
    outcome = engine.run(veth, {"name": "a", "peer": "b", "netns": "red"})
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import List, Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core.apply import apply
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel
from ansible_collections.netplumb.linux.plugins.module_utils.core.lock import node_lock


@dataclasses.dataclass
class Outcome:
    changed: bool
    operations: List[dict]
    before: Optional[dict] = None
    after: Optional[dict] = None
    warnings: List[str] = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)


def run(resource, params, check_mode=False):
    """Raises ParamError before anything changes, ApplyError after a rollback."""
    spec = resource.parse(params)
    # NETLINK: "pyroute2" (the default), "lean" (rtnl.py) or None (no netlink).
    netlink = getattr(resource, "NETLINK", "pyroute2")
    if netlink == "pyroute2":
        Kernel.require_library()
    # One run at a time per node, check mode included (see lock.py).
    with node_lock(required=not check_mode), \
            Kernel(assume_missing_netns_empty=check_mode, lean=netlink != "pyroute2") as kernel:
        plan = resource.plan(kernel, spec)
        ops = plan.ops
        if ops and not check_mode:
            apply(kernel, ops)
        return Outcome(
            changed=bool(ops),
            operations=[op.as_dict() for op in ops],
            before=plan.before,
            after=plan.after,
            warnings=list(dict.fromkeys(kernel.warnings)),
            extra=getattr(plan, "extra", {}),
        )
