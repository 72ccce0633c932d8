"""The cni role on one node (the sandbox, with private CNI directories):
check mode on a fresh node writes nothing, converge installs, configures and
smoke-tests, a second run changes nothing, absent removes what it made."""

import json
import os

from cni_fixtures import cni_dirs  # pylint: disable=unused-import # noqa: F401
from netplumb_testlib import run_playbook, task_results

CONF = "/etc/cni/net.d/10-netplumb.conflist"
PLUGINS = ["bridge", "host-local", "loopback", "portmap"]
SUMMARY = "netplumb.linux.cni : Summary | plugins, config and smoke test"


def role(**extra):
    return [{"name": "cni", "ansible.builtin.include_role": {"name": "netplumb.linux.cni"},
             "vars": dict({"cni_subnet": "203.0.113.0/24"}, **extra)}]


def files():
    found = {}
    for top in ("/opt/cni", "/etc/cni", "/var/lib/cni"):
        for path, _dirs, names in os.walk(top):
            for name in names:
                with open(os.path.join(path, name), "rb") as handle:
                    found[os.path.join(path, name)] = handle.read()
    return found


def summary(run):
    """The line the role's last task printed."""
    return task_results(run.stdout, SUMMARY)["localhost"]["msg"]


def test_check_converge_idempotent_and_absent(cni_dirs):  # noqa: F811 (the fixture)
    before, links = files(), cni_dirs.snapshot()
    check = run_playbook(role(), check=True)
    assert check.rc == 0, check
    assert check.changed == 2  # the plugins and the config; the smoke test never changes anything
    assert files() == before and cni_dirs.snapshot() == links
    assert summary(check) == (
        "check mode, planned only: plugins: 4 installed in /opt/cni/bin, 4 changed, 0 unchanged; config %s written; "
        "check: not run (check mode, and the config or a plugin does not exist yet)" % CONF), summary(check)

    first = run_playbook(role())
    assert first.rc == 0, first
    assert sorted(os.listdir("/opt/cni/bin")) == PLUGINS
    config = json.load(open(CONF))
    assert config["name"] == "netplumb"
    assert config["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "203.0.113.0/24", "rangeStart": "203.0.113.128"}]]
    check_result = [r for r in first.results if "addresses" in r]
    assert check_result and check_result[0]["addresses"][0].startswith("203.0.113.")
    assert cni_dirs.netns_list() == [], "the smoke test left a namespace behind"
    assert summary(first) == ("plugins: 4 installed in /opt/cni/bin, 4 changed, 0 unchanged; config %s written; "
                              "check: pod IP %s" % (CONF, check_result[0]["addresses"][0].split("/")[0])), summary(first)

    second = run_playbook(role())
    assert second.rc == 0 and second.changed == 0, second
    assert summary(second) == ("plugins: 4 installed in /opt/cni/bin, 0 changed, 4 unchanged; config %s unchanged; "
                               "check: not run (nothing changed)" % CONF), summary(second)

    gone = run_playbook(role(cni_state="absent"))
    assert gone.rc == 0, gone
    assert not os.path.exists(CONF)
    assert os.listdir("/opt/cni/bin") == []
    assert summary(gone) == ("plugins: 4 removed from /opt/cni/bin (%s); config %s removed"
                             % (", ".join(PLUGINS), CONF)), summary(gone)
    again = run_playbook(role(cni_state="absent"))
    assert summary(again) == "plugins: none to remove in /opt/cni/bin; config %s already absent" % CONF, again


def test_follows_bridge_network_subnet_and_bridge(cni_dirs):  # noqa: F811 (the fixture)
    run = run_playbook(role(cni_subnet="198.51.100.0/24", cni_bridge="v-net-0", cni_ip_masq=False,
                            cni_run_check=False))
    assert run.rc == 0, run
    plugin = json.load(open(CONF))["plugins"][0]
    assert plugin["bridge"] == "v-net-0" and plugin["ipMasq"] is False
    assert plugin["ipam"]["ranges"][0][0]["subnet"] == "198.51.100.0/24"
    assert summary(run).endswith("config %s written; check: not run (cni_run_check is false)" % CONF), summary(run)


def test_a_config_naming_a_missing_plugin_fails_at_playbook_time(cni_dirs):  # noqa: F811 (the fixture)
    config = {"cniVersion": "1.0.0", "plugins": [{"type": "aws-cni"}]}
    run = run_playbook(role(cni_config=config))
    assert run.rc != 0
    assert 'failed to find plugin "aws-cni" in path [/opt/cni/bin]' in run.failed[0]["msg"]
    assert not os.path.exists(CONF)
