# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_net's operations: the mark on a host end, a whole new container
as one step (a batch of the kernel's operations), and its removal."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno

from ansible_collections.netplumb.linux.plugins.module_utils.core.apply import run_steps
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import errno_of
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces


def _alias(ctx, op):
    ctx.kernel.session(op.netns).set_link(ctx.kernel.index(op.netns, op.target), alias=op.args["alias"])


def _container_add(ctx, op):
    with ctx.kernel.kept_indexes():
        run_steps(ctx, op)


def _container_del(ctx, op):
    """The host end if it is there (its peer goes with it), then the namespace."""
    ctx.kernel.forget(op.target)
    sess = ctx.kernel.session(None)
    index = sess.index(op.args["host"])
    if index is not None:
        try:
            sess.delete_link(index)
        except OSError as exc:
            if errno_of(exc) != errno.ENODEV:
                raise
    namespaces.delete(op.target)


LINK_ALIAS = Operation("link_alias", "mark {target}{where} as {alias}", _alias)
CONTAINER_ADD = Operation("container_add", "create container {target}: {ifname} {address} in netns {target}, "
                                           "host end {host} on {bridge}", _container_add)
CONTAINER_DEL = Operation("container_del", "remove container {target} (host end {host} and netns {target})",
                          _container_del)

OPERATIONS = (LINK_ALIAS, CONTAINER_ADD, CONTAINER_DEL)
