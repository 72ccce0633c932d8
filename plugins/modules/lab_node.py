#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: netplumb.linux.lab_node is an action plugin
# (plugins/action/lab_node.py) that runs in the controller's Python.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: lab_node
short_description: A local lab of nodes that are machines, plus a wan host, on the controller
description:
  - Builds or keeps (O(state=present)), or tears down (O(state=absent)), the lab the C(netplumb.linux.lab) role
    manages; the role's variables are this plugin's options with the prefix C(lab_).
  - Each node is a process tree with its own network, mount, PID, UTS and IPC namespaces and its own root
    filesystem, copy-on-write over the controller's root, without C(/etc/cni), C(/opt/cni) and C(/var/lib/cni),
    and without the packages of O(node_packages_absent). With O(connection=ssh) it runs C(sshd) on its fabric
    address for the unprivileged O(user) with passwordless sudo.
  - The wan host holds the lab fabric, the bridge C(fabric0) with the fabric's C(.254) address; node I(i)'s uplink
    C(eth0) has the address C(.(10+i)) and a default route via the wan. Nothing is created in the network
    namespace that runs the play.
  - The nodes are recorded in C(<state_dir>/nodes.json) and C(<state_dir>/inventory.yml) (groups C(lab_nodes) and
    C(lab_wan)); the hosts are returned in RV(hosts) for C(ansible.builtin.add_host).
  - Runs in the controller's Python, as root, on the controller only (the local connection); nothing is sent to
    a managed node. Nodes outlive the task; their pid 1 and the ssh ProxyCommand run the collection's
    C(plugins/plugin_utils/lab/cli.py) by its path (C(python -I)).
  - Every option is checked before anything changes; a fabric that overlaps a route of the namespace that runs
    the play is refused (O(state=present)). A failure names the option and returns its name in RV(field).
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
attributes:
  action:
    support: full
    description: An action plugin; all of its work happens on the controller.
  check_mode:
    support: full
    description: Reports exactly the operations a real run would make (nodes to start or stop, keys and files to
      write, C(ip) commands), and changes nothing; nodes that would start are reported with a null pid.
  diff_mode:
    support: full
    description: Shows C(nodes.json) and C(inventory.yml) as they are and as they will be.
  platform:
    support: full
    platforms: Linux
    description: Needs root, util-linux (C(unshare), C(nsenter), C(mount), C(pivot_root)), iproute2 and, with
      O(connection=ssh), C(ssh-keygen) and C(ssh) on the controller.
options:
  state:
    description:
      - V(present) builds the lab, keeping the nodes that still run and stopping recorded nodes beyond
        O(node_count); V(absent) closes the lab's ssh control masters, kills the recorded nodes (SIGKILL to their
        pid 1, only while they still are this lab's nodes) and removes the state files, and the directory once
        empty.
    type: str
    choices: [present, absent]
    default: present
  state_dir:
    description:
      - Directory for C(nodes.json), C(inventory.yml), the SSH key, host keys and C(known_hosts). Relative paths
        are taken from the directory C(ansible-playbook) runs in. Also marks the nodes as this lab's, so two labs
        need two directories.
      - With O(connection=ssh) the SSH control sockets are in C(<state_dir>/cp), one named after each host; a Unix
        socket path is short, so O(state=present) refuses a directory whose longest socket path would exceed 90
        bytes (81 for the default names C(wan), C(node1) and C(node2)).
    type: path
    required: true
  node_count:
    description: How many nodes, named C(<node_prefix>1) to C(<node_prefix>N); at most 243.
    type: int
    default: 2
  node_prefix:
    description: Prefix of the node names (and hostnames); lower case letters, digits and C(-), at most 10, not C(wan).
    type: str
    default: node
  connection:
    description:
      - V(ssh) reaches each node over SSH as O(user) with C(become) and interpreter discovery. V(nsenter) reaches
        it with C(community.docker.nsenter) as root and O(python).
    type: str
    choices: [ssh, nsenter]
    default: ssh
  user:
    description: The unprivileged user with passwordless sudo that Ansible logs in as; not C(root).
    type: str
    default: deploy
  packages_dir:
    description:
      - Directory of C(.deb) files with an index, the nodes' only package mirror (read-only at
        C(/srv/netplumb-lab) in each node). Fetched into it with the controller's apt (download only) when
        something is missing. O(connection=ssh) only.
    type: path
    default: .lab-packages
  layer_cache_dir:
    description:
      - Where the nodes' provisioned layer (sshd, sudo, the user, the package sources) is kept between labs.
        Unset or empty, it is built inside O(state_dir) with each lab.
    type: path
  node_packages_absent:
    description:
      - Packages removed from the nodes' view of the controller, so that a node starts without them.
        O(connection=ssh) only.
    type: list
    elements: str
    default: [python3-pyroute2, nftables, iptables, containernetworking-plugins]
  python:
    description:
      - O(connection=nsenter) only - the Python interpreter Ansible uses inside the nodes. Unset, the one that
        runs C(ansible-playbook). It must live on the root filesystem outside C(/tmp) and C(/run).
    type: str
  fabric_cidr:
    description: The IPv4 network of the fabric, C(/24) or larger; node I(i) at network+10+I(i), the wan at network+254.
    type: str
    default: 192.0.2.0/24
  fabric_cidr6:
    description: The fabric's IPv6 network (C(/120) or larger), laid out the same way. Empty, an IPv4-only lab.
    type: str
    default: "2001:db8:ffff::/64"
  variable_prefix:
    description:
      - Put before an option's name where a failure names it; the lab role passes V(lab_), so that its failures
        name its own variables (C(lab_fabric_cidr) for O(fabric_cidr)).
    type: str
    default: ""
