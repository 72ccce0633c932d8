"""Helper of the netplumb.linux lab role: nodes that are machines, on one host.

Every subcommand prints one JSON object on stdout ({"changed": ..., ...}) and
exits 0, or prints the reason on stderr and exits 1. ``--check`` reports what
would change and changes nothing. Standard library only; needs root,
util-linux (unshare, nsenter, mount, pivot_root), iproute2 and, for nodes
reached over SSH, ssh-keygen and ssh on this machine.

A node is ``unshare --net --mount --uts --ipc --pid --fork`` running this file
(``boot``) as its pid 1. Its root filesystem is an overlay over this
machine's root, copy-on-write: the writes land in a tmpfs that goes with the
node. Below that upper layer sits the lab's provisioned layer (built once by
``up``, see ``build_layer``): the packages of ``--remove`` removed, Debian's
openssh-server and sudo installed from the lab's package directory, the
unprivileged user with passwordless sudo, apt pointed at the package
directory only (mounted read-only at /srv/netplumb-lab). Then per node: its
hostname, machine-id, host key and ``sshd`` on its fabric address. A node is
recognised by two variables in its environment, NETPLUMB_LAB_DIR (the lab's
state directory) and NETPLUMB_LAB_NODE (its name), and by being pid 1 of its
own pid namespace.

The controller reaches the nodes only through ``relay``, the ssh
ProxyCommand the inventory names: it enters the wan's network namespace and
connects there, so no connection to a lab address leaves through this
machine's own network.
"""

import argparse
import ctypes
import hashlib
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARK_DIR = "NETPLUMB_LAB_DIR"
MARK_NODE = "NETPLUMB_LAB_NODE"
STATE_FILE = "nodes.json"
INVENTORY_FILE = "inventory.yml"
KEY_FILE = "id_ed25519"
KNOWN_HOSTS = "known_hosts"
HOST_KEYS = "hostkeys"
CONTROL_DIR = "cp"
LAYER_DIR = "layer"
# What ``forget`` removes: everything the lab writes into its state directory.
STATE_ENTRIES = (STATE_FILE, INVENTORY_FILE, KEY_FILE, KEY_FILE + ".pub", KNOWN_HOSTS, HOST_KEYS,
                 CONTROL_DIR, LAYER_DIR)
WAN = "wan"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,9}$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Node-local directories a fresh host does not have: gone from every node's view.
FRESH_DIRS = ("/etc/cni", "/opt/cni", "/var/lib/cni")
REPO_MOUNT = "/srv/netplumb-lab"
READY_FILE = "/run/netplumb-lab.ready"
# What a node needs to be reached over SSH as a user with sudo.
BOOT_PACKAGES = ("openssh-server", "sudo")
# What the roles install on a node that lacks it (their prerequisites).
ROLE_PACKAGES = ("python3-pyroute2", "nftables", "iptables", "containernetworking-plugins", "python3-apt")
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
SSH_TIMEOUT = 60.0
CMD_TIMEOUT = 300


class LabError(Exception):
    pass


# -- processes -----------------------------------------------------------------

def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _write(path, text, mode=0o644):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _environ(pid):
    data = _read("/proc/%d/environ" % pid, binary=True)
    if data is None:
        return {}
    env = {}
    for entry in data.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def _status(pid):
    text = _read("/proc/%d/status" % pid) or ""
    fields = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        fields[key] = value.split()
    return fields


def is_node(pid, state_dir, name=None):
    """True when ``pid`` is a live lab node of ``state_dir`` (named ``name``)."""
    if not pid or pid <= 0:
        return False
    status = _status(pid)
    nspid = status.get("NSpid", [])
    if len(nspid) < 2 or nspid[-1] != "1" or status.get("State", ["Z"])[0] in ("Z", "X"):
        return False
    env = _environ(pid)
    if env.get(MARK_DIR) != state_dir:
        return False
    return name is None or env.get(MARK_NODE) == name


