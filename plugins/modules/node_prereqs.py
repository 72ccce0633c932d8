#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: node_prereqs
short_description: What a role's modules need on the node, checked once and installed when missing
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - An action plugin. It probes the node once per run, with the Python Ansible uses there (this module, sent to
    the node, is the probe) - pyroute2 and its version, the commands in C(PATH), the CNI plugin directories - keeps
    the probe as the host fact C(netplumb_node_probe) so a later role's task of the same run reuses it without
    touching the node, and works out what the
    role's modules lack, and where each would come from - a distribution package (per C(ansible_facts.os_family),
    from O(packages)), or pip for pyroute2 in a Python that no distribution package reaches.
  - With O(install=true) it installs what is missing - the packages with the node's package manager (as
    C(ansible.builtin.package) does, refreshing the package index first), pyroute2 with C(ansible.builtin.pip)
    into the Python Ansible uses - then probes again and fails if something is still missing.
  - It fails before any change, with one message listing everything missing, when O(install=false) or when
    something has no package and no pip way. Messages start with O(role) and name its variables.
  - In check mode it predicts the install (the package manager and pip run in check mode) and warns, in C(msg)
    too, either that the role's play ends for the node (O(ends_play=true); the role ends it with
    C(ansible.builtin.meta) C(end_host), as an action cannot) or that the later tasks predict as if it were there.
  - The node's distribution facts are gathered only when something is missing (they name the packages).
  - Used by the C(bridge_network) and C(cni) roles; the logic is in the collection's
    C(plugins/plugin_utils/node_prereqs.py).
options:
  role:
    description:
      - The role whose prerequisites these are. Messages start with it, and name its variables
        (C(<role>_install_prereqs), C(<role>_cidr6), C(<role>_forwarding), C(<role>_src)).
    type: str
    required: true
  install:
    description: Install what is missing. V(false) fails before any change when something is missing.
    type: bool
    default: true
  pip_args:
    description: Extra arguments for pip when it installs pyroute2 (V(--no-index --find-links /srv/wheels)).
    type: str
    default: ""
  packages:
    description:
      - Per OS family (C(ansible_facts.os_family)), the distribution package that provides each need - keys
        V(pyroute2), V(nft), V(iptables), V(sysctl), V(plugins). A family or need not listed has no package.
    type: dict
    default: {}
  pyroute2:
    description: The oldest pyroute2 the role's modules need in the Python Ansible uses. Empty, pyroute2 is not needed.
    type: str
    default: ""
  nat_backend:
    description:
      - The O(netplumb.linux.nat_rule#module:backend) the role's rules use; its commands are needed (C(nft), or
        C(iptables-nft) or C(iptables-legacy)). Omitted, none.
    type: str
    choices: [auto, nftables, iptables]
  ipv6:
    description: The rules cover IPv6 too; through iptables they need C(ip6tables) of each iptables variant found.
    type: bool
    default: false
  sysctl:
    description: C(sysctl) is needed (for a play's own C(ansible.posix.sysctl)); looked up in C(PATH) and the sbin directories.
    type: bool
    default: false
  cni_chain:
    description:
      - The CNI plugin chain the role writes. C(iptables) is needed when it has C(portmap), C(firewall) (unless
        its C(backend) is C(firewalld)) or C(bridge) with C(ipMasq).
    type: list
    elements: dict
    default: []
  ends_play:
    description:
      - What the check-mode message says - V(true), that the role ends the node's play after this task (its later
        tasks cannot predict without what is missing); V(false), that the later tasks predict as if it were there.
    type: bool
    default: true
  cri:
    description:
      - The Python Ansible uses needs a CRI client - C(grpcio) and the CRI stubs of C(container-runtime-interface-api)
        (M(netplumb.linux.cni_check) with C(runtime=cri)). No distribution package has the stubs, so they come with
        pip (C(container-runtime-interface-api), which brings grpcio and protobuf) into that Python.
    type: bool
    default: false
  cni_plugins_dir:
    description: A directory of CNI plugins that must exist; the V(plugins) package of O(packages) installs it. Empty, none.
    type: str
    default: ""
attributes:
  action:
    support: full
    description: An action plugin; it sends its module to the node as the probe, and the package manager's and pip's
      modules to install.
  async:
    support: none
    description: Runs in the foreground.
  check_mode:
    support: full
    description: Probes the node, and predicts the install by running the package manager and pip in check mode.
  diff_mode:
    support: none
    description: No diff.
  platform:
    support: full
    platforms: posix
    description: Installs with the package manager that C(ansible.builtin.package) would use; runs as the task's user
      (root through C(become) to install).
notes:
  - The facts it needs (C(os_family), C(pkg_mgr)) are gathered when missing, and returned as C(ansible_facts).
  - In check mode nothing is installed, so a node that lacks something may not run the tasks that need it; the
    cni role ends such a node's play right after this task with C(ansible.builtin.meta) C(end_host) when
    C(ansible_check_mode and prereqs.missing | length > 0) (an action cannot end a host itself). The
    bridge_network role does not - M(netplumb.linux.node_network) predicts its rules as new on a node without
    C(nft) yet.
seealso:
  - module: netplumb.linux.node_network
  - module: netplumb.linux.nat_rule
  - module: netplumb.linux.cni_install
  - name: ansible.builtin.package
    description: Installing packages without first checking what the collection's modules need.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/package_module.html
'''

EXAMPLES = r'''
- name: What the bridge_network role needs (node_network runs nft or iptables)
  netplumb.linux.node_prereqs:
    role: bridge_network
    install: true
    nat_backend: auto
    ends_play: false
    packages:
      Debian: {nft: nftables, iptables: iptables}
  register: prereqs

