"""cni_check through the engine alone: the plugin chain runs for a throwaway
container, returns the ADD result, and leaves the node exactly as it was,
also when the chain fails."""

import ipaddress
import json
import os

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_check
from ansible_collections.netplumb.linux.plugins.module_utils.cni import leftovers as cni_leftovers
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, ParamError
from cni_fixtures import CHAIN, SUBNET, cni_dirs, conflist, copy_plugins, tree  # pylint: disable=unused-import # noqa: F401

BIN = "/opt/cni/bin"
CONF = "/etc/cni/net.d"


@pytest.fixture
def plugins(cni_dirs):
    copy_plugins(BIN, CHAIN + ("tuning",))
    return cni_dirs


def node(sandbox):
    """What a trial must not change: namespaces, links, addresses, routes, IPAM
    state, the CNI directories, forwarding."""
    with open("/proc/sys/net/ipv4/ip_forward") as handle:
        forwarding = handle.read()
    return {"kernel": sandbox.settled_snapshot(), "cni": tree("/var/lib/cni"), "etc": tree("/etc/cni"),
            "forwarding": forwarding}


def check(**params):
    return engine.run(cni_check, params)


def test_returns_an_address_from_the_subnet_and_leaves_nothing_behind(plugins):
    box = plugins
    before = node(box)
    outcome = check(config=conflist())
    assert not outcome.changed and outcome.operations == []
    address = ipaddress.ip_interface(outcome.extra["addresses"][0])
    assert address.ip in ipaddress.ip_network(SUBNET)
    result = outcome.extra["add_result"]
    assert result["cniVersion"] == "1.0.0"
    assert [i["name"] for i in result["interfaces"] if i.get("sandbox")] == ["eth0"]
    assert result["ips"][0]["gateway"] == "192.0.2.1"
    assert outcome.extra["commands"] == ["ADD bridge", "ADD portmap", "CHECK bridge", "CHECK portmap",
                                         "DEL portmap", "DEL bridge"]
    assert outcome.warnings == []
    assert node(box) == before  # no netns, no cni0, no veth, no lease, forwarding as it was
    assert cni_check.leftover_namespaces() == []


def test_by_name_from_conf_dir_with_a_bridge_that_exists(plugins):
    box = plugins
    os.makedirs(CONF)
    with open(CONF + "/10-testnet.conflist", "w") as handle:
        json.dump(conflist(bridge="br-test"), handle)
    box.ip("link", "add", "br-test", "type", "bridge")
    box.ip("link", "set", "br-test", "up")
    before = node(box)
    outcome = check(name="testnet", ifname="net1")
    assert outcome.extra["config_path"] == CONF + "/10-testnet.conflist"
    assert outcome.extra["network"] == "testnet"
    assert [i["name"] for i in outcome.extra["add_result"]["interfaces"] if i.get("sandbox")] == ["net1"]
    # A bridge that was there before stays, with the gateway address the plugin gave it, as after
    # any pod; the trial's veth, lease and namespace are gone.
    after = node(box)
    assert after["cni"] == before["cni"] and after["kernel"]["netns"] == []
    assert box.link("br-test") is not None


def test_old_spec_version_has_no_check_and_loopback_chains(plugins):
    outcome = check(config=conflist(version="0.3.1", extra_plugins=("portmap", "loopback")))
    assert outcome.extra["commands"] == ["ADD bridge", "ADD portmap", "ADD loopback",
                                         "DEL loopback", "DEL portmap", "DEL bridge"]
    assert outcome.extra["addresses"] == ["192.0.2.2/24"]


def test_failing_ipam_leaves_nothing_behind_and_says_why(plugins):
    box = plugins
    before = node(box)
    config = conflist()
    config["plugins"][0]["ipam"]["ranges"][0][0]["rangeStart"] = "198.51.100.5"
    with pytest.raises(NetplumbError) as error:
        check(config=config)
    message = str(error.value)
    assert message.startswith("network testnet does not work: ADD bridge: ")
    assert "RangeStart 198.51.100.5 not in network 192.0.2.0/24" in message
    assert "DEL ran" in message
    assert node(box) == before  # the bridge the failed ADD created is gone too


