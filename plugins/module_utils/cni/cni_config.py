# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cni_config: one network config list, ``<priority>-<name>.conflist`` in
``conf_dir``, validated against the plugin binaries before it is written.

The file is ours by its name pattern: a ``NN-<name>.conflist`` with another
priority is the same network's old file and goes when the priority changes.
Runtimes load the lexically first config file, so another file sorting
before ours is a warning, and ``exclusive`` removes every other config file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import json
import os
import re
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.cni import conflist as cni_conflist
from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops, files, unmanaged
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.cni.names import absolute_path, network_name
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan

NETLINK = None  # files only
OPERATIONS = (file_ops.OPERATIONS, unmanaged.OPERATIONS)
CONFIG_MODE = 0o644
DIR_MODE = 0o755


@dataclasses.dataclass(frozen=True)
class ConfigSpec:
    name: str
    content: Optional[bytes]
    priority: int
    conf_dir: str
    bin_dir: str
    validate: bool
    exclusive: bool
    state: str
    network_managers: str = "auto"

    @property
    def file_name(self):
        return "%02d-%s.conflist" % (self.priority, self.name)

    @property
    def path(self):
        return os.path.join(self.conf_dir, self.file_name)

    @property
    def config(self):
        return json.loads(self.content.decode()) if self.content is not None else None


def parse(params):
    state = validate.choice("state", params.get("state") or "present", ("present", "absent"))
    name = network_name("name", params.get("name"))
    priority = validate.integer("priority", params.get("priority", 10), 0, 99)
    conf_dir = absolute_path("conf_dir", params.get("conf_dir") or cni_exec.DEFAULT_CONF_DIR)
    bin_dir = absolute_path("bin_dir", params.get("bin_dir") or cni_exec.DEFAULT_BIN_DIR)
    check = validate.boolean("validate", params.get("validate", True))
    exclusive = validate.boolean("exclusive", params.get("exclusive", False))
    content = None
    if state == "present":
        if params.get("config") is None:
            raise ParamError("config", None, "is required when state=present")
        config = cni_conflist.check_structure(params["config"], name=name)
        content = (json.dumps(config, indent=2) + "\n").encode()
    managers = validate.choice("network_managers", params.get("network_managers") or "auto", unmanaged.MODES)
    return ConfigSpec(name, content, 10 if priority is None else priority, conf_dir, bin_dir,
                      check is not False, bool(exclusive), state, managers)


def plan(ctx, spec):
    present = spec.state == "present"
    if present and spec.validate:
        cni_conflist.check_plugins(spec.config, spec.bin_dir, ctx.warnings, assume_missing=ctx.check_mode)
    if present and os.path.isdir(spec.bin_dir) and cni_exec.find("loopback", [spec.bin_dir]) is None:
        ctx.warn("bin_dir %s has no 'loopback' plugin, which containerd and CRI-O run for every pod's lo"
                 % spec.bin_dir)
    names = cni_conflist.conf_files(spec.conf_dir)
    result = Plan(before=_state(spec, names))
    remove = [n for n in names if n != spec.file_name and (_same_network(spec, n) or spec.exclusive)]
    remove += [spec.file_name] if not present and spec.file_name in names else []
    if present:
        for op in files.mkdir_ops(spec.conf_dir, DIR_MODE):
            result.add("files", op)
        op, _old = files.plan_write(spec.path, _content(spec), CONFIG_MODE)
        if op is not None:
            result.add("files", op)
    for op in files.stale_temp_ops(spec.path):
        result.add("files", op)
    for file_name in remove:
        path = os.path.join(spec.conf_dir, file_name)
        result.add("files", files.delete_op(path, files.read(path)))
    after_names = sorted(set(names) - set(remove) | ({spec.file_name} if present else set()))
    result.after = _state(spec, after_names, spec.config)
    devices = _devices(spec.config) if present else ()
    before, after = unmanaged.plan(result, spec.network_managers, spec.name, "cni_config, network %s" % spec.name,
                                   devices, "present" if devices else "absent")
    if before or after:
        result.before["network_managers"], result.after["network_managers"] = before, after
    if present:
        _warn_shadowed(ctx, spec, after_names)
    result.extra = {"path": spec.path}
    return result


def _devices(config):
    """The host devices the config's plugins make: the bridge plugin's bridge
    (cni0 unless named) and, for bridge and ptp, the host ends of the pods'
    veths, which the plugins name veth<random>."""
    plugins = config.get("plugins") or []
    bridges = [p.get("bridge") or "cni0" for p in plugins if p.get("type") == "bridge"]
    veths = ("veth*",) if any(p.get("type") in ("bridge", "ptp") for p in plugins) else ()
    return tuple(dict.fromkeys(bridges)) + veths


def _content(spec):
    """The bytes our file should hold: the file's own when it already holds
    the same config with keys in another order or other spacing (no rewrite
    for a dict that came in another order), else the config as given."""
    old = files.read(spec.path)
    if old is not None and old.content is not None and old.content != spec.content \
            and cni_conflist.same_content(old.content, spec.config):
        return old.content
    return spec.content


def _same_network(spec, file_name):
    return re.fullmatch(r"\d+-%s\.conflist" % re.escape(spec.name), file_name) is not None


def _warn_shadowed(ctx, spec, names):
    first = names[0]
    if first != spec.file_name:
        ctx.warn(
            "%s sorts before %s in %s: runtimes load the lexically first config, so they will use %s "
            "and not this network; use a lower priority, or exclusive: true to remove the others"
            % (first, spec.file_name, spec.conf_dir, first))


def _state(spec, names, config=False):
    """What --diff shows: our file's JSON and the config files in conf_dir."""
    state = {"path": spec.path, "conf_dir_files": list(names)}
    if spec.file_name not in names:
        state["state"] = "absent"
        return state
    state["state"] = "present"
    if config is False:
        old = files.read(spec.path)
        text = (old.content or b"").decode("utf-8", "replace")
        try:
            config = json.loads(text)
        except ValueError:
            config = text  # not JSON: shown as it is
    state["config"] = config
    return state
