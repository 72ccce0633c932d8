#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nat_rule
short_description: Manage one owned MASQUERADE, SNAT, DNAT or forward-accept rule
description:
  - Adds, updates or removes one IPv4 or IPv6 rule in the collection's own place, never anywhere else. With
    nftables that is C(table ip netplumb) (C(table ip6 netplumb) for IPv6) and its chains C(postrouting) (srcnat), C(prerouting) and
    C(output) (dstnat) and C(forward) (filter). With iptables it is the chains C(NETPLUMB-POSTROUTING),
    C(NETPLUMB-PREROUTING), C(NETPLUMB-OUTPUT) (table nat) and C(NETPLUMB-FORWARD) (table filter), each
    jumped to once from its base chain; the jump into C(NETPLUMB-FORWARD) is inserted first in C(FORWARD).
    IPv6 rules live in the same chains of ip6tables (the same variant, legacy or nft).
  - Every rule carries an ownership comment C(netplumb:<identity>:<content>). Rules without it (docker,
    kube-proxy, a CNI plugin, an admin) are never read, changed or removed.
  - A rule's identity is its O(kind), its family and its match (O(source), O(destination), O(in_interface),
    O(out_interface), O(protocol), O(dport)). A changed O(to), O(comment) or O(output) replaces that rule;
    it never adds a second one. When the last owned rule goes, the owned table or chains go too.
  - Forwarding (C(net.ipv4.ip_forward), C(net.ipv6.conf.all.forwarding)) is a sysctl, not a rule; see the EXAMPLES for C(ansible.posix.sysctl) with a file in
    C(/etc/sysctl.d).
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
  - netplumb.linux.common.netns
requirements:
  - nft (nftables) or iptables on the managed node, for the backend used (ip6tables for IPv6 rules with iptables)
notes:
  - An O(in_interface) or O(out_interface) that is not an interface of the rule's network namespace (O(netns), else
    the node's) gives a warning, not a failure - a rule may come before its interface (one a later task or another
    program makes), and matches nothing until it exists. A wildcard (V(eth+)) warns only when no interface name
    starts with its stem. O(state=absent) never warns.
  - Interfaces cannot be negated (no leading C(!)), unlike O(source) and O(destination).
options:
  kind:
    description:
      - V(masquerade) rewrites the source to the outgoing interface's address (postrouting).
      - V(snat) rewrites the source to O(to) (postrouting).
      - V(dnat) rewrites the destination to O(to) for traffic arriving from other hosts (prerouting),
        and with O(output=true) for the node's own traffic too.
      - V(forward) accepts forwarded traffic that matches, for nodes whose FORWARD policy is drop (as docker sets it).
    type: str
    required: true
    choices: [masquerade, snat, dnat, forward]
  source:
    description:
      - Source address or network (CIDR) to match.
      - With C(!) in front, every source except that one, as C(ansible.builtin.iptables) writes it (V(!198.51.100.0/25)).
    type: str
  destination:
    description:
      - Destination address or network (CIDR) to match.
      - With C(!) in front, every destination except that one (V(!198.51.100.0/24)), for example a masquerade
        that leaves traffic to the containers of other nodes with the container's own address.
    type: str
  in_interface:
    description:
      - Incoming interface to match. Not with V(masquerade), V(snat) or O(output=true).
      - A name ending in C(+) matches every interface whose name starts with the rest, as in iptables (V(veth+));
        nftables writes it C(veth*).
    type: str
  out_interface:
    description:
      - Outgoing interface to match. Not with V(dnat).
      - A name ending in C(+) matches every interface whose name starts with the rest (V(eth+)).
    type: str
  protocol:
    description: Layer 4 protocol to match; required with O(dport) and with a port in O(to).
    type: str
    choices: [tcp, udp]
  dport:
    description: Destination port (V(80)) or range (V(8000-8080)) to match.
    type: str
  to:
    description:
      - With V(snat), the new source address. With V(dnat), the new destination, V(address) or V(address:port);
        an IPv6 address with a port is written V([2001:db8::11]:8080).
      - Not part of the identity. Required for V(snat) and V(dnat) when O(state=present).
    type: str
  family:
    description:
      - V(ipv4) or V(ipv6). Omitted, the family of O(source), O(destination) and O(to), which must agree;
        IPv4 for a rule with no address at all (for example a masquerade matching only O(out_interface)).
    type: str
    choices: [ipv4, ipv6]
  output:
    description: With V(dnat), also rewrite traffic the node itself sends (the output hook).
    type: bool
    default: false
  comment:
    description: Free text added after the ownership tag (at most 64 characters). Not part of the identity.
    type: str
  backend:
    description:
      - V(nftables), V(iptables), or V(auto). V(auto) keeps using the backend that already holds the
        collection's rules; otherwise picks iptables (legacy or nft variant) when the node's own rules live
        there (as on many docker hosts, so that forward rules sit in the same FORWARD chain), and nftables otherwise.
      - The choice and why are returned in RV(backend) and RV(backend_reason).
    type: str
    choices: [auto, nftables, iptables]
    default: auto
  state:
    description: V(absent) removes the owned rule with this identity (O(to) is then not needed).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.node_network
  - module: netplumb.linux.route
  - name: ansible.builtin.iptables
    description: One iptables rule in the base chains; this module keeps its rules in its own nftables table or iptables chains.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/iptables_module.html
