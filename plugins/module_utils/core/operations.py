# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operation catalogue: what each kind of operation means.

Each package declares its operations beside the code that runs them, as a
tuple named OPERATIONS (kernel/operations.py, container_net/operations.py,
cni/files.py, nat/nat_rule.py); a resource names the groups it plans with
(its own OPERATIONS), and the engine merges them for the call. Nothing
registers itself on import.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import Callable, Tuple


@dataclasses.dataclass(frozen=True)
class Operation:
    """``text``: a format string over the op's args, ``target`` and
    ``where``; ``run(ctx, op)`` does it; ``already``: the errnos that mean
    the kernel or the filesystem is already as asked."""
    name: str
    text: str
    run: Callable = dataclasses.field(repr=False)
    already: Tuple[int, ...] = ()


NOOP = Operation("noop", "nothing for {target} (it goes with an earlier step)", lambda ctx, op: None)


def merge(*groups):
    """{name: Operation} of the groups; one name, one meaning."""
    merged = {NOOP.name: NOOP}
    for group in groups:
        for operation in group:
            if merged.setdefault(operation.name, operation) is not operation:
                raise ValueError("two operations are named %r" % operation.name)
    return merged