- name: A play of your own whose tasks import pyroute2 (netplumb.linux.bridge, route, net_facts) and run sysctl
  netplumb.linux.node_prereqs:
    role: my_role
    pyroute2: 0.7.2
    sysctl: true
    packages:
      Debian: {pyroute2: python3-pyroute2, sysctl: procps}

- name: What was missing and what was installed
  ansible.builtin.debug:
    msg: "{{ prereqs.msg }}"

- name: Stop, naming what is missing, rather than install (the CNI plugins' iptables)
  netplumb.linux.node_prereqs:
    role: cni
    install: false
    cni_chain: [{type: bridge, ipMasq: true}, {type: portmap}]
    cni_plugins_dir: /usr/lib/cni
    packages:
      Debian: {iptables: iptables, plugins: containernetworking-plugins}
'''

RETURN = r'''
missing:
  description: What the node lacked when probed, each with C(name), C(package), C(pip) and C(how).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "nft or iptables-nft or iptables-legacy in PATH (nat_rule, backend auto)", "package": "nftables",
            "pip": "", "how": "package nftables"}]
packages:
  description: The distribution packages installed (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [nftables]
pip:
  description: The pip requirements installed into the Python Ansible uses (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["pyroute2>=0.7.2"]
operations:
  description: The installs, as C(op) and C(description).
  returned: always
  type: list
  elements: dict
  sample: [{"op": "package_install", "description": "install the packages nftables"}]
found:
  description: What the probe found - C(python), C(version), C(venv), C(prefix), C(pyroute2), C(pyroute2_ok),
    C(pyroute2_error), C(cri_client) and C(cri_client_error) (with O(cri)), C(pip), C(tools) (command to path or null) and C(paths) (path to whether it exists).
  returned: always
  type: dict
probed:
  description: Whether this task ran the probe on the node; V(false) when it reused the run's earlier probe.
  returned: always
  type: bool
ansible_facts:
  description: C(netplumb_node_probe) - this run's probe (C(run), C(found)) - and, when something was missing and
    the play had not gathered them, the node's distribution facts.
  returned: always
  type: dict
results:
  description: The results of the package manager's and pip's runs, by C(package) and C(pip).
  returned: when something was installed
  type: dict
msg:
  description: What was done, or in check mode, what is missing and that the node's play ends.
  returned: always
  type: str
'''

import importlib.util
import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule

# Every command a need may look at (plugin_utils/node_prereqs.py's needed_commands(), which
# tests/unit/test_node_prereqs.py compares with this), and whether the sbin directories count
# too (as ansible.posix.sysctl looks), as nat_rule and the CNI plugins only see PATH.
PROBED_COMMANDS = (("nft", False), ("iptables-nft", False), ("iptables-legacy", False), ("ip6tables-nft", False),
                   ("ip6tables-legacy", False), ("iptables", False), ("sysctl", True))
SBIN = ("/sbin", "/usr/sbin", "/usr/local/sbin")
# Where distributions and the upstream tarball put the CNI plugins: looked at on
# every probe, so one probe serves both roles of a run.
PLUGIN_DIRS = ("/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin")


def argument_spec():
    """The options; the action plugin validates with the same."""
    return dict(
        role=dict(type="str", required=True),
        install=dict(type="bool", default=True),
        pip_args=dict(type="str", default=""),
        packages=dict(type="dict", default={}),
        pyroute2=dict(type="str", default=""),
        nat_backend=dict(type="str", choices=["auto", "nftables", "iptables"]),
        ipv6=dict(type="bool", default=False),
        sysctl=dict(type="bool", default=False),
        cni_chain=dict(type="list", elements="dict", default=[]),
        cni_plugins_dir=dict(type="str", default=""),
        cri=dict(type="bool", default=False),
        ends_play=dict(type="bool", default=True),
    )


def _spec(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _pyroute2():
    """(version, error) of the pyroute2 the modules would import."""
    try:
        import pyroute2  # pylint: disable=import-outside-toplevel
        from pyroute2 import IPRoute  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except Exception as exc:  # pylint: disable=broad-except
        return None, "%s: %s" % (type(exc).__name__, exc)
    try:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        return version("pyroute2"), None
    except Exception:  # pylint: disable=broad-except
        return getattr(pyroute2, "__version__", "0"), None


def _cri_client():
    """None when grpc and the CRI v1 stubs import, else the error."""
    try:
        import grpc  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        from cri_api.v1 import api_pb2, api_pb2_grpc  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except Exception as exc:  # pylint: disable=broad-except
        return "%s: %s" % (type(exc).__name__, exc)
    return None


def probe(params):
    """What the node has: the Python running this, its pyroute2 and pip, the commands, the directory."""
    path = os.environ.get("PATH", "")
    with_sbin = os.pathsep.join([path] + list(SBIN))
    found = {"python": sys.executable, "version": sys.version.split()[0],
             "venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix), "prefix": sys.prefix,
             "pyroute2": None, "pyroute2_error": None,
             "pip": _spec("pip") and (_spec("packaging") or _spec("pkg_resources")),
             "tools": dict((name, shutil.which(name, path=with_sbin if sbin else path or None))
                           for name, sbin in PROBED_COMMANDS),
             "paths": {}}
    for directory in PLUGIN_DIRS + ((params["cni_plugins_dir"],) if params["cni_plugins_dir"] else ()):
        found["paths"][directory] = os.path.exists(directory)
    if params["pyroute2"]:
        found["pyroute2"], found["pyroute2_error"] = _pyroute2()
    if params.get("cri"):
        found["cri_client_error"] = _cri_client()
        found["cri_client"] = found["cri_client_error"] is None
    return found


def main():
    # Sent to the node by the action plugin: it only looks, so check mode runs it too.
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(changed=False, found=probe(module.params))


if __name__ == "__main__":
    main()
