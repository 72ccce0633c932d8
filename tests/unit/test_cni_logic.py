"""Pure logic of the CNI modules: checksums, archive member checks on
in-memory archives, conflist shape, libcni's per-plugin config, file
operations as data. No kernel, no plugin binaries."""

import hashlib
import io
import tarfile

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import archive as cni_archive
from ansible_collections.netplumb.linux.plugins.module_utils.cni import chain as cni_chain
from ansible_collections.netplumb.linux.plugins.module_utils.cni import conflist as cni_conflist
from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.cni import names as cni_names
from ansible_collections.netplumb.linux.plugins.module_utils.cni import files
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

ELF = b"\x7fELF fake plugin"


def archive(*members, compression="gz"):
    """An archive of (name, data, mode, type, linkname) members, as bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:" + compression) as tar:
        for name, data, mode, kind, linkname in members:
            info = tarfile.TarInfo(name)
            info.mode, info.type, info.linkname = mode, kind, linkname
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buffer.getvalue()


def plugin(name, data=ELF, mode=0o755):
    return (name, data, mode, tarfile.REGTYPE, "")


# -- checksums --------------------------------------------------------------------------------


def test_checksum_parsing():
    digest = "AB" * 32
    assert cni_archive.parse_checksum("checksum", "sha256:" + digest) == digest.lower()
    assert cni_archive.parse_checksum("checksum", None) is None
    for bad in ("md5:abc", "sha256:" + "0" * 63, digest, "sha256:" + "g" * 64, 5):
        with pytest.raises(ParamError) as error:
            cni_archive.parse_checksum("checksum", bad)
        assert error.value.field == "checksum"


def test_checksum_verification_names_both_digests():
    data = b"archive"
    cni_archive.verify(data, hashlib.sha256(data).hexdigest(), "/x.tgz")
    with pytest.raises(ParamError) as error:
        cni_archive.verify(data, "0" * 64, "/x.tgz")
    assert hashlib.sha256(data).hexdigest() in str(error.value) and error.value.field == "checksum"


# -- archives ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", ""])
def test_release_layout_gives_top_level_executables(compression):
    data = archive(("./", b"", 0o755, tarfile.DIRTYPE, ""), plugin("./bridge"), plugin("./loopback", b"lo"),
                   plugin("./LICENSE", b"text", 0o644), plugin("./docs/extra", b"x"), compression=compression)
    found, names = cni_archive.plugins_in_archive(data, "/x.tgz")
    assert names == ["bridge", "loopback"]
    assert found == {"bridge": ELF, "loopback": b"lo"}
    found, names = cni_archive.plugins_in_archive(data, "/x.tgz", wanted={"loopback"})
    assert found == {"loopback": b"lo"} and names == ["bridge", "loopback"]


@pytest.mark.parametrize("member, words", [
    (plugin("/etc/evil"), "absolute path"),
    (plugin("../evil"), "'..'"),
    (plugin("./a/../../evil"), "'..'"),
    (("./host-local", b"", 0o777, tarfile.SYMTYPE, "/bin/sh"), "symlink"),
    (("./host-local", b"", 0o755, tarfile.LNKTYPE, "./bridge"), "hard link"),
    (("./null", b"", 0o666, tarfile.CHRTYPE, ""), "device"),
    (("./sda", b"", 0o666, tarfile.BLKTYPE, ""), "device"),
    (("./pipe", b"", 0o666, tarfile.FIFOTYPE, ""), "FIFO"),
    (plugin("./bridge"), "twice"),
])
def test_one_unsafe_member_rejects_the_archive(member, words):
    data = archive(plugin("./bridge"), member)
    with pytest.raises(ParamError) as error:
        cni_archive.plugins_in_archive(data, "/x.tgz")
    assert error.value.field == "src" and words in str(error.value), str(error.value)
    assert "nothing was installed" in str(error.value)


def test_oversized_members_and_totals(monkeypatch):
    monkeypatch.setattr(cni_archive, "MAX_MEMBER_BYTES", 10)
    with pytest.raises(ParamError) as error:
        cni_archive.plugins_in_archive(archive(plugin("./bridge", b"x" * 11)), "/x.tgz")
    assert "oversized" in str(error.value)
    monkeypatch.setattr(cni_archive, "MAX_MEMBER_BYTES", 100)
    monkeypatch.setattr(cni_archive, "MAX_TOTAL_BYTES", 15)
    with pytest.raises(ParamError) as error:
        cni_archive.plugins_in_archive(archive(plugin("./a", b"x" * 10), plugin("./b", b"x" * 10)), "/x.tgz")
    assert "more than 15 bytes" in str(error.value)


def test_garbage_and_truncated():
    with pytest.raises(ParamError) as error:
        cni_archive.plugins_in_archive(b"\x00garbage" * 100, "/x.tgz")
    assert "not a tar archive" in str(error.value) or "not a readable tar archive" in str(error.value)
    good = archive(plugin("./bridge", b"x" * 5000), compression="")
    with pytest.raises(ParamError):
        cni_archive.plugins_in_archive(good[:1024], "/x.tgz")


# -- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["bridge", "host-local", "aws-cni", "cilium-cni", "v1.2_x+y"])
def test_plugin_names_ok(value):
    assert cni_names.plugin_name("t", value) == value


@pytest.mark.parametrize("value", ["", ".", "..", "a/b", "../x", "a b", None, 3])
def test_plugin_names_bad(value):
    with pytest.raises(ParamError):
        cni_names.plugin_name("t", value)


def test_plugin_list_is_sorted_and_unique():
    assert cni_names.plugin_names("plugins", ["loopback", "bridge", "loopback"]) == ("bridge", "loopback")
    with pytest.raises(ParamError) as error:
        cni_names.plugin_names("plugins", ["bridge", "a/b"])
    assert error.value.field == "plugins[1]"


@pytest.mark.parametrize("value, ok", [("podnet", True), ("k8s-pod-network", True), ("a.b_c", True),
                                       ("-x", False), ("a/b", False), ("", False), ("a b", False)])
def test_network_names(value, ok):
    if ok:
        assert cni_names.network_name("name", value) == value
    else:
        with pytest.raises(ParamError):
            cni_names.network_name("name", value)


def test_paths_are_absolute_and_normalised():
    assert cni_names.absolute_path("bin_dir", "/opt/cni//bin/") == "/opt/cni/bin"
    for bad in ("opt/cni", "", None, "/a\0b"):
        with pytest.raises(ParamError):
            cni_names.absolute_path("bin_dir", bad)


# -- conflists ----------------------------------------------------------------------------------------


def test_structure_fills_in_the_name_first():
    config = cni_conflist.check_structure({"plugins": [{"type": "bridge"}], "cniVersion": "1.0.0"}, name="n")
    assert list(config) == ["cniVersion", "name", "plugins"] and config["name"] == "n"


def test_a_bridge_plugins_bridge_is_an_interface_name_or_nothing():
    """The network managers are told the bridge's name (a NetworkManager
    conf.d list, a networkd [Match]): nothing but one interface name goes there."""
    def config(bridge):
        return {"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "portmap"}, {"type": "bridge", "bridge": bridge}]}
    for good in ("cni0", "br-pods", None, ""):
        cni_conflist.check_structure(config(good))
    for bad in ([None], "br0;interface-name:*", "br0\n[main]", "a" * 16, 7, "lo"):
        with pytest.raises(ParamError) as caught:
            cni_conflist.check_structure(config(bad))
        assert caught.value.field == "config.plugins[1].bridge"


def test_plugin_types_include_ipam():
    config = {"cniVersion": "1.0.0", "name": "n", "plugins": [
        {"type": "bridge", "ipam": {"type": "host-local"}}, {"type": "portmap"}, {"type": "x", "ipam": {}}]}
    assert cni_conflist.plugin_types(config) == [
        ("config.plugins[0].type", "bridge"), ("config.plugins[0].ipam.type", "host-local"),
        ("config.plugins[1].type", "portmap"), ("config.plugins[2].type", "x")]


def test_config_error_message_is_the_runtimes():
    error = cni_conflist.ConfigError("config.plugins[0].type", "aws-cni",
                                     cni_exec.not_found_message("aws-cni", ["/opt/cni/bin"]))
    assert str(error) == 'config.plugins[0].type: failed to find plugin "aws-cni" in path [/opt/cni/bin]'
    assert error.field == "config.plugins[0].type" and isinstance(error, ParamError)
    assert cni_exec.not_found_message("x", ["/a", "/b"]) == 'failed to find plugin "x" in path [/a /b]'


def test_libcni_per_plugin_config():
    config = {"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge", "name": "ignored"}]}
    assert cni_chain.plugin_conf(config, config["plugins"][0], None) == {
        "type": "bridge", "name": "n", "cniVersion": "1.0.0"}
    prev = {"cniVersion": "1.0.0", "ips": []}
    assert cni_chain.plugin_conf(config, config["plugins"][0], prev)["prevResult"] == prev
    assert "prevResult" not in config["plugins"][0]


def test_versions():
    assert cni_exec.version_tuple("0.4.0") == (0, 4, 0)
    assert cni_exec.version_tuple("1.0") is None and cni_exec.version_tuple(None) is None


# -- file operations as data -----------------------------------------------------------------------------


def test_file_ops_describe_and_undo():
    old = files.FileState(b"old", 0o700, 0, 0)
    op = files.write_op("/opt/cni/bin/bridge", b"new!", 0o755, old=old)
    assert op.describe() == "write /opt/cni/bin/bridge (4 bytes, mode 0755, owner 0:0)"
    assert op.as_dict()["args"] == {"size": 4, "sha256": hashlib.sha256(b"new!").hexdigest(),
                                    "mode": "0755", "owner": "0:0"}
    assert "content" not in op.as_dict()
    assert op.undo.content == b"old" and op.undo.args["mode"] == "0700"
    assert files.write_op("/x", b"", 0o644).undo.describe() == "delete /x"
    link = files.FileState(None, 0o777, 0, 0, symlink="/usr/lib/cni/bridge")
    assert files.write_op("/x", b"", 0o644, old=link).undo.describe() == "restore symlink /x -> /usr/lib/cni/bridge"
    assert files.delete_op("/x", old).undo.describe() == "write /x (3 bytes, mode 0700, owner 0:0)"
    assert files.attrs_op("/x", 0o755, old=old).describe() == "set /x mode 0755, owner 0:0"
    assert files.attrs_op("/x", 0o755, old=old).undo.describe() == "set /x mode 0700, owner 0:0"
