# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel access: the netlink session interface and its two
implementations (pyroute2 and the lean standard-library socket), the model the
readers return, named network namespaces, the few syscalls Python lacks, and
the kernel operations (namespaces, links, addresses, routes).

Imports: the standard library, kernel, and core.errors, core.plan,
core.operations, core.context. The kernel imports no resource.
"""
