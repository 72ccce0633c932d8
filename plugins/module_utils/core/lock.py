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
where anyone could plant the file first). The kernel drops a flock when its
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
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            pass
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)


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
