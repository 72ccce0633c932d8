# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CNI resources: cni_install, cni_config and cni_check, with the
archive, conflist, plugin-exec and file helpers they share.

Imports: core, kernel, cni.
"""
