# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""parse -> plan -> (the one apply gate) -> outcome. No Ansible in here, so
the engine runs the same from a module, a test or a script:

    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    from ansible_collections.netplumb.linux.plugins.module_utils.link import veth
    outcome = engine.run(veth, {"name": "a", "peer": "b", "netns": "red"})

A resource is a module with ``parse(params)``, ``plan(ctx, spec)``,
``OPERATIONS`` (the catalogue groups it plans with) and ``NETLINK``: the
session implementation it reads and writes with ("lean" or "pyroute2"), or
None when it needs no netlink. One with ``VERIFY = True`` is read back after
a real apply: a plan that is still not empty rolls the run back.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import dataclasses
from typing import List, Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core import operations
from ansible_collections.netplumb.linux.plugins.module_utils.core.apply import apply, undo, unknown
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import VerifyError
from ansible_collections.netplumb.linux.plugins.module_utils.core.lock import node_lock
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import session
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel


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
    catalogue = operations.merge(*resource.OPERATIONS)
    netlink = resource.NETLINK
    if netlink is not None:
        session.require(netlink)
    ctx = Context(check_mode)
    # One run at a time per node, check mode included (see lock.py).
    kernel = Kernel(ctx, netlink) if netlink is not None else contextlib.nullcontext()
    with node_lock(required=not check_mode), kernel as ctx.kernel:
        plan = resource.plan(ctx, spec)
        ops = plan.ops
        strangers = unknown(ops, catalogue)
        if strangers:
            raise ValueError("%s planned operations it does not declare: %s"
                             % (resource.__name__, ", ".join(sorted(strangers))))
        if ops and not check_mode:
            done = apply(ctx, ops)
            if getattr(resource, "VERIFY", False):
                _verify(resource, spec, ctx, done)
        return Outcome(
            changed=bool(ops),
            operations=[op.as_dict() for op in ops],
            before=plan.before,
            after=plan.after,
            warnings=list(dict.fromkeys(ctx.warnings)),
            extra=getattr(plan, "extra", {}),
        )


def _verify(resource, spec, ctx, done):
    """Plan again on fresh reads: what the apply did must read back as
    wanted. Anything left to do (another agent in between, a value the kernel
    adjusted) undoes ``done`` and fails, naming what differs."""
    fresh = Context(False)
    with Kernel(fresh, resource.NETLINK) if resource.NETLINK is not None else contextlib.nullcontext() as fresh.kernel:
        left = resource.plan(fresh, spec).ops
    if left:
        raise VerifyError(left, *undo(ctx, done))
