# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a read-back after the apply found against what the run wanted: a
plan made again on fresh reads holds both (its before and after)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json


def differences(found, wanted, path=""):
    """``path: wanted W, found F`` for each place the two differ, nested
    dicts walked key by key."""
    if isinstance(found, dict) and isinstance(wanted, dict):
        out = []
        for key in sorted(set(found) | set(wanted), key=str):
            out += differences(found.get(key), wanted.get(key), "%s.%s" % (path, key) if path else str(key))
        return out
    if found == wanted:
        return []
    return ["%s: wanted %s, found %s" % (path or "state", _text(wanted), _text(found))]


def _text(value):
    if value is None:
        return "nothing"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
