# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network config list's plugin chain run as libcni runs it: ADD through
the plugins in order, each getting the previous one's result as
``prevResult``; CHECK (spec 0.4.0 and later, unless ``disableCheck``) and DEL
(in reverse order) with the chain's ADD result as ``prevResult``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import List, Optional

from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError

CHECK_SINCE = (0, 4, 0)


@dataclasses.dataclass(frozen=True)
class Runtime:
    """What a runtime tells the plugins about the container (the CNI_* variables)."""
    container_id: str
    netns_path: str
    ifname: str
    bin_dir: str
    timeout: int = 60

    def env(self):
        return {"CNI_CONTAINERID": self.container_id, "CNI_NETNS": self.netns_path,
                "CNI_IFNAME": self.ifname, "CNI_PATH": self.bin_dir, "CNI_ARGS": ""}


@dataclasses.dataclass
class Run:
    """What happened: the commands run, the ADD result, and the errors."""
    commands: List[str] = dataclasses.field(default_factory=list)
    result: Optional[dict] = None
    errors: List[str] = dataclasses.field(default_factory=list)


def plugin_conf(config, plugin, prev_result):
    """libcni's buildOneConfig: the plugin's own config plus the list's name
    and cniVersion, and the previous result when there is one."""
    conf = dict(plugin)
    conf["name"] = config["name"]
    conf["cniVersion"] = config["cniVersion"]
    if prev_result is not None:
        conf["prevResult"] = prev_result
    return conf


def add(config, runtime, run):
    """ADD through the chain; True when every plugin succeeded."""
    prev = None
    for plugin in config["plugins"]:
        prev = _invoke(config, plugin, "ADD", prev, runtime, run)
        if run.errors:
            return False
    run.result = prev
    return True


def check(config, runtime, run):
    """CHECK through the chain with the ADD result; skipped (True) when the
    spec version has no CHECK or the list sets disableCheck."""
    if cni_exec.version_tuple(config["cniVersion"]) < CHECK_SINCE or config.get("disableCheck"):
        return True
    for plugin in config["plugins"]:
        _invoke(config, plugin, "CHECK", run.result, runtime, run)
        if run.errors:
            return False
    return True


def delete(config, runtime, run):
    """DEL through the chain in reverse; every plugin gets its DEL even when
    an earlier one failed, so each can release what it holds."""
    gets_result = cni_exec.version_tuple(config["cniVersion"]) >= CHECK_SINCE
    for plugin in reversed(config["plugins"]):
        _invoke(config, plugin, "DEL", run.result if gets_result else None, runtime, run)


def _invoke(config, plugin, command, prev, runtime, run):
    plugin_type = plugin["type"]
    run.commands.append("%s %s" % (command, plugin_type))
    path = cni_exec.find(plugin_type, [runtime.bin_dir])
    try:
        if path is None:
            raise NetplumbError(cni_exec.not_found_message(plugin_type, [runtime.bin_dir]))
        answer = cni_exec.invoke(path, command, plugin_conf(config, plugin, prev),
                                 env=runtime.env(), timeout=runtime.timeout)
    except NetplumbError as exc:
        run.errors.append("%s %s: %s" % (command, plugin_type, exc))
        return prev
    if command == "ADD":
        if not isinstance(answer, dict):
            run.errors.append('ADD %s: plugin "%s" returned no result' % (plugin_type, plugin_type))
            return prev
        return answer
    return prev
