"""The lab for the tests that build one: its files, a fixture that tears a
lab down whatever happens, and ways to look into its nodes."""

import json
import os
import signal
import subprocess
import time

import pytest

from netplumb_testlib import PYTHON, ROOT, run_playbook_file

LAB = os.path.join(ROOT, "playbooks", "lab.yml")
TEARDOWN = os.path.join(ROOT, "playbooks", "teardown.yml")
# The lab's file run by its path (python -I): pid 1 of a node, the relay, and down for cleanup.
LAB_CLI = os.path.join(ROOT, "plugins", "plugin_utils", "lab", "cli.py")


def lab_processes(state_dir):
    """Pids of processes carrying this lab's marker (nodes and their unshare)."""
    marker = ("NETPLUMB_LAB_DIR=%s" % state_dir).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as handle:
            return "\nState:\tZ" not in handle.read()
    except OSError:
        return False


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def relays(state_dir):
    """Pids of this machine's processes that still name the lab (ssh masters, relays)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    if state_dir.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def recorded(state_dir):
    with open(os.path.join(state_dir, "nodes.json")) as handle:
        return json.load(handle)


# The longest state directory of a lab of two nodes: ssh's control socket
# <dir>/cp/node1 plus ssh's 17 characters of a temporary name make 107 bytes.
LONGEST_STATE_DIR = 81


def sized_dir(tmp_path, size):
    """A path of ``size`` bytes in ``tmp_path`` (not created)."""
    base = str(tmp_path)
    assert len(base) + 2 <= size, "the test's tmp_path %s leaves no room for %d bytes" % (base, size)
    return os.path.join(base, "l" * (size - len(base) - 1))


@pytest.fixture
def lab_dir(tmp_path):
    """The lab's state directory; afterwards the lab's ssh masters are closed
    and every node it holds is SIGKILLed."""
    state_dir = str(tmp_path / ".lab")
    yield state_dir
    tear_down(state_dir)


@pytest.fixture
def longest_lab_dir(tmp_path):
    """``lab_dir`` as long as a lab of two nodes allows."""
    state_dir = sized_dir(tmp_path, LONGEST_STATE_DIR)
    yield state_dir
    tear_down(state_dir)


def tear_down(state_dir):
    """Close the lab's ssh masters and SIGKILL every node it holds."""
    subprocess.run([PYTHON, "-I", LAB_CLI, "down", "--state-dir", state_dir], capture_output=True, timeout=60, check=False)
    pids = set(lab_processes(state_dir))
    try:
        pids.update(recorded(state_dir).values())
    except (OSError, ValueError):
        pass
    pids = [pid for pid in pids if pid in lab_processes(state_dir)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_gone(pids), "lab processes survived SIGKILL: %s" % pids


def run_lab(state_dir, playbook=LAB, check=False, extra=()):
    args = ["-e", "lab_state_dir=%s" % state_dir, "-e", "lab_node_count=2"] + list(extra)
    return run_playbook_file(playbook, check=check, extra_args=args)


def in_node(pid, *argv):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "-m", "-p"] + list(argv),
                          capture_output=True, text=True, timeout=15, check=False)


def ping(pid, address):
    return in_node(pid, "ping", "-n", "-q", "-c1", "-W2", address).returncode == 0
