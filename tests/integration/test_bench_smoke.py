"""The benchmark scripts of bench/ still run end to end (tiny sizes, no fleet).
Nothing here looks at the times: tests carry no timing assertions."""

import json
import os
import subprocess

from netplumb_testlib import PYTHON, ROOT


def test_bench_runs_and_writes_its_report(sandbox, tmp_path):
    results, doc = tmp_path / "bench.json", tmp_path / "performance.md"
    proc = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "run.py"), "--sizes", "2", "--naive", "1",
                           "--loop", "1", "--fleet", "none", "--repeat", "1", "--json", str(results),
                           "--doc", str(doc)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Targets:" in proc.stdout
    data = json.loads(results.read_text())
    assert set(data["inprocess"]["2"]) == {"floor", "cold", "check_cold", "nochange", "check_nochange",
                                           "module_check_cold", "module_nochange"}
    assert set(data["playbook"]["2"]) == {"cold", "check_cold", "nochange"}
    assert data["naive"]["n"] == 1 and set(data["loop"]) == {"veth_1", "true_1", "n"}
    assert "| 2 |" in doc.read_text() and len(data["imports"]) == 5
    # Every measurement ran in a sandbox of its own: nothing is left in the test's.
    assert sandbox.netns_list() == [] and [link["ifname"] for link in sandbox.ipj("link", "show")] == ["lo"]
