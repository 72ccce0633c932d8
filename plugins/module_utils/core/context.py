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
