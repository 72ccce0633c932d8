# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nodes' package mirror: a directory of .debs with a ``Packages`` index,
fetched with this machine's apt in download-only mode (nothing installed
here) and served read-only to every node."""

import hashlib
import os
import re
import shutil

from .fabric import named
from .system import CLI, LabError, read, run, write

# What a node needs to be reached over SSH as a user with sudo.
BOOT_PACKAGES = ("openssh-server", "sudo")
# What the roles install on a node that lacks it (their prerequisites; no role needs pyroute2).
ROLE_PACKAGES = ("nftables", "iptables", "containernetworking-plugins", "python3-apt")


def _deb_fields(path):
    out = run(["dpkg-deb", "--field", path], timeout=30).stdout
    return out.rstrip("\n")


def index_packages(directory):
    """A ``Packages`` index of the .debs in ``directory`` (what apt reads from
    a ``deb [trusted=yes] file:<dir> ./`` source). Returns True when rewritten."""
    debs = sorted(name for name in os.listdir(directory) if name.endswith(".deb"))
    stanzas = []
    for name in debs:
        path = os.path.join(directory, name)
        with open(path, "rb") as handle:
            data = handle.read()
        stanzas.append("%s\nFilename: ./%s\nSize: %d\nSHA256: %s\n"
                       % (_deb_fields(path), name, len(data), hashlib.sha256(data).hexdigest()))
    text = "\n".join(stanzas)
    index = os.path.join(directory, "Packages")
    if read(index) == text:
        return False
    write(index, text)
    return True


def package_names(directory):
    text = read(os.path.join(directory, "Packages")) or ""
    return set(re.findall(r"^Package: (\S+)$", text, re.M))


def complete(directory):
    """True when ``directory`` holds every package the nodes need."""
    return os.path.isdir(directory) and set(BOOT_PACKAGES + ROLE_PACKAGES) <= package_names(directory)


def fetch(options, check):
    """The packages the nodes need, as .debs with an index, in the option
    ``packages_dir``: what this machine lacks of them (and their
    dependencies) through apt's download-only install, the role packages it
    has installed through ``apt-get download``. Needs a reachable package
    mirror; changes nothing in this machine's installed package set. Returns
    True when it fetched (or, in check mode, would fetch)."""
    directory = os.path.abspath(options["packages_dir"])
    wanted = set(BOOT_PACKAGES + ROLE_PACKAGES)
    if complete(directory):
        return False
    if check:
        return True
    created = not os.path.isdir(directory)
    os.makedirs(os.path.join(directory, "partial"), exist_ok=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run(["apt-get", "install", "--download-only", "-y", "-qq", "--no-install-recommends",
             "-o", "Dir::Cache::archives=" + directory] + sorted(wanted), env=env)
        installed = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"] + sorted(wanted),
                        check=False).stdout
        have = [line.split()[0] for line in installed.splitlines() if line.split()[1:2] == ["ii"]]
        if have:
            # apt-get download writes into the current directory, as root when _apt cannot.
            run(["apt-get", "download", "-qq"] + have, env=dict(env, PWD=directory), cwd=directory)
    except LabError as exc:
        raise LabError("%s %s: could not fetch the nodes' packages with this machine's apt"
                       " (a package mirror must be reachable from here, once): %s"
                       % (named(options, "packages_dir"), directory, exc), field="packages_dir")
    finally:
        for leftover in ("partial", "lock"):
            path = os.path.join(directory, leftover)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        if created and not os.listdir(directory):
            os.rmdir(directory)
    index_packages(directory)
    missing = sorted(wanted - package_names(directory))
    if missing:
        raise LabError("could not fetch %s into %s" % (", ".join(missing), directory), field="packages_dir")
    return True


def require(options):
    """Fail, naming the option, when the package directory lacks a package."""
    directory = os.path.abspath(options["packages_dir"])
    missing = sorted(set(BOOT_PACKAGES + ROLE_PACKAGES) - package_names(directory))
    if missing:
        raise LabError("%s %s lacks %s: the nodes have no package mirror, the lab serves them"
                       " these .debs. Fetch them on a machine with one: python3 %s packages --dir %s"
                       " (make deps does)" % (named(options, "packages_dir"), directory, ", ".join(missing),
                                              CLI, directory), field="packages_dir")
