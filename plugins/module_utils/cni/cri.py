# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway pod sandbox through the node's container runtime, over the CRI
gRPC API, the way the kubelet asks for one (cni_check's runtime: cri).

RunPodSandbox with the kubelet's fields (metadata, hostname, log directory,
port mappings, namespace options, cgroup parent), then PodSandboxStatus for
the pod's IPs and the runtime's record of the CNI result; StopPodSandbox and
RemovePodSandbox always run afterwards, also after a failure, also for a
sandbox a failed RunPodSandbox left behind (found by its label). What the
runtime cannot remove is named in the error, with why.

grpc and the CRI stubs (PyPI's container-runtime-interface-api) are imported
by load() only, so a run without runtime: cri never imports them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from typing import List, Optional

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetplumbError

LIBRARIES = "grpcio and container-runtime-interface-api"
PIP_REQUIREMENT = "container-runtime-interface-api"
LABEL = "netplumb.linux/cni-check"
POD_NAMESPACE = "netplumb-cni-check"
CGROUP_ROOT = "/sys/fs/cgroup"
# containerd reloads its CNI conf_dir on its own, about 0.1 s after a change.
CONFIG_WAIT = 10.0
CONFIG_POLL = 0.1


class MissingCriLibrary(NetplumbError):
    """grpc or the CRI stubs are not importable; raised before the node is touched."""

    def __init__(self, exception):
        self.exception = exception
        super(MissingCriLibrary, self).__init__(
            "Failed to import the required Python libraries (%s) on the node's Python %s, which runtime: cri "
            "needs (%s). Install them: pip install '%s' (it brings grpcio and protobuf) into that Python, or let "
            "the cni role do it (cni_check_runtime: cri with cni_install_prereqs). If they are installed, Ansible "
            "is using another Python: set ansible_python_interpreter."
            % (LIBRARIES, sys.executable, exception, PIP_REQUIREMENT))


class CriError(NetplumbError):
    """The runtime refused a CRI call; the message carries its words."""


def load():
    """(grpc, api_pb2, api_pb2_grpc), or MissingCriLibrary."""
    # pylint: disable=import-outside-toplevel
    try:
        import grpc
        from cri_api.v1 import api_pb2, api_pb2_grpc
    except ImportError as exc:
        raise MissingCriLibrary(exc)
    return grpc, api_pb2, api_pb2_grpc


@dataclasses.dataclass(frozen=True)
class PodSpec:
    """What the throwaway pod asks for; name and uid make it unique."""
    name: str
    uid: str
    cgroup_parent: str
    host_port: int = 0
    container_port: int = 0
    protocol: str = "tcp"


@dataclasses.dataclass
class Pod:
    id: str
    ip: str
    ips: List[str]
    netns: Optional[str]
    cni_result: dict


class Runtime:
    """One gRPC channel to a CRI socket; every call bounded by ``timeout`` seconds."""

    def __init__(self, socket, timeout):
        self.grpc, self.api, stubs = load()
        self.socket = socket
        self.timeout = timeout
        self.channel = self.grpc.insecure_channel("unix://" + socket)
        self.stub = stubs.RuntimeServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def call(self, method, request, what):
        try:
            return getattr(self.stub, method)(request, timeout=self.timeout)
        except self.grpc.RpcError as exc:
            raise CriError("%s: %s" % (what, _rpc_text(exc)))

    def version(self):
        answer = self.call("Version", self.api.VersionRequest(), "the runtime at %s does not answer CRI" % self.socket)
        return "%s %s (CRI %s)" % (answer.runtime_name, answer.runtime_version, answer.runtime_api_version)

    def networks(self):
        """(network ready, its message, the names of the CNI networks the runtime loaded, non-loopback)."""
        answer = self.call("Status", self.api.StatusRequest(verbose=True), "Status")
        ready = [c for c in answer.status.conditions if c.type == "NetworkReady"]
        loaded = json.loads(answer.info.get("cniconfig") or "{}").get("Networks") or []
        names = [net.get("Config", {}).get("Name") for net in loaded if net.get("IFName") != "lo"]
        return bool(ready and ready[0].status), (ready[0].message if ready else ""), names

    def run(self, spec, log_directory):
        api = self.api
        config = api.PodSandboxConfig(
            metadata=api.PodSandboxMetadata(name=spec.name, uid=spec.uid, namespace=POD_NAMESPACE, attempt=0),
            hostname=spec.name[:63], log_directory=log_directory, labels={LABEL: spec.uid},
            linux=api.LinuxPodSandboxConfig(
                cgroup_parent=spec.cgroup_parent,
                security_context=api.LinuxSandboxSecurityContext(namespace_options=api.NamespaceOption(
                    network=api.NamespaceMode.POD, pid=api.NamespaceMode.CONTAINER, ipc=api.NamespaceMode.POD))))
        if spec.host_port:
            config.port_mappings.append(api.PortMapping(
                protocol=getattr(api.Protocol, spec.protocol.upper()),
                container_port=spec.container_port or spec.host_port, host_port=spec.host_port))
        answer = self.call("RunPodSandbox", api.RunPodSandboxRequest(config=config), "RunPodSandbox")
        return answer.pod_sandbox_id

    def status(self, sandbox_id):
        request = self.api.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True)
        answer = self.call("PodSandboxStatus", request, "PodSandboxStatus")
        network = answer.status.network
        info = json.loads(answer.info.get("info") or "{}")
        ips = [network.ip] + [extra.ip for extra in network.additional_ips] if network.ip else []
        return Pod(id=sandbox_id, ip=network.ip, ips=ips, netns=_netns_path(info),
                   cni_result=info.get("cniResult") or {})

    def labelled(self, uid):
        answer = self.call("ListPodSandbox", self.api.ListPodSandboxRequest(
            filter=self.api.PodSandboxFilter(label_selector={LABEL: uid})), "ListPodSandbox")
        return [item.id for item in answer.items]

    def remove(self, sandbox_id):
        """StopPodSandbox, then RemovePodSandbox; the errors, in words (none: it is gone)."""
        errors = []
        for method, request in (("StopPodSandbox", self.api.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)),
                                ("RemovePodSandbox", self.api.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))):
            try:
                self.call(method, request, "%s %s" % (method, sandbox_id))
            except CriError as exc:
                errors.append(str(exc))
        return errors


