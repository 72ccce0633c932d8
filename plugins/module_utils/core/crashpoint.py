# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test hook that proves a run killed at any point leaves nothing a rerun
cannot repair. Off unless one of these environment variables is set:

- ``NETPLUMB_TEST_KILL_AFTER=k``: the process sends itself SIGKILL when it
  reaches its k-th crash point (counted over the whole process, so over several
  engine runs in one script);
- ``NETPLUMB_TEST_CRASH_LOG=path``: each crash point reached is appended to
  ``path``, one line ``<count> <what>``, so a test knows how many there are;
- ``NETPLUMB_TEST_FAIL_AT=k``: the k-th operation the apply gate starts
  (counted over the whole process) fails with EIO before it runs, so a test
  proves the rollback of everything done before it.

Crash points are reached after each operation of a plan is applied, inside
an atomic file write (temp file complete, not yet renamed) and after each
iptables command of a NAT change (nat_iptables.apply: a change is several
commands). An nftables change is one transaction, applied whole or not at
all, so it has no point inside.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import signal

KILL_AFTER = "NETPLUMB_TEST_KILL_AFTER"
FAIL_AT = "NETPLUMB_TEST_FAIL_AT"
CRASH_LOG = "NETPLUMB_TEST_CRASH_LOG"

_reached = [0]
_started = [0]


def reached(what):
    """Count one crash point; die here if it is the one asked for."""
    limit, log = os.environ.get(KILL_AFTER), os.environ.get(CRASH_LOG)
    if not limit and not log:
        return
    _reached[0] += 1
    if log:
        with open(log, "a") as handle:
            handle.write("%d %s\n" % (_reached[0], " ".join(str(what).split())))
    if limit and _reached[0] >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def starting(what):
    """Count one operation the apply gate starts; fail it if it is the one asked for."""
    limit = os.environ.get(FAIL_AT)
    if not limit:
        return
    _started[0] += 1
    if _started[0] == int(limit):
        raise OSError(errno.EIO, "%s=%s: operation %d (%s) fails on purpose" % (FAIL_AT, limit, _started[0], what))
