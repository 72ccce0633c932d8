"""node_network beside a running NetworkManager, on the real daemon.

test_reliability_managers runs this in a PID namespace of its own (unshare
--pid --fork --mount-proc), inside its sandbox, after its fixture unpacked
NetworkManager over a private /usr. Here: a system D-Bus and NetworkManager
start, node_network converges the node (check mode, the real run, a second
run), then goes (state absent); the daemon's own view of the devices and its
own log of configuration reloads are printed as JSON. The PID namespace keeps
the daemons from every other test (they see no NetworkManager running), and
both go when this process, its init, exits.

    python networkmanager_running.py '<node_network params as JSON>'
"""

import json
import os
import subprocess
import sys
import time

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network

LOG = "/run/NetworkManager/netplumb-test.log"
CONTROL = ("ctl0", "ctl1")  # a veth pair that is not the collection's: the daemon manages it


def run(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=check)


def start_daemons():
    for path in ("/run/dbus", "/run/NetworkManager", "/var/lib/NetworkManager"):
        os.makedirs(path, exist_ok=True)
        run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path)
    # A read-only sysfs (this network namespace's) tells NetworkManager it runs
    # in a container: it then takes devices up without waiting for udev.
    run("mount", "-t", "sysfs", "-o", "ro", "sysfs", "/sys")
    run("dbus-daemon", "--system", "--fork", "--nopidfile")
    with open(LOG, "w") as log:
        subprocess.Popen(["/usr/sbin/NetworkManager", "--no-daemon", "--debug"], stdout=log,
                         stderr=subprocess.STDOUT)
    for _try in range(100):
        if run("nmcli", "-t", "general", "status", check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("NetworkManager did not answer on D-Bus within 20 s")


def reloads():
    """The configuration reloads NetworkManager logged (nmcli general reload conf)."""
    with open(LOG) as log:
        return sum('op="reload"' in line and 'result="success"' in line for line in log)


def states(devices):
    """NetworkManager's state of each of ``devices``, once it has seen them
    all and settled the control pair (at most 10 s)."""
    found = {}
    for _try in range(50):
        found = dict(line.rsplit(":", 1) for line in run("nmcli", "-t", "-f", "DEVICE,STATE", "device")
                     .stdout.splitlines() if ":" in line)
        if all(device in found for device in devices) and found[CONTROL[0]] != "unmanaged":
            break
        time.sleep(0.2)
    return {device: found.get(device) for device in devices}


def descriptions(outcome):
    return [op["description"] for op in outcome.operations]


def main(params):
    start_daemons()
    run("ip", "link", "add", CONTROL[0], "type", "veth", "peer", "name", CONTROL[1])
    run("ip", "link", "set", CONTROL[0], "up")
    run("ip", "link", "set", CONTROL[1], "up")
    check = engine.run(node_network, params, check_mode=True)
    real = engine.run(node_network, params)
    after_real = reloads()
    again = engine.run(node_network, params)
    seen = states(("v-net-0", "veth-c1", CONTROL[0]))
    after_again = reloads()
    absent = dict(params, state="absent")
    gone_check = engine.run(node_network, absent, check_mode=True)
    gone = engine.run(node_network, absent)
    print(json.dumps({
        "check": descriptions(check), "real": descriptions(real), "again_changed": again.changed,
        "states": seen, "reloads": [after_real, after_again, reloads()],
        "absent_check": descriptions(gone_check), "absent": descriptions(gone),
    }))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
