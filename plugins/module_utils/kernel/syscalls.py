# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Linux syscalls the engine needs that Python's os module lacks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import ctypes.util
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return _libc


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _b(value):
    return None if value is None else os.fsencode(value)


def setns(fd, nstype):
    _check(_lib().setns(fd, nstype), "setns")


def unshare(flags):
    _check(_lib().unshare(flags), "unshare")


def mount(source, target, fstype, flags):
    _check(_lib().mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), None),
           "mount %s" % target)


def umount2(target, flags):
    _check(_lib().umount2(_b(target), flags), "umount %s" % target)
