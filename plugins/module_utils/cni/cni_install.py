# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cni_install: CNI plugin binaries in ``bin_dir``, from a release archive (a
path or a URL) or a directory, or named ones removed.

The source is read into memory and checked completely before the plan is made
(checksum first, then every archive member), so a bad source fails with a
ParamError and nothing in ``bin_dir`` changes. URLs are fetched by a
``download(url) -> bytes`` function that the caller passes in (the module uses
Ansible's URL helpers); see ``with_download``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import functools
import os
import types
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.cni import archive as cni_archive
from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops, files
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.cni.names import absolute_path, plugin_names
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError, ParamError, PluginError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan

NETLINK = None  # files only
OPERATIONS = (file_ops.OPERATIONS,)
BINARY_MODE = 0o755


@dataclasses.dataclass(frozen=True)
class InstallSpec:
    src: Optional[str]
    is_url: bool
    checksum: Optional[str]
    plugins: Optional[Tuple[str, ...]]
    bin_dir: str
    state: str


def parse(params):
    state = validate.choice("state", params.get("state") or "present", ("present", "absent"))
    bin_dir = absolute_path("bin_dir", params.get("bin_dir") or cni_exec.DEFAULT_BIN_DIR)
    plugins = plugin_names("plugins", params.get("plugins"))
    checksum = cni_archive.parse_checksum("checksum", params.get("checksum"))
    src = params.get("src")
    if state == "absent":
        if not plugins:
            raise ParamError("plugins", params.get("plugins"),
                             "must name the plugins to remove when state=absent")
        return InstallSpec(None, False, None, plugins, bin_dir, state)
    if not src:
        raise ParamError("src", src, "is required when state=present")
    is_url = isinstance(src, str) and src.lower().startswith(("http://", "https://"))
    if is_url and checksum is None:
        raise ParamError("checksum", None, "is required when src is a URL (%s)" % src)
    if not is_url:
        src = absolute_path("src", src)
    return InstallSpec(src, is_url, checksum, plugins, bin_dir, state)


def with_download(download):
    """This resource with URL sources fetched by ``download(url) -> bytes``."""
    return types.SimpleNamespace(parse=parse, plan=functools.partial(plan, download=download),
                                 NETLINK=NETLINK, OPERATIONS=OPERATIONS, __name__=__name__)


def plan(ctx, spec, download=None):
    names = sorted(_installed(spec.bin_dir))
    before = {"bin_dir": spec.bin_dir, "plugins": {n: _describe(spec.bin_dir, n) for n in names}}
    if spec.state == "absent":
        result = _plan_absent(spec, before)
    else:
        result = _plan_present(ctx, spec, before, download)
    remaining = set(result.after["plugins"])
    if remaining and "loopback" not in remaining:
        ctx.warn(
            "bin_dir %s has no 'loopback' plugin: containerd and CRI-O run it for every pod's lo, "
            "so pods would fail with: %s" % (spec.bin_dir, cni_exec.not_found_message("loopback", [spec.bin_dir])))
    return result


def _plan_absent(spec, before):
    result = Plan(before=before)
    after = dict(before["plugins"])
    for name in spec.plugins:
        path = os.path.join(spec.bin_dir, name)
        old = files.read(path)
        if old is not None:
            result.add("files", files.delete_op(path, old))
            after.pop(name, None)
        for op in files.stale_temp_ops(path):
            result.add("files", op)
    result.after = {"bin_dir": spec.bin_dir, "plugins": after}
    result.extra = {"bin_dir": spec.bin_dir, "plugins": {}}
    return result


def _plan_present(ctx, spec, before, download):
    wanted = set(spec.plugins) if spec.plugins else None
    (sources, available), origin = _read_source(spec, wanted, download)
    if not available:
        raise ParamError("src", spec.src, "holds no plugins (no executable files at its top level)")
    missing = sorted(wanted - set(available)) if wanted else []
    if missing:
        raise ParamError("plugins", list(spec.plugins), "names plugins that are not in src: %s (src has: %s)"
                         % (", ".join(missing), ", ".join(available)))
    result = Plan(before=before)
    for op in files.mkdir_ops(spec.bin_dir):
        result.add("files", op)
    after, installed = dict(before["plugins"]), {}
    for name in sorted(sources):
        path = os.path.join(spec.bin_dir, name)
        content = sources[name]
        op, old = files.plan_write(path, content, BINARY_MODE)
        if op is not None:
            result.add("files", op)
        for op in files.stale_temp_ops(path):
            result.add("files", op)
        after[name] = {"sha256": files.sha256(content), "mode": "%04o" % BINARY_MODE, "owner": "0:0"}
        installed[name] = {"path": path, "sha256": after[name]["sha256"],
                           "supported_versions": _versions(ctx, name, path, content, old, after[name]["sha256"])}
    result.after = {"bin_dir": spec.bin_dir, "plugins": after}
    result.extra = {"bin_dir": spec.bin_dir, "plugins": installed, "source": origin}
    return result


def _read_source(spec, wanted, download):
    """(plugins in src, what src was): an archive's size, its sha256 and
    whether a checksum was verified; a directory as such."""
    if os.path.isdir(spec.src) and not spec.is_url:
        if spec.checksum is not None:
            raise ParamError("checksum", "sha256:" + spec.checksum,
                             "applies to an archive, and src %s is a directory" % spec.src)
        return cni_archive.plugins_in_directory(spec.src, wanted), {"src": spec.src, "kind": "directory"}
    if spec.is_url:
        if download is None:
            raise NetplumbError("src %s is a URL, and no download function was given" % spec.src)
        data = download(spec.src)
    elif os.path.isfile(spec.src):
        data = cni_archive.read_file(spec.src)
    else:
        raise ParamError("src", spec.src, "does not exist (or is neither a file nor a directory)")
    if spec.checksum is not None:
        cni_archive.verify(data, spec.checksum, spec.src)
    origin = {"src": spec.src, "kind": "url" if spec.is_url else "archive", "size": len(data),
              "sha256": files.sha256(data), "checksum_verified": spec.checksum is not None}
    return cni_archive.plugins_in_archive(data, spec.src, wanted), origin


# A binary answers VERSION the same each time: asked once per process (a
# module run), not again by the read-back after the apply.
_VERSIONS = {}


def _versions(ctx, name, path, content, old, digest):
    """The plugin's answer to CNI_COMMAND=VERSION: from bin_dir when it already
    holds this binary, else from a private temporary copy (also in check mode)."""
    key = (name, digest)
    if key in _VERSIONS:
        return list(_VERSIONS[key])
    try:
        if old is not None and old.content == content:
            versions = cni_exec.supported_versions(path)
        else:
            versions = cni_exec.supported_versions_of_content(name, content)
    except PluginError as exc:
        ctx.warn("%s: %s" % (name, exc))
        return None
    _VERSIONS[key] = tuple(versions)
    return versions


def _installed(bin_dir):
    try:
        entries = os.listdir(bin_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [name for name in entries if not name.startswith(".") and
            os.path.isfile(os.path.join(bin_dir, name)) and os.access(os.path.join(bin_dir, name), os.X_OK)]


def _describe(bin_dir, name):
    old = files.read(os.path.join(bin_dir, name))
    if old is None:  # removed since bin_dir was listed
        return {"state": "absent"}
    if old.symlink is not None:
        return {"symlink": old.symlink}
    return {"sha256": old.sha256, "mode": "%04o" % old.mode, "owner": files.owner_text(old.uid, old.gid)}
