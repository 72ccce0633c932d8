"""The benchmark scripts of bench/ still run end to end (tiny sizes), and the
fleet part does on a tiny fleet: one lab node over SSH, with the one-ping
playbook standing in for site.yml (tests/integration/test_site_lab.py runs
site.yml on lab nodes), then its tables. Nothing here looks at the times:
tests carry no timing assertions."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from netplumb_testlib import PYTHON, ROOT, actions_found

sys.path.insert(0, os.path.join(ROOT, "bench"))

import report  # noqa: E402  pylint: disable=wrong-import-position
import run as bench  # noqa: E402  pylint: disable=wrong-import-position

BENCH = os.path.join(ROOT, "bench", "run.py")
_INPROCESS = {"floor": 1.0, "cold": 1.0, "check_cold": 1.0, "nochange": 1.0, "check_nochange": 1.0,
              "module_check_cold": 1.0, "module_nochange": 1.0, "cold_unverified": 1.0,
              "readback": 0.1, "readback_ratio": 1.1, "one_more": 0.1, "one_more_readback": 0.01}
_PLAYBOOK = {"cold": 1.0, "check_cold": 1.0, "nochange": 1.0}


def test_bench_runs_and_writes_its_report(sandbox, tmp_path):
    results, doc = tmp_path / "bench.json", tmp_path / "performance.md"
    proc = subprocess.run([PYTHON, BENCH, "--sizes", "2", "--naive", "1", "--loop", "1", "--fleet", "none",
                           "--growth", "2,3", "--repeat", "1", "--playbook-repeat", "1", "--shape-repeat", "1",
                           "--loop-repeat", "1",
                           "--settle", "0",
                           "--json", str(results), "--doc", str(doc)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Targets:" in proc.stdout
    data = json.loads(results.read_text())
    assert set(data["inprocess"]["2"]) == {"floor", "cold", "check_cold", "nochange", "check_nochange",
                                           "module_check_cold", "module_nochange", "cold_unverified", "readback",
                                           "readback_ratio", "one_more", "one_more_readback"}
    assert set(data["playbook"]["2"]) == {"cold", "check_cold", "nochange", "runs"}
    assert data["naive"]["n"] == 1 and set(data["loop"]) == {"veth_1", "true_1", "n"}
    assert "| 2 |" in doc.read_text() and len(data["imports"]) == len(bench.IMPORTS) + 2
    assert [row[0] for row in data["payloads"]] == list(bench.PAYLOADS) and all(row[2] > 0 for row in data["payloads"])
    assert all(len(row) == 4 and row[3] > 0 for row in data["payloads"]), data["payloads"]
    assert set(data["shapes"]) == {"n", "node_network", "bridge + container_net"}, data["shapes"]
    assert set(data["shapes"]["node_network"]) == {"tasks", "nochange", "ansible", "imports", "ping", "paused", "runs"}
    assert set(data["shapes"]["node_network"]["runs"]) == {"nochange", "ansible", "imports", "ping", "paused"}
    assert "the collector paused as netplumb's actions pause it" in doc.read_text()
    shape = data["shapes"]["node_network"]
    # One repeat: the report's figure is that repeat's own difference.
    assert report._difference(shape, "nochange", "ansible") == shape["runs"]["nochange"][0] - shape["runs"]["ansible"][0]
    assert sorted(data["growth"]) == ["2", "3"]
    assert set(data["growth"]["3"]) == {"cold", "nochange", "maxrss_kb", "floor", "floor_ipv6_off",
                                        "floor_iproute", "ratio"}
    assert data["growth"]["3"]["ratio"] == data["growth"]["3"]["cold"] / data["growth"]["3"]["floor"]
    assert "Growth:" in doc.read_text() and "above them, per container" in doc.read_text()
    assert "fleet" not in data and "Fleet over SSH" not in doc.read_text()
    assert "load average" in doc.read_text()
    # Every measurement ran in a sandbox of its own: nothing is left in the test's.
    assert sandbox.netns_list() == [] and [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]


@pytest.mark.parametrize("fleet, message", [
    ("0", "node counts from 1 to 8"),
    ("9", "node counts from 1 to 8"),
    ("1,4,16", "node counts from 1 to 8"),
    ("8x50", "node counts like 1,4,8, or none"),
])
def test_bench_refuses_a_fleet_it_cannot_build(fleet, message):
    """Before measuring anything: site.yml's lab layout has room for 8 nodes."""
    proc = subprocess.run([PYTHON, BENCH, "--fleet", fleet], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_the_same_tasks_carry_the_same_arguments_into_the_do_nothing_module():
    for play in (bench.cases.node_network(3), bench.cases.container_net(3)):
        stand_in = bench.cases.same_tasks(play)
        assert [task["name"] for task in stand_in[0]["tasks"]] == [task["name"] for task in play[0]["tasks"]]
        for task, real in zip(stand_in[0]["tasks"], play[0]["tasks"]):
            assert not any(key.startswith("netplumb.") for key in task)
            module = bench.cases.module_of(real)
            assert task[bench.cases.stand_in_module(module)] == real[module]


def test_each_module_has_a_stand_in_of_its_own():
    """Ansible builds a payload per distinct module and run: bridge +
    container_net is two builds, and so must their stand-ins be."""
    two = bench.cases.container_net(3)
    modules = [bench.cases.module_of(task) for task in two[0]["tasks"]]
    stand_ins = [next(k for k in task if k != "name") for task in bench.cases.same_tasks(two)[0]["tasks"]]
    assert len(set(stand_ins)) == len(set(modules)) == 2
    library = os.path.join(ROOT, "bench", "library")
    for play in (bench.cases.node_network(3), two):
        for task in bench.cases.same_tasks(play)[0]["tasks"]:
            name = next(k for k in task if k != "name").rsplit(".", 1)[1]
            path = os.path.join(library, name + ".py")
            assert os.path.realpath(path) == os.path.join(library, "netplumb_bench_noop.py"), path


def _payload_netplumb_files(name, library):
    """The netplumb module_utils of module ``name``'s AnsiballZ payload, as Ansible builds it."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=bench.COLLECTIONS,
               ANSIBLE_LIBRARY=os.pathsep.join((os.path.join(ROOT, "bench", "library"), library)))
    proc = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "payload.py"), "--files", name], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [path for path in proc.stdout.split() if "/netplumb/" in path]


def test_the_paused_stand_ins_run_netplumb_s_module_action(tmp_path):
    """What the shapes' "the collector paused" columns measure: Ansible picks,
    for each stand-in, the action plugin bench/run.py writes, the one every
    netplumb module has (ModuleAction), and the stand-in's module."""
    modules = ["netplumb.linux.bridge", "netplumb.linux.container_net", "netplumb.linux.node_network"]
    bench.paused_actions(str(tmp_path), modules)
    names = [bench.cases.stand_in_module(module) for module in modules]
    found = actions_found(names, ANSIBLE_ACTION_PLUGINS=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=bench.COLLECTIONS)
    assert [found[name][1] for name in names] == [True] * len(names), found
    assert [found[name][0] for name in names] == [str(tmp_path / (name.rsplit(".", 1)[1] + ".py")) for name in names]


@pytest.mark.parametrize("module", ["netplumb.linux.bridge", "netplumb.linux.container_net",
                                    "netplumb.linux.node_network"])
def test_the_imports_stand_in_ships_the_module_utils_of_its_module(tmp_path, module):
    """What the shapes' "of which netplumb's code" column measures: the
    stand-in's payload carries the same netplumb module_utils as the module's."""
    bench.imports_library(str(tmp_path), [module])
    shipped = _payload_netplumb_files(bench.cases.stand_in_module(module, imports=True), str(tmp_path))
    assert shipped and shipped == _payload_netplumb_files(module, str(tmp_path))
    assert _payload_netplumb_files(bench.cases.stand_in_module(module), str(tmp_path)) == []


def test_bench_fleet_parses_node_counts():
    assert bench.parse_fleet("none") == []
    assert bench.parse_fleet("8,1,4,4") == [1, 4, 8]


def test_bench_fleet_on_ssh_nodes(sandbox, tmp_path):
    """fleet_times on labs of one and two nodes, up together, the ping
    playbook as the 'site': the labs are built and torn down, every run is
    summarised, the tables render."""
    site = tmp_path / "site.yml"
    site.write_text(yaml.safe_dump(bench.PING))
    fleet = bench.fleet_times([2, 1], site=str(site), repeat=1)
    assert sorted(fleet) == [1, 2]
    two = fleet[2]
    assert two["nodes"] == 2 and two["site_nochange"]["hosts"] == 2 and two["left"] == []
    one = fleet[1]
    assert one["nodes"] == 1 and one["lab_down"] is not None
    for key in ("site_first", "site_check", "site_cold", "site_nochange", "ping", "ping_first"):
        assert one[key]["hosts"] == 1 and one[key]["tasks"] == one[key]["tasks_run"] == 1, one[key]
        assert one[key]["module_runs_per_node"] == 1 and one[key]["changed"] == 0, one[key]
        assert one[key]["slots_per_node"] == 1 and one[key]["cpu"]["controller"] > 0, one[key]
    # The node's own processes ran the ping module: their CPU is counted.
    assert one["site_nochange"]["cpu"]["nodes"] > 0, one["site_nochange"]
    assert len(one["site_nochange_runs"]) == len(one["ping_runs"]) == len(one["site_cold_runs"]) == 1
    results = {"machine": "x86_64, 2 CPUs", "fleet": fleet, "fleet_playbook": str(site),
               "load": {"start": [0.5, 0, 0], "end": [0.5, 0, 0]}}
    lines = report.fleet_rows(results)
    assert "Fleet over SSH: site.yml on fresh lab nodes, forks = nodes, whole ansible-playbook runs (s):" in lines
    assert any(line.startswith("| 1 | ") for line in lines)
    assert any("task slots per node" in line for line in lines)
    names = [name for name, _measured, _holds in report.targets(
        dict(results, sizes=[2], inprocess={2: _INPROCESS}, playbook={2: _PLAYBOOK}, naive={"n": 1, "seconds": 1.0},
             loop={"n": 1, "veth_1": 1.0, "true_1": 1.0}))]
    assert "site.yml, 2 nodes no change: <= 4x the one-ping playbook" in names, names
    assert "fleet, no change: node CPU per node, 2 nodes <= 1.2x 1" in names, names
    # The labs are gone: none of their nodes is left, nothing in the test's sandbox.
    assert one["left"] == []
    assert sandbox.netns_list() == [] and [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]


@pytest.mark.parametrize("settled, start, says, not_said", [
    ({"waits": 12, "busy": 0, "seconds": 60.0}, 0.3, "went idle before each of the 12 measurements", "busy with"),
    ({"waits": 12, "busy": 3, "seconds": 60.0}, 0.3, "3 of the 12 waits for an idle machine", "went idle"),
    ({"waits": 12, "busy": 0, "seconds": 60.0}, 2.5, "loaded when the run started", "busy with"),
    (None, 0.3, "the 1-minute load average was 0.3", "idle"),
])
def test_the_load_text_tells_other_work_from_the_benchmark_s_own(settled, start, says, not_said):
    """A high load average at the end (the fleet's own nodes and forks) is not
    other work; waits for an idle machine that ended busy are."""
    load = {"start": [start, 0, 0], "end": [7.3, 0, 0]}
    if settled is not None:
        load["settled"] = settled
    text = report.load_text({"machine": "x86_64, 2 CPUs", "load": load})
    assert says in text and not_said not in text, text
