# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named network namespaces, the iproute2 way (bind mounts under /run/netns).

``netns_context`` is the one way the engine enters a namespace. It opens the
existing mount and never creates a namespace by probing one.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import errno
import os

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import syscalls
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetnsMissing

NETNS_RUN_DIR = "/run/netns"
_SELF_NET = "/proc/thread-self/ns/net"


def netns_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


_NSFS = []


def _nsfs_dev():
    """The device of the nsfs filesystem: the same for every namespace, read once."""
    if not _NSFS:
        _NSFS.append(os.stat(_SELF_NET).st_dev)
    return _NSFS[0]


def exists(name):
    """True only for a real namespace mount, not for a leftover plain file."""
    try:
        return os.stat(netns_path(name)).st_dev == _nsfs_dev()
    except FileNotFoundError:
        return False


def stale_file(name):
    """A file at the namespace's path that is not a namespace (a crashed create)."""
    return os.path.lexists(netns_path(name)) and not exists(name)


def list_names():
    try:
        entries = os.listdir(NETNS_RUN_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in entries if exists(name))


def open_netns(name):
    """An fd on the namespace; None is the namespace the process runs in."""
    path = _SELF_NET if name is None else netns_path(name)
    if name is not None and not exists(name):
        raise NetnsMissing(name)
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def netns_context(name, path=None):
    """Run the block inside namespace ``name`` (None: stay where we are), or
    with ``path`` inside the namespace bound there (a container runtime's,
    as /var/run/netns/cni-...)."""
    if name is None and path is None:
        yield
        return
    target = open_netns(name) if path is None else os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    home = os.open(_SELF_NET, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(target, syscalls.CLONE_NEWNET)
        try:
            yield
        finally:
            syscalls.setns(home, syscalls.CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)


def _prepare_run_dir():
    """Make /run/netns a shared mount, as ``ip netns add`` does, so namespaces
    created here are seen from other mount namespaces too."""
    os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
    try:
        syscalls.mount("none", NETNS_RUN_DIR, None, syscalls.MS_SHARED | syscalls.MS_REC)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        syscalls.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, None, syscalls.MS_BIND | syscalls.MS_REC)
        syscalls.mount("none", NETNS_RUN_DIR, None, syscalls.MS_SHARED | syscalls.MS_REC)


def create(name):
    """Create namespace ``name`` in process: unshare this thread's netns, bind
    it to /run/netns/NAME and come back. Returns False if it already exists."""
    if exists(name):
        return False
    _prepare_run_dir()
    path = netns_path(name)
    if stale_file(name):
        os.unlink(path)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.close(fd)
    home = os.open(_SELF_NET, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.unshare(syscalls.CLONE_NEWNET)
        try:
            syscalls.mount(_SELF_NET, path, None, syscalls.MS_BIND)
        finally:
            syscalls.setns(home, syscalls.CLONE_NEWNET)
    except OSError:
        os.unlink(path)
        raise
    finally:
        os.close(home)
    return True


def delete(name):
    """Remove namespace ``name``; returns False if there was none."""
    path = netns_path(name)
    if not os.path.lexists(path):
        return False
    try:
        syscalls.umount2(path, syscalls.MNT_DETACH)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: not mounted (a stale file)
            raise
    os.unlink(path)
    return True
