# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one apply gate: each operation of a plan in order, and rollback of
the ones already done when one fails."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import (
    ApplyError, KernelError, NetplumbError, errno_of)


def apply(ctx, ops):
    """Run ``ops`` in order; on failure undo the done ones in reverse and
    raise ApplyError."""
    done = []
    for op in ops:
        try:
            crashpoint.starting(op.describe())
            run(ctx, op)
        except Exception as exc:  # pyroute2's errors share no base class beyond Exception
            cause = exc if isinstance(exc, NetplumbError) else KernelError.of(op.describe(), exc)
            raise rollback(ctx, op, cause, done)
        done.append(op)
        crashpoint.reached(op.describe())
    return done


def rollback(ctx, failed, cause, done):
    """Undo ``done`` in reverse; the ApplyError that reports ``failed`` and
    ``cause`` with what the rollback did."""
    reason = cause.args[0].split(": ", 1)[-1] if isinstance(cause, KernelError) else str(cause)
    return ApplyError(failed, reason, *undo(ctx, done))


def undo(ctx, done):
    """Undo ``done`` in reverse: (rolled back, not undone, rollback errors),
    each a list of descriptions."""
    rolled_back, not_undone, errors = [], [], []
    for op in reversed(done):
        if op.undo is None:
            not_undone.append(op.describe())
            continue
        for step in op.undos():
            try:
                run(ctx, step)
                if step.action != "noop":
                    rolled_back.append(step.describe())
            except Exception as exc:  # keep undoing the rest; report every failure
                errors.append("%s: %s" % (step.describe(), exc))
    return rolled_back, not_undone, errors


def run(ctx, op):
    """One operation; an error whose errno the operation lists as "already
    so" is success."""
    try:
        op.kind.run(ctx, op)
    except Exception as exc:
        if errno_of(exc) in op.kind.already:
            return
        raise


def run_steps(ctx, op):
    """The executor of a batch (``op.steps``) run as one step: a failure half
    way undoes the steps already done before it is reported."""
    done = []
    try:
        for step in op.steps:
            run(ctx, step)
            done.append(step)
    except Exception:
        for step in reversed(done):
            for undo in step.undos():
                try:
                    run(ctx, undo)
                except Exception:  # the original failure is the one to report
                    pass
        raise


def unknown(ops, catalogue):
    """Names of the actions in ``ops`` (undos and steps included) that the
    merged ``catalogue`` lacks: a resource that plans what it did not declare."""
    missing = set()
    for op in ops:
        if catalogue.get(op.action) is not op.kind:
            missing.add(op.action)
        missing |= unknown(op.undos() + tuple(op.steps), catalogue)
    return missing
