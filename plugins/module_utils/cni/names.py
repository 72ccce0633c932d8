# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parameter checks for the CNI modules: paths, plugin and network names.
Each returns the parsed value or raises ParamError; none touches the node."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

# libcni's ValidateNetworkName; also safe as part of a file name.
_NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*")
# A plugin is a file in bin_dir, found by its "type": a plain file name.
_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_.+\-]+")
NAME_MAX = 200


def absolute_path(field, value):
    if not isinstance(value, str) or not value:
        raise ParamError(field, value, "must be a non-empty string")
    if "\0" in value:
        raise ParamError(field, value, "must not contain a NUL byte")
    if not os.path.isabs(value):
        raise ParamError(field, value, "must be an absolute path")
    return os.path.normpath(value)


def plugin_name(field, value):
    if not isinstance(value, str) or not _PLUGIN_NAME.fullmatch(value) or value in (".", ".."):
        raise ParamError(field, value, "is not a plugin name (a file name in bin_dir: letters, digits, _ . + -)")
    return value


def plugin_names(field, values):
    """A list of plugin names, sorted and without duplicates; None stays None."""
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise ParamError(field, values, "must be a list of plugin names")
    return tuple(sorted({plugin_name("%s[%d]" % (field, index), value) for index, value in enumerate(values)}))


def network_name(field, value):
    if not isinstance(value, str) or not value:
        raise ParamError(field, value, "is required (a CNI network name)")
    if len(value) > NAME_MAX or not _NETWORK_NAME.fullmatch(value):
        raise ParamError(field, value, "is not a valid CNI network name (a letter or digit, then letters, "
                         "digits, _ . - ; at most %d characters)" % NAME_MAX)
    return value
