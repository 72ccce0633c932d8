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
None when it needs no netlink.

A real apply is read back: the resource plans again on fresh reads, and the
IPv6 addresses it added must pass duplicate address detection. Anything
left to do rolls the whole run back (VerifyError).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import dataclasses
from typing import List, Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core import operations, verify as readback
from ansible_collections.netplumb.linux.plugins.module_utils.core.apply import apply, undo, unknown
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, VerifyError
from ansible_collections.netplumb.linux.plugins.module_utils.core.lock import node_lock
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import dad, session
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel


@dataclasses.dataclass
class Outcome:
    """What one call of the engine did, or in check mode would do: what the module's result is made of."""
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
            _verify(resource, spec, ctx, done)
        return Outcome(
            changed=bool(ops),
            operations=[op.as_dict() for op in ops],
            before=plan.before,
            after=plan.after,
            warnings=list(dict.fromkeys(ctx.warnings)),
            extra=getattr(plan, "extra", {}),
        )


def touched(done):
    """The namespaces and links the operations ``done`` (and their steps) acted on, by name."""
    names = set()
    for op in done:
        for one in (op,) + tuple(op.steps):
            names.add(one.target)
            if one.netns is not None:
                names.add(one.netns)
    return names


def _verify(resource, spec, ctx, done):
    """Plan again on fresh reads (over the sessions already open): what the
    apply did must read back as wanted, and the IPv6 addresses it added must
    become usable. Anything else (another agent in between, a value the
    kernel adjusted or refused) undoes ``done`` and fails, naming it."""
    fresh = Context(False)
    fresh.kernel = ctx.kernel.sharing(fresh) if ctx.kernel is not None else None
    fresh.touched = touched(done)
    try:
        again = resource.plan(fresh, spec)
        left = again.ops
        mismatches = readback.differences(again.before, again.after) if left else []
        unusable = dad.unusable(fresh.kernel, done) if fresh.kernel is not None else []
    except (NetplumbError, OSError) as exc:  # the node changed under the read itself
        raise VerifyError(done[-1], ["reading the node back failed: %s" % exc], [], *undo(ctx, done))
    if left or unusable:
        failed = left[0] if left else unusable[0][0]
        raise VerifyError(failed, mismatches + [text for _op, text in unusable], left, *undo(ctx, done))
