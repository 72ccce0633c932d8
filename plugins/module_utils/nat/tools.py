# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running nft and iptables: argument lists, inside the rule's namespace."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import shutil
import subprocess

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError

TIMEOUT = 60


def have(tool):
    return shutil.which(tool) is not None


def run_tool(netns, argv, stdin=None, check=True):
    """Run ``argv`` in namespace ``netns`` (the child inherits this thread's
    namespace at fork); raise KernelError with the tool's own words."""
    if not have(argv[0]):
        raise KernelError(argv[0], errno.ENOENT, "%s is not installed on the node" % argv[0])
    with namespaces.netns_context(netns):
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        raise KernelError(" ".join(argv[:3]), None, (proc.stderr or proc.stdout).strip())
    return proc