notes:
  - "Use it on C(localhost) with the local connection (C(hosts: localhost)); any other connection fails."
seealso:
  - name: The lab role
    description: The lab role's README (roles/lab/README.md), which runs this plugin.
    link: https://github.com/netplumb/netplumb.linux/blob/main/roles/lab/README.md
'''

EXAMPLES = r'''
- name: Build a lab of two nodes and a wan
  netplumb.linux.lab_node:
    state_dir: .lab
    node_count: 2
    packages_dir: .build/lab-packages
  register: lab

- name: Add its hosts to the in-memory inventory
  ansible.builtin.add_host:
    name: "{{ item.name }}"
    groups: "{{ item.group }}"
    ansible_connection: "{{ item.vars.ansible_connection }}"
    ansible_host: "{{ item.vars.ansible_host }}"
    ansible_user: "{{ item.vars.ansible_user }}"
    ansible_become: "{{ item.vars.ansible_become }}"
    ansible_ssh_private_key_file: "{{ item.vars.ansible_ssh_private_key_file }}"
    ansible_ssh_common_args: "{{ item.vars.ansible_ssh_common_args }}"
  loop: "{{ lab.hosts }}"
  loop_control:
    label: "{{ item.name }}"

- name: Tear it down
  netplumb.linux.lab_node:
    state: absent
    state_dir: .lab
'''

RETURN = r'''
operations:
  description:
    - What the run did (in check mode, would do), in order, as text - C(fetch the nodes' packages into DIR),
      C(stop NAME), C(key PATH), C(start NAME), C(provisioned layer PATH), C(ip ...) commands (in the wan or a
      node), C(write PATH), C(close ssh masters), C(remove PATH). Empty when nothing changes.
  returned: always
  type: list
  elements: str
  sample: [start node2, ip link add n2 type veth peer name eth0 netns 4242, write /srv/lab/.lab/nodes.json]
state_dir:
  description: The state directory, absolute.
  returned: success
  type: str
  sample: /srv/lab/.lab
inventory:
  description:
    - Where the inventory file was written (C(<state_dir>/inventory.yml)), for later runs with C(-i); in check
      mode, where it would be written.
  returned: success with O(state=present)
  type: str
  sample: /srv/lab/.lab/inventory.yml
hosts:
  description: The wan and the nodes, as the inventory file has them.
  returned: success with O(state=present)
  type: list
  elements: dict
  contains:
    name:
      description: The inventory name (C(wan), C(node1), ...).
      type: str
    group:
      description: C(lab_wan) or C(lab_nodes).
      type: str
    pid:
      description: The node's pid 1 on the controller; null in check mode for a node that would start.
      type: int
    vars:
      description:
        - Its inventory variables - how Ansible reaches it (C(ansible_connection), C(ansible_host), C(ansible_user),
          C(ansible_become), C(ansible_ssh_private_key_file), C(ansible_ssh_common_args) with the ProxyCommand,
          C(ansible_ssh_pipelining), C(ansible_control_path_dir), C(ansible_control_path); with O(connection=nsenter)
          C(ansible_nsenter_pid) and C(ansible_python_interpreter)) and where it sits (C(lab_node_index),
          C(lab_uplink_address), C(lab_uplink_address6), C(lab_fabric_gateway), C(lab_fabric_gateway6)).
      type: dict
  sample:
    - name: wan
      group: lab_wan
      pid: 4242
      vars: {ansible_connection: ssh, ansible_host: 192.0.2.254, lab_node_index: 0}
pids:
  description: The pid 1 of each host by name, as C(nodes.json) records them.
  returned: success with O(state=present)
  type: dict
  sample: {wan: 4242, node1: 4250, node2: 4258}
field:
  description: On a bad option value, the option's name.
  returned: failure on bad input
  type: str
  sample: fabric_cidr
'''
