# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""net_facts: what the node has (namespaces, links, addresses, routes) and its
uplink (for a teardown, with the interfaces the collection's NAT rules name).

Imports: core, kernel, link, nat, cni (it reads what they own).
Only the net_facts module and node_network (the uplink) import facts.
"""
