# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioned layer the nodes share: this machine's root with the
packages of ``node_packages_absent`` removed, Debian's openssh-server and
sudo installed from the lab's package directory, the unprivileged user with
passwordless sudo, apt pointed at the package directory only (mounted
read-only at /srv/netplumb-lab). Built once per state of this machine's
packages by a builder node (``cli.py boot --build``), kept in
``layer_cache_dir`` (else in the state directory), copied by each node."""

import hashlib
import os
import shutil
import subprocess
import tempfile

from . import nodes, state
from .packages import BOOT_PACKAGES
from .system import CMD_TIMEOUT, LabError, in_node, read, write

REPO_MOUNT = "/srv/netplumb-lab"


def provision(user, remove):
    """The provisioned layer: run once, in a builder node, by ``build_layer``."""
    # A node has no init that starts services; nothing may try.
    write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)
    # man-db rebuilds its index after every install: seconds a node does not need.
    for path in ("/var/lib/man-db/auto-update",):
        if os.path.exists(path):
            os.unlink(path)
    for name in os.listdir("/etc/apt/sources.list.d"):
        os.unlink(os.path.join("/etc/apt/sources.list.d", name))
    if os.path.exists("/etc/apt/sources.list"):
        os.unlink("/etc/apt/sources.list")
    write("/etc/apt/sources.list.d/netplumb-lab.list",
          "# The lab's package mirror (lab_packages_dir, read-only): nodes reach no other.\n"
          "deb [trusted=yes] file:%s ./\n" % REPO_MOUNT)
    in_node("apt-get", "update", "-qq")
    installed = [p for p in remove
                 if in_node("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", p, check=False).stdout.startswith("ii")]
    if installed:
        # One call, so dpkg orders them; one that something else still needs stays.
        in_node("dpkg", "--remove", *installed, check=False)
    # Only ed25519 host keys (the lab brings them): no rsa key generated at install.
    os.makedirs("/etc/ssh/sshd_config.d", exist_ok=True)
    write("/etc/ssh/sshd_config.d/00-netplumb-lab.conf",
          "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n"
          "KbdInteractiveAuthentication no\nPermitRootLogin no\nUseDNS no\n")
    in_node("apt-get", "install", "-y", "-qq", "--no-install-recommends", *BOOT_PACKAGES)
    # The lab brings each node's host key; none is shared through the layer.
    for stale in os.listdir("/etc/ssh"):
        if stale.startswith("ssh_host_"):
            os.unlink(os.path.join("/etc/ssh", stale))
    in_node("useradd", "--create-home", "--shell", "/bin/bash", user)
    write("/etc/sudoers.d/netplumb-lab", "%s ALL=(ALL:ALL) NOPASSWD: ALL\n" % user, 0o440)
    in_node("visudo", "-c", "-q")
    in_node("apt-get", "clean")
    for cache in ("/var/cache/apt/pkgcache.bin", "/var/cache/apt/srcpkgcache.bin"):
        if os.path.exists(cache):
            os.unlink(cache)


def _sources():
    """The lab's own code, which builds and boots the layer."""
    here = os.path.dirname(os.path.abspath(__file__))
    return "".join(read(os.path.join(here, name)) or "" for name in sorted(os.listdir(here)) if name.endswith(".py"))


def layer_key(options):
    """What the provisioned layer depends on: this machine's package set, the
    lab's packages, the user, the removed packages and the lab's code."""
    digest = hashlib.sha256()
    packages = os.path.abspath(options["packages_dir"])
    for part in (read("/var/lib/dpkg/status") or "", read(os.path.join(packages, "Packages")) or "",
                 options["user"], " ".join(options["node_packages_absent"]), _sources()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def layer_path(options):
    cache = options["layer_cache_dir"] or os.path.join(options["state_dir"], state.LAYER_DIR)
    return os.path.join(cache, layer_key(options))


def build_layer(options):
    """The provisioned layer, built once per machine state (in
    ``layer_cache_dir``, else in the state directory): a builder node runs
    ``provision`` with its upper layer on disk, which the nodes then copy
    under their own. Returns (its path, whether it was built now)."""
    layer = layer_path(options)
    cache = os.path.dirname(layer)
    if os.path.isdir(layer):
        return layer, False
    os.makedirs(cache, exist_ok=True)
    building = tempfile.mkdtemp(prefix=".build-", dir=cache)
    try:
        with tempfile.TemporaryFile() as errors:
            argv = nodes.boot_argv(options, "layer", ["--build", building + "/upper"]
                                   + [a for r in options["node_packages_absent"] for a in ("--remove", r)])
            proc = nodes.spawn(argv, "layer", options["state_dir"] + "/.layer", errors)
            try:
                proc.wait(timeout=CMD_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise LabError("provisioning the nodes' layer took more than %d s" % CMD_TIMEOUT)
            if proc.returncode != 0:
                errors.seek(0)
                raise LabError("provisioning the nodes' layer failed: %s"
                               % errors.read().decode(errors="replace").strip()[-3000:])
        try:
            os.rename(building + "/upper", layer)
        except OSError:
            if not os.path.isdir(layer):  # not a concurrent build that won the rename
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    # Layers of earlier machine states: a node copies its layer when it boots,
    # so none in use goes with them.
    for name in os.listdir(cache):
        if name != os.path.basename(layer) and not name.startswith("."):
            shutil.rmtree(os.path.join(cache, name), ignore_errors=True)
    return layer, True