def find_nodes(state_dir):
    """{name: pid} of the live nodes of this lab, found in /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_node(int(entry), state_dir):
            found[_environ(int(entry)).get(MARK_NODE)] = int(entry)
    found.pop(None, None)
    return found


def gone(pid):
    status = _status(pid)
    return not status or status.get("State", ["X"])[0] in ("Z", "X")


def ready(pid):
    return os.path.exists("/proc/%d/root%s" % (pid, READY_FILE))


# -- state ---------------------------------------------------------------------

def recorded(state_dir):
    text = _read(os.path.join(state_dir, STATE_FILE))
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int)}


def locate(state_dir, name):
    """The pid of the live node ``name``: the recorded pid when it still is that
    node, else whatever /proc holds for it, else None."""
    pid = recorded(state_dir).get(name)
    if is_node(pid, state_dir, name):
        return pid
    return find_nodes(state_dir).get(name)


# -- commands ------------------------------------------------------------------

def run(argv, check=True, timeout=CMD_TIMEOUT, env=None, cwd=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError("%s: %s" % (" ".join(argv), exc))
    if check and proc.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(argv), proc.returncode,
                                               (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc


def ip_in(pid, *args, check=True):
    """``ip`` in the network namespace of ``pid`` (this machine's binaries, so
    it works whatever the node has installed)."""
    return run(["nsenter", "-t", str(pid), "-n", "--", "ip"] + list(args), check=check, timeout=30)


def links(pid):
    out = ip_in(pid, "-j", "-d", "addr", "show").stdout
    return {link["ifname"]: link for link in json.loads(out or "[]")}


def _addresses(link):
    return ["%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
            if a.get("family") in ("inet", "inet6")]


def _add_address(address, dev):
    """ip addr add, IPv6 without duplicate address detection (usable at once)."""
    return ["addr", "add", address, "dev", dev] + (["nodad"] if ":" in address else [])


def _is_up(link):
    return "UP" in link.get("flags", [])


_libc = None


def setns_net(pid):
    """Move this (single-threaded) process into the network namespace of ``pid``."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, 0x40000000) != 0:
            err = ctypes.get_errno()
            raise LabError("setns into the network of pid %d: %s" % (pid, os.strerror(err)))
    finally:
        os.close(fd)


# -- the layout ----------------------------------------------------------------

def plan(args):
    """The lab's layout: names, indexes, addresses; and the recorded nodes."""
    try:
        net = ipaddress.ip_network(args.cidr, strict=True)
    except ValueError as exc:
        raise LabError("lab_fabric_cidr %r is not an IPv4 network: %s" % (args.cidr, exc))
    if net.version != 4 or net.prefixlen > 24:
        raise LabError("lab_fabric_cidr %s: an IPv4 network of /24 or larger is needed" % net)
    if args.count < 1:
        raise LabError("lab_node_count must be at least 1, not %d" % args.count)
    if not NAME_RE.match(args.prefix) or args.prefix == WAN:
        raise LabError("lab_node_prefix %r: lower case letters, digits and '-', at most 10, not 'wan'"
                       % args.prefix)
    if not USER_RE.match(args.user) or args.user == "root":
        raise LabError("lab_user %r: a user name (lower case letters, digits, '_' and '-'), not root" % args.user)
    gateway = net.network_address + 254
    if 10 + args.count >= 254:
        raise LabError("lab_node_count %d does not fit: node addresses run from .11 to .253" % args.count)
    net6 = _fabric6(args.cidr6)
    nodes = [{"name": "%s%d" % (args.prefix, i), "index": i, "uplink": "n%d" % i,
              "address": "%s/%d" % (net.network_address + 10 + i, net.prefixlen),
              "address6": "%s/%d" % (net6.network_address + 10 + i, net6.prefixlen) if net6 else ""}
             for i in range(1, args.count + 1)]
    wanted = {n["name"] for n in nodes} | {WAN}
    present = recorded(args.state_dir)
    present.update(find_nodes(args.state_dir))
    gateway6 = net6.network_address + 254 if net6 else ""
    return {"changed": False, "state_dir": args.state_dir, "nodes": nodes,
            "wan": {"name": WAN, "index": 0, "address": "%s/%d" % (gateway, net.prefixlen),
                    "address6": "%s/%d" % (gateway6, net6.prefixlen) if net6 else ""},
            "gateway": str(gateway), "gateway6": str(gateway6), "bridge": "fabric0",
            "recorded": present, "extra": sorted(set(present) - wanted)}


