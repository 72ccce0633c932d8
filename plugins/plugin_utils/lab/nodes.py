# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting and stopping nodes. A node is ``unshare --net --mount --uts
--ipc --pid --fork`` running ``cli.py boot`` (see ``boot``) as its pid 1,
with the lab's marker in its environment; it outlives the task that
started it, until ``stop`` (or ``down``) SIGKILLs it."""

import os
import signal
import subprocess
import sys
import tempfile
import time

from . import state
from .system import CLI, NODE_PATH, LabError, read

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def boot_argv(options, name, extra):
    """The command of a node's pid 1: this machine's Python, isolated (-I), on
    ``cli.py`` by its path."""
    ssh = options["connection"] == "ssh"
    return ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
            "--propagation", "private", "--", sys.executable, "-I", CLI, "boot",
            "--state-dir", options["state_dir"], "--name", name, "--user", options["user"],
            "--connection", options["connection"],
            "--repo", os.path.abspath(options["packages_dir"]) if ssh else ""] + extra


def spawn(argv, name, state_dir, errors):
    """Start ``argv`` in a session of its own, marked as node ``name`` of ``state_dir``."""
    env = {"PATH": os.environ.get("PATH", NODE_PATH), "LANG": "C", state.MARK_DIR: state_dir, state.MARK_NODE: name}
    return subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errors, start_new_session=True)


def start_nodes(options, wanted, layer):
    """Start every node of ``wanted`` ({name: [addresses]}) at once; wait
    (bounded) until each is ready. Returns {name: pid}."""
    started, pending = {}, {}
    with tempfile.TemporaryDirectory() as logs:
        for name, addresses in wanted.items():
            errors = open(os.path.join(logs, name), "wb")  # pylint: disable=consider-using-with
            argv = boot_argv(options, name, (["--layer", layer] if layer else [])
                             + [a for x in addresses for a in ("--address", x)])
            pending[name] = (spawn(argv, name, options["state_dir"], errors), errors)
        deadline = time.monotonic() + START_TIMEOUT
        while pending:
            for name, (proc, errors) in list(pending.items()):
                if proc.poll() is not None:
                    errors.close()
                    raise LabError("node %s did not start (exit %d): %s"
                                   % (name, proc.returncode, (read(errors.name) or "").strip()[-3000:]))
                pid = state.find_nodes(options["state_dir"]).get(name)
                if pid and state.ready(pid):
                    started[name] = pid
                    errors.close()
                    del pending[name]
            if pending and time.monotonic() > deadline:
                for proc, _errors in pending.values():
                    proc.kill()
                raise LabError("nodes %s were not ready within %.0f s" % (", ".join(pending), START_TIMEOUT))
            time.sleep(0.05)
    return started


def stop(state_dir, name):
    """SIGKILL the node's pid 1 when it is ours; wait (bounded) until it is gone."""
    pid = state.locate(state_dir, name)
    if not pid:
        return None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT
    while not state.gone(pid):
        if time.monotonic() > deadline:
            raise LabError("node %s (pid %d) still there %.0f s after SIGKILL" % (name, pid, STOP_TIMEOUT))
        time.sleep(0.05)
    return pid
