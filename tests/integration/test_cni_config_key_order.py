"""cni_config idempotence does not depend on the key order of ``config``:
the same conflist with its objects' keys in another order (or a file with
other spacing) is not rewritten; a different plugin order, a different value
or a value of another JSON type is. Engine alone, files on private tmpfs CNI
directories, checked on disk."""

import collections
import json
import os

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.cni import conflist as cni_conflist
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from cni_fixtures import cni_dirs, conflist  # pylint: disable=unused-import # noqa: F401

CONF = "/etc/cni/net.d"
PATH = CONF + "/10-testnet.conflist"


def configure(config, check_mode=False):
    return engine.run(cni_config, {"name": "testnet", "config": config, "validate": False},
                      check_mode=check_mode)


def reordered(value):
    """``value`` with the keys of every object in reverse order; lists kept."""
    if isinstance(value, dict):
        return collections.OrderedDict((key, reordered(value[key])) for key in reversed(list(value)))
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def raw():
    with open(PATH, "rb") as handle:
        return handle.read()


def test_same_config_with_keys_in_another_order_is_not_rewritten(cni_dirs):  # noqa: F811
    config = conflist()
    assert configure(config).changed
    written, inode = raw(), os.stat(PATH).st_ino
    other = reordered(config)
    assert json.dumps(other) != json.dumps(config)  # really another order, nested objects too
    assert not configure(other, check_mode=True).changed
    outcome = configure(other)
    assert not outcome.changed, outcome.operations
    assert raw() == written and os.stat(PATH).st_ino == inode


def test_a_hand_written_file_with_the_same_config_is_kept_and_its_mode_fixed(cni_dirs):  # noqa: F811
    config = conflist()
    os.makedirs(CONF, exist_ok=True)
    text = json.dumps(reordered(config), separators=(",", ":")).encode()
    with open(PATH, "wb") as handle:
        handle.write(text)
    os.chmod(PATH, 0o600)
    outcome = configure(config)
    assert [op["op"] for op in outcome.operations] == ["file_attrs"], outcome.operations
    assert raw() == text
    assert os.stat(PATH).st_mode & 0o7777 == 0o644
    assert not configure(config).changed


def test_plugin_order_values_and_types_still_count(cni_dirs):  # noqa: F811
    config = conflist()
    assert configure(config).changed
    bridge, rest = config["plugins"][0], config["plugins"][1:]
    changes = [
        dict(config, plugins=list(reversed(config["plugins"]))),  # the chain's order matters
        dict(config, plugins=[dict(bridge, mtu=1400)] + rest),
        dict(config, plugins=[dict(bridge, mtu=1400.0)] + rest),  # == in Python, another JSON number
        dict(config, plugins=[dict(bridge, mtu=1400.0, isGateway=1)] + rest),  # 1 == True in Python
    ]
    for changed in changes:
        outcome = configure(changed)
        assert outcome.changed, changed
        assert cni_conflist.same_content(raw(), changed)
        assert not configure(reordered(changed)).changed


def test_same_content_is_strict_about_types_and_duplicates():
    config = {"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge", "isGateway": True, "mtu": 1400}]}
    same = b'{"plugins": [{"mtu": 1400, "isGateway": true, "type": "bridge"}], "name": "n", "cniVersion": "1.0.0"}'
    assert cni_conflist.same_content(same, config)
    assert not cni_conflist.same_content(same.replace(b"true", b"1"), config)
    assert not cni_conflist.same_content(same.replace(b"1400", b"1400.0"), config)
    assert not cni_conflist.same_content(same.replace(b'"name": "n"', b'"name": "n", "name": "n"'), config)
    assert not cni_conflist.same_content(b"\xff{}", config)
    assert not cni_conflist.same_content(b"not json", config)
    assert not cni_conflist.same_content(same.replace(b', "isGateway": true', b""), config)
