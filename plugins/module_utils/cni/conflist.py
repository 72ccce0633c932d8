# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CNI network configuration lists: their shape, the plugin binaries they
name, and finding them in a conf dir the way libcni does.

Structure checks are pure. ``check_plugins`` asks the binaries in ``bin_dir``
(CNI_COMMAND=VERSION) and fails with the runtime's own words when one is
missing, so the message users know from kubelet appears at playbook time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.cni.names import network_name, plugin_name
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ConfigError, ParamError, PluginError

# The files libcni's ConfFiles considers, in its lexical order.
CONF_EXTENSIONS = (".conf", ".conflist", ".json")


def check_structure(config, name=None, field="config"):
    """The conflist as it will be written: a copy with ``name`` filled in
    (when given and missing) and cniVersion and name first."""
    if not isinstance(config, dict):
        raise ParamError(field, config, "must be a CNI network configuration list (a dict)")
    version = config.get("cniVersion")
    if cni_exec.version_tuple(version) is None:
        raise ParamError(field + ".cniVersion", version, "must be a CNI spec version such as '1.0.0'")
    net_name = config.get("name", name)
    if name is not None and net_name != name:
        raise ParamError(field + ".name", net_name, "must be the same as name (%s)" % name)
    network_name(field + ".name", net_name)
    plugins = config.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        raise ParamError(field + ".plugins", plugins, "must be a non-empty list of plugin configs")
    for index, plugin in enumerate(plugins):
        where = "%s.plugins[%d]" % (field, index)
        if not isinstance(plugin, dict):
            raise ParamError(where, plugin, "must be a dict with a 'type'")
        plugin_name(where + ".type", plugin.get("type"))
        ipam = plugin.get("ipam")
        if ipam is not None and not isinstance(ipam, dict):
            raise ParamError(where + ".ipam", ipam, "must be a dict")
        if ipam and "type" in ipam:
            plugin_name(where + ".ipam.type", ipam["type"])
        if plugin["type"] == "bridge" and plugin.get("bridge") not in (None, ""):
            # The node's network managers are told its name (unmanaged.py): one interface name, nothing else.
            validate.ifname(where + ".bridge", plugin["bridge"])
    result = {"cniVersion": version, "name": net_name}
    result.update((key, value) for key, value in config.items() if key not in result)
    try:
        json.dumps(result, allow_nan=False)  # NaN and Infinity are not JSON: libcni would refuse the file
    except (TypeError, ValueError) as exc:
        raise ParamError(field, config, "cannot be written as JSON: %s" % exc)
    return result


def same_content(data, config):
    """Whether the bytes ``data`` (a config file) hold exactly ``config``,
    whatever their key order and spacing: object keys are unordered in JSON
    and to libcni, list order (the plugin chain) is not. Types are compared
    strictly (``true`` is not ``1``, ``1`` is not ``1.0``); a file with a
    duplicated key or that is not UTF-8 JSON is never the same."""
    try:
        found = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError):
        return False
    return _equal(found, config)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey("duplicate key")
    return result


def _equal(left, right):
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right


def plugin_types(config, field="config"):
    """(field, type) of every binary the list runs: each plugin and its IPAM."""
    found = []
    for index, plugin in enumerate(config["plugins"]):
        where = "%s.plugins[%d]" % (field, index)
        found.append((where + ".type", plugin["type"]))
        ipam = plugin.get("ipam") or {}
        if "type" in ipam:
            found.append((where + ".ipam.type", ipam["type"]))
    return found


def check_plugins(config, bin_dir, warnings, assume_missing=False, field="config"):
    """Each binary the list names is in ``bin_dir`` and supports its
    cniVersion. Returns ``{type: supported versions}`` of those found. With
    ``assume_missing`` (check mode) a missing binary is a warning: an earlier
    task would install it."""
    version = config["cniVersion"]
    answers = {}
    for where, plugin_type in plugin_types(config, field):
        path = cni_exec.find(plugin_type, [bin_dir])
        if path is None:
            message = cni_exec.not_found_message(plugin_type, [bin_dir])
            if not assume_missing:
                raise ConfigError(where, plugin_type, message)
            warnings.append("%s: %s; check mode assumes an earlier task installs it" % (where, message))
            continue
        if plugin_type not in answers:
            try:
                answers[plugin_type] = cni_exec.supported_versions(path, version)
            except PluginError as exc:
                raise ConfigError(where, plugin_type, str(exc))
        if version not in answers[plugin_type]:
            raise ConfigError(field + ".cniVersion", version,
                              'cniVersion %s is not supported by plugin "%s" (%s supports %s)'
                              % (version, plugin_type, path, ", ".join(answers[plugin_type])))
    return answers


# -- config files in a conf dir -----------------------------------------------------------


def conf_files(conf_dir):
    """Names of the config files a runtime considers in ``conf_dir``, sorted."""
    try:
        entries = os.listdir(conf_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(name for name in entries if name.endswith(CONF_EXTENSIONS)
                  and os.path.isfile(os.path.join(conf_dir, name)))


def load(path):
    """A config file as a conflist dict (a single-plugin .conf becomes a list
    of one, as libcni does), or None when it is not valid JSON."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if path.endswith(".conflist") or "plugins" in data:
        return data
    return {"cniVersion": data.get("cniVersion"), "name": data.get("name"), "plugins": [data]}


def find_by_name(conf_dir, name):
    """(path, conflist) of the network ``name``: .conflist files first, then
    single-plugin files, each group in lexical order, as libcni looks."""
    names = conf_files(conf_dir)
    ordered = [n for n in names if n.endswith(".conflist")] + [n for n in names if not n.endswith(".conflist")]
    for file_name in ordered:
        path = os.path.join(conf_dir, file_name)
        config = load(path)
        if config is not None and config.get("name") == name:
            return path, config
    return None, None
