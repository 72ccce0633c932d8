# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-node lock: one engine run at a time reads, plans and applies.

Two playbooks converging the same node at once would otherwise both plan from
the same state and both try to create the same link. ``engine.run`` holds an
exclusive ``flock`` on ``/run/netplumb/engine.lock`` around read, plan and
apply, in check mode too (a prediction read while another run is half way
would describe a state that never exists). The wait is bounded:
``NETPLUMB_LOCK_TIMEOUT`` seconds (default 60); after that the run fails with
a message naming the lock file and the pid of its holder.

``/run/netplumb`` is created 0755 root (not the world-writable ``/run/lock``,
where anyone could plant the file first). Neither it nor the lock file is
opened through a symlink, and the run is refused (NetplumbError naming the
path) when the directory is a symlink or others can write to it, or the lock
file is not a plain file of its own: a link planted there would otherwise make
the run create, truncate or chmod the file it leads to. The kernel drops a flock when its
holder dies, so a killed run never leaves the node locked; the pid written into
the file is only there for the message. The lock is re-entrant within a
process (an engine run inside another one does not wait for itself).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import stat
import time

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import LockTimeout, NetplumbError, ParamError

LOCK_DIR = "/run/netplumb"
LOCK_PATH = LOCK_DIR + "/engine.lock"
TIMEOUT_ENV = "NETPLUMB_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_POLL = 0.05

_depth = [0]


def timeout_from_env():
    text = os.environ.get(TIMEOUT_ENV)
    if text is None or text == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise ParamError(TIMEOUT_ENV, text, "must be a number of seconds from 0 to 86400")
    return value


@contextlib.contextmanager
def node_lock(timeout=None, path=LOCK_PATH, required=True):
    """Hold the node lock for the block. ``required=False`` (check mode) goes
    on without it when the lock file cannot be made at all (a read-only /run)."""
    if _depth[0]:
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    timeout = timeout_from_env() if timeout is None else timeout
    try:
        fd = _open(path)
    except OSError as exc:
        if required or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise NetplumbError("cannot open the node lock %s: %s" % (path, exc.strerror or exc))
        yield
        return
    try:
        _acquire(fd, path, timeout)
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"%d\n" % os.getpid(), 0)
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _open(path):
    directory, name = os.path.split(path)
    try:
        os.mkdir(directory, 0o700)
        created = True
    except FileExistsError:
        created = False
    dir_fd = _checked(directory, os.O_RDONLY | os.O_DIRECTORY, stat.S_ISDIR)
    try:
        if created:
            os.fchmod(dir_fd, 0o755)  # not the umask's
        elif os.fstat(dir_fd).st_mode & 0o022:
            raise _refused(directory, "users other than root can write to it")
        return _checked(name, os.O_RDWR | os.O_CREAT, stat.S_ISREG, dir_fd=dir_fd, shown=path)
    finally:
        os.close(dir_fd)


def _checked(name, flags, kind, dir_fd=None, shown=None):
    """``name`` opened without following a symlink, and refused unless it is
    of ``kind``, owned by root (or this user), with one name; 0644/0755."""
    shown = shown or name
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise _refused(shown, "it is a symlink")
        raise
    info = os.fstat(fd)
    why = None
    if not kind(info.st_mode):
        why = "it is not a %s" % ("directory" if kind is stat.S_ISDIR else "regular file")
    elif kind is stat.S_ISREG and info.st_nlink != 1:
        why = "it has %d names (a hard link to another file)" % info.st_nlink
    elif info.st_uid not in (0, os.geteuid()):
        why = "it is owned by uid %d" % info.st_uid
    try:
        if why:
            raise _refused(shown, why)
        if kind is stat.S_ISREG and stat.S_IMODE(info.st_mode) != 0o644:
            os.fchmod(fd, 0o644)  # set, not left to the umask
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refused(path, why):
    return NetplumbError("the node lock %s is refused: %s (netplumb never opens, truncates or chmods what a "
                         "planted link leads to); remove it (only netplumb puts files there) and run again"
                         % (path, why))


def _acquire(fd, path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise LockTimeout(path, timeout, holder(fd), TIMEOUT_ENV)
        time.sleep(_POLL)


def holder(fd):
    """The pid recorded by the current holder, or None."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