def _fabric6(cidr6):
    if not cidr6:
        return None
    try:
        net6 = ipaddress.ip_network(cidr6, strict=True)
    except ValueError as exc:
        raise LabError("lab_fabric_cidr6 %r is not an IPv6 network: %s" % (cidr6, exc))
    if net6.version != 6 or net6.prefixlen > 120:
        raise LabError("lab_fabric_cidr6 %s: an IPv6 network of /120 or larger is needed" % net6)
    return net6


def refuse_overlap(layout):
    """A fabric that overlaps a route of this namespace would send an ssh that
    misses the relay out through a real interface: refuse it."""
    for family, key in (("-4", "address"), ("-6", "address6")):
        if not layout["wan"][key]:
            continue
        fabric = ipaddress.ip_interface(layout["wan"][key]).network
        routes = json.loads(run(["ip", "-j", family, "route", "show", "table", "all"], timeout=30).stdout or "[]")
        for route in routes:
            dst = route.get("dst", "")
            if route.get("type", "unicast") != "unicast" or dst.startswith("fe80") or dst == "default":
                continue
            try:
                net = ipaddress.ip_network(dst if "/" in dst else dst + ("/32" if family == "-4" else "/128"),
                                           strict=False)
            except ValueError:
                continue
            if net.overlaps(fabric):
                raise LabError("the lab fabric %s overlaps this machine's route %s dev %s: a connection to a lab"
                               " address could leave through it; run the lab inside its own network namespace"
                               " (make demo and the tests do) or pick another lab_fabric_cidr%s"
                               % (fabric, dst, route.get("dev", "?"), "" if family == "-4" else "6"))


# -- packages for the nodes ----------------------------------------------------

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
    if _read(index) == text:
        return False
    _write(index, text)
    return True


def _package_names(directory):
    text = _read(os.path.join(directory, "Packages")) or ""
    return set(re.findall(r"^Package: (\S+)$", text, re.M))


def cmd_packages(args):
    """The packages the nodes need, as .debs with an index, in ``--dir``: what
    this machine lacks of them (and their dependencies) through apt's
    download-only install, the role packages it has installed through
    ``apt-get download``. Needs a reachable package mirror; changes nothing
    in this machine's installed package set."""
    directory = os.path.abspath(args.dir)
    wanted = set(BOOT_PACKAGES + ROLE_PACKAGES)
    if os.path.isdir(directory) and wanted <= _package_names(directory):
        return {"changed": False, "dir": directory}
    if args.check:
        return {"changed": True, "dir": directory}
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
        raise LabError("lab_packages_dir %s: could not fetch the nodes' packages with this machine's apt"
                       " (a package mirror must be reachable from here, once): %s" % (directory, exc))
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
    missing = sorted(wanted - _package_names(directory))
    if missing:
        raise LabError("could not fetch %s into %s" % (", ".join(missing), directory))
    return {"changed": True, "dir": directory}


def _check_packages(directory):
    missing = sorted(set(BOOT_PACKAGES + ROLE_PACKAGES) - _package_names(directory))
    if missing:
        raise LabError("lab_packages_dir %s lacks %s: the nodes have no package mirror, the lab serves them"
                       " these .debs. Fetch them on a machine with one: python3 %s packages --dir %s"
                       " (make deps does)" % (directory, ", ".join(missing), os.path.abspath(__file__), directory))


# -- a node's own machine: pid 1 -----------------------------------------------

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


