"""Helpers shared by the tests: sandboxes, kernel snapshots, playbook runs."""

import contextlib
import importlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time

import yaml

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import syscalls

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python")
# NETPLUMB_TEST_COLLECTIONS: run the playbooks against another install, e.g. the tarball's (make release-check).
COLLECTIONS = os.environ.get("NETPLUMB_TEST_COLLECTIONS") or os.path.join(ROOT, ".build", "collections")
# Every playbook a test runs fails on a deprecation warning: none may come from
# the collection's content under the newest ansible-core (.venv). The version
# matrix turns this off for older cores (tests/gates/matrix_plugin.py).
DEPRECATIONS_FAIL = True
TIMEOUT = 600
# localhost with the Python that runs ansible-playbook (PYTHON here); lab
# nodes given with another -i keep their own interpreter discovery.
CONTROLLER_INVENTORY = os.path.join(ROOT, "tests", "controller.yml")
# What mk/lab.mk exports, for a pytest run without make: the lab's packages
# (make deps fetches them) and its provisioned layers.
LAB_ENV = {"NETPLUMB_LAB_PACKAGES": os.path.join(ROOT, ".build", "lab-packages"),
           "NETPLUMB_LAB_LAYER_CACHE": os.path.join(ROOT, ".build", "lab-layers")}
# Node files a test may write (sysctl files, CNI dirs): private per test.
# tests/sandbox.sh creates them inside its copy-on-write views of the host.
PRIVATE_DIRS = ("/etc/sysctl.d", "/opt/cni", "/etc/cni", "/var/lib/cni")
NOT_SANDBOXED = ("missing here: %s; a test would create them on the host and share them with every other test. "
                 "Run the tests through 'make test' (or under tests/sandbox.sh), which makes these directories "
                 "private without creating them on the host")


# Ansible's plugin loader in a Python of its own, with the collection (and
# the environment given) as a run has them.
_ACTIONS_FOUND = """
import json, sys
from ansible.plugins.loader import action_loader, init_plugin_loader
init_plugin_loader()
from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import ModuleAction
out = {}
for name in sys.argv[1:]:
    found = action_loader.find_plugin_with_context(name)
    plugin = action_loader.get(name, class_only=True) if found.resolved else None
    out[name] = [found.plugin_resolved_path if found.resolved else None,
                 bool(plugin) and issubclass(plugin, ModuleAction),
                 [cls.__module__ for cls in getattr(plugin, "__mro__", ())]]
print(json.dumps(out))
"""


