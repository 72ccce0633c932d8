"""cni_install through the engine alone (no Ansible), checked against the
files on disk. Archives are built from /usr/lib/cni (cni_fixtures); every
test has private tmpfs CNI directories in its own sandbox."""

import os

import pytest
from ansible.module_utils.urls import open_url

from ansible_collections.netplumb.linux.plugins.module_utils.core import apply
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from cni_fixtures import (  # pylint: disable=unused-import # noqa: F401
    BAD_KINDS, CHAIN, REFERENCE, cni_archives, cni_dirs, copy_plugins, http_archives, reference_plugins, sha256, tree)

BIN = "/opt/cni/bin"


def install(**params):
    return engine.run(cni_install, params)


def fetching():
    """The resource with URLs fetched by Ansible's open_url, as the module does with fetch_url."""
    return cni_install.with_download(lambda url: open_url(url, timeout=30).read())


def descriptions(outcome):
    return [op["description"] for op in outcome.operations]


def assert_installed(bin_dir, names):
    assert sorted(os.listdir(bin_dir)) == sorted(names)
    for name in names:
        path = os.path.join(bin_dir, name)
        info = os.stat(path)
        assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (0o755, 0, 0), name
        with open(path, "rb") as mine, open(os.path.join(REFERENCE, name), "rb") as reference:
            assert mine.read() == reference.read(), name


# -- from an archive, a directory, a URL -------------------------------------------------


def test_release_archive_to_default_bin_dir_then_idempotent(cni_dirs, cni_archives):
    first = install(src=cni_archives.full)
    assert first.changed
    assert descriptions(first)[0] == "create directory /opt/cni/bin (mode 0755)"
    assert len(first.operations) == 1 + len(reference_plugins())
    assert_installed(BIN, reference_plugins())  # LICENSE and README.md are not plugins
    bridge = first.extra["plugins"]["bridge"]
    assert bridge["path"] == "/opt/cni/bin/bridge"
    assert "1.0.0" in bridge["supported_versions"] and "0.4.0" in bridge["supported_versions"]
    assert first.after["plugins"]["bridge"] == {"sha256": bridge["sha256"], "mode": "0755", "owner": "0:0"}
    assert first.warnings == []

    second = install(src=cni_archives.full)
    assert not second.changed and second.operations == []
    assert second.extra["plugins"] == first.extra["plugins"]
    assert second.before == second.after == first.after


def test_subset_from_archive_into_custom_bin_dir(cni_dirs, cni_archives, tmp_path):
    bin_dir = str(tmp_path / "bin")
    outcome = install(src=cni_archives.full, plugins=["bridge", "loopback", "host-local"], bin_dir=bin_dir,
                      checksum=sha256(cni_archives.full))
    assert outcome.changed
    assert descriptions(outcome) == [
        "create directory %s (mode 0755)" % bin_dir,
        "write %s/bridge (%d bytes, mode 0755, owner 0:0)" % (bin_dir, os.path.getsize(REFERENCE + "/bridge")),
        "write %s/host-local (%d bytes, mode 0755, owner 0:0)" % (bin_dir, os.path.getsize(REFERENCE + "/host-local")),
        "write %s/loopback (%d bytes, mode 0755, owner 0:0)" % (bin_dir, os.path.getsize(REFERENCE + "/loopback")),
    ]
    assert_installed(bin_dir, ["bridge", "host-local", "loopback"])
    assert sorted(outcome.extra["plugins"]) == ["bridge", "host-local", "loopback"]
    assert not os.path.exists(BIN)


def test_from_directory(cni_dirs):
    outcome = install(src=REFERENCE, plugins=list(CHAIN))
    assert outcome.changed
    assert_installed(BIN, CHAIN)
    assert install(src=REFERENCE, plugins=list(CHAIN)).operations == []


def test_from_url_served_in_the_sandbox(cni_dirs, cni_archives, http_archives):
    url = http_archives + "/" + os.path.basename(cni_archives.chain)
    params = {"src": url, "checksum": sha256(cni_archives.chain)}
    first = engine.run(fetching(), params)
    assert first.changed
    assert_installed(BIN, CHAIN)
    assert engine.run(fetching(), params).operations == []


def test_url_needs_a_checksum_and_a_wrong_one_changes_nothing(cni_dirs, cni_archives, http_archives):
    url = http_archives + "/" + os.path.basename(cni_archives.chain)
    with pytest.raises(ParamError) as missing:
        engine.run(fetching(), {"src": url})
    assert missing.value.field == "checksum"
    with pytest.raises(ParamError) as wrong:
        engine.run(fetching(), {"src": url, "checksum": "sha256:" + "0" * 64})
    assert wrong.value.field == "checksum" and "does not match" in str(wrong.value)
    assert not os.path.exists(BIN)


def test_url_that_is_not_there(cni_dirs, http_archives):
    with pytest.raises(Exception) as missing:
        engine.run(fetching(), {"src": http_archives + "/nope.tgz", "checksum": "sha256:" + "0" * 64})
    assert "404" in str(missing.value)
    assert not os.path.exists(BIN)


# -- check mode, changes, state absent ------------------------------------------------------


def test_check_mode_predicts_exactly_and_changes_nothing(cni_dirs, cni_archives):
    before = tree("/opt/cni")
    predicted = engine.run(cni_install, {"src": cni_archives.chain}, check_mode=True)
    assert predicted.changed
    assert tree("/opt/cni") == before  # not even bin_dir
    applied = install(src=cni_archives.chain)
    assert descriptions(predicted) == descriptions(applied)
    assert predicted.extra == applied.extra  # VERSION answers too, from a temporary copy
    assert predicted.after == applied.after
    again = engine.run(cni_install, {"src": cni_archives.chain}, check_mode=True)
    assert not again.changed


