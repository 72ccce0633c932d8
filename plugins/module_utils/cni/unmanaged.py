# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's other network managers told to leave the collection's devices
alone, the way the CNI projects do it: a NetworkManager conf.d file listing them in
``unmanaged-devices``, a systemd-networkd ``.network`` file matching them
with ``Unmanaged=yes``. A manager that is not on the node gets no file; one
that is running is told to reload its configuration after the file changed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess

from ansible_collections.netplumb.linux.plugins.module_utils.cni import files
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, noop

NETWORKMANAGER = "NetworkManager"
NETWORKD = "systemd-networkd"
MODES = ("auto", "none")
# Where each manager shows it is on the node: NetworkManager's package
# config, or networkd enabled (systemctl enable's links); or the daemon runs.
_INSTALLED = {
    NETWORKMANAGER: ("/etc/NetworkManager/NetworkManager.conf",),
    NETWORKD: ("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
               "/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"),
}
_PROCESS = {NETWORKMANAGER: "NetworkManager", NETWORKD: "systemd-network"}  # /proc/<pid>/comm
_RELOAD = {NETWORKMANAGER: ["nmcli", "general", "reload", "conf"], NETWORKD: ["networkctl", "reload"]}


def path(manager, name):
    if manager == NETWORKMANAGER:
        return "/etc/NetworkManager/conf.d/netplumb-%s.conf" % name
    return "/etc/systemd/network/10-netplumb-%s.network" % name


def content(manager, owner, devices):
    """The file that tells ``manager`` to leave ``devices`` (names or globs) alone."""
    head = "# Written by netplumb.linux (%s): %s leaves these devices alone.\n" % (owner, manager)
    if manager == NETWORKMANAGER:
        # "+=" adds to the list other conf.d files give, instead of replacing it.
        return (head + "[keyfile]\nunmanaged-devices+=%s\n"
                % ";".join("interface-name:%s" % device for device in devices)).encode()
    return (head + "[Match]\nName=%s\n\n[Link]\nUnmanaged=yes\n" % " ".join(devices)).encode()


def present():
    """The managers on this node, each with whether its daemon runs now."""
    running = _running()
    return {manager: manager in running for manager in (NETWORKMANAGER, NETWORKD)
            if manager in running or any(os.path.lexists(mark) for mark in _INSTALLED[manager])}


def plan(part, mode, name, owner, devices, state):
    """Into ``part`` (phase "files"): for each manager on the node, its file
    for ``devices`` (``state`` present) or its removal, then a reload of a
    running one. Returns (before, after): per manager, its file's devices."""
    before, after = {}, {}
    if mode == "none":
        return before, after
    found = present()
    for manager in (NETWORKMANAGER, NETWORKD):
        target = path(manager, name)
        old = files.read(target)
        if manager not in found and old is None:
            continue
        wanted = content(manager, owner, devices) if state == "present" and manager in found else None
        before[manager] = _devices(old)
        after[manager] = list(devices) if wanted is not None else None
        if wanted is not None:
            for mkdir in files.mkdir_ops(os.path.dirname(target)):
                part.add("files", mkdir)
            op, _old = files.plan_write(target, wanted, 0o644)
        else:
            op = files.delete_op(target, old) if old is not None else None
        if op is None:
            continue
        if found.get(manager):
            reload_op = Op(MANAGER_RELOAD, None, manager)
            op.undo = tuple(op.undos()) + (reload_op,)
            part.add("files", op)
            part.add("files", Op(MANAGER_RELOAD, None, manager, undo=noop(manager)))
        else:
            part.add("files", op)
    return before, after


def _devices(state):
    """The devices an existing file of ours names (None: no file)."""
    if state is None or state.content is None:
        return None
    for line in state.content.decode(errors="replace").splitlines():
        key, _sep, value = line.partition("=")
        if key in ("unmanaged-devices+", "Name"):
            return [d.split(":", 1)[-1] for d in value.replace(";", " ").split()]
    return []


def _running():
    names = set(_PROCESS.values())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as handle:
                    comm = handle.read().strip()
            except OSError:
                continue
            if comm in names:
                found |= {manager for manager, process in _PROCESS.items() if process == comm}
    return found


def _reload(_ctx, op):
    argv = _RELOAD[op.target]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetplumbError("%s: %s" % (" ".join(argv), exc))
    if proc.returncode != 0:
        raise NetplumbError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))


MANAGER_RELOAD = Operation("manager_reload", "reload {target}'s configuration", _reload)
OPERATIONS = (MANAGER_RELOAD,)