def in_node(*argv, check=True):
    """A command inside the node, with a clean environment as a login has."""
    env = {"PATH": NODE_PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
    return run(list(argv), check=check, env=env)


def provision(user, remove):
    """The provisioned layer: run once, in a builder node, by ``build_layer``."""
    # A node has no init that starts services; nothing may try.
    _write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)
    # man-db rebuilds its index after every install: seconds a node does not need.
    for path in ("/var/lib/man-db/auto-update",):
        if os.path.exists(path):
            os.unlink(path)
    for name in os.listdir("/etc/apt/sources.list.d"):
        os.unlink(os.path.join("/etc/apt/sources.list.d", name))
    if os.path.exists("/etc/apt/sources.list"):
        os.unlink("/etc/apt/sources.list")
    _write("/etc/apt/sources.list.d/netplumb-lab.list",
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
    _write("/etc/ssh/sshd_config.d/00-netplumb-lab.conf",
           "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n"
           "KbdInteractiveAuthentication no\nPermitRootLogin no\nUseDNS no\n")
    in_node("apt-get", "install", "-y", "-qq", "--no-install-recommends", *BOOT_PACKAGES)
    # The lab brings each node's host key; none is shared through the layer.
    for stale in os.listdir("/etc/ssh"):
        if stale.startswith("ssh_host_"):
            os.unlink(os.path.join("/etc/ssh", stale))
    in_node("useradd", "--create-home", "--shell", "/bin/bash", user)
    _write("/etc/sudoers.d/netplumb-lab", "%s ALL=(ALL:ALL) NOPASSWD: ALL\n" % user, 0o440)
    in_node("visudo", "-c", "-q")
    in_node("apt-get", "clean")
    for cache in ("/var/cache/apt/pkgcache.bin", "/var/cache/apt/srcpkgcache.bin"):
        if os.path.exists(cache):
            os.unlink(cache)


def personalise(name, addresses, host_key, client_key, user):
    """What differs per node: names, machine-id and, reached over SSH, its host
    key, sshd's addresses and the key it accepts."""
    socket.sethostname(name)
    _write("/etc/hostname", name + "\n")
    hosts = _read("/etc/hosts") or "127.0.0.1\tlocalhost\n"
    hosts = "".join(line + "\n" for line in hosts.splitlines() if not line.startswith("127.0.1.1"))
    _write("/etc/hosts", hosts + "127.0.1.1\t%s\n" % name)
    _write("/etc/machine-id", os.urandom(16).hex() + "\n", 0o444)
    in_node("ip", "link", "set", "lo", "up")
    if host_key is None:
        return
    _write("/etc/ssh/ssh_host_ed25519_key", host_key, 0o600)
    _write("/etc/ssh/sshd_config.d/10-netplumb-lab-listen.conf",
           "".join("ListenAddress %s\n" % (("[%s]" % a) if ":" in a else a) for a in addresses))
    home = "/home/" + user
    os.makedirs(home + "/.ssh", mode=0o700, exist_ok=True)
    _write(home + "/.ssh/authorized_keys", client_key, 0o600)
    run(["chown", "-R", "%s:%s" % (user, user), home + "/.ssh"], timeout=30)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    _write("/run/utmp", "", 0o664)


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
    log = open("/run/sshd.log", "ab")
    sshd = None
    while True:
        if sshd is None and addresses and _bindable(addresses):
            sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e"], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, env={"PATH": NODE_PATH}).pid
        try:
            pid, _status_ = os.waitpid(-1, 0 if sshd or not addresses else os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if sshd is not None and pid == sshd:
            sshd = None
        if pid == 0:
            time.sleep(0.1 if sshd is None and addresses else 1.0)


def cmd_boot(args):
    """pid 1 of a node (started by ``start_node``); never returns for a node."""
    inputs = {"host_key": None, "client_key": None}
    if args.connection == "ssh" and not args.build:
        with open(os.path.join(args.state_dir, HOST_KEYS, args.name)) as handle:
            inputs["host_key"] = handle.read()
        with open(os.path.join(args.state_dir, KEY_FILE + ".pub")) as handle:
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
        return {"changed": True}
    addresses = [a.split("/")[0] for a in args.address]
    personalise(args.name, addresses, inputs["host_key"], inputs["client_key"], args.user)
    _write(READY_FILE, "")
    serve(addresses if args.connection == "ssh" else [])
    return {}


# -- starting and stopping nodes -----------------------------------------------

def _boot_argv(args, name, extra):
    return ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
            "--propagation", "private", "--", sys.executable, "-I", os.path.abspath(__file__), "boot",
            "--state-dir", args.state_dir, "--name", name, "--user", args.user, "--connection", args.connection,
            "--repo", args.packages if args.connection == "ssh" else ""] + extra


def _spawn(argv, name, state_dir, errors):
    env = {"PATH": os.environ.get("PATH", NODE_PATH), "LANG": "C", MARK_DIR: state_dir, MARK_NODE: name}
    return subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errors, start_new_session=True)


