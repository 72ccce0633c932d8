"""netplumb benchmarks, in one go, inside a sandbox (make bench runs it under
tests/sandbox.sh): the naive playbook, the per-task module loop, container_net
(through ansible-playbook, and the engine's own time), the raw pyroute2 floor,
for n containers (cold, no change, check), and a fleet: the bundled site.yml
on 1, 2 and 8 lab nodes reached over SSH, against a one-ping playbook.

Every measurement runs in a fresh network + mount namespace of its own
(netplumb_testlib.sandboxed). Prints a table of times and ratios; with
--doc/--plot writes docs/performance.md and its PNG. No timing is asserted.

    tests/sandbox.sh .venv/bin/python bench/run.py [--sizes 10,50,200] [--fleet 1,2,8|none] [--growth 100,1000|none] [--doc docs/performance.md]
"""

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, ".build", "collections"), os.path.join(ROOT, "tests", "lib"), HERE]

import cases  # noqa: E402
import floor  # noqa: E402
from modulerun import module_run  # noqa: E402
import report  # noqa: E402
from netplumb_testlib import COLLECTIONS, CONTROLLER_INVENTORY, PYTHON, VENV_BIN, sandboxed  # noqa: E402
from topologies import wan_uplink  # noqa: E402

from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
# The lab's code (finding and closing what a lab left), and its file run by path.
from ansible_collections.netplumb.linux.plugins.plugin_utils.lab import ssh as lab_ssh, state as lab_state  # noqa: E402

LAB = os.path.join(ROOT, "playbooks", "lab.yml")
LAB_CLI = os.path.join(ROOT, "plugins", "plugin_utils", "lab", "cli.py")


def log(text):
    print(text, file=sys.stderr, flush=True)


def playbook(play, check=False, extra=(), timeout=1800, library=(), actions=()):
    """Run ``play`` with ansible-playbook as users do, with the default output
    (the json callback would serialize every task result again, a cost that
    grows with the result: check mode on a cold node returns the 200
    containers' planned operations); (wall seconds, changed count, failed
    count) from its recap."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(play, handle)
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % PYTHON, path] + (["--check"] if check else []) + list(extra)
        env = dict(_node_env(), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
                   ANSIBLE_HOST_KEY_CHECKING="0",
                   ANSIBLE_LIBRARY=os.pathsep.join((os.path.join(HERE, "library"),) + tuple(library)))
        if actions:
            env["ANSIBLE_ACTION_PLUGINS"] = os.pathsep.join(actions)
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("playbook failed (%d): %s %s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-2000:]))
    recap = _recap(proc.stdout)
    return wall, sum(host["changed"] for host in recap), sum(host["failed"] for host in recap)


_RECAP = re.compile(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _recap(stdout):
    """Per host of the default output's PLAY RECAP: changed and failed counts."""
    found = [{"changed": int(changed), "failed": int(failed)} for changed, _unreachable, failed in _RECAP.findall(
        stdout[stdout.rindex("PLAY RECAP"):] if "PLAY RECAP" in stdout else "")]
    if not found:
        raise RuntimeError("no PLAY RECAP in the playbook's output: %s" % stdout[-2000:])
    return found


def _bridge(box):
    box.ip("link", "add", cases.BRIDGE, "type", "bridge")
    box.ip("addr", "add", "%s/%d" % (cases.GATEWAY, cases.PLEN), "dev", cases.BRIDGE)
    box.ip("link", "set", cases.BRIDGE, "up")


def _timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


@contextlib.contextmanager
def _timing(owner, name):
    """The seconds each call of ``owner.name`` takes while the block runs (a list)."""
    real, spent = getattr(owner, name), []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(owner, name, timed)
    try:
        yield spent
    finally:
        setattr(owner, name, real)


def _median_of(count, call):
    runs = [_timed(call) for _unused in range(count)]
    return statistics.median(seconds for seconds, _result in runs), runs[-1][1]


def engine_times(n):
    """container_net in process: the engine (what the module runs) on a cold
    node in check mode, the real cold run, the no-change run, check mode with
    no change; and the module's main() (argument checks and JSON result on
    top) for the no-change run and check mode on a cold node. The cold run's
    read-back is timed inside it: the cold run without it is the rest (a run
    that changes nothing applies nothing, and reads back nothing)."""
    params = {"bridge": cases.BRIDGE, "gateway": cases.GATEWAY, "containers": cases.containers(n)}
    with sandboxed() as box:
        _bridge(box)
        module_check, checked = module_run(params, check=True)
        check, predicted = _timed(lambda: engine.run(container_net, params, check_mode=True))
        with _timing(engine, "_verify") as readback:
            cold, real = _timed(lambda: engine.run(container_net, params))
        # The no-change runs follow the cold one at once, while the kernel
        # still finishes the new links' work: three in a row, the median.
        same, again = _median_of(3, lambda: engine.run(container_net, params))
        check_same, _unused = _median_of(3, lambda: engine.run(container_net, params, check_mode=True))
        module_same, unchanged = module_run(params)
        # One container more: the read-back reads the one the run touched.
        with _timing(engine, "_verify") as added_back:
            added, grown = _timed(lambda: engine.run(container_net, dict(params, containers=cases.containers(n + 1))))
    assert predicted.operations == real.operations == checked["operations"] and real.changed
    assert not again.changed and not unchanged["changed"] and grown.changed
    back = sum(readback)
    return {"check_cold": check, "cold": cold, "nochange": same, "check_nochange": check_same,
            "module_check_cold": module_check, "module_nochange": module_same,
            "cold_unverified": cold - back, "readback": back, "readback_ratio": cold / (cold - back),
            "one_more": added, "one_more_readback": sum(added_back)}


