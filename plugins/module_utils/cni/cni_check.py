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

With runtime: cri the trial is a pod sandbox that the node's container
runtime makes over CRI, as for the kubelet (cri_trial.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import secrets
from typing import Optional

from ansible_collections.netplumb.linux.plugins.module_utils.cni import chain as cni_chain
from ansible_collections.netplumb.linux.plugins.module_utils.cni import conflist as cni_conflist
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cri_trial
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
RUNTIMES = ("exec", "cri")
DEFAULT_CRI_SOCKET = "/run/containerd/containerd.sock"
DEFAULT_CGROUP_PARENT = "/netplumb-cni-check"
PROTOCOLS = ("tcp", "udp", "sctp")
MAX_SERVE = 100


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    name: Optional[str]
    config: Optional[dict]
    conf_dir: str
    bin_dir: str
    ifname: str
    timeout: int
    runtime: str = "exec"
    cri_socket: str = DEFAULT_CRI_SOCKET
    cgroup_parent: str = DEFAULT_CGROUP_PARENT
    host_port: int = 0
    container_port: int = 0
    protocol: str = "tcp"
    serve: int = 0
    ready_file: Optional[str] = None


def parse(params):
    name, config = params.get("name"), params.get("config")
    if (name is None) == (config is None):
        raise ParamError("name", name, "or config: give exactly one of them")
    runtime = validate.choice("runtime", params.get("runtime") or "exec", RUNTIMES)
    if runtime == "cri" and config is not None:
        raise ParamError("config", "(a conflist)", "cannot go with runtime cri: the runtime reads its networks from "
                         "its own conf_dir; write it there (cni_config) and give its name")
    host_port = validate.integer("host_port", params.get("host_port") or 0, 0, 65535)
    cri_options = _cri_options(params, host_port)
    if runtime == "exec":
        for field, value in cri_options.items():
            if params.get(field) is not None and value != CheckSpec.__dataclass_fields__[field].default:
                raise ParamError(field, value, "only goes with runtime cri")
    if config is not None:
        config = cni_conflist.check_structure(config)
    else:
        name = network_name("name", name)
    return CheckSpec(
        name=name, config=config,
        conf_dir=absolute_path("conf_dir", params.get("conf_dir") or cni_exec.DEFAULT_CONF_DIR),
        bin_dir=absolute_path("bin_dir", params.get("bin_dir") or cni_exec.DEFAULT_BIN_DIR),
        ifname=validate.ifname("ifname", params.get("ifname") or "eth0"),
        timeout=validate.integer("timeout", 60 if params.get("timeout") is None else params["timeout"], 1, 3600),
        runtime=runtime, **cri_options)


def _cri_options(params, host_port):
    parent = params.get("cgroup_parent")
    parent = DEFAULT_CGROUP_PARENT if parent is None else parent
    if not parent or "\0" in parent or ".." in parent.split("/") or (
            not parent.startswith("/") and not parent.endswith(".slice")):
        raise ParamError("cgroup_parent", parent, "must be an absolute cgroupfs path without '..', or a systemd "
                         "slice (name.slice)")
    container_port = params.get("container_port")
    return {
        "cri_socket": absolute_path("cri_socket", params.get("cri_socket") or DEFAULT_CRI_SOCKET),
        "cgroup_parent": parent, "host_port": host_port,
        "container_port": validate.integer("container_port", host_port if container_port is None else container_port,
                                           0 if not host_port else 1, 65535),
        "protocol": validate.choice("protocol", params.get("protocol") or "tcp", PROTOCOLS),
        "serve": _serve_count(params, host_port, container_port),
        "ready_file": None if not params.get("ready_file") else absolute_path("ready_file", params["ready_file"])}


def _serve_count(params, host_port, container_port):
    serve = validate.integer("serve", params.get("serve") or 0, 0, MAX_SERVE)
    if serve and not (container_port or host_port):
        raise ParamError("serve", serve, "needs container_port or host_port: the pod's port to answer on")
    if serve and (params.get("protocol") or "tcp") != "tcp":
        raise ParamError("serve", serve, "answers TCP connections only: protocol must be tcp")
    return serve


def plan(ctx, spec):
    result = Plan()
    result.extra = {"trial_ran": True}
    if spec.runtime == "cri":
        result.extra.update(cri_trial.run(ctx, spec, PREFIX))
        return result
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
    before = cni_leftovers.NodeState.take(config)
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
