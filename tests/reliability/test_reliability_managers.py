"""The node's other network managers told to leave the collection's devices
alone (node_network for the bridge_network role, cni_config for the cni
role): NetworkManager's conf.d file read back by NetworkManager's own config
reader, on a node where its package is unpacked, and by the running daemon,
reloaded, which then leaves the devices alone; systemd-networkd's .network
file where it is enabled; no file on a node with neither."""

import glob
import json
import os
import subprocess

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network
from cni_fixtures import CHAIN, cni_dirs, conflist, copy_plugins  # noqa: F401 pylint: disable=unused-import
from netplumb_testlib import COLLECTIONS, PYTHON, ROOT, sh
from reliability_lib import record
from topologies import wan_uplink

DEBS = os.path.join(ROOT, ".build", "debs")
NM_FILE = "/etc/NetworkManager/conf.d/netplumb-v-net-0.conf"
NETWORKD_FILE = "/etc/systemd/network/10-netplumb-v-net-0.network"
NETWORKD_ENABLED = "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
NODE = {"cidr": "198.51.100.0/24", "uplink": "uplink0", "forwarding": False,
        "containers": [{"name": "c1", "address": "198.51.100.11"}]}


def _private(tree, layer):
    """``tree`` as a copy-on-write view private to this test's mount
    namespace: what the test writes there goes with it."""
    os.makedirs(layer)
    sh("mount", "-t", "tmpfs", "tmpfs", layer)
    os.makedirs(os.path.join(layer, "upper"))
    os.makedirs(os.path.join(layer, "work"))
    options = "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (tree, layer, layer)
    sh("mount", "-t", "overlay", "overlay", "-o", options, tree)


@pytest.fixture
def own_etc(sandbox, tmp_path):
    """The sandbox with an /etc of this test's own (the sandbox's is shared by every test)."""
    _private("/etc", str(tmp_path / "etc"))
    return sandbox


@pytest.fixture
def networkmanager(own_etc, tmp_path):
    """NetworkManager's package unpacked where it puts its files, over /usr
    and /etc views private to this test, as on a node where it is
    installed. Its daemon does not run (one test starts it, in a PID
    namespace of its own: networkmanager_running.py)."""
    debs = sorted(glob.glob(os.path.join(DEBS, "network-manager_*.deb")) + glob.glob(os.path.join(DEBS, "libndp0_*.deb"))
                  + glob.glob(os.path.join(DEBS, "libnm0_*.deb")))
    assert len(debs) == 3, "make test fetches NetworkManager's .debs into %s" % DEBS
    staging = tmp_path / "unpacked"
    for deb in debs:
        sh("dpkg-deb", "-x", deb, str(staging))
    _private("/usr", str(tmp_path / "usr"))
    sh("cp", "-a", "%s/usr/." % staging, "/usr/")
    sh("cp", "-a", "%s/lib/." % staging, "/usr/lib/")  # merged /usr: /lib is /usr/lib
    sh("cp", "-a", "%s/etc/." % staging, "/etc/")
    assert os.path.exists("/usr/sbin/NetworkManager") and os.path.exists("/etc/NetworkManager/NetworkManager.conf")
    return own_etc


def unmanaged_devices():
    """NetworkManager's merged unmanaged-devices, as its own config reader prints it."""
    printed = sh("/usr/sbin/NetworkManager", "--print-config")
    lines = [line for line in printed.splitlines() if line.startswith("unmanaged-devices=")]
    return lines[0].split("=", 1)[1].split(",") if lines else []


def converge(params, check=True):
    """Check mode predicts exactly and changes nothing; the real run applies
    it; a second run changes nothing."""
    checked = engine.run(node_network, params, check_mode=True)
    real = engine.run(node_network, params)
    assert real.operations == checked.operations
    assert not engine.run(node_network, params).changed
    return real


def test_a_node_without_either_gets_no_file(own_etc):
    wan_uplink(own_etc)
    outcome = converge(NODE)
    assert outcome.extra["summary"]["network_managers"] == {"total": 0, "changed": 0}
    assert not os.path.exists("/etc/NetworkManager") and not os.path.exists(NETWORKD_FILE)
    assert outcome.after["network_managers"] == {"v-net-0": {}}
    record("managers", "neither on the node", files_written=0)