'''

EXAMPLES = r'''
- name: IPv4 forwarding on, persistently (a sysctl, not a rule)
  ansible.posix.sysctl:
    name: net.ipv4.ip_forward
    value: "1"
    sysctl_file: /etc/sysctl.d/60-netplumb.conf
    sysctl_set: true

- name: Containers leave masqueraded as the node (scenario 4)
  netplumb.linux.nat_rule:
    kind: masquerade
    source: 198.51.100.0/24
    out_interface: uplink0

- name: Port 80 of the node forwards to one container
  netplumb.linux.nat_rule:
    kind: dnat
    protocol: tcp
    dport: "80"
    to: 198.51.100.11:8080
    comment: web

- name: The same port forward for IPv6 clients, to the container's IPv6 address
  netplumb.linux.nat_rule:
    kind: dnat
    protocol: tcp
    dport: "80"
    to: "[2001:db8:100::11]:8080"

- name: Masquerade only what leaves the cluster, so containers on other nodes see the container's own address
  netplumb.linux.nat_rule:
    kind: masquerade
    source: 198.51.100.0/26
    destination: "!198.51.100.0/24"
    out_interface: uplink0

- name: IPv6 containers leave masqueraded as the node too
  netplumb.linux.nat_rule:
    kind: masquerade
    source: 2001:db8:100::/64
    out_interface: uplink0

- name: Accept forwarding for the container subnet where FORWARD drops by default
  netplumb.linux.nat_rule:
    kind: forward
    source: 198.51.100.0/24

- name: Remove the port forward
  netplumb.linux.nat_rule:
    kind: dnat
    protocol: tcp
    dport: "80"
    state: absent
'''

RETURN = r'''
operations:
  description: The planned operations; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: nat_apply
      netns: null
      target: masquerade from 198.51.100.0/24 out uplink0
      args: {verb: add, backend: nftables, remove: [], add: ["..."]}
      description: add rule masquerade from 198.51.100.0/24 out uplink0 in nftables
backend:
  description: The backend used, V(nftables), V(iptables-legacy) or V(iptables-nft).
  returned: success
  type: str
  sample: nftables
backend_reason:
  description: Why that backend.
  returned: success
  type: str
  sample: no rules in iptables; nftables is the node's own
rolled_back:
  description: On failure, the undo operations that were applied, in the order they ran.
  returned: failure after a partial apply
  type: list
  elements: str
failed_operation:
  description: On failure, the operation that was refused, in the form of an C(operations) entry.
  returned: failure after a partial apply
  type: dict
mismatches:
  description: 'On a failed read-back after the apply, each difference, as C(field: wanted W, found F).'
  returned: failure of the read-back
  type: list
  elements: str
field:
  description: On a bad parameter, its name.
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type="str", required=True, choices=["masquerade", "snat", "dnat", "forward"]),
            source=dict(type="str"),
            destination=dict(type="str"),
            in_interface=dict(type="str"),
            out_interface=dict(type="str"),
            protocol=dict(type="str", choices=["tcp", "udp"]),
            dport=dict(type="str"),
            to=dict(type="str"),
            family=dict(type="str", choices=["ipv4", "ipv6"]),
            output=dict(type="bool", default=False),
            comment=dict(type="str"),
            backend=dict(type="str", default="auto", choices=["auto", "nftables", "iptables"]),
            netns=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, nat_rule)


if __name__ == "__main__":
    main()