def _rpc_text(exc):
    details = getattr(exc, "details", None)
    code = getattr(exc, "code", None)
    text = details() if callable(details) else str(exc)
    return "%s (%s)" % (text, code().name) if callable(code) else text


def _netns_path(info):
    for namespace in ((info.get("runtimeSpec") or {}).get("linux") or {}).get("namespaces") or []:
        if namespace.get("type") == "network":
            return namespace.get("path")
    return None


def wait_for_network(runtime, name, wait=CONFIG_WAIT):
    """Until the runtime has loaded network ``name`` as its pods' network (it
    reloads conf_dir on its own clock); bounded by ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        ready, message, names = runtime.networks()
        if ready and names and names[0] == name:
            return names
        if time.monotonic() >= deadline:
            if not ready:
                raise CriError("the runtime's network is not ready after %g s: %s" % (wait, message or "no reason"))
            raise CriError("the runtime gives pods network %s, not %s (it loads the first config of its conf_dir "
                           "in lexical order; after %g s)" % (", ".join(names) or "none", name, wait))
        time.sleep(CONFIG_POLL)


def _cgroup_paths(parent):
    """Where a cgroupfs parent lives in each hierarchy (v1: one per controller; v2: one)."""
    if not parent.startswith("/"):
        return []  # a systemd slice: systemd owns it
    tops = [CGROUP_ROOT] + [os.path.join(CGROUP_ROOT, h) for h in sorted(os.listdir(CGROUP_ROOT))
                            if os.path.isdir(os.path.join(CGROUP_ROOT, h)) and not os.path.islink(
                                os.path.join(CGROUP_ROOT, h))]
    return [os.path.join(top, parent.strip("/")) for top in tops]


@contextlib.contextmanager
def pod_sandbox(socket, spec, timeout, left_behind):
    """A running pod sandbox (a Pod) for the with-block; stopped and removed
    afterwards, also on failure, with a sandbox a failed RunPodSandbox left.
    Cgroup parent directories the pod made are removed once empty. What
    cannot be removed goes to ``left_behind`` (a list), with why."""
    runtime = Runtime(socket, timeout)
    cgroups_before = [path for path in _cgroup_paths(spec.cgroup_parent) if os.path.isdir(path)]
    log_directory = tempfile.mkdtemp(prefix="netplumb-cni-check-")
    sandbox_id = None
    try:
        sandbox_id = runtime.run(spec, log_directory)
        yield runtime.status(sandbox_id)
    finally:
        try:
            ids = [sandbox_id] if sandbox_id else runtime.labelled(spec.uid)
            for each in ids:
                errors = runtime.remove(each)
                if errors:
                    left_behind.append("pod sandbox %s (%s)" % (each, "; ".join(errors)))
        except CriError as exc:
            left_behind.append("pod sandbox of uid %s, maybe (%s)" % (spec.uid, exc))
        finally:
            runtime.close()
            shutil.rmtree(log_directory, ignore_errors=True)
            for path in _cgroup_paths(spec.cgroup_parent):
                if path not in cgroups_before and os.path.isdir(path):
                    try:
                        os.rmdir(path)
                    except OSError:
                        pass  # still in use: another pod of this parent
