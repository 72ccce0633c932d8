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

The directories written into may be writable by others, so nothing here
follows a link planted in them (see docs/cni.md, "A hostile filesystem"):
- a temp file is created with O_EXCL|O_NOFOLLOW under a random name and
  renamed over the target, so a symlink or hard link at the target is
  replaced, never written through; an existing target is never opened for
  writing;
- a mode or owner is set on a file opened with O_NOFOLLOW (fchmod, fchown),
  and a file that is not our own plain file by then (a symlink, or a hard
  link: another name of a file elsewhere) is rewritten as a new inode instead;
- a directory is reached from / one component at a time (``open_dir``) and
  the ops work relative to its fd: a symlink on the way is followed only when
  only root could have made it; the directory written into being a symlink
  itself is refused (it leads to someone else's files, e.g. /opt/cni/bin ->
  /usr/lib/cni of a package), with a NetplumbError naming the link.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import errno
import hashlib
import os
import random
import re
import stat
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
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
    with os.fdopen(os.open(path, _READ_FLAGS), "rb") as handle:
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


# -- directories, reached without following a planted link --------------------------------------

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40


def open_dir(path, follow_last=False):
    """An fd of the directory ``path``, opened from / one component at a time.
    A symlink on the way is followed only when only root could have made it:
    owned by root, in a directory owned by root that nobody else can write to
    (or a sticky one). ``path`` itself being a symlink is refused, unless
    ``follow_last`` (the parent of a directory being created), where the same
    rule applies to it. Raises NetplumbError naming the link it refuses."""
    todo, here, links = _components(path), "/", 0
    fd = os.open("/", _DIR_FLAGS)
    try:
        while todo:
            name = todo.pop(0)
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or \
                        not stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
                    raise
                links += 1
                target = os.readlink(name, dir_fd=fd)
                _check_link(fd, os.path.join(here, name), target, path, last=not todo and not follow_last,
                            too_many=links > _MAX_LINKS)
                todo[:0] = _components(target)
                if target.startswith("/"):
                    os.close(fd)
                    fd, here = os.open("/", _DIR_FLAGS), "/"
                continue
            os.close(fd)
            fd, here = child, os.path.normpath(os.path.join(here, name))
        return fd
    except BaseException:
        os.close(fd)
        raise


def check_dir(path):
    """At plan time: the NetplumbError that writing into directory ``path``
    (creating it and its missing parents first) would meet at apply time."""
    existing = path
    while not os.path.lexists(existing) and existing != os.path.dirname(existing):
        existing = os.path.dirname(existing)
    try:
        os.close(open_dir(existing, follow_last=existing != path))
    except (FileNotFoundError, NotADirectoryError):
        pass  # missing_dirs and the ops themselves report these


def _components(path):
    return [part for part in path.split("/") if part not in ("", ".")]


def _check_link(parent_fd, link, target, path, last, too_many):
    info, parent = os.lstat(os.path.basename(link), dir_fd=parent_fd), os.fstat(parent_fd)
    if last:
        raise NetplumbError(
            "%s is a symlink to %s: netplumb reads through it but does not write through it (the files "
            "there may belong to someone else, e.g. a distribution package); give the real directory %s "
            "instead, or make %s a directory" % (link, target, os.path.realpath(path), path))
    why, trusted = None, (0, os.geteuid())
    if too_many:
        why = "more than %d symlinks lead there" % _MAX_LINKS
    elif info.st_uid not in trusted:
        why = "the link is owned by uid %d, not root" % info.st_uid
    elif parent.st_uid not in trusted or (parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX):
        why = "users other than root can change %s (mode %04o, owner uid %d)" \
            % (os.path.dirname(link), stat.S_IMODE(parent.st_mode), parent.st_uid)
    if why:
        raise NetplumbError("netplumb does not write through the symlink %s -> %s (on the way to %s): %s"
                            % (link, target, path, why))


# -- operations ----------------------------------------------------------------------


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


# -- running them ----------------------------------------------------------------------