def _layer_key(args):
    """What the provisioned layer depends on: this machine's package set, the
    lab's packages and the user."""
    digest = hashlib.sha256()
    for part in (_read("/var/lib/dpkg/status") or "", _read(os.path.join(args.packages, "Packages")) or "",
                 args.user, " ".join(args.remove), _read(os.path.abspath(__file__)) or ""):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def build_layer(args):
    """The provisioned layer, built once per machine state (in ``--layer-cache``,
    else in the state directory): a builder node runs ``provision`` with its
    upper layer on disk, which the nodes then stack under their own."""
    cache = args.layer_cache or os.path.join(args.state_dir, LAYER_DIR)
    layer = os.path.join(cache, _layer_key(args))
    if os.path.isdir(layer):
        return layer, False
    os.makedirs(cache, exist_ok=True)
    building = tempfile.mkdtemp(prefix=".build-", dir=cache)
    try:
        with tempfile.TemporaryFile() as errors:
            argv = _boot_argv(args, "layer", ["--build", building + "/upper"]
                              + [a for r in args.remove for a in ("--remove", r)])
            proc = _spawn(argv, "layer", args.state_dir + "/.layer", errors)
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


def start_nodes(args, wanted, layer):
    """Start every node of ``wanted`` ({name: [addresses]}) at once; wait
    (bounded) until each is ready. Returns {name: pid}."""
    started, pending = {}, {}
    with tempfile.TemporaryDirectory() as logs:
        for name, addresses in wanted.items():
            errors = open(os.path.join(logs, name), "wb")
            argv = _boot_argv(args, name, (["--layer", layer] if layer else []) + [a for x in addresses for a in ("--address", x)])
            pending[name] = (_spawn(argv, name, args.state_dir, errors), errors)
        deadline = time.monotonic() + START_TIMEOUT
        while pending:
            for name, (proc, errors) in list(pending.items()):
                if proc.poll() is not None:
                    errors.close()
                    raise LabError("node %s did not start (exit %d): %s"
                                   % (name, proc.returncode, (_read(errors.name) or "").strip()[-3000:]))
                pid = find_nodes(args.state_dir).get(name)
                if pid and ready(pid):
                    started[name] = pid
                    errors.close()
                    del pending[name]
            if pending and time.monotonic() > deadline:
                for proc, _errors in pending.values():
                    proc.kill()
                raise LabError("nodes %s were not ready within %.0f s" % (", ".join(pending), START_TIMEOUT))
            time.sleep(0.05)
    return started


def stop(state_dir, name):
    """SIGKILL the node's pid 1 when it is ours; wait (bounded) until it is gone."""
    pid = locate(state_dir, name)
    if not pid:
        return None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT
    while not gone(pid):
        if time.monotonic() > deadline:
            raise LabError("node %s (pid %d) still there %.0f s after SIGKILL" % (name, pid, STOP_TIMEOUT))
        time.sleep(0.05)
    return pid


# -- wiring --------------------------------------------------------------------

def fabric_todo(wan_pid, bridge_name, addresses):
    """ip commands (in the wan) for the fabric bridge with the wan's addresses, up."""
    todo = []
    have = links(wan_pid) if wan_pid else {}
    bridge = have.get(bridge_name)
    if bridge is not None and bridge.get("linkinfo", {}).get("info_kind") != "bridge":
        raise LabError("%s in the wan is not a bridge" % bridge_name)
    if bridge is None:
        todo.append(["link", "add", bridge_name, "type", "bridge"])
    for address in addresses:
        if bridge is None or address not in _addresses(bridge):
            todo.append(_add_address(address, bridge_name))
    if bridge is None or not _is_up(bridge):
        todo.append(["link", "set", bridge_name, "up"])
    return todo


