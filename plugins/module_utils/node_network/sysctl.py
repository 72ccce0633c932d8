# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Forwarding as kernel settings: the values in /proc/sys now, and the lines
of a sysctl.d file that set them again at boot. Lines of the file that are
not ours stay as they are; a file left with none is deleted.

Several bridges' calls may share the file and need the same keys. A comment
line per bridge names the keys that bridge needs
(``# node_network v-net-0 needs net.ipv4.ip_forward ...``): a key goes from
the file when the last bridge that needed it no longer does."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.netplumb.linux.plugins.module_utils.cni import files
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op

PROC = "/proc/sys"


def key(interface, setting):
    """The sysctl key of an IPv6 per-interface setting: sysctl writes the dots
    of an interface name (a VLAN's eth0.100) as slashes."""
    return "net.ipv6.conf.%s.%s" % (str(interface).replace(".", "/"), setting)


def path(name):
    """/proc/sys path of a sysctl key."""
    return os.path.join(PROC, *[part.replace("/", ".") for part in name.split(".")])


def current(name):
    """The value now, or None where the key does not exist (yet)."""
    try:
        with open(path(name)) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def plan_runtime(result, settings):
    """An op per (key, value) of ``settings`` whose value differs now."""
    for name, value in settings:
        now = current(name)
        if now != value:
            undo = Op(SYSCTL_SET, None, name, {"value": now}) if now is not None else None
            result.add("files", Op(SYSCTL_SET, None, name, {"value": value}, undo))


def file_lines(old, owner, settings, removed):
    """The file's lines with ``settings`` (key, value) set for ``owner`` (a
    bridge), and gone: the keys in ``removed`` and those ``owner`` needed
    before but not now, unless another owner still needs them. Every other
    line stays in place."""
    wanted = dict(settings)
    needs = _needs(old)
    others = set().union(*[keys for name, keys in needs.items() if name != owner])
    dropped = (needs.get(owner, set()) | set(removed)) - set(wanted) - others
    marker = ("%s %s needs %s" % (MARKER, owner, " ".join(wanted))) if wanted else None
    lines, seen, marked = [], set(), marker is None
    for line in (old or "").splitlines():
        if _owner(line) == owner:
            if not marked:
                marked = True
                lines.append(marker)
            continue
        name = _name(line)
        if name in dropped:
            continue
        if name in wanted:
            if name in seen:
                continue
            seen.add(name)
            line = "%s=%s" % (name, wanted[name])
        lines.append(line)
    if not marked:
        lines.append(marker)
    lines.extend("%s=%s" % (name, value) for name, value in settings if name not in seen)
    return lines


MARKER = "# node_network"


def _owner(line):
    """The bridge a marker line speaks for, or None."""
    words = line.split()
    if len(words) >= 4 and " ".join(words[:2]) == MARKER and words[3] == "needs":
        return words[2]
    return None


def _needs(text):
    """{bridge: the keys it needs} from the file's marker lines."""
    needs = {}
    for line in (text or "").splitlines():
        owner = _owner(line)
        if owner is not None:
            needs.setdefault(owner, set()).update(line.split()[4:])
    return needs


def _name(line):
    """The key a sysctl.d line sets, as written with dots (sysctl.d also takes
    slashes, and a leading - for 'ignore errors'), or None for a comment."""
    if "=" not in line or line.lstrip().startswith(("#", ";")):
        return None
    name = line.split("=", 1)[0].strip().lstrip("-")
    if "/" in name and "." not in name:
        name = name.replace("/", ".")
    return name


def plan_file(result, file_path, owner, settings, removed):
    """Ops that make the sysctl.d file hold ``settings`` for ``owner`` and none
    of ``removed`` that no other owner needs (file_lines). Returns (before,
    after) texts for --diff (None: no file)."""
    old = files.read(file_path)
    if old is not None and old.symlink is not None:
        old_text = None
    else:
        old_text = old.content.decode() if old is not None else None
    # Temp files of a write that was killed before its rename.
    for op in files.stale_temp_ops(file_path):
        result.add("files", op)
    lines = file_lines(old_text, owner, settings, removed)
    if not any(line.strip() for line in lines):
        if old is not None:
            result.add("files", files.delete_op(file_path, old))
        return old_text, None
    text = "\n".join(lines) + "\n"
    for op in files.mkdir_ops(os.path.dirname(file_path)):
        result.add("files", op)
    op, _old = files.plan_write(file_path, text.encode(), 0o644)
    if op is not None:
        result.add("files", op)
    return old_text, text


def _set(_ctx, op):
    with open(path(op.target), "w") as handle:
        handle.write("%s\n" % op.args["value"])


SYSCTL_SET = Operation("sysctl_set", "set {target} = {value}", _set)
OPERATIONS = (SYSCTL_SET,)
