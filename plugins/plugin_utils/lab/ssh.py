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
        path = os.path.join(state_dir, state.CONTROL_DIR, name)
        run(["ssh", "-o", "ControlPath=" + path, "-O", "exit", "lab"], check=False, timeout=10)
        closed.append(name)
    return closed
