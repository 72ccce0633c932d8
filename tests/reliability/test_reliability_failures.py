"""Partial failure rolls back, and the supply chain.

Each partial-failure case makes an operation fail half way through a plan;
the call must fail with a clear error and leave the node exactly as before
(no link, address, file or temp file of the attempt left). node_network's
whole-node rollback is tried at every operation of a cold run: the k-th
operation the apply gate starts fails (NETPLUMB_TEST_FAIL_AT=k, with EIO), for
each k of the plan, each in a fresh sandbox; the module must fail naming that
operation, undo all before it without a rollback error, leave the node as it
was, and the next run must make the whole plan. The supply-chain
test converges the scenario with umask 0 and checks modes and owners, that no
world-writable file or directory appeared, and that a password in a source
URL is never printed. (Checksums, URLs without one and archive member attacks
are in the bad-input corpus; their detailed messages in
tests/integration/test_cni_install.py.)"""

import os
import subprocess

import pytest

import scenario
from cni_fixtures import CHAIN, REFERENCE, cni_archives, http_archives  # pylint: disable=unused-import # noqa: F401
from converge import run_steps
from netplumb_testlib import descriptions, resource, sandboxed
from reliability_lib import (moved, node_state, normalized, record, run_module, run_module_forked, stray_files,
                             world_writable)

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint, engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError

_RESULTS = {}


def _mount(*argv):
    subprocess.run(["mount"] + list(argv), check=True, capture_output=True, timeout=10)


