# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's state directory and its nodes: what is recorded (``nodes.json``)
and which processes are this lab's nodes. A node is recognised by two
variables in its environment, NETPLUMB_LAB_DIR (the lab's state directory)
and NETPLUMB_LAB_NODE (its name), and by being pid 1 of its own pid
namespace: the lab acts on no other process."""

import json
import os

from .system import read

MARK_DIR = "NETPLUMB_LAB_DIR"
MARK_NODE = "NETPLUMB_LAB_NODE"
STATE_FILE = "nodes.json"
INVENTORY_FILE = "inventory.yml"
KEY_FILE = "id_ed25519"
KNOWN_HOSTS = "known_hosts"
HOST_KEYS = "hostkeys"
CONTROL_DIR = "cp"
LAYER_DIR = "layer"
# What ``down`` removes: everything the lab writes into its state directory.
STATE_ENTRIES = (STATE_FILE, INVENTORY_FILE, KEY_FILE, KEY_FILE + ".pub", KNOWN_HOSTS, HOST_KEYS,
                 CONTROL_DIR, LAYER_DIR)
WAN = "wan"
READY_FILE = "/run/netplumb-lab.ready"


def _environ(pid):
    data = read("/proc/%d/environ" % pid, binary=True)
    if data is None:
        return {}
    env = {}
    for entry in data.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def _status(pid):
    text = read("/proc/%d/status" % pid) or ""
    fields = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        fields[key] = value.split()
    return fields


def is_node(pid, state_dir, name=None):
    """True when ``pid`` is a live lab node of ``state_dir`` (named ``name``)."""
    if not pid or pid <= 0:
        return False
    status = _status(pid)
    nspid = status.get("NSpid", [])
    if len(nspid) < 2 or nspid[-1] != "1" or status.get("State", ["Z"])[0] in ("Z", "X"):
        return False
    env = _environ(pid)
    if env.get(MARK_DIR) != state_dir:
        return False
    return name is None or env.get(MARK_NODE) == name


def find_nodes(state_dir):
    """{name: pid} of the live nodes of this lab, found in /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_node(int(entry), state_dir):
            found[_environ(int(entry)).get(MARK_NODE)] = int(entry)
    found.pop(None, None)
    return found


def gone(pid):
    status = _status(pid)
    return not status or status.get("State", ["X"])[0] in ("Z", "X")


def ready(pid):
    return os.path.exists("/proc/%d/root%s" % (pid, READY_FILE))


def recorded(state_dir):
    """{name: pid} as ``nodes.json`` records them (empty when missing or unreadable)."""
    text = read(os.path.join(state_dir, STATE_FILE))
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int)}


def locate(state_dir, name):
    """The pid of the live node ``name``: the recorded pid when it still is that
    node, else whatever /proc holds for it, else None."""
    pid = recorded(state_dir).get(name)
    if is_node(pid, state_dir, name):
        return pid
    return find_nodes(state_dir).get(name)
