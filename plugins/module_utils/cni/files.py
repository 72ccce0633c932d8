# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files as operations: what is on disk (read once), and ops that write a file
atomically, change its mode or owner, delete it, or create a directory, each
with the undo that puts the old state back; file_ops.py runs them.

A write goes to a temp file in the same directory, is fsynced, gets its mode
and owner, and is renamed over the target, so a reader sees the old file or
the new one, never half of one. The file content travels with the op but is
not part of its reported args (only its size and sha256 are).

The directories written into may be writable by others, so nothing here
follows a link planted in them (see docs/cni.md, "A hostile filesystem"):
- a temp file is created with O_EXCL|O_NOFOLLOW under a random name and
  renamed over the target, so a symlink or hard link at the target is
  replaced, never written through; an existing target is never opened for
  writing;
- a mode or owner is set on a file opened with O_NOFOLLOW (fchmod, fchown),
  and a file that is not our own plain file by then (a symlink, or a hard
  link: another name of a file elsewhere) is rewritten as a new inode instead;
- a directory is reached from / one component at a time (dirs.open_dir) and
  the ops work relative to its fd: a symlink on the way is followed only when
  only root could have made it; the directory written into being a symlink
  itself is refused (it leads to someone else's files, e.g. /opt/cni/bin ->
  /usr/lib/cni of a package), with a NetplumbError naming the link.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import hashlib
import os
import re
import stat
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.cni.dirs import READ_FLAGS, check_dir
from ansible_collections.netplumb.linux.plugins.module_utils.cni.file_ops import (
    DIR_CREATE, DIR_REMOVE, FILE_ATTRS, FILE_DELETE, FILE_SYMLINK, FILE_WRITE)
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op


@dataclasses.dataclass(frozen=True)
class FileState:
    """A path as found: a regular file (with content and its link count) or a symlink."""
    content: Optional[bytes]
    mode: int
    uid: int
    gid: int
    symlink: Optional[str] = None
    links: int = 1

    @property
    def sha256(self):
        return None if self.content is None else sha256(self.content)


@dataclasses.dataclass
class FileOp(Op):
    """An Op that writes a file, with the bytes it writes (kept out of its repr and comparison)."""
    content: Optional[bytes] = dataclasses.field(default=None, repr=False, compare=False)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    """The file at ``path`` or None; refuses directories, devices and the like."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return FileState(None, 0o777, info.st_uid, info.st_gid, symlink=os.readlink(path))
    if not stat.S_ISREG(info.st_mode):
        raise NetplumbError("%s exists and is not a regular file" % path)
    with os.fdopen(os.open(path, READ_FLAGS), "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NetplumbError("%s exists and is not a regular file" % path)
        return FileState(handle.read(), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, links=info.st_nlink)


def missing_dirs(path):
    """The directories from the first missing ancestor of ``path`` down to it."""
    missing = []
    while not os.path.isdir(path):
        if os.path.lexists(path):
            raise NetplumbError("%s exists and is not a directory" % path)
        missing.append(path)
        path = os.path.dirname(path)
    return list(reversed(missing))


def owner_text(uid, gid):
    return "%d:%d" % (uid, gid)


def write_op(path, content, mode, uid=0, gid=0, old=None):
    """Write ``content``; undo restores ``old`` (or deletes a new file)."""
    return FileOp(FILE_WRITE, None, path, _write_args(content, mode, uid, gid), undo=_restore(path, old),
                  content=content)


def attrs_op(path, mode, uid=0, gid=0, old=None, content=None):
    """Same content, other mode or owner; undo puts the old ones back. With
    ``content`` (the file's), a file that is no longer our plain file when the
    op runs is rewritten with it instead (see _attrs)."""
    undo = attrs_op(path, old.mode, old.uid, old.gid, content=old.content) if old is not None else None
    return FileOp(FILE_ATTRS, None, path, {"mode": "%04o" % mode, "owner": owner_text(uid, gid)}, undo=undo,
                  content=content)


def delete_op(path, old):
    """Delete the file (the name only: a symlink or hard link, never what it
    leads to); undo writes it back as it was."""
    check_dir(os.path.dirname(path))
    return Op(FILE_DELETE, None, path, undo=_restore(path, old, missing_ok=False))


def mkdir_ops(path, mode=0o755):
    """Create ``path`` and its missing parents; each undo removes its directory."""
    missing = missing_dirs(path)
    if missing:
        check_dir(path)
    return [Op(DIR_CREATE, None, each, {"mode": "%04o" % mode}, undo=Op(DIR_REMOVE, None, each))
            for each in missing]


def plan_write(path, content, mode, uid=0, gid=0):
    """The op that makes ``path`` hold ``content`` with mode and owner, or None
    when it already does. Returns (op or None, old FileState or None)."""
    old = read(path)
    attrs_differ = old is not None and (old.mode, old.uid, old.gid) != (mode, uid, gid)
    # A hard link shares its mode and owner with its other names (maybe a file
    # elsewhere): a new inode instead of a chmod.
    if old is None or old.content != content or (attrs_differ and old.links > 1):
        op = write_op(path, content, mode, uid, gid, old)
    elif attrs_differ:
        op = attrs_op(path, mode, uid, gid, old, content=content)
    else:
        return None, old
    check_dir(os.path.dirname(path))
    return op, old


def stale_temp_ops(path):
    """Delete ops for the temp files of interrupted atomic writes of ``path``
    (``.<name>.XXXXXXXX.tmp`` next to it): a run killed between writing its
    temp file and renaming it leaves one. Safe under the node lock, which no
    other writer of ours runs without."""
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    pattern = re.compile(r"\.%s\.[A-Za-z0-9_]{8}\.tmp" % re.escape(base))
    ops = []
    for name in sorted(n for n in names if pattern.fullmatch(n)):
        stale = os.path.join(directory, name)
        try:
            old = read(stale)
        except NetplumbError:
            continue  # not a regular file: not one of ours
        ops.append(Op(FILE_DELETE, None, stale, {"why": "left by an interrupted write"},
                      undo=_restore(stale, old, missing_ok=False)))
    if ops:
        check_dir(directory)
    return ops


def _write_args(content, mode, uid, gid):
    return {"size": len(content), "sha256": sha256(content), "mode": "%04o" % mode, "owner": owner_text(uid, gid)}


def _restore(path, old, missing_ok=True):
    if old is None:
        return Op(FILE_DELETE, None, path) if missing_ok else None
    if old.symlink is not None:
        return Op(FILE_SYMLINK, None, path, {"to": old.symlink})
    return write_op(path, old.content, old.mode, old.uid, old.gid)