def _refused_address(box):
    """The new veth end refuses IPv6 (disable_ipv6 for new links): the pair is
    created, its IPv4 address added, then the IPv6 address fails."""
    box.ip("netns", "add", "c1")
    subprocess.run(["ip", "netns", "exec", "c1", "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                   check=True, timeout=10)
    return "veth", {"name": "eth0", "netns": "c1", "peer": "veth-c1",
                    "addresses": ["198.51.100.11/24", "2001:db8::11/64"]}


def _foreign_kind(box):
    """The peer's name is taken in the host by a bridge (another kind of link)."""
    box.ip("netns", "add", "c1")
    box.ip("link", "add", "veth-c1", "type", "bridge")
    return "veth", {"name": "eth0", "netns": "c1", "peer": "veth-c1", "addresses": ["198.51.100.11/24"]}


def _full_bin_dir(box):
    """A bin dir with room for about one plugin: the second write fails."""
    os.makedirs("/opt/cni/bin")
    size = os.path.getsize(os.path.join(REFERENCE, "bridge"))
    _mount("-t", "tmpfs", "-o", "size=%dk" % (size // 1024 + 64), "tmpfs", "/opt/cni/bin")
    return "cni_install", {"src": REFERENCE, "plugins": list(CHAIN)}


def _full_conf_dir(box):
    """A conf dir (one page of tmpfs) already full with another network's config."""
    os.makedirs("/etc/cni/net.d")
    _mount("-t", "tmpfs", "-o", "size=4k", "tmpfs", "/etc/cni/net.d")
    with open("/etc/cni/net.d/05-other.conflist", "wb") as handle:
        handle.write(b"{}" + b" " * 4000)
    return "cni_config", {"name": "pods", "config": scenario.CONFLIST, "validate": False}


def _read_only_bin_dir(box):
    """The bin dir holds an old plugin and is mounted read-only."""
    os.makedirs("/opt/cni/bin")
    with open("/opt/cni/bin/bridge", "wb") as handle:
        handle.write(b"#!/bin/sh\nold bridge\n")
    os.chmod("/opt/cni/bin/bridge", 0o755)
    _mount("--bind", "/opt/cni/bin", "/opt/cni/bin")
    _mount("-o", "remount,bind,ro", "/opt/cni/bin")
    return "cni_install", {"src": REFERENCE, "plugins": list(CHAIN)}


CASES = {"address refused half way": _refused_address, "name taken by another kind of link": _foreign_kind,
         "bin dir full after one plugin": _full_bin_dir, "conf dir full": _full_conf_dir,
         "read-only bin dir": _read_only_bin_dir}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failure_half_way_leaves_the_node_as_before(sandbox, name):
    module, params = CASES[name](sandbox)
    before = normalized(node_state(sandbox))
    with pytest.raises(NetplumbError) as failure:
        engine.run(resource(module), params)
    after = normalized(node_state(sandbox))
    ok = after == before and not stray_files() and "Traceback" not in str(failure.value)
    _RESULTS[name] = ok
    record("partial_failure", name, tried=1, rolled_back=int(ok), message=str(failure.value)[:200])
    assert after == before
    assert stray_files() == []


def _fail_at(k, planned, clean):
    """A fresh node with its uplink; node_network's cold run with its k-th
    operation failing, then a plain rerun. Returns what went wrong (a list of
    reasons, empty when all is right) and how many undo operations ran."""
    with sandboxed() as box:
        scenario.node_uplink(box)
        before = normalized(node_state(box))
        run = run_module_forked("node_network", scenario.NODE, env={crashpoint.FAIL_AT: str(k)})
        after = normalized(node_state(box))
        result, wrong = run.result, []
        if run.rc == 0 or not result.get("failed"):
            wrong.append("did not fail (rc %s)" % run.rc)
        elif "fails on purpose" not in result.get("msg", ""):
            wrong.append("failed for another reason: %s" % result.get("msg"))
        if (result.get("failed_operation") or {}).get("description") != planned[k - 1]:
            wrong.append("failed_operation is %r" % result.get("failed_operation"))
        if k > 1 and not result.get("rolled_back"):
            wrong.append("rolled_back is empty")
        for key in ("rollback_errors", "not_undone"):
            if result.get(key):
                wrong.append("%s: %s" % (key, result[key]))
        if after != before:
            wrong.append("the node changed: %s" % (moved(before, after) + moved(after, before))[:20])
        if stray_files() or "Traceback" in run.stdout + run.stderr:
            wrong.append("temp files %s or a traceback" % stray_files())
        rerun = run_module_forked("node_network", scenario.NODE)
        if rerun.rc != 0 or descriptions(rerun.result) != planned:
            wrong.append("the rerun did not make the plan: rc %s, %s" % (rerun.rc, rerun.result.get("msg")))
        elif normalized(node_state(box)) != clean:
            wrong.append("the rerun differs from a clean run: %s" % moved(clean, normalized(node_state(box)))[:20])
        return wrong, len(result.get("rolled_back") or [])


def test_node_network_rolls_the_whole_node_back_at_every_operation_of_a_cold_run():
    with sandboxed() as box:
        scenario.node_uplink(box)
        check = run_module_forked("node_network", scenario.NODE, check_mode=True)
        assert check.rc == 0 and check.result.get("changed"), check
        real = run_module_forked("node_network", scenario.NODE)
        assert real.rc == 0 and descriptions(real.result) == descriptions(check.result), real
        clean = normalized(node_state(box))
    planned = descriptions(check.result)
    assert len(planned) >= 10, planned
    outcomes = {k: _fail_at(k, planned, clean) for k in range(1, len(planned) + 1)}
    bad = {k: (planned[k - 1], wrong) for k, (wrong, _undone) in outcomes.items() if wrong}
    record("partial_failure", "node_network, each operation of a cold run failing", tried=len(planned),
           rolled_back=len(planned) - len(bad), message="%d operations; undone before the last: %d"
           % (len(planned), outcomes[len(planned)][1]))
    assert bad == {}, "\n".join("k=%d %s: %s" % (k, op, wrong) for k, (op, wrong) in sorted(bad.items()))


def test_supply_chain_modes_owners_and_no_world_writable_files(sandbox, cni_archives, http_archives):  # noqa: F811
    old = os.umask(0)  # modes must be explicit, not the umask's doing
    try:
        run_steps(scenario.present()[-2:])
    finally:
        os.umask(old)
    binaries = {name: os.stat("/opt/cni/bin/" + name) for name in CHAIN}
    config = os.stat("/etc/cni/net.d/10-pods.conflist")
    bad_modes = [name for name, info in binaries.items() if (info.st_mode & 0o7777, info.st_uid, info.st_gid) != (0o755, 0, 0)]
    bad_modes += ["10-pods.conflist"] if (config.st_mode & 0o7777, config.st_uid) != (0o644, 0) else []
    writable = world_writable()
    # A password in the URL never shows, whether the download fails or works.
    secret = "s3cr3t-pw"
    url = http_archives.replace("http://", "http://user:%s@" % secret) + "/cni-plugins-chain.tgz"
    checksum = "sha256:" + __import__("hashlib").sha256(open(cni_archives.chain, "rb").read()).hexdigest()
    runs = [run_module("cni_install", {"src": url, "checksum": checksum, "bin_dir": "/opt/cni/other"}),
            run_module("cni_install", {"src": url.replace("chain", "missing"), "checksum": checksum})]
    leaked = sum(secret in run.stdout + run.stderr for run in runs)
    record("supply_chain", "modes and secrets", files_checked=len(binaries) + 1, wrong_mode_or_owner=len(bad_modes),
           world_writable_created=len(writable), secret_leaks=leaked, url_runs=len(runs))
    assert bad_modes == [] and writable == []
    assert runs[0].rc == 0 and runs[0].result.get("changed"), runs[0]
    assert runs[1].rc != 0, runs[1]
    assert leaked == 0, runs
