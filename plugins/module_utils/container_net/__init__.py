# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container_net resource: many containers on one bridge in one call.

Imports: core, kernel, link (the shared link attributes).
"""
