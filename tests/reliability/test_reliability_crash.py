"""Crash at any point: SIGKILL at every crash point of a converge (and of a
teardown) of a node with containers, port forwards and CNI; a rerun must give
exactly the state of a clean run, with no orphan link, namespace, rule, temp
file or partial binary or config.

Each kill point gets a fresh sandbox. The sequence runs through the engine in
one forked process (converge.run_steps), so a global k reaches any module of
the sequence; the rerun is the same sequence, as the next playbook run, and a
further run must change nothing. Crash points (crashpoint.py): after each
applied operation, inside each atomic file write before its rename.

node_network is the same, on its own: a cold run (a fresh node with its
uplink -> the whole network, on nftables and on iptables) and a repair run
(a built node after scenario.node_drift)."""

import os
import re
import signal
import time

import pytest

import scenario
from converge import run_steps
from netplumb_testlib import sandboxed
from reliability_lib import moved, node_state, normalized, record, stray_files

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint


def _prepare(box, before_steps):
    """``before_steps``: engine steps (module, params), run as converge.py runs
    them, and callables given the sandbox (an uplink made with ip, drift)."""
    steps = []
    for item in before_steps:
        if callable(item):
            run_steps(steps)
            steps = []
            item(box)
        else:
            steps.append(item)
    run_steps(steps)


def _points(tmp_path, steps, name, before_steps=()):
    """Run ``steps`` cleanly in a fresh sandbox (after ``before_steps``); the
    normalised end state and the crash points it passed."""
    log = tmp_path / ("%s.log" % name)
    with sandboxed() as box:
        _prepare(box, before_steps)
        initial = normalized(node_state(box))
        assert _forked(steps, {crashpoint.CRASH_LOG: str(log)}) == 0
        clean = normalized(node_state(box))
        again = run_steps(steps)
        assert not any(outcome.changed for outcome in again), [o.operations for o in again if o.changed]
    points = log.read_text().splitlines()
    assert points, "no crash point was reached"
    return initial, clean, points


