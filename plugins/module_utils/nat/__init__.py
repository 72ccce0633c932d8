# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nat_rule resource: the rule spec, and its two backends (nftables,
iptables), run as argument lists.

Imports: core, kernel, nat.
"""