def test_only_what_differs_is_rewritten(cni_dirs, cni_archives):
    install(src=cni_archives.chain)
    with open(BIN + "/portmap", "wb") as handle:
        handle.write(b"#!/bin/sh\nexit 1\n")
    os.chmod(BIN + "/bridge", 0o700)
    outcome = install(src=cni_archives.chain)
    assert descriptions(outcome) == [
        "set /opt/cni/bin/bridge mode 0755, owner 0:0",
        "write /opt/cni/bin/portmap (%d bytes, mode 0755, owner 0:0)" % os.path.getsize(REFERENCE + "/portmap"),
    ]
    assert outcome.before["plugins"]["bridge"]["mode"] == "0700"
    assert_installed(BIN, CHAIN)


def test_state_absent_removes_exactly_the_named_plugins(cni_dirs, cni_archives):
    install(src=cni_archives.chain)
    with open(BIN + "/README", "w") as handle:
        handle.write("not a plugin\n")
    outcome = install(plugins=["portmap", "bridge", "tuning"], state="absent")
    assert descriptions(outcome) == ["delete /opt/cni/bin/bridge", "delete /opt/cni/bin/portmap"]
    assert sorted(os.listdir(BIN)) == ["README", "host-local", "loopback"]
    assert sorted(outcome.after["plugins"]) == ["host-local", "loopback"]
    assert not install(plugins=["portmap", "bridge"], state="absent").changed


def test_state_absent_needs_plugins():
    with pytest.raises(ParamError) as error:
        cni_install.parse({"state": "absent"})
    assert error.value.field == "plugins"


def test_warns_when_loopback_is_not_installed(cni_dirs):
    outcome = install(src=REFERENCE, plugins=["bridge", "host-local"])
    assert any("no 'loopback' plugin" in w and 'failed to find plugin "loopback" in path [/opt/cni/bin]' in w
               for w in outcome.warnings), outcome.warnings


def test_plugins_not_in_the_source(cni_dirs, cni_archives):
    with pytest.raises(ParamError) as error:
        install(src=cni_archives.chain, plugins=["bridge", "aws-cni"])
    assert error.value.field == "plugins" and "aws-cni" in str(error.value)
    assert not os.path.exists(BIN)


# -- bad sources change nothing ---------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_archive_changes_nothing(cni_dirs, cni_archives, kind):
    install(src=REFERENCE, plugins=["loopback"])  # an installation that must survive
    before = tree("/opt/cni")
    with pytest.raises(ParamError) as error:
        install(src=cni_archives.bad[kind])
    assert error.value.field == "src", error.value
    assert tree("/opt/cni") == before
    assert not os.path.lexists("/opt/cni/bin/host-local") and not os.path.lexists("/opt/cni/bin/bridge")


@pytest.mark.parametrize("kind, words", [
    ("traversal", "'..'"), ("absolute", "absolute path"), ("symlink", "symlink"), ("hardlink", "hard link"),
    ("device", "device"), ("oversized", "oversized"), ("garbage", "not a tar archive")])
def test_bad_archive_message_says_why(cni_dirs, cni_archives, kind, words):
    with pytest.raises(ParamError) as error:
        install(src=cni_archives.bad[kind])
    assert words in str(error.value)


def test_bad_checksum_on_a_local_archive_changes_nothing(cni_dirs, cni_archives):
    with pytest.raises(ParamError) as error:
        install(src=cni_archives.chain, checksum="sha256:" + "ab" * 32)
    assert error.value.field == "checksum"
    assert not os.path.exists(BIN)


@pytest.mark.parametrize("params, field", [
    ({"src": "relative/path.tgz"}, "src"),
    ({"src": "/nonexistent/cni.tgz"}, "src"),
    ({"src": REFERENCE, "checksum": "md5:abc"}, "checksum"),
    ({"src": REFERENCE, "checksum": "sha256:" + "0" * 64}, "checksum"),
    ({"src": REFERENCE, "plugins": ["../bridge"]}, "plugins[0]"),
    ({"src": REFERENCE, "bin_dir": "opt/cni/bin"}, "bin_dir"),
    ({"state": "present"}, "src"),
    ({"src": REFERENCE, "state": "gone"}, "state"),
])
def test_bad_parameters_name_the_field(cni_dirs, params, field):
    with pytest.raises(ParamError) as error:
        install(**params)
    assert error.value.field == field
    assert not os.path.exists(BIN)


# -- a failure half way is rolled back ----------------------------------------------------------


def test_failure_half_way_rolls_back_to_the_old_files(cni_dirs, tmp_path):
    copy_plugins(BIN, ["loopback"])
    os.symlink("/usr/lib/cni/bridge", BIN + "/bridge")  # as some installers leave it
    before = tree("/opt/cni")
    spec = cni_install.parse({"src": REFERENCE, "plugins": list(CHAIN)})
    ctx = Context()
    ops = cni_install.plan(ctx, spec).ops
    assert [op.target for op in ops] == [BIN + "/bridge", BIN + "/host-local", BIN + "/portmap"]
    os.mkdir(BIN + "/portmap")  # the last write now fails: a directory is in the way
    os.mkdir(BIN + "/portmap/x")
    with pytest.raises(ApplyError) as error:
        apply.apply(ctx, ops)
    assert error.value.rolled_back == ["delete /opt/cni/bin/host-local",
                                       "restore symlink /opt/cni/bin/bridge -> /usr/lib/cni/bridge"]
    os.rmdir(BIN + "/portmap/x")
    os.rmdir(BIN + "/portmap")
    assert tree("/opt/cni") == before
