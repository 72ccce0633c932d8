# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directories reached without following a link planted in them.

The directories the collection writes into may be writable by others (see
docs/cni.md, "A hostile filesystem"): a directory is reached from / one
component at a time (``open_dir``) and the file operations (file_ops.py) work
relative to its fd. A symlink on the way is followed only when only root
could have made it; the directory written into being a symlink itself is
refused (it leads to someone else's files, e.g. /opt/cni/bin ->
/usr/lib/cni of a package), with a NetplumbError naming the link.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import stat

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40


def open_dir(path, follow_last=False):
    """An fd of the directory ``path``, opened from / one component at a time.
    A symlink on the way is followed only when only root could have made it:
    owned by root, in a directory owned by root that nobody else can write to
    (or a sticky one). ``path`` itself being a symlink is refused, unless
    ``follow_last`` (the parent of a directory being created), where the same
    rule applies to it. Raises NetplumbError naming the link it refuses."""
    todo, here, links = _components(path), "/", 0
    fd = os.open("/", DIR_FLAGS)
    try:
        while todo:
            name = todo.pop(0)
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
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
                    fd, here = os.open("/", DIR_FLAGS), "/"
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
