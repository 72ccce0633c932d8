# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pid 1 of a node (``cli.py boot``, started by ``nodes.start_nodes``).

Its root filesystem is an overlay over this machine's root, copy-on-write:
the writes land in a tmpfs that goes with the node, which starts as a copy
of the provisioned layer (``layer``). Then per node: its hostname,
machine-id, host key and ``sshd`` on its fabric address; then it reaps
orphans and keeps sshd running until it is killed."""

import os
import shutil
import signal
import socket
import subprocess
import time

from . import state
from .layer import REPO_MOUNT, provision
from .system import NODE_PATH, in_node, read, run, write

# Node-local directories a fresh host does not have: gone from every node's view.
FRESH_DIRS = ("/etc/cni", "/opt/cni", "/var/lib/cni")


def _mount(*argv):
    run(["mount"] + list(argv), timeout=30)


def _devices(root):
    dev = root + "/dev"
    _mount("-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs", dev)
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                               ("urandom", 1, 9), ("tty", 5, 0)):
        os.mknod(os.path.join(dev, name), 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(os.path.join(dev, name), 0o666)
    for sub in ("pts", "shm"):
        os.mkdir(os.path.join(dev, sub))
    # become without pipelining asks for a pty.
    _mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts", dev + "/pts")
    os.symlink("pts/ptmx", dev + "/ptmx")
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", dev + "/shm")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def enter_root(upper, work, layer, repo):
    """Mount the node's root (an overlay of this machine's root with
    ``upper``, which starts as a copy of ``layer``), its own /proc, /sys,
    /dev, /run and /tmp, the package directory at REPO_MOUNT, and pivot into
    it. Runs as pid 1 of the new namespaces."""
    staging = "/run/netplumb-lab-root"
    os.makedirs(staging, exist_ok=True)
    if layer:
        # A copy, not a second lower layer: overlayfs refuses lower layers on
        # one filesystem that nest, and the layer lies inside this root.
        run(["cp", "-a", layer + "/.", upper], timeout=60)
    _mount("-t", "overlay", "overlay", "-o", "lowerdir=/,upperdir=%s,workdir=%s" % (upper, work), staging)
    for path in FRESH_DIRS:
        shutil.rmtree(staging + path, ignore_errors=True)
    _mount("-t", "proc", "proc", staging + "/proc")
    _mount("-t", "sysfs", "-o", "ro", "sysfs", staging + "/sys")
    # The cgroup hierarchies as a machine mounts them (a container runtime in
    # the node needs them; what it creates there must be removed by it).
    if os.path.ismount("/sys/fs/cgroup") or os.listdir("/sys/fs/cgroup"):
        _mount("--rbind", "/sys/fs/cgroup", staging + "/sys/fs/cgroup")
    _devices(staging)
    _mount("-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", staging + "/run")
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", staging + "/tmp")
    if repo:
        os.makedirs(staging + REPO_MOUNT, exist_ok=True)
        _mount("--bind", "-o", "ro", repo, staging + REPO_MOUNT)
    os.chdir(staging)
    os.makedirs(".oldroot", exist_ok=True)
    run(["pivot_root", ".", ".oldroot"], timeout=30)
    os.chdir("/")
    run(["umount", "-l", "/.oldroot"], timeout=30)
    os.rmdir("/.oldroot")


def personalise(name, addresses, host_key, client_key, user):
    """What differs per node: names, machine-id and, reached over SSH, its host
    key, sshd's addresses and the key it accepts."""
    socket.sethostname(name)
    write("/etc/hostname", name + "\n")
    hosts = read("/etc/hosts") or "127.0.0.1\tlocalhost\n"
    hosts = "".join(line + "\n" for line in hosts.splitlines() if not line.startswith("127.0.1.1"))
    write("/etc/hosts", hosts + "127.0.1.1\t%s\n" % name)
    write("/etc/machine-id", os.urandom(16).hex() + "\n", 0o444)
    in_node("ip", "link", "set", "lo", "up")
    if host_key is None:
        return
    write("/etc/ssh/ssh_host_ed25519_key", host_key, 0o600)
    write("/etc/ssh/sshd_config.d/10-netplumb-lab-listen.conf",
          "".join("ListenAddress %s\n" % (("[%s]" % a) if ":" in a else a) for a in addresses))
    home = "/home/" + user
    os.makedirs(home + "/.ssh", mode=0o700, exist_ok=True)
    write(home + "/.ssh/authorized_keys", client_key, 0o600)
    run(["chown", "-R", "%s:%s" % (user, user), home + "/.ssh"], timeout=30)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    write("/run/utmp", "", 0o664)


def _bindable(addresses):
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        probe = socket.socket(family, socket.SOCK_STREAM)
        try:
            probe.bind((address, 0))
        except OSError:
            return False
        finally:
            probe.close()
    return True


def serve(addresses):
    """pid 1 from here on: start sshd once its addresses exist (the lab wires
    the uplink after boot), restart it if it dies, reap every orphan."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log = open("/run/sshd.log", "ab")  # pylint: disable=consider-using-with
    sshd = None
    while True:
        if sshd is None and addresses and _bindable(addresses):
            sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e"], stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                    stdout=log, stderr=log, env={"PATH": NODE_PATH}).pid
        try:
            pid, _status = os.waitpid(-1, 0 if sshd or not addresses else os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if sshd is not None and pid == sshd:
            sshd = None
        if pid == 0:
            time.sleep(0.1 if sshd is None and addresses else 1.0)


def boot(args):
    """pid 1 of a node; never returns for a node. With ``--build``, provision
    the layer into that directory and return."""
    inputs = {"host_key": None, "client_key": None}
    if args.connection == "ssh" and not args.build:
        with open(os.path.join(args.state_dir, state.HOST_KEYS, args.name)) as handle:
            inputs["host_key"] = handle.read()
        with open(os.path.join(args.state_dir, state.KEY_FILE + ".pub")) as handle:
            inputs["client_key"] = handle.read()
    _mount("-t", "tmpfs", "-o", "mode=0700", "tmpfs", "/run")
    if args.build:
        upper, work = args.build, args.build + ".work"
    else:
        upper, work = "/run/upper", "/run/work"
    for path in (upper, work):
        os.makedirs(path, exist_ok=True)
    enter_root(upper, work, args.layer, args.repo)
    if args.build:
        provision(args.user, args.remove)
        return
    addresses = [a.split("/")[0] for a in args.address]
    personalise(args.name, addresses, inputs["host_key"], inputs["client_key"], args.user)
    write(state.READY_FILE, "")
    serve(addresses if args.connection == "ssh" else [])