def floor_time(n, ipv6=True, api="messages"):
    with sandboxed():
        return floor.build(n, ipv6=ipv6, api=api)


def side_by_side(sizes, repeat):
    """Engine and floor alternately, ``repeat`` times each size, each after
    the machine went idle (the kernel dismantles the previous sandbox's
    namespaces in the background); medians of each figure (the read-back's
    ratio is each cold run's own, then their median)."""
    engine_runs = {n: [] for n in sizes}
    floor_runs = {n: [] for n in sizes}
    for rep in range(repeat):
        for n in sizes:
            log("engine and floor, n=%d (%d/%d)" % (n, rep + 1, repeat))
            settle()
            engine_runs[n].append(engine_times(n))
            settle()
            floor_runs[n].append(floor_time(n))
    result = {}
    for n in sizes:
        keys = engine_runs[n][0].keys()
        result[n] = {key: statistics.median(run[key] for run in engine_runs[n]) for key in keys}
        result[n]["floor"] = statistics.median(floor_runs[n])
    return result


def playbook_times(n, repeat):
    """Whole ansible-playbook runs of the bridge and n containers, each time
    in a new sandbox: check mode on the cold node, the real cold run, the
    run with nothing to change; ``repeat`` times, medians (a single run of
    about 2 s moves by a fifth with the machine, more than what the check-mode
    target compares). Every run is kept under "runs"."""
    runs = {"check_cold": [], "cold": [], "nochange": []}
    for _unused in range(repeat):
        with sandboxed():
            check = playbook(cases.container_net(n), check=True)
            cold = playbook(cases.container_net(n))
            same = playbook(cases.container_net(n))
        assert check[1] == 2 and cold[1] == 2 and same[1] == 0, (check, cold, same)
        for key, run in zip(runs, (check, cold, same)):
            runs[key].append(run[0])
    return dict({key: statistics.median(times) for key, times in runs.items()}, runs=runs)


SHAPES = (("node_network", 1, cases.node_network), ("bridge + container_net", 2, cases.container_net))
# A module's import of netplumb, without its comment.
_NETPLUMB_IMPORT = re.compile(r"^(from ansible_collections\.netplumb\.\S+ import [^#\n]*?)\s*(?:#.*)?$", re.M)


def imports_library(directory, modules):
    """Write into ``directory``, for each netplumb module, its stand-in that
    imports what the module's file imports of netplumb (its own lines) and
    then does what bench/library/netplumb_bench_noop.py does: Ansible builds
    and the node imports the module's module_utils, and nothing else of
    netplumb runs."""
    with open(os.path.join(HERE, "library", "netplumb_bench_noop.py")) as handle:
        noop = handle.read()
    anchor = "from ansible.module_utils.basic import AnsibleModule, _load_params\n"
    for module in modules:
        name = module.rsplit(".", 1)[1]
        lines = _NETPLUMB_IMPORT.findall(_module_source(module))
        assert lines and anchor in noop, module
        with open(os.path.join(directory, cases.stand_in_module(module, imports=True).rsplit(".", 1)[1] + ".py"),
                  "w") as handle:
            handle.write(noop.replace(anchor, anchor + "".join(line + "  # noqa: F401\n" for line in lines)))


def paused_actions(directory, modules):
    """Write into ``directory``, for each netplumb module's stand-in, the
    action plugin netplumb's modules have (plugins/action/: Ansible's own
    action with the garbage collector paused), under the stand-in's name."""
    for module in modules:
        with open(os.path.join(directory, cases.stand_in_module(module).rsplit(".", 1)[1] + ".py"), "w") as handle:
            handle.write("from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import ModuleAction"
                         "\n\n\nclass ActionModule(ModuleAction):\n    pass\n")


