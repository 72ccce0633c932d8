"""Helper of the netplumb.linux lab role: namespace sandboxes standing for nodes.

Every subcommand prints one JSON object on stdout ({"changed": ..., ...}) and
exits 0, or prints the reason on stderr and exits 1. ``--check`` reports what
would change and changes nothing. Standard library only; needs root, util-linux
(unshare, nsenter) and iproute2.

A node is ``unshare --net --mount --uts --ipc --pid --fork --mount-proc`` running
``sleep infinity`` as its pid 1, with private tmpfs over /run (then /run/netns)
and over the node-local directories that exist. It is recognised by two
variables in its environment, NETPLUMB_LAB_DIR (the lab's state directory) and
NETPLUMB_LAB_NODE (its name), and by being pid 1 of its own pid namespace.
"""

import argparse
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

MARK_DIR = "NETPLUMB_LAB_DIR"
MARK_NODE = "NETPLUMB_LAB_NODE"
STATE_FILE = "nodes.json"
INVENTORY_FILE = "inventory.yml"
WAN = "wan"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,9}$")
PRIVATE_DIRS = ("/opt/cni", "/etc/cni", "/var/lib/cni", "/etc/sysctl.d")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
CMD_TIMEOUT = 30

# Runs as pid 1 of the node before it becomes ``sleep infinity``; $1 is the name.
NODE_SCRIPT = r"""
set -eu
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns
for d in %s; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
printf '%%s' "$1" > /proc/sys/kernel/hostname
ip link set lo up
exec sleep infinity
""" % " ".join(PRIVATE_DIRS)


class LabError(Exception):
    pass


# -- processes -----------------------------------------------------------------

def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


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

def run(argv, check=True):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CMD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError("%s: %s" % (" ".join(argv), exc))
    if check and proc.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc


def ip_in(pid, *args, check=True):
    """``ip`` in the network namespace of ``pid`` (our own mount and pid
    namespaces, so /proc/self is there and ``netns PID`` means a host pid)."""
    return run(["nsenter", "-t", str(pid), "-n", "--", "ip"] + list(args), check=check)


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


# -- subcommands ---------------------------------------------------------------

def cmd_plan(args):
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
            "wan": {"name": WAN, "address": "%s/%d" % (gateway, net.prefixlen),
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


def cmd_node(args):
    """Keep the node when it runs, else start it; prints its pid."""
    pid = locate(args.state_dir, args.name)
    if pid:
        return {"changed": False, "name": args.name, "pid": pid, "state": "running"}
    if args.check:
        return {"changed": True, "name": args.name, "pid": None, "state": "would start"}
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C",
           MARK_DIR: args.state_dir, MARK_NODE: args.name}
    argv = ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "--mount-proc",
            "--", "sh", "-c", NODE_SCRIPT, "lab-node", args.name]
    # An unlinked file for the start-up errors: the node holds no pipe of ours.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                errors.seek(0)
                raise LabError("node %s did not start (unshare exited %d): %s"
                               % (args.name, proc.returncode, errors.read().decode(errors="replace").strip()))
            pid = find_nodes(args.state_dir).get(args.name)
            if pid and (_read("/proc/%d/comm" % pid) or "").strip() == "sleep":
                return {"changed": True, "name": args.name, "pid": pid, "state": "started"}
            time.sleep(0.05)
        proc.kill()
        raise LabError("node %s was not ready within %.0f s" % (args.name, START_TIMEOUT))


def cmd_stop(args):
    """SIGKILL the node's pid 1 when it is ours; wait (bounded) until it is gone."""
    pid = locate(args.state_dir, args.name)
    if not pid:
        return {"changed": False, "name": args.name, "pid": None, "state": "absent"}
    if args.check:
        return {"changed": True, "name": args.name, "pid": pid, "state": "would stop"}
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT
    while not gone(pid):
        if time.monotonic() > deadline:
            raise LabError("node %s (pid %d) still there %.0f s after SIGKILL" % (args.name, pid, STOP_TIMEOUT))
        time.sleep(0.05)
    return {"changed": True, "name": args.name, "pid": pid, "state": "stopped"}


def cmd_fabric(args):
    """The fabric bridge with the wan's address, up, in the wan's namespace."""
    if not args.check and not is_node(args.wan_pid, args.state_dir, WAN):
        raise LabError("pid %s is not the wan of this lab" % args.wan_pid)
    todo = []
    have = links(args.wan_pid) if args.wan_pid else {}
    bridge = have.get(args.bridge)
    if bridge is not None and bridge.get("linkinfo", {}).get("info_kind") != "bridge":
        raise LabError("%s in the wan is not a bridge" % args.bridge)
    if bridge is None:
        todo.append(["link", "add", args.bridge, "type", "bridge"])
    for address in filter(None, (args.address, args.address6)):
        if bridge is None or address not in _addresses(bridge):
            todo.append(_add_address(address, args.bridge))
    if bridge is None or not _is_up(bridge):
        todo.append(["link", "set", args.bridge, "up"])
    return _apply(args, args.wan_pid, todo)


