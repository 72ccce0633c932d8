# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine: a parsed spec, a plan of operations, the one apply gate with
rollback, the operation catalogue, the run context, errors, the node lock,
crash points, parameter validation, the Ansible runner, and the node's
bytecode cache of the collection's module_utils (bytecode.py).

Imports: core.engine and core.runner may import kernel; every other core
module imports only the standard library and core. Core imports no resource.
"""