def atomic_write(path, content, mode, uid=0, gid=0):
    directory, base = os.path.split(path)
    dir_fd = open_dir(directory)
    try:
        fd, tmp = _create_temp(dir_fd, base)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fchown(handle.fileno(), uid, gid)
                os.fchmod(handle.fileno(), mode)
                os.fsync(handle.fileno())
            crashpoint.reached("temp file %s written, not yet renamed" % os.path.join(directory, tmp))
            os.rename(tmp, base, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            _unlink(tmp, dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_random = random.SystemRandom()


def temp_name(base):
    """A name for a temp file of ``base``: ``.<base>.XXXXXXXX.tmp``, as stale_temp_ops finds them."""
    return ".%s.%s.tmp" % (base, "".join(_random.choice(_TEMP_CHARS) for _index in range(8)))


def _create_temp(dir_fd, base):
    """A new file (mode 0600 until fchmod) under a free temp name; never an existing one, nor through a link."""
    for _attempt in range(100):
        name = temp_name(base)
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                           dir_fd=dir_fd), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name for %s" % base)


def _unlink(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _mode(op):
    return int(op.args["mode"], 8)


def _owner(op):
    uid, gid = op.args["owner"].split(":")
    return int(uid), int(gid)


def _write(_ctx, op):
    atomic_write(op.target, op.content, _mode(op), *_owner(op))


def _attrs(_ctx, op):
    """fchown/fchmod on the file opened without following a link; when it is
    no longer our plain file (a symlink or a hard link swapped in since the
    plan), a rewrite with the planned content instead, which leaves the file
    the link leads to as it was."""
    directory, base = os.path.split(op.target)
    dir_fd = open_dir(directory)
    try:
        fd = _open_own(base, dir_fd)
        if fd is not None:
            try:
                os.fchown(fd, *_owner(op))
                os.fchmod(fd, _mode(op))
            finally:
                os.close(fd)
            return
    finally:
        os.close(dir_fd)
    if op.content is None:
        raise NetplumbError("%s is no longer a plain file of its own (a symlink or another name of a file "
                            "was put there since the plan); nothing was changed, run again" % op.target)
    atomic_write(op.target, op.content, _mode(op), *_owner(op))


def _open_own(name, dir_fd):
    """An fd of ``name`` when it is a regular file with no other name; else None."""
    try:
        info = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        return None
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT):
            return None  # swapped since the lstat
        raise
    now = os.fstat(fd)
    if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino) or now.st_nlink != 1:
        os.close(fd)
        return None
    return fd


def _delete(_ctx, op):
    remove(op.target)


def remove(path):
    """Unlink ``path`` (gone already is fine) in its directory, opened without following links."""
    directory, base = os.path.split(path)
    try:
        dir_fd = open_dir(directory)
    except FileNotFoundError:
        return
    try:
        _unlink(base, dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _symlink(_ctx, op):
    directory, base = os.path.split(op.target)
    dir_fd = open_dir(directory)
    try:
        _unlink(base, dir_fd)
        os.symlink(op.args["to"], base, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _mkdir(_ctx, op):
    directory, base = os.path.split(op.target)
    dir_fd = open_dir(directory, follow_last=True)
    try:
        os.mkdir(base, _mode(op), dir_fd=dir_fd)
        fd = os.open(base, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            os.fchmod(fd, _mode(op))  # not narrowed by the umask
        finally:
            os.close(fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _rmdir(_ctx, op):
    directory, base = os.path.split(op.target)
    try:
        dir_fd = open_dir(directory, follow_last=True)
    except FileNotFoundError:
        return
    try:
        os.rmdir(base, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(dir_fd)


FILE_WRITE = Operation("file_write", "write {target} ({size} bytes, mode {mode}, owner {owner})", _write)
FILE_ATTRS = Operation("file_attrs", "set {target} mode {mode}, owner {owner}", _attrs)
FILE_DELETE = Operation("file_delete", "delete {target}", _delete)
FILE_SYMLINK = Operation("file_symlink", "restore symlink {target} -> {to}", _symlink)
DIR_CREATE = Operation("dir_create", "create directory {target} (mode {mode})", _mkdir)
DIR_REMOVE = Operation("dir_remove", "remove directory {target}", _rmdir)

OPERATIONS = (FILE_WRITE, FILE_ATTRS, FILE_DELETE, FILE_SYMLINK, DIR_CREATE, DIR_REMOVE)
