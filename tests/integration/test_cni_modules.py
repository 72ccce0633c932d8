"""The Ansible contract of cni_install, cni_config and cni_check, driven through
ansible-playbook in the test's sandbox (private tmpfs CNI directories):
changed, then not changed; check mode predicts; --diff; bad input fails with
a message naming the field and changes nothing."""

import ipaddress
import os
import re

import yaml

from cni_fixtures import (  # pylint: disable=unused-import # noqa: F401
    CHAIN, REFERENCE, SUBNET, cni_archives, cni_dirs, conflist, copy_plugins, http_archives, sha256, tree)
from netplumb_testlib import ROOT, assert_clean_failure, descriptions

BIN = "/opt/cni/bin"
CONF = "/etc/cni/net.d"


def task(module, **params):
    return {"netplumb.linux." + module: params}


def files():
    return {"opt": tree("/opt/cni"), "etc": tree("/etc/cni"), "var": tree("/var/lib/cni")}


def assert_each_fails_cleanly(box, module, cases, engine_field=True):
    """One playbook, one task per (params, field) case, each allowed to fail:
    each fails, its message and ``field`` name the field, and nothing changed."""
    before = files()
    run = box.playbook([dict(task(module, **params), ignore_errors=True) for params, _field in cases])
    assert len(run.results) == len(cases), run
    for (params, field), result in zip(cases, run.results):
        assert result.get("failed") is True, (params, result)
        assert field in result["msg"], (field, result["msg"])
        if engine_field:
            assert result.get("field") == field, (field, result)
    assert "Traceback" not in run.stdout + run.stderr, run
    assert files() == before


# -- cni_install ------------------------------------------------------------------------------


def test_install_changed_then_not_and_check_mode_predicts(cni_dirs, cni_archives):
    install = task("cni_install", src=cni_archives.chain, checksum=sha256(cni_archives.chain))
    before = files()
    check = cni_dirs.playbook([install], check=True, diff=True)
    assert check.rc == 0, check
    assert files() == before
    real = cni_dirs.playbook([install, install], diff=True)
    assert real.rc == 0, real
    first, second = real.results
    assert check.results[0]["changed"] is True and first["changed"] is True and second["changed"] is False
    assert descriptions(check.results[0]) == descriptions(first)
    assert check.results[0]["plugins"] == first["plugins"]
    assert sorted(first["plugins"]) == sorted(CHAIN)
    assert "1.0.0" in first["plugins"]["bridge"]["supported_versions"]
    assert first["diff"]["before"] == {"bin_dir": BIN, "plugins": {}}
    assert sorted(first["diff"]["after"]["plugins"]) == sorted(CHAIN)
    assert second["operations"] == []
    assert sorted(os.listdir(BIN)) == sorted(CHAIN)


def test_install_from_url_with_fetch_url(cni_dirs, cni_archives, http_archives):
    url = "%s/%s" % (http_archives, os.path.basename(cni_archives.chain))
    run = cni_dirs.playbook([task("cni_install", src=url, checksum=sha256(cni_archives.chain),
                                  plugins=["bridge", "loopback"])])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert sorted(os.listdir(BIN)) == ["bridge", "loopback"]


def test_install_bad_input_fails_naming_the_field_and_changes_nothing(cni_dirs, cni_archives, http_archives):
    cni_dirs.playbook([task("cni_install", src=REFERENCE, plugins=["loopback"])])
    url = "%s/%s" % (http_archives, os.path.basename(cni_archives.chain))
    before = files()
    run = cni_dirs.playbook([task("cni_install", src=cni_archives.bad["traversal"])])
    assert_clean_failure(run, "src", before, files())
    assert "is not a safe archive" in run.failed[0]["msg"]
    assert_each_fails_cleanly(cni_dirs, "cni_install", [
        ({"src": cni_archives.chain, "checksum": "sha256:" + "0" * 64}, "checksum"),
        ({"src": url, "checksum": "sha256:" + "0" * 64}, "checksum"),
        ({"src": url}, "checksum"),
        ({"src": http_archives + "/missing.tgz", "checksum": sha256(cni_archives.chain)}, "src"),
        ({"src": cni_archives.bad["symlink"]}, "src"),
        ({"src": cni_archives.bad["garbage"]}, "src"),
        ({"src": REFERENCE, "plugins": ["aws-cni"]}, "plugins")])