def _forked(steps, env):
    """Run ``steps`` in a forked child of this process (the engine already
    imported: cheaper than a new interpreter per kill point) with ``env`` set;
    its wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.environ.update(env)
            run_steps(steps)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the run did not end in 120 s")


def _kill_everywhere(steps, clean, points, before_steps=()):
    """Kill the run at each point in turn, then rerun it (in this process,
    as the next playbook run would) and run it once more, which must change
    nothing; returns the points that did not recover and how many kills left
    a temp file behind for the rerun to clean."""
    failures, left_temp = [], 0
    for k in range(1, len(points) + 1):
        with sandboxed() as box:
            _prepare(box, before_steps)
            status = _forked(steps, {crashpoint.KILL_AFTER: str(k)})
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (k, status)
            left_temp += bool(stray_files())
            again = []
            try:
                run_steps(steps)
                error = None
                again = [op["description"] for outcome in run_steps(steps) for op in outcome.operations]
            except Exception as exc:  # a rerun that fails is a failed recovery, reported below
                error = "%s: %s" % (type(exc).__name__, exc)
            state = normalized(node_state(box))
            strays = stray_files()
            if error or state != clean or strays or again:
                failures.append({"k": k, "point": points[k - 1], "error": error, "strays": strays,
                                 "differs": _diff_keys(clean, state), "further_run_changes": again})
    return failures, left_temp


def _failed(failures):
    return "\n".join("%s: %s" % (f["point"], f["error"] or f["differs"] or f["strays"] or f["further_run_changes"])
                     for f in failures)


def _diff_keys(left, right, prefix=""):
    if isinstance(left, dict) and isinstance(right, dict):
        keys = []
        for key in sorted(set(left) | set(right), key=str):
            if left.get(key) != right.get(key):
                keys += _diff_keys(left.get(key), right.get(key), "%s/%s" % (prefix, key))
        return keys
    return [prefix]


def test_kill_at_every_point_of_a_converge_then_rerun_matches_a_clean_run(tmp_path):
    steps = scenario.present()
    _initial, clean, points = _points(tmp_path, steps, "converge")
    failures, partial = _kill_everywhere(steps, clean, points)
    record("crash", "converge", tried=len(points), recovered=len(points) - len(failures),
           kills_leaving_temp_files=partial, steps=len(steps))
    assert failures == []


def test_kill_at_every_point_of_a_teardown_then_rerun_leaves_the_node_as_before(tmp_path):
    up, down = scenario.present(), scenario.absent()
    with sandboxed() as box:
        empty = normalized(node_state(box))
    _initial, clean, points = _points(tmp_path, down, "teardown", before_steps=up)
    left = [key for key in moved(clean, empty) + moved(empty, clean) if not key.startswith(_LOCK)]
    unexplained = [key for key in left if not _by_design(key)]
    assert unexplained == [], "the teardown is not exact"
    failures, partial = _kill_everywhere(down, clean, points, before_steps=up)
    record("crash", "teardown", tried=len(points), recovered=len(points) - len(failures),
           kills_leaving_temp_files=partial, steps=len(down))
    record("teardown", "modules", objects_made=len(moved(_up_state(up), empty)),
           left=len(unexplained), by_design=sorted(set(_by_design(key) for key in left)))
    assert failures == []


def test_kill_between_the_iptables_commands_of_nat_rules_then_rerun_recovers(tmp_path):
    """The three rules alone, all on iptables (the nft variant): each iptables
    command of the nat and filter tables is a kill point, in converge and teardown."""
    up, down = scenario.nat_only("iptables"), scenario.teardown(scenario.nat_only("iptables"))
    with sandboxed() as box:
        empty = normalized(node_state(box))
    _initial, clean, points = _points(tmp_path, up, "nat-converge")
    assert sum(" -N NETPLUMB-" in point for point in points) == 3, points
    failures, _partial = _kill_everywhere(up, clean, points)
    record("crash", "iptables NAT converge", tried=len(points), recovered=len(points) - len(failures),
           kills_leaving_temp_files=0, steps=len(up))
    _initial, clean, down_points = _points(tmp_path, down, "nat-teardown", before_steps=up)
    left = [key for key in moved(clean, empty) + moved(empty, clean) if not key.startswith(_LOCK)]
    assert [key for key in left if not _by_design(key)] == [], "\n".join(left)
    down_failures, _partial = _kill_everywhere(down, clean, down_points, before_steps=up)
    record("crash", "iptables NAT teardown", tried=len(down_points),
           recovered=len(down_points) - len(down_failures), kills_leaving_temp_files=0, steps=len(down))
    assert (failures, down_failures) == ([], []), _failed(failures + down_failures)


@pytest.mark.parametrize("backend", ["auto", "iptables"])
def test_kill_at_every_point_of_a_node_network_cold_run_then_rerun_converges(tmp_path, backend):
    """A fresh node (its uplink only) -> the whole network in one call. auto
    is nftables there (one transaction per change); on iptables each command
    of a NAT change is a kill point too."""
    steps, before = scenario.node_network(nat_backend=backend), (scenario.node_uplink,)
    _initial, clean, points = _points(tmp_path, steps, "node-network-cold-" + backend, before_steps=before)
    assert any("temp file" in point and "60-netplumb.conf" in point for point in points), points
    if backend == "iptables":
        assert any(" -N NETPLUMB-" in point for point in points), points
    failures, partial = _kill_everywhere(steps, clean, points, before_steps=before)
    _record_node_network("node_network cold run (nat_backend %s)" % backend, points, failures, partial)


def test_kill_at_every_point_of_a_node_network_repair_run_then_rerun_converges(tmp_path):
    """A built node with a container's interface, the gateway address, the
    peer route and the port forward gone and the sysctl file edited away ->
    the repair run, killed at each of its points."""
    steps = scenario.node_network()
    before = (scenario.node_uplink, steps[0], scenario.node_drift)
    _initial, clean, points = _points(tmp_path, steps, "node-network-repair", before_steps=before)
    failures, partial = _kill_everywhere(steps, clean, points, before_steps=before)
    _record_node_network("node_network repair run", points, failures, partial)


def _record_node_network(name, points, failures, partial):
    record("crash", name, tried=len(points), recovered=len(points) - len(failures),
           kills_leaving_temp_files=partial, steps=1)
    assert failures == [], _failed(failures)


_LOCK = "files//run/netplumb/"
# What a teardown leaves on purpose; anything else left is a failure.
_DESIGN = (
    (r"^files/(/opt/cni/bin|/etc/cni/net\.d)$",
     "the standard CNI directories /opt/cni/bin and /etc/cni/net.d stay (empty), as runtimes expect them"),
    (r"^\(host\)/firewall/(iptables-nft|nft)/(\*(filter|nat)|:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) "
     r"ACCEPT \[0:0\]|COMMIT|table ip (filter|nat) \{|\tchain (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) \{|"
     r"\t\ttype (filter|nat) hook [a-z]+ priority [a-z]+; policy accept;|\t\}|\}|)$",
     "iptables-nft keeps the built-in tables it made for our jumps (filter, and nat when NAT rules are on "
     "iptables): empty chains, policy accept, no effect on traffic"),
)


def _by_design(key):
    for pattern, why in _DESIGN:
        if re.match(pattern, key):
            return why
    return None


def _up_state(steps):
    with sandboxed() as box:
        run_steps(steps)
        return normalized(node_state(box))
