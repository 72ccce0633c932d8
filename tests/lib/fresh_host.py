"""A fresh host inside the test's sandbox, and what a run changed on it.

A fresh Debian host has no /etc/cni, /opt/cni or /var/lib/cni. ``fresh_host()``
makes the test's process see such a host without touching the real one: in a
new mount namespace (entered in process like ``sandboxed()``, left again on
exit) /etc, /opt, /var/lib and /var/cache (where the modules keep their
bytecode, core/bytecode.py) become copy-on-write views, overlays whose
upper layers live on a tmpfs of their own, and the CNI directories are removed
inside the views (whiteouts in the upper layers). Whatever is written under
those trees afterwards lands in the upper layers, so ``written()`` lists it.
Around that, the installed packages and the network of the current network
namespace (links, addresses, routes, nftables, iptables of both variants) are
recorded when the view is made and compared by ``changes()``.

Subprocesses started inside (``ansible-playbook``) inherit the view. Stacking:
under tests/sandbox.sh the trees are overlays already, so these views sit at
overlayfs depth 2, the kernel's limit: nothing can overlay these trees
once more inside them (an overlay with lowerdir ``/`` still can,
it shows the root filesystem without the mounts above it).
"""

import contextlib
import os
import re
import shutil
import stat
import tempfile

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import syscalls
from netplumb_testlib import Sandbox, _ns_fd, _wait_single_threaded, sh

TREES = ("/etc", "/opt", "/var/lib", "/var/cache")
REMOVED = ("/etc/cni", "/opt/cni", "/var/lib/cni")
OPAQUE = "trusted.overlay.opaque"


@contextlib.contextmanager
def fresh_host():
    """Yield a FreshHost for the copy-on-write views; see the module's doc."""
    base = tempfile.mkdtemp(prefix="fresh-host-", dir="/run")
    cwd = os.getcwd()
    home_mnt = _ns_fd("mnt")
    try:
        syscalls.unshare(syscalls.CLONE_NEWNS)
        try:
            syscalls.mount("none", "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
            view = FreshHost(base)
            yield view
            view.freeze()
        finally:
            _wait_single_threaded()
            syscalls.setns(home_mnt, syscalls.CLONE_NEWNS)
            os.chdir(cwd)
    finally:
        os.close(home_mnt)
        os.rmdir(base)


class FreshHost:
    """The views of one fresh_host(): what was written, what changed."""

    def __init__(self, base):
        sh("mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", base)
        # tree -> (lower: the tree as it was, bound here; upper layer)
        self.layers = {}
        for tree in TREES:
            layer = os.path.join(base, tree.strip("/").replace("/", "-"))
            lower, upper, work = (os.path.join(layer, part) for part in ("lower", "upper", "work"))
            for path in (lower, upper, work):
                os.makedirs(path)
            # Only the tree's own filesystem, as the overlay's lowerdir sees it.
            syscalls.mount(tree, lower, None, syscalls.MS_BIND)
            # The merged root takes the upper root's mode and owner.
            below = os.stat(lower)
            os.chmod(upper, stat.S_IMODE(below.st_mode))
            os.chown(upper, below.st_uid, below.st_gid)
            sh("mount", "-t", "overlay", "overlay", "-o",
               "lowerdir=%s,upperdir=%s,workdir=%s" % (lower, upper, work), tree)
            self.layers[tree] = (lower, upper)
        for path in REMOVED:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        self._frozen = None
        self.before = self.state()

    def state(self):
        """The installed packages and the network of the current namespace."""
        return {"packages": sh("dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n"),
                "network": network_state()}

    def written(self):
        """Every path written under the trees since the view was made, sorted."""
        return sorted(self._written())

    def _written(self):
        """{path: kind} of what the upper layers hold: files, links and new,
        replaced or re-owned directories, and removals (whiteouts) other than
        those of the CNI directories. A directory copied up only because
        something was written below it is not listed itself."""
        if self._frozen is not None:
            return dict(self._frozen["files"])
        found = {}
        for tree, (lower, upper) in self.layers.items():
            for dirpath, dirnames, filenames in os.walk(upper):
                rel = os.path.relpath(dirpath, upper)
                for name in sorted(dirnames + filenames):
                    entry = os.path.normpath(os.path.join(rel, name))
                    kind = _kind(os.path.join(upper, entry), os.path.join(lower, entry))
                    path = os.path.join(tree, entry)
                    if path in REMOVED and kind and kind.startswith("directory"):
                        kind = "directory"  # created again: the view had removed it
                    if kind and not (kind == "removed" and path in REMOVED):
                        found[path] = kind
        return found

    def changes(self):
        """{} when nothing changed; else the differences by kind:
        ``packages`` ({"before": lines only before, "after": lines only
        after}), ``network`` ({key: {"before", "after"}}) and ``files``
        ({path: kind}, see written())."""
        after = self._frozen["after"] if self._frozen is not None else self.state()
        diff = {}
        before_pkgs, after_pkgs = (set(s["packages"].splitlines()) for s in (self.before, after))
        if before_pkgs != after_pkgs:
            diff["packages"] = {"before": sorted(before_pkgs - after_pkgs),
                                "after": sorted(after_pkgs - before_pkgs)}
        network = {key: {"before": self.before["network"].get(key), "after": after["network"].get(key)}
                   for key in sorted(set(self.before["network"]) | set(after["network"]))
                   if self.before["network"].get(key) != after["network"].get(key)}
        if network:
            diff["network"] = network
        files = self._written()
        if files:
            diff["files"] = files
        return diff

    def freeze(self):
        """Keep what written() and changes() report once the view is gone."""
        self._frozen = {"files": self._written(), "after": self.state()}


def _kind(upper, lower):
    """What an upper-layer entry stands for, or None for a directory that is
    only a copy of the lower one (the parent of something written)."""
    st = os.lstat(upper)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return "removed"
    if not stat.S_ISDIR(st.st_mode):
        return {stat.S_IFREG: "file", stat.S_IFLNK: "symlink"}.get(stat.S_IFMT(st.st_mode), "special file")
    try:
        opaque = os.getxattr(upper, OPAQUE, follow_symlinks=False) == b"y"
    except OSError:
        opaque = False
    try:
        below = os.lstat(lower)
    except FileNotFoundError:
        return "directory"
    if opaque or not stat.S_ISDIR(below.st_mode):
        return "directory (replaced)"
    if (st.st_mode, st.st_uid, st.st_gid) != (below.st_mode, below.st_uid, below.st_gid):
        return "directory (mode or owner changed)"
    return None


def network_state():
    """Links, addresses and routes of the current network namespace and of the
    named ones under /run/netns (Sandbox.snapshot(), one key per namespace
    and aspect, e.g. "(host) route"), and the firewall: the
    nftables ruleset and iptables-save of both variants, both families,
    without counters."""
    snapshot = Sandbox().snapshot()
    state = {"netns": snapshot.pop("netns")}
    for netns, aspects in snapshot.items():
        state.update(("%s %s" % (netns, aspect), value) for aspect, value in aspects.items())
    state["nft"] = re.sub(r"packets \d+ bytes \d+", "", sh("nft", "list", "ruleset"))
    for command in ("iptables-legacy-save", "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save"):
        text = re.sub(r"\[\d+:\d+\]", "", sh(command))
        state[command] = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return state
