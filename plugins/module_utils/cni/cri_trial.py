# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cni_check with runtime: cri: the trial is a pod sandbox that the node's
container runtime makes over CRI, as for the kubelet (cri.py). The runtime
runs the chain from its own conf_dir and bin_dir, with the pod's port
mappings; while the pod is up, its ready_file is written and ``serve``
connections to it are answered from inside its namespace; the runtime then
removes the sandbox, and the check looks that the pod's netns, host veth,
lease and port mapping are gone."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import secrets
import socket
import subprocess
import time

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cri as cni_cri
from ansible_collections.netplumb.linux.plugins.module_utils.cni import file_ops
from ansible_collections.netplumb.linux.plugins.module_utils.cni import leftovers as cni_leftovers
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces


def run(ctx, spec, prefix):
    """A throwaway pod sandbox named ``prefix`` and a random token, through
    the runtime's CRI; what it got, or CriError."""
    cni_cri.load()  # a missing library is named before anything is asked of the node
    if not os.path.exists(spec.cri_socket):
        message = "no CRI socket at %s (is containerd running, with its CRI plugin?)" % spec.cri_socket
        if ctx.assume_earlier_task(message + "; check mode assumes an earlier task starts it, and skips the trial"):
            return {"trial_ran": False, "runtime": "cri"}
        raise ParamError("cri_socket", spec.cri_socket, "does not exist: " + message)
    runtime = cni_cri.Runtime(spec.cri_socket, spec.timeout)
    try:
        version = runtime.version()
        cni_cri.wait_for_network(runtime, spec.name)
    finally:
        runtime.close()
    token = secrets.token_hex(4)
    pod_spec = cni_cri.PodSpec(name=prefix + token, uid=token, cgroup_parent=spec.cgroup_parent,
                               host_port=spec.host_port, container_port=spec.container_port, protocol=spec.protocol)
    left, pod, served = [], None, []
    failed = None
    try:
        with cni_cri.pod_sandbox(spec.cri_socket, pod_spec, spec.timeout, left) as pod:
            while_up(spec, pod, served)
    except cni_cri.CriError as exc:
        failed = str(exc)
    finally:
        if spec.ready_file:
            file_ops.remove(spec.ready_file)
    if pod is not None:
        left += _pod_leftovers(spec, pod)
    if failed or left:
        raise cni_cri.CriError("network %s does not work through the runtime at %s: %s%s" % (
            spec.name, spec.cri_socket, failed or "the pod sandbox ran", "; left behind: %s" % "; ".join(left)
            if left else "; the pod sandbox is removed"))
    return {"runtime": "cri", "runtime_version": version, "network": spec.name, "sandbox_id": pod.id,
            "pod_ip": pod.ip, "pod_ips": pod.ips, "cni_result": pod.cni_result, "served": served}


def while_up(spec, pod, served):
    """While the pod is up: its ready_file written (for the tasks that reach the
    pod meanwhile), then ``serve`` TCP connections to its container_port
    answered from inside its network namespace, each with the client's
    address, within ``timeout`` seconds. Raises CriError when fewer came."""
    if spec.ready_file:
        ready = {"pod_ip": pod.ip, "pod_ips": pod.ips, "netns": pod.netns, "sandbox_id": pod.id}
        file_ops.atomic_write(spec.ready_file, json.dumps(ready).encode(), 0o644)
    if not spec.serve:
        return
    listener = _listen_in(pod.netns, spec.container_port or spec.host_port)
    deadline = time.monotonic() + spec.timeout
    try:
        while len(served) < spec.serve:
            left = deadline - time.monotonic()
            if left <= 0:
                raise cni_cri.CriError("the pod answered %d of %d connections to its port %d within %d s (from %s)" % (
                    len(served), spec.serve, spec.container_port or spec.host_port, spec.timeout,
                    ", ".join(served) or "nobody"))
            listener.settimeout(left)
            try:
                conn, address = listener.accept()
            except socket.timeout:
                continue
            client = address[0][7:] if address[0].startswith("::ffff:") else address[0]
            try:
                conn.settimeout(5)
                conn.sendall(client.encode())
            except OSError:
                pass
            finally:
                conn.close()
            served.append(client)
    finally:
        listener.close()


def _listen_in(netns, port):
    """A TCP listener on ``port`` (both families) in the network namespace at path ``netns``."""
    with namespaces.netns_context(None, path=netns):
        listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("::", port))
        listener.listen(8)
    except OSError:
        listener.close()
        raise
    return listener


def _pod_leftovers(spec, pod):
    """What of the removed pod is still on the node: its netns, host veth, lease, port mapping."""
    left = []
    if pod.netns and os.path.exists(pod.netns):
        left.append("netns " + pod.netns)
    present = cni_leftovers.links()
    for name, interface in sorted(pod.cni_result.get("Interfaces", {}).items()):
        if not interface.get("Sandbox") and not interface.get("IPConfigs") and name.startswith("veth") \
                and name in present:
            left.append("host veth " + name)
    for ip in pod.ips:
        lease = os.path.join(cni_leftovers.HOST_LOCAL_DATA_DIR, spec.name, ip)
        if os.path.exists(lease):
            left.append("lease " + lease)
    if spec.host_port and _port_mapped(pod.id):
        left.append("port mapping of host port %d (iptables nat CNI-HOSTPORT-DNAT)" % spec.host_port)
    return left


def _port_mapped(sandbox_id):
    """Whether portmap's chain still names the sandbox (its rules carry the container id)."""
    try:
        proc = subprocess.run(["iptables", "-w", "5", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and sandbox_id in proc.stdout
