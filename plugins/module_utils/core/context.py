# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The context of one call: check mode and what it may assume, the warnings
to report, and the kernel's sessions (None for a resource without netlink)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class Context:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.warnings = []
        self.kernel = None
        # Reads shared by the planners of one run (node_network plans several
        # resources over the same NAT tables): key -> value.
        self.memo = {}
        # Links an earlier part of the same plan creates: (netns, name).
        self.planned_links = set()
        # Networks an earlier part of the same plan connects (addresses it adds): (netns, ip_network).
        self.planned_networks = set()
        # Whole-namespace views read once and shared by the planners (node_network's).
        self.share_views = False
        # In the read-back after an apply: the names (namespaces and links)
        # its operations touched, for planners of many objects to read back
        # only those (container_net's containers). None: everything.
        self.touched = None

    def remember(self, key, read):
        """``read()`` once per run for ``key``."""
        if key not in self.memo:
            self.memo[key] = read()
        return self.memo[key]

    def plans_link(self, netns, name):
        """Whether an earlier part of this run's plan creates link ``name``."""
        return (netns, name) in self.planned_links

    def plans_network_of(self, netns, address):
        """Whether an earlier part of this run's plan connects a network holding ``address``."""
        return any(where == netns and address in network for where, network in self.planned_networks)

    def warn(self, message):
        self.warnings.append(message)

    def assume_earlier_task(self, message):
        """In check mode, something the plan needs may not exist yet because
        an earlier task of the play only predicted it: warn with ``message``
        and return True. In a real run return False (the caller fails)."""
        if not self.check_mode:
            return False
        self.warn(message)
        return True
