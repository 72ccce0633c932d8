#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: node_network
short_description: A node's whole container network in one transaction
description:
  - The container network of one node as one desired state, the recipe's scenarios 2 to 4 in one task - the
    bridge with the subnets' gateway addresses, the containers on it, masquerade of their traffic out of the
    uplink (except toward the cluster's own containers), forward-accept rules, port forwards of the node to
    containers (with their IPv6 twins on a dual-stack node), routes to the other nodes' container subnets,
    and IP forwarding, now and at boot.
  - One plan is made from the planners of M(netplumb.linux.bridge), M(netplumb.linux.container_net),
    M(netplumb.linux.nat_rule) and M(netplumb.linux.route), so each part behaves exactly as its own module
    does (ownership marks, NAT backend choice, foreign rules left alone). The plan is applied in one pass
    under the node lock; when any step fails, everything the call already did is undone, in reverse, so the
    node is left as it was. After a real apply the node is read back; anything that does not read back as
    wanted (another agent in between, a value the kernel adjusted) rolls the whole call back and fails,
    naming what differs.
  - The uplink (the interface masquerade and port forwards use) is O(uplink), or the device of the node's
    default route (IPv4, and IPv6 too on a dual-stack node; they must agree). With O(state=absent) the rules
    are removed with every name the uplink may have had - the default route's device and every interface
    the collection's own NAT rules match - so a teardown after the default route went or moved still finds
    them.
  - Every read goes through the collection's own small netlink layer (standard library only), and NAT rules
    through C(nft) or C(iptables) as argument lists. The module does not need pyroute2.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
options:
  bridge:
    description: The bridge in the node's own namespace; created when missing, with a MAC address of its own (as M(netplumb.linux.bridge)).
    type: str
    default: v-net-0
  mtu:
    description:
      - MTU of the bridge (at least 1280 with O(cidr6)), kept as containers come and go. Omitted, the kernel's choice is
        left alone (a bridge whose MTU was never set takes its ports' lowest).
    type: int
  cidr:
    description:
      - The node's IPv4 container subnet, for example C(198.51.100.0/24).
      - It is the bridge's own. A subnet that holds an address of another link of the node (another bridge's, the
        uplink's), or a network within it, fails before any change, naming that link (as does O(cidr6)). A subnet
        carved from a larger network of the node that does not hold the node's address is fine.
    type: str
    required: true
  gateway:
    description: The gateway address on the bridge and of every container; empty, the subnet's first address.
    type: str
    default: ""
  cidr6:
    description: The node's IPv6 container subnet on a dual-stack node; empty, IPv4 only.
    type: str
    default: ""
  gateway6:
    description: The IPv6 gateway; empty, the IPv6 subnet's first address.
    type: str
    default: ""
  containers:
    description:
      - The containers, as M(netplumb.linux.container_net) takes them. An address written without a prefix
        length gets the subnet's.
      - A Linux bridge holds at most 1023 ports; more containers than that, the bridge's other ports counted, fail
        before anything changes.
      - An address held by a container made on the bridge that is not listed and stays (without V(containers) in
        O(exclusive)) fails before anything changes, naming that container.
    type: list
    elements: dict
    default: []
  uplink:
    description: The interface masquerade and port forwards use; empty, the device of the default route.
    type: str
    default: ""
  uplink_variable:
    description: What messages about the uplink call it (a role passes its variable's name).
    type: str
    default: uplink
  masquerade:
    description:
      - Whether the subnets are masqueraded out of the uplink (V(false) removes the rules).
      - Each subnet has one masquerade rule, commented C(node_network <bridge> masq). A rule of that comment that the
        desired state does not name (made for another subnet, with another O(cluster_cidr), out of another uplink, or
        for IPv6 on a node no longer dual-stack) goes, so a changed cluster CIDR never leaves the old one
        masquerading traffic between pods.
    type: bool
    default: true
  cluster_cidr:
    description: The whole IPv4 container network of the cluster (containing O(cidr)); traffic to it is not masqueraded.
    type: str
    default: ""
  cluster_cidr6:
    description: The IPv6 twin of O(cluster_cidr).
    type: str
    default: ""
  forward_rules:
    description:
      - Whether forwarding is accepted to and from the subnets (needed where FORWARD drops by default).
      - The rules are commented C(node_network <bridge> forward); one of that comment that the desired state does not
        name (another subnet, IPv6 on a node no longer dual-stack) goes.
    type: bool
    default: false
  port_forwards:
    description:
      - Ports of the node forwarded to containers, each C(port), C(to) (V(198.51.100.11) or
        V(198.51.100.11:8080)), C(protocol) (V(tcp) or V(udp), default V(tcp)) and, on a dual-stack node,
        C(to6) for the IPv6 twin (else the C(address6) of the container whose C(address) is the target).
      - Each rule is commented C(node_network <bridge> dnat <protocol>/<port>). A rule of the comment of a listed port
        forward that the desired state does not name (made out of another uplink, or the IPv6 twin on a node no
        longer dual-stack) goes; port forwards that are not listed stay unless O(exclusive) names V(port_forwards).
      - A port of the uplink that another bridge's call forwards already fails before any change, naming that
        bridge (the kernel would take the first rule, and the second would never see a packet).
    type: list
    elements: dict
    default: []
  routes:
    description: Routes to the other nodes' container subnets, each C(dst) and C(gateway).
    type: list
    elements: dict
    default: []
  forwarding:
    description:
      - Whether IP forwarding is switched on, now and at boot through O(sysctl_file) (with IPv6 forwarding and
        C(accept_ra=2) on the uplink on a dual-stack node).
      - With O(state=absent) the file's lines go; forwarding itself stays on until the next boot.
      - Calls for several bridges may share the file. A comment line per bridge names the keys it needs
        (C(# node_network v-net-0 needs net.ipv4.ip_forward)), and a key's line goes only when no bridge needs it
        any more (after O(state=absent), or without O(cidr6) or with another uplink).
    type: bool
    default: true
  sysctl_file:
    description: The sysctl.d file holding the forwarding settings; other lines in it are kept.
    type: path
    default: /etc/sysctl.d/60-netplumb.conf
  nat_backend:
    description: Where NAT rules go, as M(netplumb.linux.nat_rule)'s O(netplumb.linux.nat_rule#module:backend).
    type: str
    default: auto
    choices: [auto, nftables, iptables]
  network_managers:
    description:
      - V(auto) tells the node's other network managers to leave the bridge and the containers' host ends
        (C(veth-*), C(vh-*)) alone, the way the CNI projects do it. NetworkManager (where its package config
        C(/etc/NetworkManager/NetworkManager.conf) is, or it runs) gets C(/etc/NetworkManager/conf.d/netplumb-<bridge>.conf)
        adding them to C(unmanaged-devices); systemd-networkd (where it is enabled, or runs) gets
        C(/etc/systemd/network/10-netplumb-<bridge>.network) with C(Unmanaged=yes). A running one reloads its
        configuration. With O(state=absent) the files go. A node with neither gets no file.
      - V(none) writes no such file (and removes none).
    type: str
    default: auto
    choices: [auto, none]
  exclusive:
    description:
      - What the node network owns exclusively. V(containers) - every container that
        M(netplumb.linux.container_net) made on O(bridge) and that is not listed goes. V(port_forwards) -
        every port forward (DNAT rule) of the collection's on the node that is not listed goes.
    type: list
    elements: str
    choices: [containers, port_forwards]
    default: []
  state:
    description: V(absent) removes what V(present) makes, the bridge last.
    type: str
    default: present
    choices: [present, absent]
seealso:
  - module: netplumb.linux.container_net
  - module: netplumb.linux.nat_rule
  - module: netplumb.linux.bridge
  - module: netplumb.linux.route
  - module: netplumb.linux.node_prereqs
  - name: ansible.builtin.iptables
    description: Single iptables rules, which this module's masquerade, forward and port-forward rules replace.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/iptables_module.html
  - name: ansible.posix.sysctl
    description: Kernel settings such as C(net.ipv4.ip_forward), which O(forwarding) sets now and at boot.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/posix/sysctl_module.html
'''

EXAMPLES = r'''
- name: The node's container network, all of it
  netplumb.linux.node_network:
    cidr: 198.51.100.0/24
    cluster_cidr: 198.51.100.0/23
    uplink: eth0
    containers:
      - {name: c1, address: 198.51.100.11}
      - {name: c2, address: 198.51.100.12, mtu: 1400}
    port_forwards:
      - {port: 80, to: "198.51.100.11:8080"}
    routes:
      - {dst: 198.51.101.0/24, gateway: 203.0.113.12}

- name: Dual stack, and only the containers listed stay
  netplumb.linux.node_network:
    cidr: 198.51.100.0/24
    cidr6: 2001:db8:100::/64
    containers:
      - {name: c1, address: 198.51.100.11, address6: "2001:db8:100::11"}
    exclusive: [containers]

- name: Gone again (rules, containers, the boot settings, the bridge)
  netplumb.linux.node_network:
    cidr: 198.51.100.0/24
    containers: [{name: c1}, {name: c2}]
    port_forwards:
      - {port: 80, to: "198.51.100.11:8080"}
    routes:
      - {dst: 198.51.101.0/24, gateway: 203.0.113.12}
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations of the whole node, in the order they run; applied unless in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - op: container_add
      netns: null
      target: c1
      args: {host: veth-c1, bridge: v-net-0, ifname: eth0}
      description: create container c1
summary:
  description:
    - Per kind, how many objects the plan looked at (C(total)) and how many of them it changes (C(changed)), and the
      number of operations.
    - C(nat_rules) counts every rule the options name, also those they keep absent (forward-accept rules with
      O(forward_rules=false)); a rule that only goes (the plain masquerade that a cluster CIDR replaces, an unlisted
      port forward with O(exclusive)) counts as changed only.
    - C(network_managers) counts the bridge when a network manager's file is planned for it, 0 on a node without one.
    - 'C(containers) also counts the containers by what the call does to them, as M(netplumb.linux.container_net)
      does: C(created), C(updated) (changed in place, which container_net counts as C(changed)), C(removed) (unlisted
      with V(containers) in O(exclusive), or all with O(state=absent)) and C(unchanged). Its C(changed) is
      C(created) + C(updated) + C(removed), as for the other kinds.'
  returned: always
  type: dict
  sample:
    bridge: {total: 1, changed: 0}
    containers: {total: 200, changed: 2, created: 1, updated: 0, removed: 1, unchanged: 198}
    nat_rules: {total: 3, changed: 0}
    routes: {total: 1, changed: 0}
    sysctl: {total: 1, changed: 0}
    network_managers: {total: 0, changed: 0}
    operations: 3
uplink:
  description: The uplink the rules use.
  returned: always
  type: str
  sample: eth0
ansible_facts:
  description: C(netplumb_uplink) (as M(netplumb.linux.net_facts) returns it) and C(netplumb_container_network)
    (bridge, cidr, cidr6), which the cni role's defaults follow.
  returned: always
  type: dict
rolled_back:
  description: On failure, the undo operations that were applied, in the order they ran.
  returned: failure after a partial apply
  type: list
  elements: str
not_undone:
  description: On failure, the applied operations that cannot be undone (deletions).
  returned: failure after a partial apply
  type: list
  elements: str
rollback_errors:
  description: On failure, undo operations that themselves failed, with the kernel's reason.
  returned: failure after a partial apply
  type: list
  elements: str
mismatches:
  description: 'On a failed read-back after the apply, each difference, as C(field: wanted W, found F).'
  returned: failure of the read-back
  type: list
  elements: str
failed_operation:
  description: On failure, the operation that failed (or, after a read-back that differs, the first one still needed).
  returned: failure after a partial apply
  type: dict
field:
  description: On a bad parameter, its name, with the index of the item (C(containers[3].address)).
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bridge=dict(type="str", default="v-net-0"),
            mtu=dict(type="int"),
            cidr=dict(type="str", required=True),
            gateway=dict(type="str", default=""),
            cidr6=dict(type="str", default=""),
            gateway6=dict(type="str", default=""),
            containers=dict(type="list", elements="dict", default=[]),
            uplink=dict(type="str", default=""),
            uplink_variable=dict(type="str", default="uplink"),
            masquerade=dict(type="bool", default=True),
            cluster_cidr=dict(type="str", default=""),
            cluster_cidr6=dict(type="str", default=""),
            forward_rules=dict(type="bool", default=False),
            port_forwards=dict(type="list", elements="dict", default=[]),
            routes=dict(type="list", elements="dict", default=[]),
            forwarding=dict(type="bool", default=True),
            sysctl_file=dict(type="path", default="/etc/sysctl.d/60-netplumb.conf"),
            nat_backend=dict(type="str", default="auto", choices=["auto", "nftables", "iptables"]),
            network_managers=dict(type="str", default="auto", choices=["auto", "none"]),
            exclusive=dict(type="list", elements="str", default=[], choices=["containers", "port_forwards"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, node_network)


if __name__ == "__main__":
    main()
