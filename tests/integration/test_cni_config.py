"""cni_config through the engine alone, checked against the files on disk,
with the reference plugins installed into private tmpfs CNI directories."""

import json
import os

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from cni_fixtures import CHAIN, cni_dirs, conflist, copy_plugins, tree  # pylint: disable=unused-import # noqa: F401

CONF = "/etc/cni/net.d"
BIN = "/opt/cni/bin"
PATH = CONF + "/10-testnet.conflist"


@pytest.fixture
def plugins(cni_dirs):
    copy_plugins(BIN, CHAIN)
    return cni_dirs


def configure(**params):
    params.setdefault("name", "testnet")
    return engine.run(cni_config, params)


def on_disk(path=PATH):
    with open(path) as handle:
        return json.load(handle)


def descriptions(outcome):
    return [op["description"] for op in outcome.operations]


def write(name, data):
    os.makedirs(CONF, exist_ok=True)
    with open(os.path.join(CONF, name), "w") as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data))


# -- bridge + host-local + portmap (+ loopback installed) ----------------------------------


def test_bridge_host_local_portmap_written_then_idempotent(plugins):
    first = configure(config=conflist())
    assert first.changed
    size = os.path.getsize(PATH)
    assert descriptions(first) == ["create directory /etc/cni/net.d (mode 0755)",
                                   "write %s (%d bytes, mode 0644, owner 0:0)" % (PATH, size)]
    assert on_disk() == conflist()
    info = os.stat(PATH)
    assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (0o644, 0, 0)
    assert first.extra == {"path": PATH}
    assert first.warnings == []  # loopback is installed, nothing sorts before us
    assert first.before == {"path": PATH, "conf_dir_files": [], "state": "absent"}
    assert first.after == {"path": PATH, "conf_dir_files": ["10-testnet.conflist"], "state": "present",
                           "config": conflist()}

    second = configure(config=conflist())
    assert not second.changed and second.operations == []
    assert second.before == second.after == first.after


def test_name_is_filled_in_and_must_match(plugins):
    config = conflist()
    del config["name"]
    configure(config=config)
    assert on_disk()["name"] == "testnet" and list(on_disk())[:2] == ["cniVersion", "name"]
    with pytest.raises(ParamError) as error:
        configure(config=conflist(name="other"))
    assert error.value.field == "config.name"


def test_loopback_config_sorting_after_ours_is_shadowed(plugins):
    configure(config=conflist())
    lo = configure(name="lo", priority=99, config={"cniVersion": "1.0.0", "plugins": [{"type": "loopback"}]})
    assert lo.changed
    assert on_disk(CONF + "/99-lo.conflist") == {"cniVersion": "1.0.0", "name": "lo",
                                                 "plugins": [{"type": "loopback"}]}
    assert any("10-testnet.conflist sorts before 99-lo.conflist" in w and "lexically first" in w
               for w in lo.warnings), lo.warnings


def test_warns_when_loopback_is_missing(cni_dirs):
    copy_plugins(BIN, ["bridge", "host-local", "portmap"])
    outcome = configure(config=conflist())
    assert any("no 'loopback' plugin" in w for w in outcome.warnings), outcome.warnings