def actions_found(names, **env):
    """{name: [path, is netplumb's ModuleAction, modules of its classes]}
    of the action plugin Ansible's loader finds for each action name."""
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    environ.update(env)
    environ.pop("PYTHONPATH", None)
    proc = subprocess.run([PYTHON, "-c", _ACTIONS_FOUND] + list(names), env=environ, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


SAVES_OF = {4: ("iptables-legacy-save", "iptables-nft-save"), 6: ("ip6tables-legacy-save", "ip6tables-nft-save")}
IPTABLES_SAVES = SAVES_OF[4] + SAVES_OF[6]


def firewall():
    """Every backend's tables, chains and rules as text, without counters
    (traffic moves them): compare for 'unchanged'."""
    text = subprocess.run(["nft", "-s", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    for save in IPTABLES_SAVES:
        text += subprocess.run([save], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\[\d+:\d+\]", "", "\n".join(line for line in text.splitlines() if not line.startswith("#")))


def our_rules(backend, versions=(4, 6)):
    """The lines of the collection's rules (tagged netplumb:) of IP ``versions``,
    as the backend's own listing prints them (nft does not print the comments
    of the rules iptables-nft makes)."""
    if backend == "nftables":  # no table of ours yet: nft fails, and lists nothing
        argvs = [["nft", "list", "table", "ip" if version == 4 else "ip6", "netplumb"] for version in versions]
    else:
        argvs = [[save] for version in versions for save in SAVES_OF[version]]
    return [line.strip() for argv in argvs
            for line in subprocess.run(argv, capture_output=True, text=True,
                                       check=backend != "nftables").stdout.splitlines()
            if "netplumb:" in line]


def sh(*argv, check=True, timeout=30):
    """Run a command (argument list, no shell) and return its stdout."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr))
    return proc.stdout


def _ns_fd(kind):
    return os.open("/proc/thread-self/ns/" + kind, os.O_RDONLY | os.O_CLOEXEC)


def _wait_single_threaded(tries=100):
    """Wait (bounded: ``tries`` * 0.05 s) until this is the process's only
    thread: the kernel refuses setns() into a mount namespace while another
    thread shares the process's filesystem context. The kernel's task list
    counts, not Python's: a joined thread may still be exiting."""
    for _attempt in range(tries):
        tasks = len(os.listdir("/proc/self/task"))
        if tasks == 1:
            return
        time.sleep(0.05)
    names = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    raise AssertionError("%d other thread(s) still run in the sandbox, so the test cannot leave it (%s)"
                         % (tasks - 1, ", ".join(names) or "none of them Python's"))


@contextlib.contextmanager
def sandboxed():
    missing = [private for private in PRIVATE_DIRS if not os.path.isdir(private)]
    if missing:
        raise AssertionError(NOT_SANDBOXED % ", ".join(missing))
    cwd = os.getcwd()
    home_net, home_mnt = _ns_fd("net"), _ns_fd("mnt")
    try:
        syscalls.unshare(syscalls.CLONE_NEWNET | syscalls.CLONE_NEWNS)
        try:
            syscalls.mount("none", "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
            syscalls.mount("tmpfs", "/run", "tmpfs", 0)
            os.makedirs("/run/netns")
            for private in PRIVATE_DIRS:
                syscalls.mount("tmpfs", private, "tmpfs", 0)
            sh("ip", "link", "set", "lo", "up")
            yield Sandbox()
        finally:
            _wait_single_threaded()
            syscalls.setns(home_mnt, syscalls.CLONE_NEWNS)
            syscalls.setns(home_net, syscalls.CLONE_NEWNET)
            os.chdir(cwd)
    finally:
        os.close(home_net)
        os.close(home_mnt)


class Sandbox:
    """What a test does in its sandbox, through the same tools a user has."""

    def ip(self, *args, netns=None, check=True):
        argv = ["ip"] + (["-n", netns] if netns else []) + list(args)
        return sh(*argv, check=check)

    def ipj(self, *args, netns=None):
        return json.loads(self.ip("-j", *args, netns=netns) or "[]")

    def netns_list(self):
        return sorted(os.listdir("/run/netns"))

    def link(self, name, netns=None):
        found = [link for link in self.ipj("-d", "link", "show", netns=netns) if link["ifname"] == name]
        return found[0] if found else None

    def addresses(self, name, netns=None):
        data = self.ipj("addr", "show", "dev", name, netns=netns)
        return sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in data[0]["addr_info"]
                      if a.get("scope") != "link")

    def routes(self, netns=None):
        return self.ipj("route", "show", "table", "all", netns=netns)

    def ping(self, address, netns=None, count=1):
        """True when ``address`` answers; bounded: ``count`` packets, 2 s each."""
        argv = ["ip", "netns", "exec", netns] if netns else []
        argv += ["ping", "-n", "-q", "-c", str(count), "-W", "2", address]
        return subprocess.run(argv, capture_output=True, timeout=10 + 2 * count, check=False).returncode == 0

    def snapshot(self):
        """Everything the kernel reports about links, addresses and routes, in
        every namespace, plus the namespace list: compare for 'unchanged'.

        What the kernel changes on its own clock is left out: IPv6 link-local
        addresses and routes (they appear after DAD), address lifetimes and
        the operational state of freshly up links, bridge timers."""
        state = {"netns": self.netns_list()}
        for netns in [None] + state["netns"]:
            state[netns or "(host)"] = {
                "link": [_settled(link) for link in self.ipj("-d", "link", "show", netns=netns)],
                "addr": [_stable_addrs(link) for link in self.ipj("addr", "show", netns=netns)],
                "route": self.ipj("-4", "route", "show", "table", "all", netns=netns),
                "route6": [r for r in self.ipj("-6", "route", "show", "table", "all", netns=netns)
                           if not r.get("dst", "").startswith(("fe80", "ff00"))],
            }
        return state

    def settled_snapshot(self, tries=25):
        """snapshot() once the kernel is done with the last ip command (carrier,
        operstate and STP follow with a delay); bounded to ``tries`` * 0.2 s."""
        last = self.snapshot()
        for _attempt in range(tries):
            time.sleep(0.2)
            current = self.snapshot()
            if current == last:
                return current
            last = current
        raise AssertionError("the kernel view did not settle in %.1f s" % (tries * 0.2))

    def playbook(self, tasks, check=False, diff=False, extra_args=()):
        """Run ``tasks`` as a one-play playbook on localhost; returns PlaybookRun."""
        return run_playbook(tasks, check=check, diff=diff, extra_args=extra_args)


def _settled(link):
    link = _without_timers({k: v for k, v in link.items() if k not in ("operstate", "linkmode")})
    link["flags"] = [f for f in link.get("flags", []) if f != "NO-CARRIER"]
    return link


def _without_timers(data):
    """Bridge and port timers count down on their own."""
    if isinstance(data, dict):
        return {k: _without_timers(v) for k, v in data.items() if not k.endswith("_timer")}
    return data


def _stable_addrs(link):
    link = _settled(link)
    link["addr_info"] = [
        {k: v for k, v in a.items() if not k.endswith("life_time") and k != "tentative"}
        for a in link.get("addr_info", []) if not a.get("local", "").startswith("fe80")]
    return link


class PlaybookRun:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.tasks = callback_tasks(proc.stdout)
        self.results = _results(self.tasks)

    @property
    def changed(self):
        return sum(1 for r in self.results if r.get("changed"))

    @property
    def failed(self):
        return [r for r in self.results if r.get("failed")]

    @property
    def deprecations(self):
        """Deprecation warnings: those the json callback puts in results, and Ansible's own on stderr."""
        results = [r for _task, hosts in self.tasks for r in hosts.values()]
        results += [item for r in results for item in r.get("results") or [] if isinstance(item, dict)]
        found = [d.get("msg", str(d)) for r in results for d in r.get("deprecations") or []]
        return found + [line for line in self.stderr.splitlines() if "[DEPRECATION WARNING]" in line]

    def __repr__(self):
        # The failures first: pytest shows only the first lines of an assertion's message.
        failures = " | ".join(str(r.get("msg", r))[:600] for r in self.failed) or self.stderr.strip()[-600:]
        return "PlaybookRun(rc=%d) %s\n%s\n%s" % (self.rc, failures, self.stdout[-4000:], self.stderr[-2000:])


def run_playbook(tasks, check=False, diff=False, extra_args=(), cwd=None):
    """Run ``tasks`` as a one-play playbook on localhost; see run_playbook_file."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(play, handle)
        return run_playbook_file(path, check=check, diff=diff, extra_args=extra_args, cwd=cwd)


def run_playbook_file(path, check=False, diff=False, extra_args=(), cwd=None):
    """ansible-playbook against localhost, results read through the json callback.

    Each task's result is in ``results`` in order (a looped task gives one
    entry per item)."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", CONTROLLER_INVENTORY, path]
        argv += (["--check"] if check else []) + (["--diff"] if diff else []) + list(extra_args)
        env = dict(LAB_ENV, **os.environ)
        env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"),
                   ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "rtmp"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="1")
        # The modules run as on a node, where Python writes bytecode (and their bytecode cache with it).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False, cwd=cwd)
    run = PlaybookRun(proc)
    if DEPRECATIONS_FAIL and run.deprecations:
        raise AssertionError("deprecation warnings from %s: %s" % (path, run.deprecations))
    return run


def callback_tasks(stdout):
    """(task name, {host: result}) of every task in order, from the json
    callback's output (empty when there is none)."""
    try:
        data = json.loads(stdout[stdout.index("{"):])
    except ValueError:
        return []
    return [(task["task"]["name"], task["hosts"]) for play in data.get("plays", []) for task in play.get("tasks", [])]


def task_results(stdout, name):
    """{host: result} of the task called ``name``."""
    return {host: result for task, hosts in callback_tasks(stdout) if task == name for host, result in hosts.items()}


def changed_by_task(stdout):
    """{(host, task name): changed}."""
    return {(host, task): bool(result.get("changed"))
            for task, hosts in callback_tasks(stdout) for host, result in hosts.items()}


def failures(run):
    """{host: msg} of the failed tasks of every host (PlaybookRun.failed knows only localhost's)."""
    return {host: result.get("msg", "") for _task, hosts in callback_tasks(run.stdout)
            for host, result in hosts.items() if result.get("failed")}


def _results(tasks):
    results = []
    for _task, hosts in tasks:
        result = hosts.get("localhost", {})
        results.extend(result.get("results", [result]) if "results" in result else [result])
    return results


def descriptions(result):
    """The planned operations of a module result, as text."""
    return [op["description"] for op in result["operations"]]


def assert_clean_failure(run, field, before, after, engine_field=True):
    """rc != 0, the one failed result names ``field``, no traceback, nothing changed."""
    assert run.rc != 0, run
    assert len(run.failed) == 1, run
    result = run.failed[0]
    assert field in result.get("msg", ""), result
    if engine_field:
        assert result.get("field") == field, result
    for text in (run.stdout, run.stderr, json.dumps(result)):
        assert "Traceback" not in text, run
    assert after == before


OP_KEYS = {"op", "netns", "target", "args", "description"}
# module -> the module_utils package of the resource behind it (the file is named after the module).
RESOURCE_PACKAGES = {"netns": "link", "veth": "link", "bridge": "link", "route": "link", "net_facts": "facts",
                     "nat_rule": "nat", "cni_install": "cni", "cni_config": "cni", "cni_check": "cni",
                     "container_net": "container_net"}


def resource(module):
    """The engine resource behind module ``module`` (cni_install without downloads)."""
    found = importlib.import_module("ansible_collections.netplumb.linux.plugins.module_utils.%s.%s"
                                    % (RESOURCE_PACKAGES[module], module))
    return found.with_download(None) if module == "cni_install" else found


def converge_checked(box, resource, params, compare_after=True):
    """Through the engine: check mode predicts and changes nothing; the real
    run applies exactly the prediction; the run after that is a no-op."""
    from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
    before = box.settled_snapshot()  # links just made may still be coming up
    predicted = engine.run(resource, params, check_mode=True)
    assert box.snapshot() == before, "check mode changed the kernel"
    real = engine.run(resource, params)
    assert real.changed == predicted.changed
    assert real.operations == predicted.operations
    if compare_after:
        assert real.after == predicted.after
    for op in real.operations:
        assert set(op) == OP_KEYS
    again = engine.run(resource, params)
    assert not again.changed, again.operations
    assert again.operations == []
    return real
