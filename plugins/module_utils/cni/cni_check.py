# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cni_check: prove that a network config works by running its plugin chain
(ADD, CHECK, DEL) for a throwaway container, as a runtime would.

The container is a network namespace created for the trial and always
removed, with DEL always run first, also when ADD or CHECK fail; what the
chain made on the node (a bridge, IPAM state, forwarding sysctls) is put back
as it was (cni_leftovers). So the trial is a read of the node: its plan has
no operations and it runs the same in check mode, where a config or binary
that does not exist yet is assumed to come from an earlier task (a warning,
no trial).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import secrets
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.cni import chain as cni_chain
from ansible_collections.netplumb.linux.plugins.module_utils.cni import conflist as cni_conflist
from ansible_collections.netplumb.linux.plugins.module_utils.cni import plugin_exec as cni_exec
from ansible_collections.netplumb.linux.plugins.module_utils.cni import leftovers as cni_leftovers
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.cni.names import absolute_path, network_name
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import CheckFailed, ConfigError, ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan

NETLINK = None  # files and plugin runs only
OPERATIONS = ()  # it changes nothing
PREFIX = "netplumb-cni-check-"


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    name: Optional[str]
    config: Optional[dict]
    conf_dir: str
    bin_dir: str
    ifname: str
    timeout: int


def parse(params):
    name, config = params.get("name"), params.get("config")
    if (name is None) == (config is None):
        raise ParamError("name", name, "or config: give exactly one of them")
    if config is not None:
        config = cni_conflist.check_structure(config)
    else:
        name = network_name("name", name)
    return CheckSpec(
        name=name, config=config,
        conf_dir=absolute_path("conf_dir", params.get("conf_dir") or cni_exec.DEFAULT_CONF_DIR),
        bin_dir=absolute_path("bin_dir", params.get("bin_dir") or cni_exec.DEFAULT_BIN_DIR),
        ifname=validate.ifname("ifname", params.get("ifname") or "eth0"),
        timeout=validate.integer("timeout", 60 if params.get("timeout") is None else params["timeout"], 1, 3600))


def plan(ctx, spec):
    result = Plan()
    result.extra = {"trial_ran": True}
    config, path = _config(ctx, spec)
    if config is None or not _binaries_present(ctx, spec, config):
        result.extra["trial_ran"] = False
        return result
    run = trial(config, spec.bin_dir, spec.ifname, spec.timeout, ctx.warnings)
    add = run.result or {}
    result.extra.update({
        "network": config["name"], "config_path": path, "add_result": add, "commands": run.commands,
        "addresses": [ip.get("address") for ip in add.get("ips") or [] if isinstance(ip, dict)]})
    return result


def trial(config, bin_dir, ifname="eth0", timeout=60, warnings=None):
    """ADD, CHECK, DEL in a new namespace that is removed afterwards; returns
    the cni_chain.Run, raises CheckFailed with every error on the way."""
    token = secrets.token_hex(4)
    runtime = cni_chain.Runtime(container_id=PREFIX + token, netns_path=namespaces.netns_path(PREFIX + token),
                                ifname=ifname, bin_dir=bin_dir, timeout=timeout)
    before = cni_leftovers.NodeState(config)
    run = cni_chain.Run()
    namespaces.create(PREFIX + token)
    try:
        if cni_chain.add(config, runtime, run):
            cni_chain.check(config, runtime, run)
    finally:
        cni_chain.delete(config, runtime, run)
        namespaces.delete(PREFIX + token)
        removed = before.restore(runtime.container_id, run.result)
    if removed and warnings is not None:
        warnings.append("network %s: the trial left %s behind; removed" % (config["name"], ", ".join(removed)))
    if run.errors:
        raise CheckFailed("network %s does not work: %s (ran %s; DEL ran and the trial namespace is gone)"
                          % (config["name"], "; ".join(run.errors), ", ".join(run.commands)), run)
    return run


def _config(ctx, spec):
    if spec.config is not None:
        return spec.config, None
    path, config = cni_conflist.find_by_name(spec.conf_dir, spec.name)
    if path is None:
        message = "no config for network %s in %s (config files: %s)" % (
            spec.name, spec.conf_dir, ", ".join(cni_conflist.conf_files(spec.conf_dir)) or "none")
        if not ctx.assume_earlier_task(message + "; check mode assumes an earlier task writes it, and skips "
                                       "the trial"):
            raise ParamError("name", spec.name, "has " + message)
        return None, None
    return cni_conflist.check_structure(config, field=path), path


def _binaries_present(ctx, spec, config):
    for where, plugin_type in cni_conflist.plugin_types(config):
        if cni_exec.find(plugin_type, [spec.bin_dir]) is None:
            message = cni_exec.not_found_message(plugin_type, [spec.bin_dir])
            if not ctx.assume_earlier_task("%s: %s; check mode assumes an earlier task installs it, and skips "
                                           "the trial" % (where, message)):
                raise ConfigError(where, plugin_type, message)
            return False
    return True


def leftover_namespaces():
    """Trial namespaces that exist now (there should be none)."""
    return [name for name in namespaces.list_names() if name.startswith(PREFIX)]