def shape_times(n, repeat):
    """Each shape with n containers, no change, against Ansible's own cost of
    the same tasks (the same arguments into a module that does nothing) and of
    as many tasks without arguments (ansible.builtin.ping), in turn ``repeat``
    times each; medians (s). Also the same tasks into stand-ins that import
    netplumb's module_utils as the modules do ("imports"): what the code
    costs, built into each payload and imported on the node, before any work;
    and the same tasks doing nothing with the collector paused as netplumb's
    actions pause it ("paused"): Ansible's own cost as netplumb's modules
    make it."""
    result = {}
    for label, tasks, make in SHAPES:
        with sandboxed() as box, tempfile.TemporaryDirectory() as library, tempfile.TemporaryDirectory() as actions:
            wan_uplink(box)
            modules = [cases.module_of(task) for task in make(n)[0]["tasks"]]
            imports_library(library, modules)
            paused_actions(actions, modules)
            playbook(make(n))  # built
            same, stand_in, imported, ping, paused = [], [], [], [], []
            for _unused in range(repeat):
                wall, changed, _failed = playbook(make(n))
                assert changed == 0, (label, changed)
                same.append(wall)
                stand_in.append(playbook(cases.same_tasks(make(n)))[0])
                imported.append(playbook(cases.same_tasks(make(n), imports=True), library=(library,))[0])
                ping.append(playbook(cases.noop(tasks))[0])
                paused.append(playbook(cases.same_tasks(make(n)), actions=(actions,))[0])
        # Each repeat's runs follow one another: the differences within a
        # repeat leave out the machine's drift between repeats.
        result[label] = {"tasks": tasks, "nochange": statistics.median(same), "ansible": statistics.median(stand_in),
                         "imports": statistics.median(imported), "ping": statistics.median(ping),
                         "paused": statistics.median(paused),
                         "runs": {"nochange": same, "ansible": stand_in, "imports": imported, "ping": ping,
                                  "paused": paused}}
    return result


def _busy():
    """The share of the CPUs' time not idle over the next half second (/proc/stat)."""
    def sample():
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]
    total, idle = sample()
    time.sleep(0.5)
    total2, idle2 = sample()
    return 1.0 - (idle2 - idle) / max(total2 - total, 1)


SETTLE = [60.0]  # --settle
# The waits of settle() and how many ended with the machine still busy: work
# other than the benchmark's own (the kernel's dismantling is over in seconds).
SETTLED = {"waits": 0, "busy": 0}


def settle(busy=0.15):
    """Wait (at most --settle s) until the machine is nearly idle: the kernel
    dismantles the namespaces of a closed sandbox in the background, and a
    thousand of them keep it busy for seconds after the sandbox is gone."""
    if SETTLE[0] <= 0:
        return
    deadline = time.monotonic() + SETTLE[0]
    idle = False
    while time.monotonic() < deadline and not idle:
        idle = _busy() <= busy
    SETTLED["waits"] += 1
    SETTLED["busy"] += not idle


def growth_times(sizes, repeat):
    """container_net's module (main(), in a Python of its own) cold and with
    no change on each size of containers, and the pyroute2 floor, alternately;
    medians, and the module's peak memory (kB). The floor also runs with IPv6
    off on its new links (what is left of its growth without IPv6's own start
    on each link), and through pyroute2's IPRoute API (the floor until
    2026-12-04)."""
    runs = {n: [] for n in sizes}
    floors = {n: [] for n in sizes}
    floors_v4 = {n: [] for n in sizes}
    floors_iproute = {n: [] for n in sizes}
    for rep in range(repeat):
        for n in sizes:
            log("growth, n=%d (%d/%d)" % (n, rep + 1, repeat))
            settle()
            with sandboxed() as box:
                box.ip("link", "add", cases.BRIDGE, "type", "bridge")
                box.ip("addr", "add", "%s/22" % cases.GROWTH_GATEWAY, "dev", cases.BRIDGE)
                box.ip("link", "set", cases.BRIDGE, "up")
                proc = subprocess.run([PYTHON, os.path.join(HERE, "module_child.py"), str(n)], capture_output=True,
                                      text=True, timeout=1800, check=True)
                runs[n].append(json.loads(proc.stdout))
            settle()
            floors[n].append(floor_time(n))
            settle()
            floors_v4[n].append(floor_time(n, ipv6=False))
            settle()
            floors_iproute[n].append(floor_time(n, api="iproute"))
    result = {}
    for n in sizes:
        result[n] = {key: statistics.median(run[key] for run in runs[n]) for key in ("cold", "nochange")}
        # Each module run beside the floor run that followed it: the ratio of the pair, then their median.
        result[n]["ratio"] = statistics.median(run["cold"] / floor for run, floor in zip(runs[n], floors[n]))
        result[n]["maxrss_kb"] = max(run["maxrss_kb"] for run in runs[n])
        result[n]["floor"] = statistics.median(floors[n])
        result[n]["floor_ipv6_off"] = statistics.median(floors_v4[n])
        result[n]["floor_iproute"] = statistics.median(floors_iproute[n])
    return result


def naive_time(n):
    with sandboxed():
        wall, changed, _failed = playbook(cases.naive(n))
    return wall


