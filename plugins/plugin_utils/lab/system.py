# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""This machine's tools as the lab uses them: commands, files, ``ip`` inside
a namespace, ``setns``; and ``LabError``, the one error of the lab."""

import ctypes
import json
import os
import subprocess

CMD_TIMEOUT = 300
# The file run by its path for the processes that outlive a task (pid 1 of a
# node, ssh's ProxyCommand): python -I CLI boot|relay ...
CLI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli.py")
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LabError(Exception):
    """What the lab reports as its failure (the message is for the user)."""

    def __init__(self, msg, field=None):
        super().__init__(msg)
        # The option a bad value came from, when one did.
        self.field = field


def read(path, binary=False):
    """The file's content, or None when it cannot be read."""
    try:
        with open(path, "rb" if binary else "r") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def write(path, text, mode=0o644):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def run(argv, check=True, timeout=CMD_TIMEOUT, env=None, cwd=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError("%s: %s" % (" ".join(argv), exc))
    if check and proc.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(argv), proc.returncode,
                                               (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc


def in_node(*argv, check=True):
    """A command inside the node this process runs in (its pid 1), with a
    clean environment as a login has."""
    env = {"PATH": NODE_PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
    return run(list(argv), check=check, env=env)


def ip_in(pid, *args, check=True):
    """``ip`` in the network namespace of ``pid`` (this machine's binaries, so
    it works whatever the node has installed)."""
    return run(["nsenter", "-t", str(pid), "-n", "--", "ip"] + list(args), check=check, timeout=30)


def links(pid):
    out = ip_in(pid, "-j", "-d", "addr", "show").stdout
    return {link["ifname"]: link for link in json.loads(out or "[]")}


def addresses(link):
    return ["%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
            if a.get("family") in ("inet", "inet6")]


def add_address(address, dev):
    """ip addr add, IPv6 without duplicate address detection (usable at once)."""
    return ["addr", "add", address, "dev", dev] + (["nodad"] if ":" in address else [])


def is_up(link):
    return "UP" in link.get("flags", [])


_LIBC = []


def setns_net(pid):
    """Move this (single-threaded) process into the network namespace of ``pid``."""
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _LIBC[0].setns(fd, 0x40000000) != 0:
            err = ctypes.get_errno()
            raise LabError("setns into the network of pid %d: %s" % (pid, os.strerror(err)))
    finally:
        os.close(fd)
