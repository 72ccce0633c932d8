# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors the engine raises; the Ansible glue turns each into one fail_json."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class NetplumbError(Exception):
    """Base class: the message is meant for the user as it is."""


class ParamError(NetplumbError):
    """A parameter is wrong; raised before anything on the node changes."""

    def __init__(self, field, value, reason):
        self.field = field
        self.value = value
        self.reason = reason
        super(ParamError, self).__init__("%s: %r %s" % (field, value, reason))


class MissingLibrary(NetplumbError):
    """A Python library the engine needs is not installed on the node."""

    def __init__(self, library, exception):
        self.library = library
        self.exception = exception
        super(MissingLibrary, self).__init__("%s is not installed: %s" % (library, exception))


class KernelError(NetplumbError):
    """The kernel refused an operation."""

    def __init__(self, what, errno_code, reason):
        self.errno = errno_code
        super(KernelError, self).__init__("%s: %s" % (what, reason))
