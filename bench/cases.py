"""The playbooks the benchmark times, as data (written to a temporary file per run)."""

BRIDGE = "v-net-0"
GATEWAY = "198.51.100.1"
PLEN = 24


# More containers than a /24 holds: 198.18.0.0/15 is reserved for benchmarks (RFC 2544).
GROWTH_NET = "198.18.0.0/22"
GROWTH_GATEWAY = "198.18.0.1"


def containers(n, prefix="c"):
    """n containers on 198.51.100.0/24 (n <= 240)."""
    return [{"name": "%s%d" % (prefix, i), "address": "198.51.100.%d/%d" % (10 + i, PLEN)} for i in range(n)]


def growth_containers(n, prefix="g"):
    """n containers on GROWTH_NET (n <= 1000)."""
    return [{"name": "%s%d" % (prefix, i), "address": "198.18.%d.%d/22" % ((10 + i) // 256, (10 + i) % 256)}
            for i in range(n)]


def _play(tasks, hosts="localhost"):
    return [{"name": "bench", "hosts": hosts, "gather_facts": False, "tasks": tasks}]


def _bridge_task():
    return {"name": "bridge", "netplumb.linux.bridge": {"name": BRIDGE, "addresses": ["%s/%d" % (GATEWAY, PLEN)]}}


def container_net(n, hosts="localhost", prefix="c", state="present"):
    """The bridge and n containers: two tasks."""
    args = {"bridge": BRIDGE, "gateway": GATEWAY, "containers": containers(n, prefix), "state": state}
    tasks = [_bridge_task()] if state == "present" else []
    return _play(tasks + [{"name": "containers", "netplumb.linux.container_net": args}], hosts)


def node_network(n, uplink="uplink0"):
    """The node's network in one task: the bridge and n containers, masquerade out of the uplink."""
    args = {"bridge": BRIDGE, "cidr": "198.51.100.0/%d" % PLEN, "uplink": uplink,
            "containers": [{"name": c["name"], "address": c["address"].split("/")[0]} for c in containers(n)]}
    return _play([{"name": "node", "netplumb.linux.node_network": args}])


def noop(tasks):
    """Ansible's own cost of ``tasks`` module tasks that do nothing (ansible.builtin.ping)."""
    return _play([{"name": "ping %d" % i, "ansible.builtin.ping": {}} for i in range(tasks)])


NOOP_MODULE = "ansible.legacy.netplumb_bench_noop"  # bench/library


IMPORTS_MODULE = "ansible.legacy.netplumb_bench_imports"  # written by run.imports_library


def module_of(task):
    """The netplumb module a task of these plays calls (netplumb.linux.bridge)."""
    return next(key for key in task if key.startswith("netplumb.linux."))


def stand_in_module(module, imports=False):
    """The module that does nothing standing in for netplumb module ``module``
    (netplumb.linux.bridge: ansible.legacy.netplumb_bench_noop_bridge, a link
    to bench/library/netplumb_bench_noop.py). One per module: Ansible builds
    the AnsiballZ payload of each distinct module once per run, Ansible's own
    module_utils in it, and a stand-in shared by two modules would be built
    once where the two modules are built twice. With ``imports``, the stand-in
    that also imports what ``module`` imports of netplumb
    (ansible.legacy.netplumb_bench_imports_bridge)."""
    return "%s_%s" % (IMPORTS_MODULE if imports else NOOP_MODULE, module.rsplit(".", 1)[1])


def same_tasks(play, imports=False):
    """``play`` with each netplumb module replaced by its stand-in, a module
    that takes the same arguments and does nothing
    (bench/library/netplumb_bench_noop.py): Ansible's own cost of the same
    tasks. With ``imports``, stand-ins that import netplumb's module_utils as
    the modules do: that cost and netplumb's code, shipped and imported."""
    def stand_in(task):
        module = module_of(task)
        return {key: value for key, value in task.items() if key != module} | {
            stand_in_module(module, imports): task[module]}
    return [dict(p, tasks=[stand_in(task) for task in p["tasks"]]) for p in play]


def naive(n):
    """The recipe typed into Ansible: one ip command per step, looped over the
    containers (one task item per step per container)."""
    items = containers(n)

    def step(name, argv):
        return {"name": name, "ansible.builtin.command": {"argv": argv}, "loop": items,
                "loop_control": {"label": "{{ item.name }}"}}

    return _play([
        {"name": "bridge", "ansible.builtin.command": {"argv": ["ip", "link", "add", BRIDGE, "type", "bridge"]}},
        {"name": "bridge address",
         "ansible.builtin.command": {"argv": ["ip", "addr", "add", "%s/%d" % (GATEWAY, PLEN), "dev", BRIDGE]}},
        {"name": "bridge up", "ansible.builtin.command": {"argv": ["ip", "link", "set", BRIDGE, "up"]}},
        step("netns", ["ip", "netns", "add", "{{ item.name }}"]),
        step("veth", ["ip", "link", "add", "veth-{{ item.name }}", "type", "veth", "peer", "name", "eth0",
                      "netns", "{{ item.name }}"]),
        step("host end on the bridge", ["ip", "link", "set", "veth-{{ item.name }}", "master", BRIDGE]),
        step("host end up", ["ip", "link", "set", "veth-{{ item.name }}", "up"]),
        step("lo up", ["ip", "-n", "{{ item.name }}", "link", "set", "lo", "up"]),
        step("address", ["ip", "-n", "{{ item.name }}", "addr", "add", "{{ item.address }}", "dev", "eth0"]),
        step("eth0 up", ["ip", "-n", "{{ item.name }}", "link", "set", "eth0", "up"]),
        step("default route", ["ip", "-n", "{{ item.name }}", "route", "add", "default", "via", GATEWAY]),
    ])


def veth_loop(n):
    """n netplumb.linux.veth task items (a pair each)."""
    return _play([{"name": "veth pairs", "netplumb.linux.veth": {"name": "va{{ item }}", "peer": "vb{{ item }}"},
                   "loop": list(range(n))}])


def true_loop(n):
    """n ansible.builtin.command task items running /bin/true: Ansible's own per-item cost."""
    return _play([{"name": "true", "ansible.builtin.command": {"argv": ["/bin/true"]}, "loop": list(range(n))}])
