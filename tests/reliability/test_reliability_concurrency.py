"""Concurrent runs: four ansible-playbook converges of the same node at once
all succeed and leave the state a single run leaves; a run that cannot get
the node lock in time fails naming the lock and its holder."""

import fcntl
import os
import subprocess
import tempfile

import scenario
import yaml
from converge import run_steps
from netplumb_testlib import COLLECTIONS, PYTHON, VENV_BIN, sandboxed
from reliability_lib import node_state, normalized, record, run_module

from ansible_collections.netplumb.linux.plugins.module_utils.core import lock

RUNS = 4


def _start(path, tmp, index):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "l%d" % index), ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "r%d" % index),
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % PYTHON, path]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_four_playbooks_at_once_all_succeed_and_converge_right(sandbox, tmp_path):
    # containers on the bridge with their routes, and the masquerade: the
    # kernel objects and the firewall, where two runs would collide
    steps = scenario.kernel_and_masquerade()
    with sandboxed() as reference:
        run_steps(steps)
        expected = normalized(node_state(reference))
    path = str(tmp_path / "converge.yml")
    with open(path, "w") as handle:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": scenario.tasks(steps)}], handle,
                       sort_keys=False)
    with tempfile.TemporaryDirectory() as tmp:
        procs = [_start(path, tmp, index) for index in range(RUNS)]
        outputs = []
        for proc in procs:
            try:
                outputs.append(proc.communicate(timeout=300)[0])
            except subprocess.TimeoutExpired:
                proc.kill()
                outputs.append(proc.communicate()[0])
    codes = [proc.returncode for proc in procs]
    state = normalized(node_state(sandbox))
    again = run_steps(steps, check_mode=True)
    record("concurrency", "playbooks at once", runs=RUNS, succeeded=codes.count(0),
           final_state_right=int(state == expected), changes_left_for_check_mode=sum(o.changed for o in again))
    assert codes == [0] * RUNS, "\n".join(out[-2000:] for out in outputs)
    assert state == expected
    assert not any(outcome.changed for outcome in again)


def test_a_run_that_cannot_get_the_lock_fails_naming_lock_and_holder(sandbox):
    os.makedirs(lock.LOCK_DIR, exist_ok=True)
    with open(lock.LOCK_PATH, "a+") as handle:
        before = normalized(node_state(sandbox))
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("%d\n" % os.getpid())
        handle.flush()
        run = run_module("netns", {"name": "red"}, env={lock.TIMEOUT_ENV: "0.5"})
    msg = run.result.get("msg", "")
    record("concurrency", "lock timeout", runs=1, clean_message=int(lock.LOCK_PATH in msg and str(os.getpid()) in msg))
    assert run.rc != 0, run
    assert lock.LOCK_PATH in msg and "pid %d" % os.getpid() in msg and lock.TIMEOUT_ENV in msg, msg
    assert "Traceback" not in run.stdout + run.stderr
    assert normalized(node_state(sandbox)) == before
    # The holder gone, the same run goes through.
    assert run_module("netns", {"name": "red"}).result.get("changed") is True
