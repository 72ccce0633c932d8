"""netplumb benchmarks, in one go, inside a sandbox (make bench runs it under
tests/sandbox.sh): the naive playbook, the per-task module loop, container_net
(through ansible-playbook, and the engine's own time), the raw pyroute2 floor,
for n containers (cold, no change, check), and the fleet case on lab nodes.

Every measurement runs in a fresh network + mount namespace of its own
(netplumb_testlib.sandboxed). Prints a table of times and ratios; with
--doc/--plot writes docs/performance.md and its PNG. No timing is asserted.

    tests/sandbox.sh .venv/bin/python bench/run.py [--sizes 10,50,200] [--doc docs/performance.md]
"""

import argparse
import contextlib
import io
import json
import os
import platform
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
import report  # noqa: E402
from netplumb_testlib import COLLECTIONS, PYTHON, VENV_BIN, sandboxed  # noqa: E402

from ansible_collections.netplumb.linux.plugins.module_utils import container_net, engine  # noqa: E402

LAB = os.path.join(ROOT, "playbooks", "lab.yml")


def log(text):
    print(text, file=sys.stderr, flush=True)


def playbook(play, check=False, extra=(), timeout=1800):
    """Run ``play`` with ansible-playbook; (wall seconds, changed count, failed count)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(play, handle)
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % PYTHON, path] + (["--check"] if check else []) + list(extra)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
                   ANSIBLE_HOST_KEY_CHECKING="0")
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        wall = time.perf_counter() - start
    stats = _stats(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError("playbook failed (%d): %s %s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-2000:]))
    return wall, sum(s.get("changed", 0) for s in stats.values()), sum(s.get("failures", 0) for s in stats.values())


def _stats(stdout):
    try:
        return json.loads(stdout[stdout.index("{"):]).get("stats", {})
    except ValueError:
        return {}


def _bridge(box):
    box.ip("link", "add", cases.BRIDGE, "type", "bridge")
    box.ip("addr", "add", "%s/%d" % (cases.GATEWAY, cases.PLEN), "dev", cases.BRIDGE)
    box.ip("link", "set", cases.BRIDGE, "up")


def _timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def module_run(params, check=False):
    """The module's main() in this process, as AnsiballZ runs it once Python and
    Ansible are loaded: argument checks, the engine, the JSON result."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    from ansible_collections.netplumb.linux.plugins.modules import container_net as module
    args = dict(params, _ansible_check_mode=check, _ansible_diff=False)
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    basic._ANSIBLE_PROFILE = "legacy"  # what ansible-core 2.19 hands modules by default
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - start
    result = json.loads(out.getvalue())
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    return elapsed, result


def _median_of(count, call):
    runs = [_timed(call) for _unused in range(count)]
    return statistics.median(seconds for seconds, _result in runs), runs[-1][1]


def engine_times(n):
    """container_net in process: the engine (what the module runs) on a cold
    node in check mode, the real cold run, the no-change run, check mode with
    no change; and the module's main() (argument checks and JSON result on
    top) for the no-change run and check mode on a cold node."""
    params = {"bridge": cases.BRIDGE, "gateway": cases.GATEWAY, "containers": cases.containers(n)}
    with sandboxed() as box:
        _bridge(box)
        module_check, checked = module_run(params, check=True)
        check, predicted = _timed(lambda: engine.run(container_net, params, check_mode=True))
        cold, real = _timed(lambda: engine.run(container_net, params))
        # The no-change runs follow the cold one at once, while the kernel
        # still finishes the new links' work: three in a row, the median.
        same, again = _median_of(3, lambda: engine.run(container_net, params))
        check_same, _unused = _median_of(3, lambda: engine.run(container_net, params, check_mode=True))
        module_same, unchanged = module_run(params)
    assert predicted.operations == real.operations == checked["operations"] and real.changed
    assert not again.changed and not unchanged["changed"]
    return {"check_cold": check, "cold": cold, "nochange": same, "check_nochange": check_same,
            "module_check_cold": module_check, "module_nochange": module_same}


def floor_time(n):
    with sandboxed():
        return floor.build(n)


def side_by_side(sizes, repeat):
    """Engine and floor alternately, ``repeat`` times each size; medians."""
    engine_runs = {n: [] for n in sizes}
    floor_runs = {n: [] for n in sizes}
    for rep in range(repeat):
        for n in sizes:
            log("engine and floor, n=%d (%d/%d)" % (n, rep + 1, repeat))
            engine_runs[n].append(engine_times(n))
            floor_runs[n].append(floor_time(n))
    result = {}
    for n in sizes:
        keys = engine_runs[n][0].keys()
        result[n] = {key: statistics.median(run[key] for run in engine_runs[n]) for key in keys}
        result[n]["floor"] = statistics.median(floor_runs[n])
    return result


def playbook_times(n):
    with sandboxed():
        check = playbook(cases.container_net(n), check=True)
        cold = playbook(cases.container_net(n))
        same = playbook(cases.container_net(n))
    assert check[1] == 2 and cold[1] == 2 and same[1] == 0, (check, cold, same)
    return {"check_cold": check[0], "cold": cold[0], "nochange": same[0]}