def cmd_uplink(args):
    """The node's uplink: a veth ``eth0`` in the node, its peer on the fabric."""
    if not args.check:
        if not is_node(args.wan_pid, args.state_dir, WAN):
            raise LabError("pid %s is not the wan of this lab" % args.wan_pid)
        if not is_node(args.node_pid, args.state_dir, args.name):
            raise LabError("pid %s is not the node %s of this lab" % (args.node_pid, args.name))
    wan = links(args.wan_pid) if args.wan_pid else {}
    node = links(args.node_pid) if args.node_pid else {}
    wan_end, node_end = wan.get(args.uplink), node.get("eth0")
    paired = (wan_end is not None and node_end is not None
              and wan_end.get("linkinfo", {}).get("info_kind") == "veth"
              and node_end.get("linkinfo", {}).get("info_kind") == "veth"
              and wan_end.get("link_netnsid") is not None and node_end.get("link_netnsid") is not None)
    wan_todo, node_todo = [], []
    if not paired:
        if wan_end is not None:
            wan_todo.append(["link", "del", args.uplink])
        if node_end is not None:
            node_todo.append(["link", "del", "eth0"])
        wan_todo.append(["link", "add", args.uplink, "type", "veth", "peer", "name", "eth0",
                         "netns", str(args.node_pid or "NODE")])
        wan_end = node_end = None
    if wan_end is None or wan_end.get("master") != args.bridge:
        wan_todo.append(["link", "set", args.uplink, "master", args.bridge])
    if wan_end is None or not _is_up(wan_end):
        wan_todo.append(["link", "set", args.uplink, "up"])
    for address in filter(None, (args.address, args.address6)):
        if node_end is None or address not in _addresses(node_end):
            node_todo.append(_add_address(address, "eth0"))
    if node_end is None or not _is_up(node_end):
        node_todo.append(["link", "set", "eth0", "up"])
    routes = []
    if node_end is not None:
        routes = json.loads(ip_in(args.node_pid, "-j", "-4", "route", "show", "default").stdout or "[]")
    if not any(r.get("gateway") == args.gateway and r.get("dev") == "eth0" for r in routes):
        node_todo.append(["route", "replace", "default", "via", args.gateway, "dev", "eth0"])
    if args.gateway6:
        routes6 = []
        if node_end is not None:
            routes6 = json.loads(ip_in(args.node_pid, "-j", "-6", "route", "show", "default").stdout or "[]")
        if not any(r.get("gateway") == args.gateway6 and r.get("dev") == "eth0" for r in routes6):
            node_todo.append(["-6", "route", "replace", "default", "via", args.gateway6, "dev", "eth0"])
    # Node-side deletions first (a stale eth0 would block the new peer's name).
    first = [c for c in node_todo if c[:2] == ["link", "del"]]
    result = _apply(args, args.node_pid, first)
    wan_result = _apply(args, args.wan_pid, wan_todo)
    node_result = _apply(args, args.node_pid, [c for c in node_todo if c not in first])
    return {"changed": bool(result["changed"] or wan_result["changed"] or node_result["changed"]),
            "commands": result["commands"] + wan_result["commands"] + node_result["commands"]}


def _apply(args, pid, todo):
    commands = ["ip " + " ".join(c) for c in todo]
    if not args.check:
        for command in todo:
            ip_in(pid, *command)
    return {"changed": bool(todo), "commands": commands}


def cmd_forget(args):
    """Remove the lab's state files, and the state directory once it is empty."""
    paths = [os.path.join(args.state_dir, name) for name in (STATE_FILE, INVENTORY_FILE)]
    removed = [p for p in paths if os.path.lexists(p)]
    others = set(os.listdir(args.state_dir)) - {STATE_FILE, INVENTORY_FILE} if os.path.isdir(args.state_dir) else None
    remove_dir = others == set()
    if not args.check:
        for path in removed:
            os.unlink(path)
        if remove_dir:
            os.rmdir(args.state_dir)
    return {"changed": bool(removed or remove_dir), "removed": removed + ([args.state_dir] if remove_dir else [])}


def main(argv=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", required=True)
    common.add_argument("--check", action="store_true", help="report, change nothing")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", parents=[common])
    plan.add_argument("--cidr", required=True)
    plan.add_argument("--count", type=int, required=True)
    plan.add_argument("--prefix", required=True)
    plan.add_argument("--cidr6", default="")
    for name in ("node", "stop"):
        sub.add_parser(name, parents=[common]).add_argument("--name", required=True)
    fabric = sub.add_parser("fabric", parents=[common])
    fabric.add_argument("--wan-pid", type=int, default=0)
    fabric.add_argument("--bridge", required=True)
    fabric.add_argument("--address", required=True)
    fabric.add_argument("--address6", default="")
    uplink = sub.add_parser("uplink", parents=[common])
    for option in ("--wan-pid", "--node-pid"):
        uplink.add_argument(option, type=int, default=0)
    for option in ("--name", "--uplink", "--bridge", "--address", "--gateway"):
        uplink.add_argument(option, required=True)
    for option in ("--address6", "--gateway6"):
        uplink.add_argument(option, default="")
    sub.add_parser("forget", parents=[common])
    args = parser.parse_args(argv)
    args.state_dir = os.path.abspath(args.state_dir)
    handler = {"plan": cmd_plan, "node": cmd_node, "stop": cmd_stop, "fabric": cmd_fabric,
               "uplink": cmd_uplink, "forget": cmd_forget}[args.command]
    try:
        result = handler(args)
    except LabError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
