"""What the reliability suite shares: the whole node as data (kernel, firewall,
files), normalised for comparing two sandboxes, direct module runs, and the
figures each test records for docs/reliability.md.

A figure is recorded with ``record(section, name, tried=..., ok=...)`` into
``.build/reliability/figures.json`` (one object per section and name, updated
in place), which ``tests/reliability/report.py`` renders.
"""

import fcntl
import json
import os
import re
import subprocess
import tempfile

from ansible.release import __version__ as ANSIBLE_CORE
from cni_fixtures import tree
from netplumb_testlib import COLLECTIONS, PYTHON, ROOT, sh

FIGURES = os.environ.get("NETPLUMB_RELIABILITY_FIGURES",
                         os.path.join(ROOT, ".build", "reliability", "figures.json"))
# The node lock under /run/netplumb is ours and expected to stay: not compared.
FILE_ROOTS = ("/opt/cni", "/etc/cni", "/var/lib/cni", "/etc/sysctl.d")
MODULE_TIMEOUT = 60
HERE = os.path.dirname(os.path.abspath(__file__))


def core_hides_the_value(msg):
    """True for a type error that ansible-core itself words, before 2.19 (2.16
    in the version matrix), from the argument spec: it names the option but
    not the value, and no module or role code runs before it."""
    return tuple(int(n) for n in ANSIBLE_CORE.split(".")[:2]) < (2, 19) and "unable to convert" in msg


# -- figures ----------------------------------------------------------------------------------


def record(section, name, **figures):
    """Keep ``figures`` (numbers and short texts) for the report, under section/name."""
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        data = json.loads(text) if text.strip() else {}
        data.setdefault(section, {})[name] = figures
        handle.seek(0)
        handle.truncate()
        json.dump(data, handle, indent=1, sort_keys=True)


# -- running a module the way Ansible runs it ---------------------------------------------------


class ModuleRun:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.result = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            self.result = {}

    @property
    def killed(self):
        return self.rc == -9

    def __repr__(self):
        return "ModuleRun(rc=%s)\n%s\n%s" % (self.rc, self.stdout[-3000:], self.stderr[-2000:])


def run_module(name, args, env=None, check_mode=False):
    """``python -m ansible_collections.netplumb.linux.plugins.modules.<name> args.json``,
    as Ansible's module wrapper runs it on the node (one process, JSON in and out)."""
    params = dict(args)
    if check_mode:
        params["_ansible_check_mode"] = True
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
    try:
        proc = subprocess.run(
            [PYTHON, "-m", "ansible_collections.netplumb.linux.plugins.modules." + name, handle.name],
            capture_output=True, text=True, timeout=MODULE_TIMEOUT, check=False,
            env=dict(os.environ, PYTHONPATH=COLLECTIONS, **(env or {})))
    finally:
        os.unlink(handle.name)
    return ModuleRun(proc)