def test_install_state_absent(cni_dirs):
    cni_dirs.playbook([task("cni_install", src=REFERENCE, plugins=list(CHAIN))])
    remove = task("cni_install", plugins=["portmap"], state="absent")
    run = cni_dirs.playbook([remove, remove])
    assert run.rc == 0, run
    assert [r["changed"] for r in run.results] == [True, False]
    assert descriptions(run.results[0]) == ["delete /opt/cni/bin/portmap"]
    assert sorted(os.listdir(BIN)) == ["bridge", "host-local", "loopback"]


# -- cni_config ---------------------------------------------------------------------------------


def test_config_changed_then_not_check_mode_and_json_diff(cni_dirs):
    copy_plugins(BIN)
    write = task("cni_config", name="testnet", config=conflist())
    before = files()
    check = cni_dirs.playbook([write], check=True, diff=True)
    assert check.rc == 0, check
    assert files() == before
    real = cni_dirs.playbook([write, write], diff=True)
    assert real.rc == 0, real
    first, second = real.results
    assert [check.results[0]["changed"], first["changed"], second["changed"]] == [True, True, False]
    assert descriptions(check.results[0]) == descriptions(first)
    assert first["path"] == CONF + "/10-testnet.conflist"
    assert first["diff"]["before"]["state"] == "absent"
    assert first["diff"]["after"]["config"] == conflist()

    changed = cni_dirs.playbook([task("cni_config", name="testnet", config=conflist(subnet="198.51.100.0/24"))],
                                diff=True)
    assert changed.rc == 0, changed
    diff = changed.results[0]["diff"]
    assert diff["before"]["config"]["plugins"][0]["ipam"]["ranges"] == [[{"subnet": SUBNET}]]
    assert diff["after"]["config"]["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "198.51.100.0/24"}]]


def test_config_naming_a_missing_plugin_fails_with_the_kubelet_message(cni_dirs):
    copy_plugins(BIN)
    before = files()
    run = cni_dirs.playbook([task("cni_config", name="testnet", config=conflist(extra_plugins=("aws-cni",)))])
    assert_clean_failure(run, "config.plugins[1].type", before, files())
    assert 'failed to find plugin "aws-cni" in path [/opt/cni/bin]' in run.failed[0]["msg"]


def test_config_bad_input_fails_naming_the_field_and_changes_nothing(cni_dirs):
    copy_plugins(BIN)
    assert_each_fails_cleanly(cni_dirs, "cni_config", [
        ({"name": "testnet", "config": conflist(version="2.0.0")}, "config.cniVersion"),
        ({"name": "bad/name", "config": conflist()}, "name"),
        ({"name": "testnet", "config": {"cniVersion": "1.0.0", "plugins": []}}, "config.plugins"),
        ({"name": "testnet", "priority": 100, "config": conflist()}, "priority")])
    assert_each_fails_cleanly(cni_dirs, "cni_config", [({"name": "testnet"}, "config")],  # Ansible's required_if
                              engine_field=False)


# -- cni_check ----------------------------------------------------------------------------------


def test_check_returns_an_address_and_never_changes(cni_dirs):
    copy_plugins(BIN)
    cni_dirs.playbook([task("cni_config", name="testnet", config=conflist())])
    before = files()
    for check_mode in (True, False):
        run = cni_dirs.playbook([task("cni_check", name="testnet")], check=check_mode)
        assert run.rc == 0, run
        result = run.results[0]
        assert result["changed"] is False and result["trial_ran"] is True
        assert ipaddress.ip_interface(result["addresses"][0]).ip in ipaddress.ip_network(SUBNET)
        assert files() == before and cni_dirs.netns_list() == []


def test_check_failure_names_the_field(cni_dirs):
    copy_plugins(BIN, ["bridge", "host-local"])
    run = cni_dirs.playbook([task("cni_check", config=conflist())])
    assert_clean_failure(run, "config.plugins[1].type", {}, {})
    assert 'failed to find plugin "portmap" in path [/opt/cni/bin]' in run.failed[0]["msg"]


# -- the quick start in docs/cni.md runs as written ----------------------------------------------


def test_docs_quick_start_runs_as_written(cni_dirs):
    with open(os.path.join(ROOT, "docs", "cni.md")) as handle:
        text = handle.read()
    play = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    tasks = play[0]["tasks"]
    run = cni_dirs.playbook(tasks)
    assert run.rc == 0, run
    assert not run.failed
    again = cni_dirs.playbook(tasks)
    assert again.rc == 0, again
    assert again.changed == 0, [descriptions(r) for r in again.results if r.get("changed")]
    assert cni_dirs.netns_list() == []