def uplink_todo(wan_pid, node_pid, node, bridge, gateways):
    """(node deletions, wan commands, node commands): the node's uplink, a veth
    ``eth0`` in the node with its addresses and default routes, its peer on the fabric."""
    wan = links(wan_pid) if wan_pid else {}
    mine = links(node_pid) if node_pid else {}
    wan_end, node_end = wan.get(node["uplink"]), mine.get("eth0")
    paired = (wan_end is not None and node_end is not None
              and wan_end.get("linkinfo", {}).get("info_kind") == "veth"
              and node_end.get("linkinfo", {}).get("info_kind") == "veth"
              and wan_end.get("link_netnsid") is not None and node_end.get("link_netnsid") is not None)
    first, wan_todo, node_todo = [], [], []
    if not paired:
        if wan_end is not None:
            wan_todo.append(["link", "del", node["uplink"]])
        if node_end is not None:
            first.append(["link", "del", "eth0"])
        wan_todo.append(["link", "add", node["uplink"], "type", "veth", "peer", "name", "eth0",
                         "netns", str(node_pid or "NODE")])
        wan_end = node_end = None
    if wan_end is None or wan_end.get("master") != bridge:
        wan_todo.append(["link", "set", node["uplink"], "master", bridge])
    if wan_end is None or not _is_up(wan_end):
        wan_todo.append(["link", "set", node["uplink"], "up"])
    for address in filter(None, (node["address"], node["address6"])):
        if node_end is None or address not in _addresses(node_end):
            node_todo.append(_add_address(address, "eth0"))
    if node_end is None or not _is_up(node_end):
        node_todo.append(["link", "set", "eth0", "up"])
    for family, gateway in (("-4", gateways[0]), ("-6", gateways[1])):
        if not gateway:
            continue
        routes = []
        if node_end is not None:
            routes = json.loads(ip_in(node_pid, "-j", family, "route", "show", "default").stdout or "[]")
        if not any(r.get("gateway") == gateway and r.get("dev") == "eth0" for r in routes):
            node_todo.append([family, "route", "replace", "default", "via", gateway, "dev", "eth0"])
    return first, wan_todo, node_todo


def _apply(check, pid, todo):
    if not check:
        for command in todo:
            ip_in(pid, *command)
    return ["ip " + " ".join(c) for c in todo]


# -- ssh -----------------------------------------------------------------------

def _keygen(path, comment):
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], timeout=30)


def ensure_keys(state_dir, names, check):
    """The key the controller logs in with, and a host key per node."""
    made = []
    key = os.path.join(state_dir, KEY_FILE)
    if not os.path.exists(key):
        made.append(key)
        if not check:
            _keygen(key, "netplumb-lab")
    for name in names:
        path = os.path.join(state_dir, HOST_KEYS, name)
        if not os.path.exists(path):
            made.append(path)
            if not check:
                os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
                _keygen(path, name)
    return made


def known_hosts(state_dir, hosts):
    lines = []
    for host in hosts:
        with open(os.path.join(state_dir, HOST_KEYS, host["name"] + ".pub")) as handle:
            kind, blob = handle.read().split()[:2]
        for address in filter(None, (host["address"], host["address6"])):
            lines.append("%s %s %s\n" % (address.split("/")[0], kind, blob))
    return "".join(lines)


