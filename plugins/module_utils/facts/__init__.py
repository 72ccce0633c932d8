# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""net_facts: what the node has (namespaces, links, addresses, routes, the
managed NAT rules, the CNI plugins and configs) and its uplink.

Imports: core, kernel, and every resource package (it reads what they own).
Nothing but the net_facts module imports facts.
"""