def run_module_forked(name, args, check_mode=False, env=None):
    """The same as run_module, in a forked child of this process instead of a
    new interpreter (the module's imports already paid): the module's own
    main() reads the same args file and writes its JSON to stdout; a few ms
    instead of a third of a second per call. ``env`` is set in the child only:
    the crash point counters are per process, and the tests never set them in
    their own, so each child counts from 0."""
    import runpy  # noqa: F401 (used in the child)
    import ansible.module_utils.basic  # noqa: F401 (imported once, before forking)
    params = dict(args, **({"_ansible_check_mode": True} if check_mode else {}))
    with tempfile.TemporaryDirectory() as tmp:
        path, out, err = (os.path.join(tmp, n) for n in ("args.json", "stdout", "stderr"))
        with open(path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 70
            import sys
            try:
                os.environ.update(env or {})
                for fd, target in ((1, out), (2, err)):
                    os.dup2(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600), fd)
                import sys
                sys.stdout = open(1, "w", closefd=False)
                sys.stderr = open(2, "w", closefd=False)
                sys.argv = [name, path]
                runpy.run_module("ansible_collections.netplumb.linux.plugins.modules." + name,
                                 run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _pid, status = os.waitpid(pid, 0)
        with open(out) as o, open(err) as e:
            proc = subprocess.CompletedProcess([name], os.waitstatus_to_exitcode(status), o.read(), e.read())
    return ModuleRun(proc)


def converge(steps, env=None, check_mode=False):
    """The scenario ``steps`` through the engine in one process (converge.py)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(steps, handle)
    try:
        argv = [PYTHON, os.path.join(HERE, "converge.py"), handle.name] + (["--check"] if check_mode else [])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=MODULE_TIMEOUT * 4, check=False,
                              env=dict(os.environ, PYTHONPATH=COLLECTIONS, **(env or {})))
    finally:
        os.unlink(handle.name)
    return ModuleRun(proc)


# -- the whole node as data ---------------------------------------------------------------------


def _quiet(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout


def _in(netns, argv):
    return (["ip", "netns", "exec", netns] if netns else []) + argv


def _stable_rules(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        line = re.sub(r"counter packets \d+ bytes \d+", "counter", line)
        lines.append(re.sub(r"\[\d+:\d+\]", "[0:0]", line))
    return lines


_NFT_BLOCK = re.compile(r"\t[a-z].*\{( # handle \d+)?$")
_HANDLE = re.compile(r" # handle \d+")


def _nft_blocks_sorted(lines):
    """nft's listing with its tables, and the chains (and sets) of each
    table, in name order: nft lists them in the order they were made, which
    means nothing (a chain deleted and made again moves to the end of its
    table); the rules keep their order within each chain. The blank lines
    between them go."""
    tables, table, block = [], None, None
    for line in lines:
        if block is not None:
            block.append(line)
            if line == "\t}":
                block = None
        elif table is None:
            if line.strip():
                table = [line, []]
                tables.append(table)
        elif _NFT_BLOCK.match(line):
            block = [line]
            table[1].append(block)
        elif line == "}":
            table = None
        elif line.strip():
            table[1].append([line])

    def name(block):
        return _HANDLE.sub("", block[0])

    out = []
    for header, blocks in sorted(tables, key=name):
        out += [header] + [inner for block in sorted(blocks, key=name) for inner in block] + ["}"]
    return out


def firewall(netns=None):
    """nft ruleset (with handles; chains in name order) and both iptables variants, counters stripped."""
    return {
        "nft": _nft_blocks_sorted(_stable_rules(_quiet(_in(netns, ["nft", "-a", "list", "ruleset"])))),
        "iptables-legacy": _stable_rules(_quiet(_in(netns, ["iptables-legacy-save"]))),
        "iptables-nft": _stable_rules(_quiet(_in(netns, ["iptables-nft-save"]))),
        "ip6tables-nft": _stable_rules(_quiet(_in(netns, ["ip6tables-nft-save"]))),
    }


def sysctls(netns=None):
    argv = _in(netns, ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding",
                       "net.ipv6.conf.all.forwarding"])
    return _quiet(argv).split()


def ipv6_conf():
    """forwarding and accept_ra of every IPv6 conf entry (all, default, each
    interface) of this process's namespace: node_network sets them on a
    dual-stack node (read from /proc/sys, which shows the reader's netns)."""
    found = {}
    base = "/proc/sys/net/ipv6/conf"
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        for setting in ("forwarding", "accept_ra"):
            try:
                with open(os.path.join(base, name, setting)) as handle:
                    found["%s.%s" % (name, setting)] = handle.read().strip()
            except OSError:
                pass
    return found


def node_state(box):
    """Everything a run could touch: links, addresses, routes of every namespace
    (Sandbox.snapshot), the firewall and forwarding sysctls of every namespace,
    the node's IPv6 forwarding and accept_ra per interface, and the files
    under the node directories the collection writes to."""
    state = box.snapshot()
    for netns in [None] + state["netns"]:
        key = netns or "(host)"
        state[key]["firewall"] = firewall(netns)
        state[key]["sysctl"] = sysctls(netns)
    state["(host)"]["ipv6_conf"] = ipv6_conf()
    state["files"] = {root: tree(root) for root in FILE_ROOTS}
    return state


# Fields that differ between two sandboxes built the same way: kernel indexes,
# random MAC addresses and what is derived from them.
_VOLATILE = {"ifindex", "link_index", "link_netnsid", "address", "broadcast", "perm_address",
             "bridge_id", "root_id", "designated_root", "designated_bridge", "id", "no", "handle",
             "netnsid", "inet6_addr_gen_mode", "parentbus", "parentdev"}


def normalized(state):
    """``state`` without what differs between two equally built sandboxes:
    interface indexes, MAC addresses, nft handles.
    Lists of links are keyed by name so that creation order does not matter."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in _VOLATILE}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            return re.sub(r" # handle \d+", "", value)
        return value

    out = clean(state)
    for key, ns in out.items():
        if isinstance(ns, dict) and "link" in ns:
            ns["link"] = sorted(ns["link"], key=lambda link: link.get("ifname", ""))
            ns["addr"] = sorted(ns["addr"], key=lambda link: link.get("ifname", ""))
            ns["route"] = sorted(ns["route"], key=json.dumps)
            ns["route6"] = sorted(ns["route6"], key=json.dumps)
    return out


def items(state, prefix=""):
    """``state`` flattened to {path: leaf value}: one item per link, address,
    route, rule line and file, so a comparison can count what moved."""
    flat = {}
    if isinstance(state, dict):
        for key, value in state.items():
            if key in ("link", "addr") and isinstance(value, list):
                for link in value:
                    flat["%s%s/%s" % (prefix, key, link.get("ifname"))] = json.dumps(link, sort_keys=True)
            elif key in ("route", "route6") and isinstance(value, list):
                for route in value:
                    flat["%s%s/%s" % (prefix, key, json.dumps(route, sort_keys=True))] = "present"
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                for line in value:
                    flat["%s%s/%s" % (prefix, key, line)] = "present"
            elif isinstance(value, (dict, list)):
                flat.update(items(value, "%s%s/" % (prefix, key)))
            else:
                flat["%s%s" % (prefix, key)] = json.dumps(value)
    elif isinstance(state, list):
        for index, value in enumerate(state):
            flat.update(items(value, "%s%d/" % (prefix, index)))
    return flat


def moved(one, other):
    """The items of ``one`` that are gone or different in ``other``."""
    flat_one, flat_other = items(one), items(other)
    return sorted(key for key, value in flat_one.items() if flat_other.get(key) != value)


def stray_files():
    """Temp files of interrupted writes and other leftovers under the node directories."""
    found = []
    for root in FILE_ROOTS:
        for base, _dirs, names in os.walk(root):
            found += [os.path.join(base, n) for n in names if n.startswith(".") or n.endswith(".tmp")]
    return sorted(found)


def world_writable():
    """Files and directories under the node directories anyone may write to."""
    found = []
    for root in FILE_ROOTS:
        for base, dirs, names in os.walk(root):
            for name in dirs + names:
                path = os.path.join(base, name)
                if not os.path.islink(path) and os.lstat(path).st_mode & 0o002:
                    found.append(path)
    return sorted(found)


def ip_forward(value):
    with open("/proc/sys/net/ipv4/ip_forward", "w") as handle:  # this sandbox's netns only
        handle.write("%d\n" % value)


__all__ = ["record", "run_module", "node_state", "normalized", "items", "moved", "stray_files",
           "world_writable", "firewall", "sh", "ip_forward"]