def test_networkmanager_leaves_the_bridge_and_host_ends_alone(networkmanager):
    wan_uplink(networkmanager)
    # An admin's own unmanaged devices stay: ours are added to the list, not put in its place.
    with open("/etc/NetworkManager/conf.d/00-admin.conf", "w") as handle:
        handle.write("[keyfile]\nunmanaged-devices=interface-name:docker0\n")
    assert unmanaged_devices() == ["interface-name:docker0"]

    outcome = converge(NODE)
    assert "write %s (" % NM_FILE in " ".join(op["description"] for op in outcome.operations)
    assert outcome.after["network_managers"]["v-net-0"] == {"NetworkManager": ["v-net-0", "veth-*", "vh-*"]}
    assert oct(os.stat(NM_FILE).st_mode & 0o777) == "0o644"
    assert unmanaged_devices() == ["interface-name:docker0", "interface-name:v-net-0", "interface-name:veth-*",
                                   "interface-name:vh-*"]
    assert not os.path.exists(NETWORKD_FILE)

    gone = converge(dict(NODE, state="absent"))
    assert "delete %s" % NM_FILE in [op["description"] for op in gone.operations]
    assert not os.path.exists(NM_FILE)
    assert unmanaged_devices() == ["interface-name:docker0"]
    record("managers", "NetworkManager, node_network", file=NM_FILE, devices="v-net-0 veth-* vh-*",
           read_back_by="NetworkManager --print-config", admin_list_kept=1, removed_on_absent=1)


def test_a_running_networkmanager_reloads_and_leaves_the_devices_alone(networkmanager):
    """The real daemon, with a system D-Bus, in a PID namespace of their own
    (networkmanager_running.py): each run that writes or removes the file
    reloads it (nmcli general reload conf), a run with nothing to change does
    not, and the daemon leaves the bridge and the host end alone while it
    manages a veth that is not the collection's."""
    wan_uplink(networkmanager)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "networkmanager_running.py")
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", PYTHON, script, json.dumps(NODE)],
                          capture_output=True, text=True, timeout=240, check=False,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    reload = "reload NetworkManager's configuration"
    assert found["real"] == found["check"] and found["absent"] == found["absent_check"], found
    written = [d for d in found["real"] if d.startswith("write %s (" % NM_FILE)]
    assert written and found["real"].index(reload) > found["real"].index(written[0]), found["real"]
    assert "delete %s" % NM_FILE in found["absent"] and reload in found["absent"], found["absent"]
    assert found["again_changed"] is False
    assert found["reloads"] == [1, 1, 2], found["reloads"]
    assert found["states"] == {"v-net-0": "unmanaged", "veth-c1": "unmanaged", "ctl0": found["states"]["ctl0"]}
    assert found["states"]["ctl0"] not in (None, "unmanaged"), found["states"]
    record("managers", "NetworkManager running, node_network", file=NM_FILE, devices="v-net-0 veth-c1",
           read_back_by="the running daemon (nmcli device): unmanaged; a foreign veth: managed",
           reloads=2, removed_on_absent=1)


def test_networkmanager_for_the_cni_config(networkmanager, cni_dirs):
    copy_plugins("/opt/cni/bin", CHAIN)
    params = {"name": "testnet", "config": conflist(bridge="cni9")}
    outcome = engine.run(cni_config, params)
    assert outcome.after["network_managers"] == {"NetworkManager": ["cni9", "veth*"]}
    assert unmanaged_devices() == ["interface-name:cni9", "interface-name:veth*"]
    assert not engine.run(cni_config, params).changed
    engine.run(cni_config, {"name": "testnet", "state": "absent"})
    assert unmanaged_devices() == [] and not os.path.exists("/etc/NetworkManager/conf.d/netplumb-testnet.conf")
    record("managers", "NetworkManager, cni_config", file="/etc/NetworkManager/conf.d/netplumb-testnet.conf",
           devices="cni9 veth*", read_back_by="NetworkManager --print-config", removed_on_absent=1)


def test_systemd_networkd_where_it_is_enabled(own_etc):
    wan_uplink(own_etc)
    os.makedirs(os.path.dirname(NETWORKD_ENABLED), exist_ok=True)
    os.symlink("/lib/systemd/system/systemd-networkd.service", NETWORKD_ENABLED)  # what systemctl enable does
    converge(NODE)
    with open(NETWORKD_FILE) as handle:
        text = handle.read()
    assert "\n[Match]\nName=v-net-0 veth-* vh-*\n\n[Link]\nUnmanaged=yes\n" in text, text
    assert not os.path.exists(NM_FILE)
    converge(dict(NODE, state="absent"))
    assert not os.path.exists(NETWORKD_FILE)
    record("managers", "systemd-networkd, node_network", file=NETWORKD_FILE, devices="v-net-0 veth-* vh-*",
           read_back_by="the file's [Match] and [Link] sections", removed_on_absent=1)


def test_none_writes_nothing_and_removes_nothing(networkmanager):
    wan_uplink(networkmanager)
    converge(dict(NODE, network_managers="none"))
    assert not os.path.exists(NM_FILE)
    converge(NODE)
    converge(dict(NODE, network_managers="none"))
    assert os.path.exists(NM_FILE)