def wait_for_ssh(wan_pid, addresses):
    """Until each address answers with an SSH banner, from inside the wan; bounded."""
    deadline = time.monotonic() + SSH_TIMEOUT
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # the wait runs in a child: it enters the wan's network, this process stays
        os.close(read_fd)
        code = 1
        try:
            setns_net(wan_pid)
            waiting = list(addresses)
            while waiting and time.monotonic() < deadline:
                address = waiting[0]
                try:
                    with socket.create_connection((address, 22), timeout=2) as conn:
                        if conn.recv(64).startswith(b"SSH-"):
                            waiting.pop(0)
                            continue
                except OSError:
                    pass
                time.sleep(0.1)
            os.write(write_fd, " ".join(waiting).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        waiting = pipe.read().decode()
    os.waitpid(child, 0)
    if waiting:
        raise LabError("sshd did not answer on %s within %.0f s" % (waiting, SSH_TIMEOUT))


def cmd_relay(args):
    """ssh's ProxyCommand: stdin/stdout to a TCP connection made inside the
    wan's network namespace, so the connection never touches this machine's."""
    pid = locate(args.state_dir, WAN)
    if not pid:
        raise LabError("the lab in %s has no running wan: build it with the lab role first" % args.state_dir)
    setns_net(pid)
    conn = socket.create_connection((args.host, args.port), timeout=10)
    conn.settimeout(None)
    ends = {0: conn.fileno(), conn.fileno(): 1}
    while ends:
        readable, _w, _x = select.select(list(ends), [], [])
        for fd in readable:
            data = os.read(fd, 65536)
            if not data:
                if fd == 0:
                    conn.shutdown(socket.SHUT_WR)
                    del ends[0]
                    continue
                return None
            out = ends[fd]
            while data:
                data = data[os.write(out, data):]
    return None


def close_masters(state_dir):
    """End the ssh control masters of this lab (they outlive the play)."""
    directory = os.path.join(state_dir, CONTROL_DIR)
    closed = []
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        path = os.path.join(directory, name)
        run(["ssh", "-o", "ControlPath=" + path, "-O", "exit", "lab"], check=False, timeout=10)
        closed.append(name)
    return closed


# -- subcommands ---------------------------------------------------------------

def cmd_plan(args):
    layout = plan(args)
    if args.refuse_overlap:
        refuse_overlap(layout)
    return layout


def cmd_up(args):
    """Build or keep the whole lab: nodes, fabric, uplinks, keys, inventory."""
    layout = plan(args)
    refuse_overlap(layout)
    args.packages = os.path.abspath(args.packages)
    hosts = [layout["wan"]] + layout["nodes"]
    actions = []
    for name in layout["extra"]:
        actions.append("stop %s" % name)
        if not args.check:
            stop(args.state_dir, name)
    if not args.check:
        os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
    ssh = args.connection == "ssh"
    pids = {h["name"]: locate(args.state_dir, h["name"]) for h in hosts}
    wanted = {h["name"]: [a for a in (h["address"], h["address6"]) if a] for h in hosts if not pids[h["name"]]}
    if ssh and wanted and not args.check:
        _check_packages(args.packages)
    if ssh:
        made = ensure_keys(args.state_dir, [h["name"] for h in hosts], args.check)
        actions += ["key %s" % path for path in made]
    if wanted:
        actions += ["start %s" % name for name in wanted]
        if not args.check:
            layer, built = build_layer(args) if ssh else ("", False)
            if built:
                actions.append("provisioned layer %s" % layer)
            pids.update(start_nodes(args, wanted, layer))
    wan = pids[WAN] or 0
    actions += _apply(args.check, wan, fabric_todo(wan, layout["bridge"],
                                                   [a for a in (layout["wan"]["address"], layout["wan"]["address6"]) if a]))
    for node in layout["nodes"]:
        first, wan_todo, node_todo = uplink_todo(wan, pids[node["name"]] or 0, node, layout["bridge"],
                                                 (layout["gateway"], layout["gateway6"]))
        actions += _apply(args.check, pids[node["name"]], first)
        actions += _apply(args.check, wan, wan_todo)
        actions += _apply(args.check, pids[node["name"]], node_todo)
    hostvars = {h["name"]: host_vars(args, layout, h, pids[h["name"]]) for h in hosts}
    files = {STATE_FILE: json.dumps(pids, indent=2, sort_keys=True) + "\n",
             INVENTORY_FILE: inventory(args, layout, hostvars)}
    if ssh:
        files[KNOWN_HOSTS] = known_hosts(args.state_dir, hosts) if not args.check else ""
    for name, text in sorted(files.items()):
        path = os.path.join(args.state_dir, name)
        if _read(path) != text and not (args.check and name == KNOWN_HOSTS):
            actions.append("write %s" % path)
            if not args.check:
                _write(path, text, 0o600)
    if ssh and not args.check:
        wait_for_ssh(wan, [h["address"].split("/")[0] for h in hosts])
    return {"changed": bool(actions), "actions": actions, "pids": pids,
            "hosts": [{"name": h["name"], "pid": pids[h["name"]], "vars": hostvars[h["name"]],
                       "group": "lab_wan" if h["name"] == WAN else "lab_nodes"} for h in hosts]}


def host_vars(args, layout, host, pid):
    """The inventory variables of one lab host: how Ansible reaches it, and where it sits."""
    found = {"lab_node_index": host["index"], "lab_uplink_address": host["address"],
             "lab_uplink_address6": host["address6"], "lab_fabric_gateway": layout["gateway"],
             "lab_fabric_gateway6": layout["gateway6"]}
    if args.connection == "nsenter":
        found.update({"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": pid,
                      "ansible_python_interpreter": args.python})
        return found
    relay = "%s -I %s relay --state-dir %s %%h %%p" % (sys.executable, os.path.abspath(__file__), args.state_dir)
    found.update({
        "ansible_connection": "ssh",
        "ansible_host": host["address"].split("/")[0],
        "ansible_user": args.user,
        "ansible_become": True,
        "ansible_ssh_private_key_file": os.path.join(args.state_dir, KEY_FILE),
        # Every connection through the relay into the wan, and only to hosts the lab knows.
        "ansible_ssh_common_args": "-o 'ProxyCommand=%s' -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null"
                                   " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                   % (relay, os.path.join(args.state_dir, KNOWN_HOSTS)),
        "ansible_ssh_pipelining": True,
        "ansible_control_path_dir": os.path.join(args.state_dir, CONTROL_DIR),
    })
    return found


def inventory(args, layout, hostvars):
    """The inventory file: YAML (JSON is YAML), so that ``-i`` reaches the lab later."""
    def group(names):
        return {"hosts": {name: hostvars[name] for name in names}}
    data = {"all": {"children": {"lab_nodes": group([n["name"] for n in layout["nodes"]]),
                                 "lab_wan": group([WAN])}}}
    return ("# The netplumb.linux lab in %s (lab_connection: %s); use with -i, tear down with\n"
            "# the lab role and lab_state: absent (playbooks/teardown.yml).\n%s\n"
            % (args.state_dir, args.connection, json.dumps(data, indent=2, sort_keys=True)))


def cmd_down(args):
    """Close the ssh masters, stop every node of the lab, remove the state files."""
    names = sorted(set(recorded(args.state_dir)) | set(find_nodes(args.state_dir)))
    actions = []
    if os.path.isdir(os.path.join(args.state_dir, CONTROL_DIR)) and os.listdir(os.path.join(args.state_dir, CONTROL_DIR)):
        actions.append("close ssh masters")
        if not args.check:
            close_masters(args.state_dir)
    for name in names:
        if locate(args.state_dir, name):
            actions.append("stop %s" % name)
            if not args.check:
                stop(args.state_dir, name)
    for entry in STATE_ENTRIES:
        path = os.path.join(args.state_dir, entry)
        if os.path.lexists(path):
            actions.append("remove %s" % path)
            if not args.check:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    if os.path.isdir(args.state_dir) and (args.check or not os.listdir(args.state_dir)):
        leftover = set(os.listdir(args.state_dir)) - set(STATE_ENTRIES)
        if not leftover:
            actions.append("remove %s" % args.state_dir)
            if not args.check:
                os.rmdir(args.state_dir)
    return {"changed": bool(actions), "actions": actions}


def main(argv=None):
    layout = argparse.ArgumentParser(add_help=False)
    layout.add_argument("--state-dir", required=True)
    layout.add_argument("--check", action="store_true", help="report, change nothing")
    shape = argparse.ArgumentParser(add_help=False)
    shape.add_argument("--cidr", required=True)
    shape.add_argument("--count", type=int, required=True)
    shape.add_argument("--prefix", required=True)
    shape.add_argument("--cidr6", default="")
    shape.add_argument("--user", default="deploy")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plan", parents=[layout, shape]).add_argument(
        "--refuse-overlap", action="store_true", help="fail when the fabric overlaps a route here")
    up = sub.add_parser("up", parents=[layout, shape])
    up.add_argument("--connection", choices=["ssh", "nsenter"], default="ssh")
    up.add_argument("--packages", required=True)
    up.add_argument("--layer-cache", default="")
    up.add_argument("--python", default=sys.executable)
    up.add_argument("--remove", action="append", default=[])
    sub.add_parser("down", parents=[layout])
    packages = sub.add_parser("packages")
    packages.add_argument("--dir", required=True)
    packages.add_argument("--check", action="store_true")
    relay = sub.add_parser("relay", parents=[layout])
    relay.add_argument("host")
    relay.add_argument("port", type=int)
    boot = sub.add_parser("boot", parents=[layout])
    boot.add_argument("--name", required=True)
    boot.add_argument("--repo", default="")
    boot.add_argument("--connection", choices=["ssh", "nsenter"], default="ssh")
    boot.add_argument("--user", required=True)
    boot.add_argument("--layer", default="")
    boot.add_argument("--build", default="")
    boot.add_argument("--address", action="append", default=[])
    boot.add_argument("--remove", action="append", default=[])
    args = parser.parse_args(argv)
    if hasattr(args, "state_dir"):
        args.state_dir = os.path.abspath(args.state_dir)
    handler = {"plan": cmd_plan, "up": cmd_up, "down": cmd_down, "packages": cmd_packages,
               "relay": cmd_relay, "boot": cmd_boot}[args.command]
    try:
        result = handler(args)
    except LabError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    if result is not None and args.command not in ("relay", "boot"):
        sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
