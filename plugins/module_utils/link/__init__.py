# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resources for links and routes: the netns, veth, bridge and route modules,
and the link attributes they share.

Imports: core, kernel, link.
"""
