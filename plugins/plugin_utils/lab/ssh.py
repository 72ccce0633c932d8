# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the controller reaches the nodes over SSH: the key it logs in with,
each node's host key and ``known_hosts``, waiting for sshd (from inside the
wan), and closing the control masters that outlive a play."""

import os
import socket
import time

from . import state
from .system import LabError, run, setns_net

SSH_TIMEOUT = 60.0
# The longest control socket path ssh can bind: a Unix socket path has at most
# 107 bytes, and ssh binds at the path plus "." and 16 random characters first.
CONTROL_PATH_MAX = 107 - 17


def control_path(state_dir, name):
    """Where the ssh master to host ``name`` listens. Named after the host in
    the inventory (``ansible_control_path``), so that its length does not
    depend on the caller's control path setting (molecule sets ``%h-%p-%r``,
    which names node1's ``192.0.2.11-22-deploy``)."""
    return os.path.join(state_dir, state.CONTROL_DIR, name)


def refuse_long_state_dir(state_dir, names, option):
    """Raise LabError naming ``option`` when a control socket of ``names``
    would not fit under ``state_dir``: ssh would fail on every connection."""
    longest = max((control_path(state_dir, name) for name in names), key=len)
    if len(longest.encode()) > CONTROL_PATH_MAX:
        room = CONTROL_PATH_MAX - (len(longest.encode()) - len(state_dir.encode()))
        raise LabError("%s %s is %d bytes long; at most %d fit: ssh's control socket %s would be longer than a Unix"
                       " socket path can be" % (option, state_dir, len(state_dir.encode()), room, longest),
                       field="state_dir")


def _keygen(path, comment):
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], timeout=30)


def ensure_keys(state_dir, names, check):
    """The key the controller logs in with, and a host key per node; the paths made (or to make)."""
    made = []
    key = os.path.join(state_dir, state.KEY_FILE)
    if not os.path.exists(key):
        made.append(key)
        if not check:
            _keygen(key, "netplumb-lab")
    for name in names:
        path = os.path.join(state_dir, state.HOST_KEYS, name)
        if not os.path.exists(path):
            made.append(path)
            if not check:
                os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
                _keygen(path, name)
    return made


def known_hosts(state_dir, hosts):
    lines = []
    for host in hosts:
        with open(os.path.join(state_dir, state.HOST_KEYS, host["name"] + ".pub")) as handle:
            kind, blob = handle.read().split()[:2]
        for address in filter(None, (host["address"], host["address6"])):
            lines.append("%s %s %s\n" % (address.split("/")[0], kind, blob))
    return "".join(lines)


def wait_for_ssh(wan_pid, addresses):
    """Until each address answers with an SSH banner, from inside the wan; bounded."""
    deadline = time.monotonic() + SSH_TIMEOUT
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # the wait runs in a child: it enters the wan's network, this process stays
        os.close(read_fd)
        code = 1
        try:
            setns_net(wan_pid)
            waiting = list(addresses)
            while waiting and time.monotonic() < deadline:
                address = waiting[0]
                try:
                    with socket.create_connection((address, 22), timeout=2) as conn:
                        if conn.recv(64).startswith(b"SSH-"):
                            waiting.pop(0)
                            continue
                except OSError:
                    pass
                time.sleep(0.1)
            os.write(write_fd, " ".join(waiting).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        waiting = pipe.read().decode()
    os.waitpid(child, 0)
    if waiting:
        raise LabError("sshd did not answer on %s within %.0f s" % (waiting, SSH_TIMEOUT))


def masters(state_dir):
    """The control sockets of this lab's ssh masters."""
    directory = os.path.join(state_dir, state.CONTROL_DIR)
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def close_masters(state_dir):
    """End the ssh control masters of this lab (they outlive the play)."""
    closed = []
    for name in masters(state_dir):
        run(["ssh", "-o", "ControlPath=" + control_path(state_dir, name), "-O", "exit", "lab"], check=False, timeout=10)
        closed.append(name)
    return closed
