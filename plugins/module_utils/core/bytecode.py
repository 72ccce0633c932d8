# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache on the node for the collection's module_utils.

Ansible ships a module's module_utils to the node inside its payload (a
zip), and Python compiles every file of it on every run: it keeps no
bytecode for code imported from a zip. For node_network that is most of
importing netplumb, on every node, every run. Every module of the
collection imports this module before the rest of netplumb: from then on,
the rest loads from compiled code kept in CACHE_DIR, as Python keeps
``__pycache__`` next to installed code. An entry is named by a hash of the
Python's bytecode version, the module's name and its source, so a new
version of a file, or another Python, compiles anew.

It acts only when this module itself comes from a payload and Python runs
as root. The directory is created 0700, and used only when it and every
directory above it is root's and no one else can write to it (but for the
sticky bit, as on /tmp); an entry only when it is a regular file of root's
that no one else can write. Any doubt, and any error, and the file is
compiled from the payload as without the cache.

NETPLUMB_BYTECODE_CACHE names another directory (an absolute path), or
``off``; with PYTHONDONTWRITEBYTECODE (or ``python -B``) it reads entries
but writes none. The directory can be deleted at any time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import zipimport

CACHE_DIR = "/var/cache/netplumb/bytecode"
ENV = "NETPLUMB_BYTECODE_CACHE"
PREFIX = "ansible_collections.netplumb.linux.plugins.module_utils."
# Entries past this many (old versions' files) empty the directory before the next write.
MAX_ENTRIES = 2000
MAGIC = importlib.util.MAGIC_NUMBER
# What this run did, per module_utils file (the tests read it).
STATS = {"loaded": 0, "compiled": 0, "written": 0}


def install(spec):
    """Serve the rest of netplumb's module_utils through the cache, when
    ``spec`` (this module's) was loaded from a payload and there is a
    directory to use."""
    if not isinstance(getattr(spec, "loader", None), zipimport.zipimporter):
        return
    if any(isinstance(finder, Finder) for finder in sys.meta_path):
        return
    directory = usable_directory(os.environ.get(ENV, CACHE_DIR))
    if directory is not None:
        sys.meta_path.insert(0, Finder(directory))


def usable_directory(path):
    """``path`` when it passes the checks above (created if missing, unless
    Python writes no bytecode); else None."""
    if path == "off" or not os.path.isabs(path) or os.geteuid() != 0:
        return None
    try:
        if not sys.dont_write_bytecode:
            os.makedirs(path, mode=0o700, exist_ok=True)
        if not all(_trusted(parent, private=False) for parent in _parents(path)):
            return None
        return path if _trusted(path, private=True) else None
    except OSError:
        return None


def _parents(path):
    parent = os.path.dirname(path)
    while parent != path:
        yield parent
        path, parent = parent, os.path.dirname(parent)


def _trusted(path, private):
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0:
        return False
    if private:
        return not info.st_mode & 0o077
    return not info.st_mode & 0o022 or bool(info.st_mode & stat.S_ISVTX)


class Finder(importlib.abc.MetaPathFinder):
    """netplumb's module_utils from a payload, loaded through the cache.

    It finds a file in the zip itself: Python's zip importer compiles a
    module to tell its file name (as its spec is made) and again to load it."""

    def __init__(self, directory):
        self.directory = directory
        self.importers = {}

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX) or not path:
            return None
        tail = fullname.rpartition(".")[2]
        for entry in path:
            importer = self._importer(entry)
            if importer is None:
                continue
            try:
                package = importer.is_package(fullname)
            except zipimport.ZipImportError:  # not in this directory of the zip
                continue
            where = os.path.join(importer.archive, importer.prefix, tail)
            origin = os.path.join(where, "__init__.py") if package else where + ".py"
            return importlib.util.spec_from_file_location(
                fullname, origin, loader=Loader(importer, origin, self.directory),
                submodule_search_locations=[where] if package else None)
        return None

    def _importer(self, entry):
        if entry not in self.importers:
            try:
                self.importers[entry] = zipimport.zipimporter(entry)
            except (zipimport.ZipImportError, OSError):
                self.importers[entry] = None
        return self.importers[entry]


class Loader(importlib.abc.Loader):
    """A payload's file: its code from the cache, or compiled and kept."""

    def __init__(self, zipped, origin, directory):
        self.zipped = zipped
        self.origin = origin
        self.directory = directory

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.get_code(module.__spec__.name), module.__dict__)  # pylint: disable=exec-used

    def get_code(self, fullname):
        try:
            source = self.zipped.get_data(self.origin)
        except OSError:  # compiled code only in the zip, no source: Python's own way
            return self.zipped.get_code(fullname)
        # Named by its path inside the payload, the same in every run (the payload's own directory is new each time).
        return code_of(self.directory, fullname, os.path.relpath(self.origin, self.zipped.archive), source)

    def get_source(self, fullname):
        return self.zipped.get_source(fullname)

    def get_filename(self, fullname):
        return self.origin

    def is_package(self, fullname):
        return self.zipped.is_package(fullname)


def code_of(directory, fullname, filename, source):
    """The code of ``source`` (bytes): the directory's entry, or compiled (and kept)."""
    entry = os.path.join(directory, hashlib.sha256(b"\0".join((MAGIC, fullname.encode(), source))).hexdigest())
    code = _read(entry)
    if code is not None:
        STATS["loaded"] += 1
        return code
    code = compile(source, filename, "exec", dont_inherit=True)
    STATS["compiled"] += 1
    if not sys.dont_write_bytecode:
        _write(directory, entry, code)
    return code


def _read(entry):
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            return None
        data = handle.read()
    if not data.startswith(MAGIC):
        return None
    try:
        return marshal.loads(data[len(MAGIC):])
    except (EOFError, ValueError, TypeError):
        return None


def _write(directory, entry, code):
    temp = "%s.%d.tmp" % (entry, os.getpid())
    try:
        names = os.listdir(directory)
        if len(names) >= MAX_ENTRIES:
            for name in names:
                os.unlink(os.path.join(directory, name))
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + marshal.dumps(code))
        os.replace(temp, entry)
        STATS["written"] += 1
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


install(__spec__)
