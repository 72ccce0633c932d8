#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cni_check
short_description: Prove that a CNI network config works, as a runtime would run it
description:
  - Runs a network config list's plugin chain the way libcni does, for a throwaway container
    whose network namespace the module creates and removes. C(ADD) through the plugins in order,
    each getting the previous result as C(prevResult); then C(CHECK) (spec 0.4.0 and later, unless
    the list sets C(disableCheck)); then C(DEL) in reverse order, with the C(ADD) result.
    Each plugin gets C(CNI_COMMAND), C(CNI_CONTAINERID), C(CNI_NETNS), C(CNI_IFNAME) and
    C(CNI_PATH) (O(bin_dir)), and its config on stdin.
  - Returns the C(ADD) result (interfaces, IPs, routes) and fails with every plugin error when a
    step fails.
  - C(DEL) always runs, also after a failure, and the namespace is always removed. What the trial
    made on the node is put back as it was (a bridge the chain created, host-local's reservation
    state, the forwarding sysctls), so it leaves no IPAM lease, namespace or link behind.
  - host-local writes its state files (C(last_reserved_ip.*), C(lock)) as root through whatever is at their
    names, so the trial does not run, and the module fails naming the path, when one of them in the network's
    data directory is not a regular file or the directory itself is a symbolic link.
  - Changes nothing on the node otherwise, so it never reports C(changed).
  - With O(runtime=cri) the trial goes the kubelet's way instead - through the node's container runtime
    (containerd with its CRI plugin) over the CRI gRPC API at O(cri_socket) - C(RunPodSandbox) for a throwaway
    pod (metadata, hostname, a log directory, network, PID and IPC namespace options, O(cgroup_parent), and a
    C(hostPort) mapping when O(host_port) is set), then C(PodSandboxStatus) for the pod's IPs and the runtime's
    record of the CNI result, then C(StopPodSandbox) and C(RemovePodSandbox), which always run, also after a
    failure (a sandbox a failed C(RunPodSandbox) left is found by its label). The runtime runs the chain of the
    first config in its own conf_dir with its own plugin directory; the module first waits (at most 10 s) until
    the runtime has loaded network O(name) as that config. Afterwards it checks that the pod's network
    namespace, host veth, host-local lease and port mapping are gone, and fails naming what is left. The bridge
    the chain made stays, as after any pod. Cgroup directories the pod made under O(cgroup_parent) are removed.
  - O(runtime=cri) needs the Python libraries C(grpcio) and C(container-runtime-interface-api) (PyPI; the
    latter brings the former) on the node; without them it fails before touching the node, naming them and the
    pip way. The C(cni) role installs them with O(netplumb.linux.node_prereqs#module:cri).
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
attributes:
  check_mode:
    support: full
    description: Runs the trial as in a normal run (it changes nothing). A config or plugin binary
      that does not exist yet is assumed to come from an earlier task; the trial is then skipped
      with a warning, and RV(trial_ran) is false.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  platform:
    support: full
    platforms: Linux
    description: Network namespaces; runs on the managed node as root.
options:
  name:
    description:
      - The network to check, by its C(name), looked up in O(conf_dir) as libcni does
        (C(*.conflist) files first, then C(*.conf) and C(*.json), each in lexical order).
      - Exactly one of O(name) and O(config); O(runtime=cri) needs O(name).
    type: str
  config:
    description: A network configuration list as data, checked without being written anywhere.
    type: dict
  conf_dir:
    description: Where to look up O(name). Not used with O(runtime=cri) (the runtime's own conf_dir counts).
    type: path
    default: /etc/cni/net.d
  bin_dir:
    description: Where the plugin binaries are (C(CNI_PATH)). Not used with O(runtime=cri).
    type: path
    default: /opt/cni/bin
  ifname:
    description: The interface name inside the throwaway container (C(CNI_IFNAME)).
    type: str
    default: eth0
  timeout:
    description: Seconds each plugin call (with O(runtime=cri), each CRI call) may take, 1 to 3600.
    type: int
    default: 60
  runtime:
    description:
      - V(exec) runs the plugins itself, as libcni does, in a namespace of its own.
      - V(cri) asks the node's container runtime for a throwaway pod sandbox over CRI, as the kubelet does.
    type: str
    choices: [exec, cri]
    default: exec
  cri_socket:
    description: The runtime's CRI socket (O(runtime=cri) only).
    type: path
    default: /run/containerd/containerd.sock
  cgroup_parent:
    description:
      - The pod's cgroup parent (O(runtime=cri) only) - an absolute cgroupfs path, or a systemd slice
        (C(name.slice)) when the runtime uses the systemd cgroup driver.
      - Directories the pod made under a cgroupfs parent are removed afterwards.
    type: str
    default: /netplumb-cni-check
  host_port:
    description:
      - A C(hostPort) for the pod (O(runtime=cri) only), which the runtime passes to the chain's C(portMappings)
        capability (the C(portmap) plugin); 0, none.
    type: int
    default: 0
  container_port:
    description: The pod's port that O(host_port) maps to. Omitted, the same as O(host_port).
    type: int
  protocol:
    description: The protocol of the port mapping.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  serve:
    description:
      - With O(runtime=cri), while the pod is up, answer this many TCP connections to the pod's port
        (O(container_port)) from inside its network namespace, each with the client's address, before the pod is
        stopped and removed; all within O(timeout) seconds, else the check fails. 0, none.
      - For a play that reaches the pod meanwhile (the module run with C(async) and O(ready_file)), for example
        the wan through O(host_port).
    type: int
    default: 0
  ready_file:
    description:
      - With O(runtime=cri), a file the module writes once the pod is up - JSON with C(pod_ip), C(pod_ips),
        C(netns) and C(sandbox_id) - and removes when the pod is gone; for the tasks of a play that reach the pod
        while the module runs with C(async) (see O(serve)).
    type: path
seealso:
  - module: netplumb.linux.cni_install
  - module: netplumb.linux.cni_config
  - module: netplumb.linux.node_prereqs
  - name: ansible.builtin.command
    description: Running the plugin chain by hand (cnitool, or a test pod through crictl), which this module replaces
      with ADD, CHECK and DEL in a throwaway namespace, or a throwaway pod sandbox through the runtime, cleaned up after.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/command_module.html
'''

EXAMPLES = r'''
- name: A pod on podnet would get an address
  netplumb.linux.cni_check:
    name: podnet
  register: podnet_check

- name: From the configured subnet
  ansible.builtin.assert:
    that:
      - podnet_check.addresses[0].startswith('198.51.100.')

- name: The kubelet's way - a throwaway pod sandbox from containerd over CRI, with a hostPort
  netplumb.linux.cni_check:
    name: podnet
    runtime: cri
    cri_socket: /run/containerd/containerd.sock
    host_port: 8080
    container_port: 80
  register: podnet_cri

- name: The runtime gave the pod an address from the configured subnet
  ansible.builtin.assert:
    that:
      - podnet_cri.pod_ip.startswith('198.51.100.')
'''

RETURN = r'''
operations:
  description: Always empty; the module changes nothing.
  returned: always
  type: list
  elements: dict
  sample: []
add_result:
  description: The result of the chain's C(ADD), as the last plugin returned it.
  returned: with O(runtime=exec), when the trial ran
  type: dict
  sample:
    cniVersion: 1.0.0
    interfaces:
      - {name: cni0, mac: "6a:7e:2c:15:0b:b5"}
      - {name: veth2f1d3c44, mac: "4e:d1:0a:53:61:7e"}
      - {name: eth0, mac: "0a:58:c6:33:64:02", sandbox: /run/netns/netplumb-cni-check-1f2e3d4c}
    ips:
      - {interface: 2, address: 198.51.100.2/24, gateway: 198.51.100.1}
    routes:
      - {dst: 0.0.0.0/0}
addresses:
  description: The addresses of the C(ADD) result, with prefix.
  returned: with O(runtime=exec), when the trial ran
  type: list
  elements: str
  sample: [198.51.100.2/24]
commands:
  description: The plugin calls, in the order they ran.
  returned: with O(runtime=exec), when the trial ran
  type: list
  elements: str
  sample: [ADD bridge, ADD portmap, CHECK bridge, CHECK portmap, DEL portmap, DEL bridge]
network:
  description: The network's name (with O(runtime=cri), the one the runtime loaded, which is O(name)).
  returned: when the trial ran
  type: str
  sample: podnet
config_path:
  description: The config file checked (null for O(config)).
  returned: with O(runtime=exec), when the trial ran
  type: str
  sample: /etc/cni/net.d/10-podnet.conflist
runtime:
  description: V(cri) - the trial went through the runtime.
  returned: with O(runtime=cri)
  type: str
  sample: cri
runtime_version:
  description: The runtime's name and version, and the CRI version it speaks.
  returned: with O(runtime=cri), when the trial ran
  type: str
  sample: containerd 1.6.20~ds1 (CRI v1)
sandbox_id:
  description: The id of the pod sandbox the runtime made (and removed).
  returned: with O(runtime=cri), when the trial ran
  type: str
  sample: 6979baaae8d35da62c5242fbe6b064f82abfdff48e0a194a605e6db1d52a0a3d
pod_ip:
  description: The pod's IP, as the runtime reports it to the kubelet (without prefix).
  returned: with O(runtime=cri), when the trial ran
  type: str
  sample: 198.51.100.2
pod_ips:
  description: All the pod's IPs (dual stack - one per family).
  returned: with O(runtime=cri), when the trial ran
  type: list
  elements: str
  sample: [198.51.100.2]
served:
  description: The client addresses of the connections the pod answered (O(serve)), in order.
  returned: with O(runtime=cri), when the trial ran
  type: list
  elements: str
  sample: [192.0.2.254]
cni_result:
  description: The runtime's record of the chain's result - per interface its C(IPConfigs), C(Mac) and C(Sandbox).
  returned: with O(runtime=cri), when the trial ran
  type: dict
  sample:
    Interfaces:
      cni0: {IPConfigs: null, Mac: "fe:91:99:0b:bd:b9", Sandbox: ""}
      eth0: {IPConfigs: [{IP: 198.51.100.2, Gateway: 198.51.100.1}], Mac: "16:58:0b:8e:88:e5",
             Sandbox: /var/run/netns/cni-ce56c5db-ab60-794d-a969-0112204805b1}
trial_ran:
  description: False when check mode skipped the trial because the config, a binary or the CRI socket does not
    exist yet.
  returned: always
  type: bool
field:
  description: On a bad parameter or config, its name.
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_check
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            config=dict(type="dict"),
            conf_dir=dict(type="path", default="/etc/cni/net.d"),
            bin_dir=dict(type="path", default="/opt/cni/bin"),
            ifname=dict(type="str", default="eth0"),
            timeout=dict(type="int", default=60),
            runtime=dict(type="str", choices=["exec", "cri"], default="exec"),
            cri_socket=dict(type="path", default="/run/containerd/containerd.sock"),
            cgroup_parent=dict(type="str", default="/netplumb-cni-check"),
            host_port=dict(type="int", default=0),
            container_port=dict(type="int"),
            protocol=dict(type="str", choices=["tcp", "udp", "sctp"], default="tcp"),
            serve=dict(type="int", default=0),
            ready_file=dict(type="path"),
        ),
        mutually_exclusive=[("name", "config")],
        required_one_of=[("name", "config")],
        supports_check_mode=True,
    )
    run_module(module, cni_check)


if __name__ == "__main__":
    main()
