# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files as operations: what is on disk (read once), and ops that write a file
atomically, change its mode or owner, delete it, or create a directory, each
with the undo that puts the old state back.

A write goes to a temp file in the same directory, is fsynced, gets its mode
and owner, and is renamed over the target, so a reader sees the old file or
the new one, never half of one. The file content travels with the op but is
not part of its reported args (only its size and sha256 are).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import hashlib
import os
import re
import stat
import tempfile
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op


@dataclasses.dataclass(frozen=True)
class FileState:
    """A path as found: a regular file (with content) or a symlink."""
    content: Optional[bytes]
    mode: int
    uid: int
    gid: int
    symlink: Optional[str] = None

    @property
    def sha256(self):
        return None if self.content is None else sha256(self.content)


@dataclasses.dataclass
class FileOp(Op):
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
    with open(path, "rb") as handle:
        return FileState(handle.read(), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


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


# -- operations ----------------------------------------------------------------------


def write_op(path, content, mode, uid=0, gid=0, old=None):
    """Write ``content``; undo restores ``old`` (or deletes a new file)."""
    return FileOp(FILE_WRITE, None, path, _write_args(content, mode, uid, gid), undo=_restore(path, old),
                  content=content)


def attrs_op(path, mode, uid=0, gid=0, old=None):
    """Same content, other mode or owner; undo puts the old ones back."""
    undo = attrs_op(path, old.mode, old.uid, old.gid) if old is not None else None
    return Op(FILE_ATTRS, None, path, {"mode": "%04o" % mode, "owner": owner_text(uid, gid)}, undo=undo)


def delete_op(path, old):
    """Delete the file; undo writes it back as it was."""
    return Op(FILE_DELETE, None, path, undo=_restore(path, old, missing_ok=False))


def mkdir_ops(path, mode=0o755):
    """Create ``path`` and its missing parents; each undo removes its directory."""
    return [Op(DIR_CREATE, None, missing, {"mode": "%04o" % mode}, undo=Op(DIR_REMOVE, None, missing))
            for missing in missing_dirs(path)]


def plan_write(path, content, mode, uid=0, gid=0):
    """The op that makes ``path`` hold ``content`` with mode and owner, or None
    when it already does. Returns (op or None, old FileState or None)."""
    old = read(path)
    if old is None or old.content != content:
        return write_op(path, content, mode, uid, gid, old), old
    if (old.mode, old.uid, old.gid) != (mode, uid, gid):
        return attrs_op(path, mode, uid, gid, old), old
    return None, old


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
    return ops


def _write_args(content, mode, uid, gid):
    return {"size": len(content), "sha256": sha256(content), "mode": "%04o" % mode, "owner": owner_text(uid, gid)}


def _restore(path, old, missing_ok=True):
    if old is None:
        return Op(FILE_DELETE, None, path) if missing_ok else None
    if old.symlink is not None:
        return Op(FILE_SYMLINK, None, path, {"to": old.symlink})
    return write_op(path, old.content, old.mode, old.uid, old.gid)


# -- running them ----------------------------------------------------------------------


def atomic_write(path, content, mode, uid=0, gid=0):
    directory, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % base, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        crashpoint.reached("temp file %s written, not yet renamed" % tmp)
        os.rename(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mode(op):
    return int(op.args["mode"], 8)


def _owner(op):
    uid, gid = op.args["owner"].split(":")
    return int(uid), int(gid)


def _write(_ctx, op):
    atomic_write(op.target, op.content, _mode(op), *_owner(op))


def _attrs(_ctx, op):
    os.chown(op.target, *_owner(op), follow_symlinks=False)
    os.chmod(op.target, _mode(op))


def _delete(_ctx, op):
    try:
        os.unlink(op.target)
    except FileNotFoundError:
        return
    _fsync_dir(os.path.dirname(op.target))


def _symlink(_ctx, op):
    if os.path.lexists(op.target):
        os.unlink(op.target)
    os.symlink(op.args["to"], op.target)


def _mkdir(_ctx, op):
    os.mkdir(op.target, _mode(op))
    os.chmod(op.target, _mode(op))  # not narrowed by the umask


def _rmdir(_ctx, op):
    try:
        os.rmdir(op.target)
    except FileNotFoundError:
        pass


FILE_WRITE = Operation("file_write", "write {target} ({size} bytes, mode {mode}, owner {owner})", _write)
FILE_ATTRS = Operation("file_attrs", "set {target} mode {mode}, owner {owner}", _attrs)
FILE_DELETE = Operation("file_delete", "delete {target}", _delete)
FILE_SYMLINK = Operation("file_symlink", "restore symlink {target} -> {to}", _symlink)
DIR_CREATE = Operation("dir_create", "create directory {target} (mode {mode})", _mkdir)
DIR_REMOVE = Operation("dir_remove", "remove directory {target}", _rmdir)

OPERATIONS = (FILE_WRITE, FILE_ATTRS, FILE_DELETE, FILE_SYMLINK, DIR_CREATE, DIR_REMOVE)