def loop_times(n, repeat):
    """Whole-playbook seconds for loops of 1 and n items of each kind: the
    kinds take turns, ``repeat`` rounds, each run on an idle machine; medians
    (one round of each, one after the other, moved with the machine's load
    by more than the target's margin)."""
    runs = {}
    for _round in range(repeat):
        for kind, make in (("veth", cases.veth_loop), ("true", cases.true_loop)):
            for count in ((1, n) if n > 1 else (n,)):
                settle()
                with sandboxed():
                    runs.setdefault("%s_%d" % (kind, count), []).append(playbook(make(count))[0])
    return {key: statistics.median(times) for key, times in runs.items()}


SITE = os.path.join(ROOT, "playbooks", "site.yml")
TEARDOWN = os.path.join(ROOT, "playbooks", "teardown.yml")
# playbooks/group_vars/lab_nodes.yml gives node i the IPv4 subnet
# 198.51.100.<32(i-1)>/27 inside the cluster's 198.51.100.0/24: 8 nodes at most.
FLEET_MAX = 8
PING = [{"name": "ping", "hosts": "lab_nodes", "gather_facts": False,
         "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}]
LAB_TIMEOUT = 600
SITE_TIMEOUT = 1800
PING_TIMEOUT = 300


def _fleet_env(tmp):
    """ansible-playbook's environment for the lab and its nodes: no interpreter
    pinned (the nodes find their own Python; localhost gets the controller's
    from tests/controller.yml), the lab's host key checking left on."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-local"), ANSIBLE_NOCOLOR="1",
               # A path under /tmp: on this machine, this run's; on a node, in its own /tmp.
               ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "ansible-remote"),
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
               ANSIBLE_PYTHON_INTERPRETER="auto_silent")
    env.pop("ANSIBLE_HOST_KEY_CHECKING", None)
    # What the Makefile exports (mk/lab.mk), for a run outside make.
    for name, default in (("NETPLUMB_LAB_PACKAGES", os.path.join(ROOT, ".build", "lab-packages")),
                          ("NETPLUMB_LAB_LAYER_CACHE", os.path.join(ROOT, ".build", "lab-layers"))):
        env[name] = env.get(name) or default
    return env


_TICK = os.sysconf("SC_CLK_TCK")


def _node_cpu(state):
    """CPU seconds of the lab's nodes so far: every process of each node's
    tree, with the children it reaped (so what ran and exited counts once)."""
    if state is None:
        return 0.0
    roots = set(lab_state.find_nodes(state).values())
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(x) for x in fields[11:15])
    total = 0
    for pid, ticks in times.items():
        seen, walk = 0, pid
        while walk not in roots and walk in parents and seen < 64:
            walk, seen = parents[walk], seen + 1
        if walk in roots:
            total += ticks
    return total / _TICK


def _ansible_playbook(args, env, timeout, state=None):
    """ansible-playbook ``args``; (wall seconds, the json callback's output). Raises on failure.
    With the lab's ``state``, the run's CPU seconds (controller, nodes) go into the output as "cpu"."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    nodes_before = _node_cpu(state)
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook")] + list(args), capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {"controller": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
           "nodes": _node_cpu(state) - nodes_before}
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        data = {}
    if proc.returncode != 0:
        raise RuntimeError("ansible-playbook %s failed (%d): %s %s" % (
            " ".join(args), proc.returncode, _failures(data) or proc.stdout[-3000:], proc.stderr[-2000:]))
    data["cpu"] = cpu
    return wall, data


def _failures(data):
    return ["%s: %s: %s" % (host, task["task"]["name"], result.get("msg", ""))
            for play in data.get("plays", []) for task in play["tasks"]
            for host, result in task["hosts"].items() if result.get("failed") or result.get("unreachable")]


def _when(stamp):
    return datetime.datetime.fromisoformat(stamp.rstrip("Z")).timestamp()


def _span(duration):
    return _when(duration["end"]) - _when(duration["start"]) if "end" in duration else 0.0


# Actions that run on the controller only: no connection to a node.
CONTROLLER_ACTIONS = {"ansible.builtin.set_fact", "set_fact", "ansible.builtin.assert", "assert",
                      "ansible.builtin.debug", "debug", "ansible.builtin.fail", "fail", "ansible.builtin.meta",
                      "meta", "ansible.builtin.include_tasks", "include_tasks", "ansible.builtin.import_tasks",
                      "ansible.builtin.include_role", "include_role", "ansible.builtin.add_host", "add_host",
                      "ansible.builtin.group_by", "group_by", "ansible.builtin.include_vars", "include_vars",
                      "ansible.builtin.validate_argument_spec", "validate_argument_spec"}


def _module_runs(result):
    """Module runs on the node in one host's result of a task (loop items counted)."""
    if result.get("action") in CONTROLLER_ACTIONS or result.get("probed") is False:
        return 0  # on the controller only (node_prereqs reusing the run's probe too)
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    return sum(1 for item in items if isinstance(item, dict) and not item.get("skipped"))


def run_summary(wall, data, slowest=8):
    """A fleet run: wall time, changed count, and where the time went (the json
    callback's task durations: with the linear strategy a task's span runs from
    its start to the last host's result, so the spans add up to the plays)."""
    stats = data.get("stats", {})
    spans = []
    for play in data.get("plays", []):
        for task in play["tasks"]:
            results = list(task["hosts"].values())
            spans.append({"name": task["task"]["name"], "seconds": _span(task["task"]["duration"]),
                          "ran": any(not result.get("skipped") for result in results),
                          "module_runs": sum(_module_runs(result) for result in results)})
    hosts = max(len(stats), 1)
    slots = sum(len(task["hosts"]) for play in data.get("plays", []) for task in play["tasks"])
    return {"wall": wall, "changed": sum(s.get("changed", 0) for s in stats.values()),
            "slots_per_node": slots / hosts, "cpu": data.get("cpu", {}),
            "failures": sum(s.get("failures", 0) + s.get("unreachable", 0) for s in stats.values()),
            "hosts": len(stats), "tasks": len(spans), "tasks_run": sum(1 for span in spans if span["ran"]),
            "in_plays": sum(_span(play["play"]["duration"]) for play in data.get("plays", [])),
            "in_tasks": sum(span["seconds"] for span in spans),
            "in_module_tasks": sum(span["seconds"] for span in spans if span["module_runs"]),
            "module_runs_per_node": sum(span["module_runs"] for span in spans) / hosts,
            "slowest": [[span["name"], span["seconds"], span["module_runs"] / hosts]
                        for span in sorted(spans, key=lambda span: -span["seconds"])[:slowest]]}


def _layer_built(data):
    """True when the lab's 'up' (netplumb.linux.lab_node) reported building the provisioned layer (no cached one)."""
    for play in data.get("plays", []):
        for task in play["tasks"]:
            for result in task["hosts"].values():
                operations = result.get("operations") if isinstance(result, dict) else None
                if isinstance(operations, list) and any(str(op).startswith("provisioned layer") for op in operations):
                    return True
    return False


def _lab_gone(state, lab, env):
    """Tear the lab in ``state`` down (the role with lab_state=absent; timed),
    then make sure: the lab's cli.py down, and SIGKILL for any of this lab's nodes
    still found (bounded wait). Returns the role's seconds (None if it failed)
    and the pids of this lab's nodes still there after all that."""
    seconds = None
    try:
        seconds = _ansible_playbook(lab + ["-e", "lab_state=absent"], env, LAB_TIMEOUT)[0]
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log("fleet: teardown through the role failed, falling back to the lab's cli.py down: %s" % str(exc)[:500])
    if lab_state.find_nodes(state) or os.path.isdir(state):
        subprocess.run([sys.executable, "-I", LAB_CLI, "down", "--state-dir", state],
                       capture_output=True, timeout=120, check=False)
    left = list(lab_state.find_nodes(state).values())
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not lab_state.gone(pid)]
        time.sleep(0.1)
    if left:
        log("fleet: lab processes still there after SIGKILL: %s" % left)
    return seconds, left


class _Lab:
    """A lab of ``nodes`` fresh SSH nodes (playbooks/lab.yml) in the sandbox
    and temporary directory of the process that holds it."""

    def __init__(self, nodes, site, tmp):
        self.nodes, self.site = nodes, site
        self.state = os.path.join(tmp, "lab")
        self.env = _fleet_env(tmp)
        self.ping = os.path.join(tmp, "ping.yml")
        with open(self.ping, "w") as handle:
            yaml.safe_dump(PING, handle)
        self.lab = ["-i", CONTROLLER_INVENTORY, LAB, "-e", "lab_state_dir=%s" % self.state,
                    "-e", "lab_node_count=%d" % nodes]
        self.inventory = ["-i", os.path.join(self.state, "inventory.yml"), "-f", str(nodes)]

    def up(self):
        """The lab's build: (seconds, whether it built the provisioned layer)."""
        seconds, data = _ansible_playbook(self.lab, self.env, LAB_TIMEOUT)
        return seconds, _layer_built(data)

    def run(self, what, *extra):
        """run_summary of the site playbook ("site"), the roles' undo
        ("teardown") or the one-ping playbook ("ping") on the lab's nodes."""
        if what == "teardown":
            return run_summary(*_ansible_playbook(self.inventory + [TEARDOWN, "--limit", "lab_nodes"], self.env,
                                                  SITE_TIMEOUT))
        play, timeout = (self.site, SITE_TIMEOUT) if what == "site" else (self.ping, PING_TIMEOUT)
        return run_summary(*_ansible_playbook(self.inventory + [play] + list(extra), self.env, timeout, self.state))

    def close_masters(self):
        lab_ssh.close_masters(self.state)

    def down(self):
        return _lab_gone(self.state, self.lab, self.env)


def _serve_lab(nodes, site, conn):
    """The child of a LabServer: a sandbox of its own, its lab, and the
    calls of the parent answered until it sends None; the lab goes in the end."""
    with sandboxed(), tempfile.TemporaryDirectory(prefix="netplumb-bench-fleet-") as tmp:
        lab, gone = _Lab(nodes, site, tmp), False
        try:
            while True:
                call = conn.recv()
                if call is None:
                    break
                name, args = call
                try:
                    conn.send((True, getattr(lab, name)(*args)))
                    gone = gone or name == "down"
                except Exception as exc:  # pylint: disable=broad-except  # the parent raises it
                    conn.send((False, "%s: %s" % (type(exc).__name__, exc)))
        finally:
            if not gone:
                lab.down()


class LabServer:
    """A lab in a sandbox of its own, held by a child process: labs of
    several sizes stay up together, so the runs that their figures compare
    (no change, ping) take turns in the same minutes rather than minutes
    apart, with the machine's drift in between."""

    def __init__(self, nodes, site):
        context = multiprocessing.get_context("fork")
        self.nodes = nodes
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_serve_lab, args=(nodes, site, child))
        self._proc.start()
        child.close()

    def _call(self, name, *args):
        self._conn.send((name, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError("lab of %d node(s), %s: %s" % (self.nodes, name, value))
        return value

    def up(self):
        return self._call("up")

    def run(self, what, *extra):
        return self._call("run", what, *extra)

    def close_masters(self):
        return self._call("close_masters")

    def down(self):
        return self._call("down")

    def close(self):
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._proc.join(timeout=LAB_TIMEOUT)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=10)


def fleet_prepare(lab, site=SITE, repeat=2):
    """On a new lab (timed): ``site`` (playbooks/site.yml) for the first
    time (the roles install their prerequisites through apt inside each
    node), then the roles' undo; then ``repeat`` times check mode, and
    ``repeat`` times the cold run with the roles' undo between (the fastest
    of each is its figure), each on an idle machine."""
    nodes = lab.nodes
    result = {"nodes": nodes, "load_before": os.getloadavg()[0]}
    log("fleet: lab of %d node(s)" % nodes)
    result["lab_up"], result["layer_built"] = lab.up()
    log("fleet: %d node(s), %s first run (the prerequisites installed)" % (nodes, os.path.basename(site)))
    result["site_first"] = lab.run("site")
    if site == SITE:
        # The roles' undo: nodes that have the prerequisites and no network, what a fleet's cold run meets.
        lab.run("teardown")
    log("fleet: %d node(s), %s check mode, then cold" % (nodes, os.path.basename(site)))
    # Each run starts on an idle machine: the kernel's work on the
    # nodes' new links and namespaces (IPv6 starting, packets
    # between the nodes) runs in softirq context and is charged to
    # whatever process runs then, the next run's own among them.
    # Check mode changes nothing: it runs ``repeat`` times, the fastest is its figure.
    checks = []
    for _rep in range(repeat):
        settle()
        checks.append(lab.run("site", "--check"))
    result["site_check"] = dict(min(checks, key=lambda run: run["wall"]))
    # The cold run too, the roles' undo between: one run alone moves by a fifth with the machine.
    colds = []
    for rep in range(repeat):
        if rep and site == SITE:
            lab.run("teardown")
        settle()
        colds.append(lab.run("site"))
    result["site_cold"] = dict(min(colds, key=lambda run: run["wall"]))
    result["site_cold_runs"] = colds
    return result


def fleet_times(sizes, site=SITE, repeat=2):
    """A lab of each node count, all up together (LabServer), smallest
    first: fleet_prepare on each; then ``repeat`` rounds in which every lab
    in turn runs ``site`` with nothing to change and the one-ping playbook,
    ssh masters open (the fastest of each is its figure; its CPU seconds by
    the same rule, each side); then on each the ping once more after closing
    the masters (first contact: ssh connection and interpreter discovery).
    The labs are torn down in the end (timed), also on failure."""
    labs, results = {}, {}
    try:
        for nodes in sorted(sizes):
            labs[nodes] = LabServer(nodes, site)
            results[nodes] = fleet_prepare(labs[nodes], site, repeat)
        for key in ("site_nochange", "ping"):
            for result in results.values():
                result[key + "_runs"] = []
        for rep in range(repeat):
            for nodes, lab in sorted(labs.items()):
                for key, what in (("site_nochange", "site"), ("ping", "ping")):
                    settle()
                    log("fleet: %d node(s), %s (%d/%d)" % (nodes, key, rep + 1, repeat))
                    results[nodes][key + "_runs"].append(lab.run(what))
        for nodes, lab in sorted(labs.items()):
            result = results[nodes]
            for key in ("site_nochange", "ping"):
                # The fastest: the run least disturbed by other work on the machine; its CPU
                # seconds by the same rule, side by side (the least of the runs, each side).
                result[key] = dict(min(result[key + "_runs"], key=lambda run: run["wall"]))
                result[key]["cpu"] = dict((side, min(run["cpu"].get(side, 0.0) for run in result[key + "_runs"]))
                                          for side in ("controller", "nodes"))
            lab.close_masters()
            log("fleet: %d node(s), ping on first contact" % nodes)
            result["ping_first"] = lab.run("ping")
            result["load_after"] = os.getloadavg()[0]
    finally:
        for nodes, lab in sorted(labs.items()):
            log("fleet: tearing down the lab of %d node(s)" % nodes)
            try:
                if nodes in results:
                    results[nodes]["lab_down"], results[nodes]["left"] = lab.down()
            finally:
                lab.close()
    return results


def _counts(text, what, example, top, why):
    """'none' -> [], or the sorted counts of ``text`` ('1,4,8'), each 1..``top``."""
    if text == "none":
        return []
    try:
        sizes = sorted({int(x) for x in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError("%r: %s counts like %s, or none" % (text, what, example))
    if not sizes or sizes[0] < 1 or sizes[-1] > top:
        raise argparse.ArgumentTypeError("%r: %s counts from 1 to %d (%s)" % (text, what, top, why))
    return sizes


def parse_growth(text):
    """--growth: 'none', or container counts like '100,1000' (each 1..1000)."""
    return _counts(text, "container", "100,1000", 1000, cases.GROWTH_NET)


def parse_fleet(text):
    """--fleet: 'none', or node counts like '1,4,8' (each 1..FLEET_MAX)."""
    return _counts(text, "node", "1,4,8", FLEET_MAX, "site.yml's lab layout gives each node a /27 of 198.51.100.0/24")


_UTILS = "from ansible_collections.netplumb.linux.plugins.module_utils."
_VETH = "import ansible.module_utils.basic; %score import runner; %slink import veth" % (_UTILS, _UTILS)
IMPORTS = (
    ("python", "pass"),
    ("+ ansible.module_utils.basic", "import ansible.module_utils.basic"),
    ("+ netplumb veth module_utils", _VETH),
    ("+ pyroute2 (what veth imported before it moved to the lean socket)", _VETH + "; from pyroute2 import IPRoute"),
    ("+ netplumb container_net module_utils", "import ansible.module_utils.basic; %score import runner; "
     "%scontainer_net import container_net" % (_UTILS, _UTILS)),
)


PAYLOADS = ("ansible.builtin.ping", "netplumb.linux.veth", "netplumb.linux.container_net", "netplumb.linux.node_network")


def payload_costs(repeat=3):
    """[module, seconds (median), bytes, seconds with the garbage collector
    paused (median)]: Ansible building each module's AnsiballZ payload on
    the controller, once per run (bench/payload.py), the two ways in turn."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    result = []
    for name in PAYLOADS:
        runs, paused = [], []
        for _unused in range(repeat):
            for options, into in (([], runs), (["--paused"], paused)):
                proc = subprocess.run([PYTHON, os.path.join(HERE, "payload.py")] + options + [name], env=env,
                                      capture_output=True, text=True, check=True, timeout=120)
                into.append(json.loads(proc.stdout))
        result.append([name, statistics.median(r["seconds"] for r in runs), runs[-1]["bytes"],
                       statistics.median(r["seconds"] for r in paused)])
    return result


def import_costs(repeat=5):
    """[label, seconds (median)] for a fresh Python importing what a module run
    imports, in the order of IMPORTS; then what node_network's run imports
    from its payload (Ansible's zip, as on a node), compiled and from the
    node's bytecode cache."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    result = []
    for label, code in IMPORTS:
        result.append([label, _median_run([PYTHON, "-c", code], env, repeat)])
    with tempfile.TemporaryDirectory() as tmp:
        payload = os.path.join(tmp, "payload.zip")
        subprocess.run([PYTHON, os.path.join(HERE, "payload.py"), "--zip", payload, "netplumb.linux.node_network"],
                       env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS), check=True, timeout=120)
        code = "import sys; sys.path.insert(0, %r); import ansible.module_utils.basic; %s" % (
            payload, "; ".join(_NETPLUMB_IMPORT.findall(_module_source("netplumb.linux.node_network"))))
        node = _node_env()
        cache = os.path.join(tmp, "bytecode")
        subprocess.run([PYTHON, "-c", code], env=dict(node, NETPLUMB_BYTECODE_CACHE=cache), check=True, timeout=60)
        for label, where in (("node_network's imports from its payload, compiled", "off"),
                             ("node_network's imports from its payload, netplumb's from the bytecode cache", cache)):
            result.append([label, _median_run([PYTHON, "-c", code], dict(node, NETPLUMB_BYTECODE_CACHE=where),
                                              repeat)])
    return result


def _median_run(argv, env, repeat):
    runs = []
    for _unused in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, timeout=60)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def _node_env():
    """The environment a module has on a node: none of this process's
    Python settings (PYTHONDONTWRITEBYTECODE would turn the bytecode cache's
    writes off, where a node's Python writes bytecode)."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}


def _module_source(module):
    with open(os.path.join(ROOT, "plugins", "modules", module.rsplit(".", 1)[1] + ".py")) as handle:
        return handle.read()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,50,200", help="container counts (default 10,50,200)")
    parser.add_argument("--naive", type=int, default=20, help="containers in the naive playbook (default 20)")
    parser.add_argument("--loop", type=int, default=50, help="items of the per-task loops (default 50)")
    parser.add_argument("--loop-repeat", type=int, default=3,
                        help="rounds of the per-task loops, the kinds taking turns (median; default 3)")
    parser.add_argument("--fleet", default="1,2,8", type=parse_fleet,
                        help="lab node counts for site.yml over SSH, or 'none' (default 1,2,8; at most %d)"
                        % FLEET_MAX)
    parser.add_argument("--fleet-playbook", default=SITE,
                        help="the playbook the fleet runs against the ping one (default playbooks/site.yml)")
    parser.add_argument("--fleet-repeat", type=int, default=3,
                        help="runs of check mode and of the cold run per fleet, then rounds of the no-change and "
                             "ping playbooks across the fleets (default 3; fastest)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the in-process runs (median)")
    parser.add_argument("--playbook-repeat", type=int, default=9,
                        help="sandboxes of the container_net playbook runs per size (medians; default 9: check mode "
                             "on a cold node and the no-change run differ by tens of ms on the node, while one "
                             "sandbox's difference spread from -0.57 to +0.33 s here)")
    parser.add_argument("--shape-repeat", type=int, default=11,
                        help="turns of the shapes' whole-playbook runs (medians; default 11: the differences within one "
                             "turn spread over 3 ms per container here, three times the targets' 1 ms)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="at most this many seconds to wait for an idle machine before each in-process and growth "
                             "measurement (default 60; 0: no wait)")
    parser.add_argument("--growth", default="100,1000", type=parse_growth,
                        help="container counts of the growth runs (default 100,1000; at most 1000), or 'none'")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--doc", help="write the performance document here (docs/performance.md)")
    parser.add_argument("--plot", help="write the plot here (PNG; needs matplotlib)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root, inside tests/sandbox.sh (make bench)")
    sizes = [int(n) for n in args.sizes.split(",")]
    if max(sizes) > 240 or args.naive > 240:
        parser.error("at most 240 containers (one /24 of documentation addresses)")
    if args.fleet and not os.path.isfile(args.fleet_playbook):
        parser.error("--fleet-playbook %s: no such file" % args.fleet_playbook)

    SETTLE[0] = args.settle
    started = time.time()
    load_start = os.getloadavg()
    engine_times(1)  # imports and first-use costs out of the way
    machine = "%s, %d CPUs, Linux %s, Python %s" % (
        platform.machine(), os.cpu_count(), platform.release(), platform.python_version())
    results = {"machine": machine, "sizes": sizes, "date": datetime.date.today().isoformat()}
    results["inprocess"] = side_by_side(sizes, args.repeat)
    results["playbook"] = {}
    for n in sizes:
        log("container_net playbook, n=%d" % n)
        results["playbook"][n] = playbook_times(n, args.playbook_repeat)
    log("shapes, n=%d" % max(sizes))
    results["shapes"] = dict(shape_times(max(sizes), args.shape_repeat), n=max(sizes))
    if args.growth:
        results["growth"] = growth_times(args.growth, args.repeat)
    log("naive playbook, n=%d" % args.naive)
    results["naive"] = {"n": args.naive, "seconds": naive_time(args.naive)}
    log("per-task loops, %d items" % args.loop)
    results["loop"] = dict(loop_times(args.loop, args.loop_repeat), n=args.loop)
    results["imports"] = import_costs(args.repeat)
    results["payloads"] = payload_costs(args.repeat)
    if args.fleet:
        playbook_path = os.path.abspath(args.fleet_playbook)
        results["fleet_playbook"] = (os.path.relpath(playbook_path, ROOT)
                                     if playbook_path.startswith(ROOT + os.sep) else playbook_path)
        results["fleet"] = fleet_times(args.fleet, playbook_path, args.fleet_repeat)
    results["duration"] = time.time() - started
    results["load"] = {"start": list(load_start), "end": list(os.getloadavg()), "settled": dict(SETTLED, seconds=SETTLE[0])}

    print(report.table(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1, sort_keys=True)
    if args.plot:
        if not report.plot(results, args.plot):
            log("matplotlib is not installed: no plot (make bench installs requirements-bench.txt)")
            args.plot = None
    if args.doc:
        report.write_doc(results, args.doc, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