def test_changed_config_is_rewritten_and_diff_shows_both(plugins):
    configure(config=conflist())
    outcome = configure(config=conflist(subnet="198.51.100.0/24"))
    assert descriptions(outcome) == ["write %s (%d bytes, mode 0644, owner 0:0)" % (PATH, os.path.getsize(PATH))]
    assert outcome.before["config"]["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "192.0.2.0/24"}]]
    assert outcome.after["config"]["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "198.51.100.0/24"}]]


def test_a_file_that_is_not_json_is_shown_as_text_and_replaced(plugins):
    write("10-testnet.conflist", "{broken")
    outcome = configure(config=conflist())
    assert outcome.before["config"] == "{broken"
    assert on_disk() == conflist()


# -- validation: the runtime's words, before anything is written ------------------------------


def test_missing_plugin_fails_with_the_kubelet_message(plugins):
    config = conflist(extra_plugins=("portmap", "aws-cni"))
    with pytest.raises(ParamError) as error:
        configure(config=config)
    assert 'failed to find plugin "aws-cni" in path [/opt/cni/bin]' in str(error.value)
    assert error.value.field == "config.plugins[2].type"
    assert not os.path.exists(CONF)


def test_missing_ipam_plugin_fails_too(cni_dirs, tmp_path):
    bin_dir = copy_plugins(str(tmp_path / "bin"), ["bridge", "portmap", "loopback"])
    with pytest.raises(ParamError) as error:
        configure(config=conflist(), bin_dir=bin_dir)
    assert str(error.value) == ('config.plugins[0].ipam.type: failed to find plugin "host-local" in path [%s]'
                                % bin_dir)


def test_unsupported_cni_version_fails_clearly(plugins):
    with pytest.raises(ParamError) as error:
        configure(config=conflist(version="2.0.0"))
    message = str(error.value)
    assert message.startswith("config.cniVersion: cniVersion 2.0.0 is not supported by plugin \"bridge\"")
    assert "supports 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0" in message
    assert not os.path.exists(CONF)


def test_validate_false_writes_what_the_binaries_would_refuse(plugins):
    outcome = configure(config=conflist(extra_plugins=("aws-cni",)), validate=False)
    assert outcome.changed and on_disk()["plugins"][1] == {"type": "aws-cni"}


@pytest.mark.parametrize("config, field", [
    ({"name": "testnet", "plugins": [{"type": "bridge"}]}, "config.cniVersion"),
    ({"cniVersion": "one", "plugins": [{"type": "bridge"}]}, "config.cniVersion"),
    ({"cniVersion": "1.0.0", "plugins": []}, "config.plugins"),
    ({"cniVersion": "1.0.0", "type": "bridge"}, "config.plugins"),
    ({"cniVersion": "1.0.0", "plugins": [{"bridge": "cni0"}]}, "config.plugins[0].type"),
    ({"cniVersion": "1.0.0", "plugins": [{"type": "../../bin/sh"}]}, "config.plugins[0].type"),
    ({"cniVersion": "1.0.0", "plugins": ["bridge"]}, "config.plugins[0]"),
    ({"cniVersion": "1.0.0", "plugins": [{"type": "bridge", "ipam": "host-local"}]}, "config.plugins[0].ipam"),
])
def test_malformed_config_names_the_field(plugins, config, field):
    with pytest.raises(ParamError) as error:
        configure(config=config)
    assert error.value.field == field
    assert not os.path.exists(CONF)


@pytest.mark.parametrize("params, field", [
    ({"name": "bad/name"}, "name"),
    ({"name": ""}, "name"),
    ({"priority": 100}, "priority"),
    ({"conf_dir": "etc/cni"}, "conf_dir"),
    ({"config": None}, "config"),
])
def test_bad_parameters_name_the_field(plugins, params, field):
    base = {"name": "testnet", "config": conflist()}
    base.update(params)
    with pytest.raises(ParamError) as error:
        engine.run(cni_config, base)
    assert error.value.field == field


# -- other config files: priority, exclusive, state absent ------------------------------------


def test_exclusive_removes_the_other_configs_and_check_mode_shows_which(plugins):
    write("05-old.conflist", conflist(name="old"))
    write("87-podman.conflist", conflist(name="podman"))
    write("99-loopback.conf", {"cniVersion": "0.3.1", "name": "lo", "type": "loopback"})
    write("README", "not a config\n")
    plain = configure(config=conflist())
    assert any("05-old.conflist sorts before 10-testnet.conflist" in w for w in plain.warnings), plain.warnings

    before = tree("/etc/cni")
    predicted = engine.run(cni_config, {"name": "testnet", "config": conflist(), "exclusive": True},
                           check_mode=True)
    assert tree("/etc/cni") == before
    assert descriptions(predicted) == ["delete /etc/cni/net.d/05-old.conflist",
                                       "delete /etc/cni/net.d/87-podman.conflist",
                                       "delete /etc/cni/net.d/99-loopback.conf"]
    applied = configure(config=conflist(), exclusive=True)
    assert descriptions(applied) == descriptions(predicted)
    assert sorted(os.listdir(CONF)) == ["10-testnet.conflist", "README"]
    assert applied.after["conf_dir_files"] == ["10-testnet.conflist"]
    assert applied.warnings == []


def test_new_priority_replaces_the_old_file(plugins):
    configure(config=conflist())
    outcome = configure(config=conflist(), priority=5)
    assert descriptions(outcome)[1:] == ["delete /etc/cni/net.d/10-testnet.conflist"]
    assert sorted(os.listdir(CONF)) == ["05-testnet.conflist"]


def test_state_absent(plugins):
    configure(config=conflist())
    write("20-other.conflist", conflist(name="other"))
    outcome = configure(state="absent")
    assert descriptions(outcome) == ["delete /etc/cni/net.d/10-testnet.conflist"]
    assert outcome.after == {"path": PATH, "conf_dir_files": ["20-other.conflist"], "state": "absent"}
    assert os.listdir(CONF) == ["20-other.conflist"]
    assert not configure(state="absent").changed


def test_check_mode_on_a_clean_node_warns_instead_of_failing(cni_dirs):
    outcome = engine.run(cni_config, {"name": "testnet", "config": conflist()}, check_mode=True)
    assert outcome.changed
    assert any('failed to find plugin "bridge" in path [/opt/cni/bin]' in w and "earlier task" in w
               for w in outcome.warnings), outcome.warnings
    assert tree("/etc/cni") == {}