def test_failing_plugin_after_a_lease_still_runs_del_and_leaves_nothing(plugins):
    box = plugins
    before = node(box)
    config = conflist(extra_plugins=("tuning",))
    config["plugins"][1]["sysctl"] = {"net.ipv4.conf.eth0.no_such_sysctl": "1"}
    with pytest.raises(cni_check.CheckFailed) as error:
        check(config=config)
    assert error.value.run.commands == ["ADD bridge", "ADD tuning", "DEL tuning", "DEL bridge"]
    assert "ADD tuning" in str(error.value) and "no_such_sysctl" in str(error.value)
    assert node(box) == before


def test_a_lease_del_forgot_is_removed_with_a_warning(plugins, monkeypatch):
    box = plugins
    before = node(box)
    real_delete = cni_check.cni_chain.delete
    monkeypatch.setattr(cni_check.cni_chain, "delete", lambda config, runtime, run: None)  # a DEL that does nothing
    outcome = check(config=conflist())
    monkeypatch.setattr(cni_check.cni_chain, "delete", real_delete)
    assert any("left IPAM lease /var/lib/cni/networks/testnet/192.0.2.2" in w for w in outcome.warnings), \
        outcome.warnings
    assert node(box) == before


def test_missing_plugin_fails_before_any_trial(plugins):
    with pytest.raises(ParamError) as error:
        check(config=conflist(extra_plugins=("aws-cni",)))
    assert str(error.value) == 'config.plugins[1].type: failed to find plugin "aws-cni" in path [/opt/cni/bin]'
    assert cni_check.leftover_namespaces() == []


def test_unknown_network_name(plugins):
    with pytest.raises(ParamError) as error:
        check(name="nonet")
    assert error.value.field == "name" and "no config for network nonet in /etc/cni/net.d" in str(error.value)


def test_check_mode_on_a_clean_node_skips_with_a_warning(cni_dirs):
    outcome = engine.run(cni_check, {"name": "testnet"}, check_mode=True)
    assert outcome.extra == {"trial_ran": False}
    assert any("earlier task" in w for w in outcome.warnings)
    outcome = engine.run(cni_check, {"config": conflist()}, check_mode=True)
    assert outcome.extra == {"trial_ran": False}
    assert any('failed to find plugin "bridge"' in w for w in outcome.warnings)


def test_check_mode_runs_the_trial_when_it_can(plugins):
    outcome = engine.run(cni_check, {"config": conflist()}, check_mode=True)
    assert not outcome.changed and outcome.extra["addresses"] == ["192.0.2.2/24"]


@pytest.mark.parametrize("params, field", [
    ({}, "name"),
    ({"name": "a", "config": conflist()}, "name"),
    ({"name": "a/b"}, "name"),
    ({"config": {"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}}, "config.name"),
    ({"name": "a", "ifname": "x" * 16}, "ifname"),
    ({"name": "a", "timeout": 0}, "timeout"),
])
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ParamError) as error:
        cni_check.parse(params)
    assert error.value.field == field


def test_links_are_read_in_the_current_namespace(sandbox):
    assert cni_leftovers.links() == {"lo"}
    sandbox.ip("link", "add", "br-x", "type", "bridge")
    assert cni_leftovers.links() == {"lo", "br-x"}


def test_host_local_state_is_put_back_as_it_was_content_mode_and_owner(plugins):
    box = plugins
    directory = "/var/lib/cni/networks/testnet"
    os.makedirs(directory)
    path = os.path.join(directory, "last_reserved_ip.0")
    with open(path, "wb") as handle:
        handle.write(b"192.0.2.7")
    os.chown(path, 1000, 1000)
    os.chmod(path, 0o640)
    with open(os.path.join(directory, "lock"), "wb"):
        pass  # as an earlier use of the network left it
    before = node(box)
    outcome = check(config=conflist())
    assert outcome.extra["addresses"] == ["192.0.2.8/24"]  # host-local went on from the last reserved one
    assert node(box) == before
    info = os.lstat(path)
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (1000, 1000, 0o640)
    assert sorted(os.listdir(directory)) == ["last_reserved_ip.0", "lock"]
