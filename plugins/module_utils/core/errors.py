# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every error the collection raises; the Ansible glue (runner.py) turns each
into one fail_json. The message is meant for the user as it is."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os


class NetplumbError(Exception):
    """Base class of the errors meant for the user."""


class ParamError(NetplumbError):
    """A parameter is wrong; raised before anything on the node changes."""

    def __init__(self, field, value, reason):
        self.field = field
        self.value = value
        self.reason = reason
        # A missing value is named by its field alone ("to is required with kind dnat").
        text = "%s %s" % (field, reason) if value is None else "%s: %r %s" % (field, value, reason)
        super(ParamError, self).__init__(text)


class ConfigError(ParamError):
    """A CNI config the plugins would reject; the message is the runtime's when there is one."""

    def __init__(self, field, value, message):
        super(ConfigError, self).__init__(field, value, message)
        self.args = ("%s: %s" % (field, message),)


class MissingLibrary(NetplumbError):
    """A Python library the engine needs is not installed on the node."""

    def __init__(self, library, exception):
        self.library = library
        self.exception = exception
        super(MissingLibrary, self).__init__("%s is not installed: %s" % (library, exception))


class NetnsMissing(NetplumbError):
    def __init__(self, name):
        self.name = name
        super(NetnsMissing, self).__init__("network namespace %r does not exist" % name)


def errno_of(exc):
    """The errno an exception carries: ``code`` (pyroute2's NetlinkError and
    ours) or ``errno`` (OSError, KernelError); None when it has none."""
    for name in ("code", "errno"):
        value = getattr(exc, name, None)
        if isinstance(value, int):
            return value
    return None


class NetlinkError(OSError):
    """The kernel's answer to a netlink request: ``code`` is the errno (as
    pyroute2's NetlinkError has it), whichever session sent the request."""

    def __init__(self, code, what=""):
        self.code = code
        super(NetlinkError, self).__init__(code, "%s%s" % (what + ": " if what else "", os.strerror(code)))


class KernelError(NetplumbError):
    """The kernel refused an operation."""

    def __init__(self, what, errno_code, reason):
        self.errno = errno_code
        super(KernelError, self).__init__("%s: %s" % (what, reason))

    @classmethod
    def of(cls, what, exc):
        """A KernelError of any exception a session raised: a netlink error
        (``code``) reads as its errno's text, anything else as itself."""
        code = getattr(exc, "code", None)
        reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
        return cls(what, errno_of(exc), reason)


class ApplyError(NetplumbError):
    """An operation failed; the ones done before it were rolled back."""

    def __init__(self, failed, cause, rolled_back, not_undone, rollback_errors):
        self.failed = failed
        self.cause = cause
        self.rolled_back = rolled_back
        self.not_undone = not_undone
        self.rollback_errors = rollback_errors
        msg = "failed to %s: %s" % (failed.describe(), cause)
        if rolled_back or not_undone or rollback_errors:
            msg += "; rolled back %d earlier operation(s)" % len(rolled_back)
        super(ApplyError, self).__init__(msg + self._unfinished())

    def _unfinished(self):
        """What the rollback could not do, for the end of the message."""
        text = ""
        if self.not_undone:
            text += "; could not undo: %s" % ", ".join(self.not_undone)
        if self.rollback_errors:
            text += "; rollback errors: %s" % "; ".join(self.rollback_errors)
        return text


class VerifyError(ApplyError):
    """The apply went through but the node did not read back as wanted; the
    run was rolled back. ``mismatches``: what differs (object, field, wanted,
    found); ``left``: the operations a fresh plan still has; ``failed``: the
    first of them, or the operation whose result did not hold."""

    def __init__(self, failed, mismatches, left, rolled_back, not_undone, rollback_errors):
        super(VerifyError, self).__init__(failed, "", rolled_back, not_undone, rollback_errors)
        self.mismatches = mismatches
        self.left = left
        needs = "; it still needs %s" % "; ".join(op.describe() for op in left) if left else ""
        self.args = ("the node did not read back as wanted after the apply (another agent in between, or a value "
                     "the kernel adjusted or refused): %s%s; rolled back %d operation(s)%s"
                     % ("; ".join(mismatches) or "it differs", needs, len(rolled_back), self._unfinished()),)


class LockTimeout(NetplumbError):
    def __init__(self, path, timeout, holder, env):
        self.path = path
        self.holder = holder
        who = "pid %s" % holder if holder else "a process whose pid is not recorded"
        super(LockTimeout, self).__init__(
            "another netplumb run holds the node lock %s (%s); gave up after waiting %g s "
            "(set %s to wait longer)" % (path, who, timeout, env))


class PluginError(NetplumbError):
    """A CNI plugin failed or answered something that is not CNI."""


class CheckFailed(NetplumbError):
    """cni_check's trial of a plugin chain failed; ``run`` holds what it saw."""

    def __init__(self, message, run):
        self.run = run
        super(CheckFailed, self).__init__(message)
