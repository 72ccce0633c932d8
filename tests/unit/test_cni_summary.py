"""The line the cni role ends with (plugins/plugin_utils/cni_summary.py) and the filter that gives it
(plugins/filter/cni_summary.py), from registered results shaped as the modules' RETURN says. No Ansible run,
no root."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.netplumb.linux.plugins.filter.cni_summary import FilterModule, cni_summary
from ansible_collections.netplumb.linux.plugins.plugin_utils.cni_summary import summary

BIN = "/opt/cni/bin"
CONF = "/etc/cni/net.d/10-podnet.conflist"
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
NAMES = ("bridge", "host-local", "loopback", "portmap")


def op(action, target, **args):
    return {"op": action, "netns": None, "target": target, "args": args, "description": "%s %s" % (action, target)}


def installed(*written):
    """cni_install's result: the four plugins in BIN, ``written`` of them written by the call."""
    operations = [op("dir_create", BIN)] + [op("file_write", "%s/%s" % (BIN, name), size=1) for name in written]
    return {"changed": bool(written), "operations": operations, "bin_dir": BIN,
            "plugins": dict((name, {"path": "%s/%s" % (BIN, name), "sha256": "0f3e"}) for name in NAMES)}


def configured(*operations):
    return {"changed": bool(operations), "operations": list(operations), "path": CONF}


def test_a_first_run_counts_every_plugin_changed_and_names_the_pod_ip():
    check = {"changed": False, "trial_ran": True, "addresses": ["198.51.100.130/24"], "operations": []}
    assert summary(configured(op("file_write", CONF, size=412)), installed(*NAMES), check) == (
        "plugins: 4 installed in /opt/cni/bin, 4 changed, 0 unchanged; config %s written; "
        "check: pod IP 198.51.100.130" % CONF)


def test_a_run_that_changes_nothing_says_the_check_did_not_run_and_why():
    assert summary(configured(), installed(), SKIPPED) == (
        "plugins: 4 installed in /opt/cni/bin, 0 changed, 4 unchanged; config %s unchanged; "
        "check: not run (nothing changed)" % CONF)
    # Something changed and still no check: cni_run_check is off.
    assert summary(configured(), installed("bridge"), SKIPPED).endswith(
        "1 changed, 3 unchanged; config %s unchanged; check: not run (cni_run_check is false)" % CONF)


def test_a_changed_mode_counts_and_the_removal_of_a_stale_temporary_does_not():
    plugins = installed()
    plugins["operations"] += [op("file_attrs", BIN + "/portmap", mode="0755", owner="0:0"),
                              op("file_delete", BIN + "/.bridge.tmp1", why="left by an interrupted write")]
    assert "4 installed in /opt/cni/bin, 1 changed, 3 unchanged" in summary(configured(), plugins, SKIPPED)


def test_the_other_files_of_the_config_task_follow_the_config_file():
    other = "/etc/cni/net.d/05-podnet.conf"
    manager = "/etc/NetworkManager/conf.d/netplumb-podnet.conf"
    line = summary(configured(op("file_delete", other), op("file_write", manager, size=80)), installed(),
                   SKIPPED)
    assert "; config %s unchanged (also deleted %s, wrote %s); " % (CONF, other, manager) in line, line


def test_dual_stack_and_cri_checks_name_every_pod_ip():
    exec_check = {"trial_ran": True, "addresses": ["198.51.100.130/24", "2001:db8:100::8000/64"]}
    assert summary(configured(), installed(), exec_check).endswith(
        "check: pod IPs 198.51.100.130, 2001:db8:100::8000")
    cri_check = {"trial_ran": True, "runtime": "cri", "runtime_version": "containerd 1.6.20~ds1 (CRI v1)",
                 "pod_ip": "198.51.100.130", "pod_ips": ["198.51.100.130"]}
    assert summary(configured(), installed(), cri_check).endswith(
        "check: pod IP 198.51.100.130 through containerd 1.6.20~ds1 (CRI v1)")
    assert summary(configured(), installed(), {"trial_ran": True, "addresses": []}).endswith(
        "check: passed, the pod got no IP")


def test_check_mode_says_the_changes_are_planned_only():
    line = summary(configured(op("file_write", CONF, size=412)), installed(*NAMES), {"trial_ran": False},
                   check_mode=True)
    assert line.startswith("check mode, planned only: plugins: 4 installed in /opt/cni/bin, 4 changed"), line
    assert line.endswith("check: not run (check mode, and the config or a plugin does not exist yet)"), line


def test_absent_names_what_was_removed_or_that_nothing_was_there():
    removal = {"changed": True, "bin_dir": BIN, "plugins": {},
               "operations": [op("file_delete", BIN + "/bridge"), op("file_delete", BIN + "/portmap"),
                              op("file_delete", BIN + "/.portmap.tmp1", why="left by an interrupted write")]}
    assert summary(configured(op("file_delete", CONF)), removal, SKIPPED, "absent") == (
        "plugins: 2 removed from /opt/cni/bin (bridge, portmap); config %s removed" % CONF)
    nothing = {"changed": False, "bin_dir": BIN, "plugins": {}, "operations": []}
    assert summary(configured(), nothing, SKIPPED, "absent") == (
        "plugins: none to remove in /opt/cni/bin; config %s already absent" % CONF)


def test_the_filter_takes_omitted_results_as_not_run_and_rejects_what_is_no_result():
    assert FilterModule().filters() == {"cni_summary": cni_summary}
    assert cni_summary(configured(), installed(), None, "present", "yes") == (
        "check mode, planned only: plugins: 4 installed in /opt/cni/bin, 0 changed, 4 unchanged; config %s "
        "unchanged; check: not run (nothing changed)" % CONF)
    assert cni_summary(configured()).startswith("plugins: not installed (the task did not run)")
    for bad in ("changed", ["changed"]):
        with pytest.raises(AnsibleFilterError, match="must be a task's registered result"):
            cni_summary(configured(), plugins=bad)