def naive_time(n):
    with sandboxed():
        wall, changed, _failed = playbook(cases.naive(n))
    return wall


def loop_times(n):
    """Whole-playbook seconds for loops of 1 and n items of each kind."""
    result = {}
    for kind, make in (("veth", cases.veth_loop), ("true", cases.true_loop)):
        for count in ((1, n) if n > 1 else (n,)):
            with sandboxed():
                result["%s_%d" % (kind, count)] = playbook(make(count))[0]
    return result


def fleet_times(nodes, per_node):
    """Lab nodes (playbooks/lab.yml), then container_net on 1 node and on all, forks = nodes."""
    result = {}
    with sandboxed(), tempfile.TemporaryDirectory() as state:
        lab_args = ["-e", "lab_state_dir=%s" % state, "-e", "lab_node_count=%d" % nodes, "-e", "lab_python=%s" % PYTHON]
        try:
            log("fleet: building %d lab nodes" % nodes)
            subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                            "-e", "ansible_python_interpreter=%s" % PYTHON, LAB] + lab_args,
                           env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS), check=True,
                           capture_output=True, timeout=600)
            inventory = ["-i", os.path.join(state, "inventory.yml"), "-f", str(nodes)]
            log("fleet: 1 node x %d" % per_node)
            result["one_cold"] = playbook(cases.container_net(per_node, hosts="node1"), extra=inventory)[0]
            result["one_nochange"] = playbook(cases.container_net(per_node, hosts="node1"), extra=inventory)[0]
            playbook(cases.container_net(per_node, hosts="node1", state="absent"), extra=inventory)
            log("fleet: %d nodes x %d, forks %d" % (nodes, per_node, nodes))
            result["all_cold"] = playbook(cases.container_net(per_node, hosts="lab_nodes"), extra=inventory)[0]
            result["all_nochange"] = playbook(cases.container_net(per_node, hosts="lab_nodes"), extra=inventory)[0]
        finally:
            subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                            "-e", "ansible_python_interpreter=%s" % PYTHON, LAB, "-e", "lab_state=absent"] + lab_args,
                           env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS), check=False,
                           capture_output=True, timeout=600)
    result.update(nodes=nodes, per_node=per_node)
    return result


IMPORTS = (
    ("python", "pass"),
    ("+ ansible.module_utils.basic", "import ansible.module_utils.basic"),
    ("+ netplumb veth module_utils", "import ansible.module_utils.basic; "
     "from ansible_collections.netplumb.linux.plugins.module_utils import runner, veth"),
    ("+ pyroute2 (what veth imported before it moved to the lean socket)", "import ansible.module_utils.basic; "
     "from ansible_collections.netplumb.linux.plugins.module_utils import runner, veth; from pyroute2 import IPRoute"),
    ("+ netplumb container_net module_utils", "import ansible.module_utils.basic; "
     "from ansible_collections.netplumb.linux.plugins.module_utils import runner, container_net"),
)


def import_costs(repeat=5):
    """Seconds (median) for a fresh Python to import what a module run imports."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    result = {}
    for label, code in IMPORTS:
        runs = []
        for _unused in range(repeat):
            start = time.perf_counter()
            subprocess.run([PYTHON, "-c", code], env=env, check=True, timeout=60)
            runs.append(time.perf_counter() - start)
        result[label] = statistics.median(runs)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,50,200", help="container counts (default 10,50,200)")
    parser.add_argument("--naive", type=int, default=20, help="containers in the naive playbook (default 20)")
    parser.add_argument("--loop", type=int, default=50, help="items of the per-task loops (default 50)")
    parser.add_argument("--fleet", default="8x50", help="NODESxCONTAINERS, or 'none' (default 8x50)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the in-process runs (median)")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--doc", help="write the performance document here (docs/performance.md)")
    parser.add_argument("--plot", help="write the plot here (PNG; needs matplotlib)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root, inside tests/sandbox.sh (make bench)")
    sizes = [int(n) for n in args.sizes.split(",")]
    if max(sizes) > 240 or args.naive > 240:
        parser.error("at most 240 containers (one /24 of documentation addresses)")

    started = time.time()
    engine_times(1)  # imports and first-use costs out of the way
    machine = "%s, %d CPUs, Linux %s, Python %s" % (
        platform.machine(), os.cpu_count(), platform.release(), platform.python_version())
    results = {"machine": machine, "sizes": sizes}
    results["inprocess"] = side_by_side(sizes, args.repeat)
    results["playbook"] = {}
    for n in sizes:
        log("container_net playbook, n=%d" % n)
        results["playbook"][n] = playbook_times(n)
    log("naive playbook, n=%d" % args.naive)
    results["naive"] = {"n": args.naive, "seconds": naive_time(args.naive)}
    log("per-task loops, %d items" % args.loop)
    results["loop"] = dict(loop_times(args.loop), n=args.loop)
    results["imports"] = import_costs(args.repeat)
    if args.fleet != "none":
        nodes, per_node = (int(x) for x in args.fleet.split("x"))
        results["fleet"] = fleet_times(nodes, per_node)
    results["duration"] = time.time() - started

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
