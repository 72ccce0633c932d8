# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plugin sources: a release archive (bytes, checksum verified first) or a
directory of binaries, read into memory as ``{name: content}``.

Nothing is ever extracted to disk. Every member of an archive is checked before
any content is read, and one unsafe member rejects the whole archive:
absolute paths, ``..``, symlinks, hard links, devices, FIFOs, members listed
twice, and members (or totals) over the size limits. A plugin is a regular,
executable file at the top of the archive (``./bridge``), as in upstream's
``cni-plugins-linux-<arch>-<version>.tgz``; other files (LICENSE, README.md)
are not plugins.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import io
import os
import re
import stat
import tarfile

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

MAX_ARCHIVE_BYTES = 1 << 30
MAX_MEMBER_BYTES = 256 << 20
MAX_TOTAL_BYTES = 2 << 30
MAX_MEMBERS = 10000
_CHECKSUM = re.compile(r"sha256:([0-9a-fA-F]{64})")


def parse_checksum(field, value):
    """``sha256:<64 hex digits>`` -> the lower-case hex digest; None stays None."""
    if value is None:
        return None
    match = _CHECKSUM.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ParamError(field, value, "must be sha256:<64 hex digits>")
    return match.group(1).lower()


def verify(data, digest, src):
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ParamError("checksum", "sha256:" + digest,
                         "does not match %s, whose sha256 is %s; nothing was extracted" % (src, actual))


def read_file(path):
    """An archive on the node, size-bounded."""
    size = os.stat(path).st_size
    if size > MAX_ARCHIVE_BYTES:
        raise ParamError("src", path, "is larger than %d bytes" % MAX_ARCHIVE_BYTES)
    with open(path, "rb") as handle:
        return handle.read(MAX_ARCHIVE_BYTES + 1)


def plugins_in_archive(data, src, wanted=None):
    """``{name: content}`` of the plugins in the archive ``data`` (only those in
    ``wanted`` when given), and the sorted names of all plugins in it."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ParamError("src", src, "is not a tar archive (plain, gzip, bzip2 or xz): %s" % exc)
    with tar:
        members = _checked_members(tar, src)
        names = sorted(name for name, member in members.items()
                       if "/" not in name and member.mode & 0o111)
        found = {}
        for name in names if wanted is None else [n for n in names if n in wanted]:
            found[name] = _read_member(tar, members[name], src)
    return found, names


def _checked_members(tar, src):
    members, total = {}, 0
    try:
        for count, member in enumerate(tar, 1):
            if count > MAX_MEMBERS:
                _reject(src, "has more than %d members" % MAX_MEMBERS)
            name = _safe_name(member.name, src)
            total += _check_kind(member, src)
            if total > MAX_TOTAL_BYTES:
                _reject(src, "unpacks to more than %d bytes" % MAX_TOTAL_BYTES)
            if name is None or member.isdir():
                continue
            if name in members:
                _reject(src, "lists member %r twice" % member.name)
            members[name] = member
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ParamError("src", src, "is not a readable tar archive: %s" % exc)
    return members


def _safe_name(name, src):
    """The member's path without a leading ``./``; None for the top directory."""
    if name.startswith("/") or os.path.isabs(name):
        _reject(src, "has a member with an absolute path: %r" % name)
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        _reject(src, "has a member that climbs out with '..': %r" % name)
    if "\0" in name:
        _reject(src, "has a member with a NUL byte in its name: %r" % name)
    return "/".join(parts) or None


def _check_kind(member, src):
    if member.issym():
        _reject(src, "has a symlink member: %r -> %r" % (member.name, member.linkname))
    if member.islnk():
        _reject(src, "has a hard link member: %r -> %r" % (member.name, member.linkname))
    if member.ischr() or member.isblk():
        _reject(src, "has a device member: %r" % member.name)
    if member.isfifo():
        _reject(src, "has a FIFO member: %r" % member.name)
    if member.isdir():
        return 0
    if not member.isreg():
        _reject(src, "has a member of unsupported type %r: %r" % (member.type, member.name))
    if member.size > MAX_MEMBER_BYTES:
        _reject(src, "has an oversized member: %r is %d bytes, more than %d"
                % (member.name, member.size, MAX_MEMBER_BYTES))
    return member.size


def _read_member(tar, member, src):
    try:
        handle = tar.extractfile(member)
        data = handle.read(member.size + 1)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ParamError("src", src, "is truncated or corrupt at %r: %s" % (member.name, exc))
    if len(data) != member.size:
        raise ParamError("src", src, "is truncated at %r" % member.name)
    return data


def _reject(src, reason):
    raise ParamError("src", src, "is not a safe archive: it %s; nothing was installed" % reason)


# -- a directory of binaries ----------------------------------------------------------


def plugins_in_directory(path, wanted=None):
    """Same as plugins_in_archive for a directory: its executable regular files."""
    names = []
    for name in sorted(os.listdir(path)):
        try:
            info = os.stat(os.path.join(path, name))
        except OSError:
            continue  # a dangling symlink is no plugin
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o111:
            names.append(name)
    found = {}
    for name in names if wanted is None else [n for n in names if n in wanted]:
        with open(os.path.join(path, name), "rb") as handle:
            found[name] = handle.read()
    return found, names
