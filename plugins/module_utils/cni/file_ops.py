# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file operations as they run: a write through a temp file renamed over
the target, a mode or owner set on the file opened without following a
link, a delete, a symlink put back, a directory created or removed; each in
its directory opened by dirs.open_dir. What they are planned from, and
their undo, is files.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import random
import stat

from ansible_collections.netplumb.linux.plugins.module_utils.cni.dirs import DIR_FLAGS, READ_FLAGS, open_dir
from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation


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
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
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
        fd = os.open(base, DIR_FLAGS, dir_fd=dir_fd)
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
