# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a trial ADD/DEL may leave on a node, captured before and put back
after: links the chain created in the node's namespace (a bridge, a host-side
veth), host-local IPAM state (leases, last_reserved_ip, the network's
directory), and the forwarding sysctls the bridge plugin turns on.

Only what the chain itself made is removed: links named in its ADD result or
config that did not exist before, and leases that carry its container id.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import subprocess
import time

from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops, files
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError

HOST_LOCAL_DATA_DIR = "/var/lib/cni/networks"
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")
_NET_DEV = "/proc/thread-self/net/dev"
_IPAM_FILES = ("lock",)
LINK_WAIT = 5.0


def links():
    """Link names in the namespace this thread runs in."""
    with open(_NET_DEV) as handle:
        return {line.split(":", 1)[0].strip() for line in handle.readlines()[2:]}


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _ipam_dirs(config):
    dirs = []
    for plugin in config["plugins"]:
        ipam = plugin.get("ipam") or {}
        if ipam.get("type") == "host-local":
            dirs.append(os.path.join(ipam.get("dataDir") or HOST_LOCAL_DATA_DIR, config["name"]))
    return sorted(set(dirs))


def _bridges(config):
    return {plugin.get("bridge") or "cni0" for plugin in config["plugins"] if plugin["type"] == "bridge"}


def _is_ipam_state(name):
    return name in _IPAM_FILES or name.startswith("last_reserved_ip")


class NodeState:
    """What a trial of network ``config`` may change on the node: the links'
    names, the sysctls, each IPAM directory's state files and its missing
    parents. Taken before the trial (``take``); ``restore`` after it, once
    DEL has run."""

    def __init__(self, config, link_names, sysctls, ipam):
        self.config = config
        self.links = link_names
        self.sysctls = sysctls
        self.ipam = ipam

    @classmethod
    def take(cls, config):
        ipam = {}
        for directory in _ipam_dirs(config):
            names = [n for n in (os.listdir(directory) if os.path.isdir(directory) else []) if _is_ipam_state(n)]
            _refuse_links(config["name"], directory, names)
            ipam[directory] = {
                "missing": list(reversed(files.missing_dirs(directory))),  # deepest first
                "state": {n: files.read(os.path.join(directory, n)) for n in names},
            }
        return cls(config, links(), {path: _read(path) for path in SYSCTLS}, ipam)

    def restore(self, container_id, result):
        """Put the node back; returns the leftovers that had to be removed."""
        removed = self._links(result)
        for directory, before in self.ipam.items():
            removed += _leases(directory, container_id)
            _ipam_state(directory, before)
        for path, value in self.sysctls.items():
            if value is not None and _read(path) != value:
                with open(path, "wb") as handle:
                    handle.write(value)
        return removed

    def _links(self, result):
        ours = set(_bridges(self.config))
        for interface in (result or {}).get("interfaces") or []:
            if isinstance(interface, dict) and interface.get("name") and not interface.get("sandbox"):
                ours.add(interface["name"])
        ours -= self.links
        deadline = time.monotonic() + LINK_WAIT
        bridges = _bridges(self.config)
        while True:  # a deleted namespace takes its veth peers with it, a little later
            left = ours & links()
            if not (left - bridges) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for name in sorted(left):
            try:
                subprocess.run(["ip", "link", "delete", "dev", name], capture_output=True, timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass  # reported below as not removed
        still = ours & links()
        return ["link %s" % name for name in sorted(left - bridges)] + \
            ["link %s could not be removed" % name for name in sorted(still)]


def _refuse_links(network, directory, names):
    """host-local writes its state files (last_reserved_ip.*, lock: ``names``)
    as root through whatever is at their names, so a trial next to a planted
    link would write outside the network's directory: it does not run."""
    if os.path.islink(directory):
        raise NetplumbError("network %s: %s is a symbolic link; host-local would write through it as root, so "
                            "the trial does not run" % (network, directory))
    for name in names:
        path = os.path.join(directory, name)
        if not _regular(path):
            raise NetplumbError("network %s: %s is not a regular file; host-local would write through it as "
                                "root, so the trial does not run" % (network, path))


def _regular(path):
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _leases(directory, container_id):
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if _is_ipam_state(name) or not _regular(path):
            continue
        found = files.read(path)
        owner = (found.content if found is not None else b"").decode("utf-8", "replace").splitlines()
        if owner and owner[0].strip() == container_id:
            os.unlink(path)
            removed.append("IPAM lease %s" % path)
    return removed


def _ipam_state(directory, before):
    """last_reserved_ip and lock as they were; the directories gone if the
    trial made them and nothing else is in them now."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not _is_ipam_state(name):
            continue
        old = before["state"].get(name)
        if old is None:
            if not before["missing"] and name not in _IPAM_FILES:
                os.unlink(path)
        elif files.read(path) != old:
            file_ops.atomic_write(path, old.content, old.mode, old.uid, old.gid)
    for path in before["missing"]:
        entries = os.listdir(path) if os.path.isdir(path) else None
        if entries is None:
            continue
        if path == directory and all(_is_ipam_state(n) for n in entries):
            for name in entries:
                os.unlink(os.path.join(path, name))
            entries = []
        if entries:
            break
        os.rmdir(path)
