"""site.yml through ansible-runner, the unit AWX / Automation Controller runs
on an execution node, against the lab (two nodes and a wan reached over SSH,
built by the lab role inside the test's sandbox).

The collection comes from an execution environment's collections path:
``ansible-galaxy collection build`` of this checkout, then ``ansible-galaxy
collection install --offline --no-deps`` into ``<ee>/usr/share/ansible/collections``
(where ansible-builder's Containerfile puts it in the image); ansible.posix and
the other dependencies are the ``ansible`` package's in the virtualenv. Each
job gets a private data dir as AWX writes one: ``env/envvars`` (the runner's
ANSIBLE_COLLECTIONS_PATH names the EE's path, never the checkout),
``env/settings`` (a job timeout), ``inventory/`` (the job's inventory) and an
empty ``project/`` (the playbook runs by name, netplumb.linux.site, from the
collection). ``ansible-runner run`` runs with process isolation off (no
container runtime on this machine). docs/fleet.md shows the same commands.

- One job over the lab, twice: the first is ``successful`` with rc 0, both
  nodes ok and changed, nothing failed or unreachable; the second changes
  nothing. Every task event's ``task_path`` and the playbook lie in the EE's
  copy of the collection, and ``ansible-galaxy collection list`` with the
  runner's environment finds netplumb.linux there and only there.
- Job slicing (AWX's job_slice_count 2): two jobs at once, each with the
  inventory AWX gives a slice (the hosts sorted by name, every second one,
  the groups' and the inventory's variables but only the slice's hosts). A
  slice knows no peer outside it, so without more a node gets no route to the
  other slice's container subnets; with the fleet's routes in a group variable
  (bridge_network_peer_routes, as docs/fleet.md shows) the slices build what
  one job over the whole fleet builds, which then changes nothing.

The lab goes down through teardown.yml; the lab_dir fixture kills whatever
is left when a test fails."""

import copy
import glob
import json
import os
import subprocess
import sysconfig
import time

import pytest
import yaml

from lab_fixtures import TEARDOWN, in_node, lab_processes, recorded, relays, run_lab, wait_gone
from netplumb_testlib import ROOT, VENV_BIN

SITE = "netplumb.linux.site"
# requirements-dev.txt's ansible-runner; the ansible-playbook it runs is the
# one of the virtualenv that runs the tests (each of make matrix's).
RUNNER = os.path.join(ROOT, ".venv", "bin", "ansible-runner")
NODES = ["node1", "node2"]
# ansible-runner ends a job (status "timeout") after this long; the wait for
# its process ends a little later in any case.
JOB_TIMEOUT = 1200
GALAXY_TIMEOUT = 120
# What every slice's inventory carries for the fleet (docs/fleet.md): each
# node's container subnets and node address, and each node's peer routes
# taken from that list rather than from peers' hostvars a slice does not have.
PEER_ROUTES = ("{{ netplumb_fleet_routes | rejectattr('gateway', 'in', "
               "[bridge_network_node_address, bridge_network_node_address6]) | list }}")


def galaxy(*args, env=None):
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy")] + list(args), capture_output=True,
                          text=True, timeout=GALAXY_TIMEOUT, env=env, check=False)
    assert proc.returncode == 0, "ansible-galaxy %s: %s%s" % (args[:2], proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout


@pytest.fixture(scope="module")
def ee_collections(tmp_path_factory):
    """This checkout built into a tarball and installed, offline and without
    dependencies, into an EE's collections path; that path."""
    work = str(tmp_path_factory.mktemp("ee"))
    dist, path = os.path.join(work, "dist"), os.path.join(work, "usr", "share", "ansible", "collections")
    galaxy("collection", "build", "--output-path", dist, ROOT)
    (tarball,) = glob.glob(os.path.join(dist, "netplumb-linux-*.tar.gz"))
    galaxy("collection", "install", "--offline", "--no-deps", "-p", path, tarball,
           env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=path, ANSIBLE_NOCOLOR="1"))
    assert os.path.isfile(os.path.join(path, "ansible_collections", "netplumb", "linux", "MANIFEST.json"))
    return path


def runner_env(work, collections):
    """env/envvars of every job: the EE's collections path first, then the
    ``ansible`` package's collections (ansible.posix ...) the image holds
    beside it; ansible-playbook of this virtualenv stands for the image's."""
    return {
        "ANSIBLE_COLLECTIONS_PATH": ":".join([collections, sysconfig.get_paths()["purelib"]]),
        "PATH": ":".join([VENV_BIN, os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")]),
        "ANSIBLE_LOCAL_TEMP": os.path.join(work, "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    }


def private_data_dir(path, envvars, inventory):
    """ansible-runner's input, laid out as AWX lays it out for a job."""
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(path, sub))
    with open(os.path.join(path, "env", "envvars"), "w") as handle:
        yaml.safe_dump(envvars, handle)
    with open(os.path.join(path, "env", "settings"), "w") as handle:
        yaml.safe_dump({"job_timeout": JOB_TIMEOUT}, handle)
    with open(os.path.join(path, "inventory", "hosts.yml"), "w") as handle:
        yaml.safe_dump(inventory, handle)
    return path


def lab_inventory(lab_dir):
    with open(os.path.join(lab_dir, "inventory.yml")) as handle:
        return yaml.safe_load(handle)


def awx_slice(inventory, number, count):
    """The inventory AWX gives slice ``number`` of ``count`` (Inventory.get_script_data):
    the hosts sorted by name, every ``count``-th from the ``number``-th; the
    groups and their variables stay, with only the slice's hosts."""
    groups = inventory["all"]["children"]
    hosts = sorted(host for group in groups.values() for host in group.get("hosts") or {})
    kept = set(hosts[number - 1::count])
    sliced = copy.deepcopy(inventory)
    for group in sliced["all"]["children"].values():
        group["hosts"] = {name: hostvars for name, hostvars in (group.get("hosts") or {}).items() if name in kept}
    return sliced


def fleet_routes(inventory):
    """Every lab node's container subnets and node address, as a fleet's
    source of truth lists them: the subnets playbooks/group_vars/lab_nodes.yml
    derives from lab_node_index, the node's uplink addresses."""
    routes = []
    for hostvars in inventory["all"]["children"]["lab_nodes"]["hosts"].values():
        index = int(hostvars["lab_node_index"])
        routes.append({"dst": "198.51.100.%d/27" % ((index - 1) * 32),
                       "gateway": hostvars["lab_uplink_address"].split("/")[0]})
        if hostvars.get("lab_uplink_address6"):
            routes.append({"dst": "2001:db8:%x::/64" % index, "gateway": hostvars["lab_uplink_address6"].split("/")[0]})
    return routes


class RunnerJob:
    """One ``ansible-runner run`` of site.yml, started now; ``wait()`` reads its artifacts."""

    def __init__(self, pdd, ident):
        self.pdd, self.ident, self.started = pdd, ident, time.monotonic()
        argv = [RUNNER, "run", pdd, "-p", SITE, "--ident", ident]
        # pylint: disable-next=consider-using-with
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.status = self.rc = self.stdout = None
        self.cli_out = self.cli_err = ""
        self.events, self.stats = [], {}

    def wait(self):
        try:
            self.cli_out, self.cli_err = self.proc.communicate(
                timeout=max(1, JOB_TIMEOUT + 60 - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate(timeout=30)
            raise
        artifacts = os.path.join(self.pdd, "artifacts", self.ident)
        self.status = self._read(artifacts, "status")
        self.rc = self._read(artifacts, "rc")
        self.stdout = self._read(artifacts, "stdout")
        for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
            with open(path) as handle:
                self.events.append(json.load(handle))
        self.events.sort(key=lambda event: event["counter"])
        stats = [event["event_data"] for event in self.events if event["event"] == "playbook_on_stats"]
        self.stats = stats[-1] if stats else {}
        return self

    @staticmethod
    def _read(artifacts, name):
        try:
            with open(os.path.join(artifacts, name)) as handle:
                return handle.read().strip()
        except OSError:
            return None

    def stat(self, key, host):
        return (self.stats.get(key) or {}).get(host, 0)

    def successful(self, hosts):
        """successful, rc 0, every one of ``hosts`` ok, none failed or unreachable."""
        return (self.status == "successful" and self.rc == "0" and self.proc.returncode == 0
                and sorted(self.stats.get("processed") or {}) == sorted(hosts)
                and all(self.stat("ok", host) > 0 for host in hosts)
                and not self.stats.get("failures") and not self.stats.get("dark"))

    def changed(self):
        return sum((self.stats.get("changed") or {}).values())

    def task_paths(self):
        return {event["event_data"]["task_path"].rsplit(":", 1)[0] for event in self.events
                if event["event"].startswith("runner_on_") and event["event_data"].get("task_path")}

    def __repr__(self):
        return "RunnerJob(%s: status=%s, rc=%s, cli rc=%s, stats=%s)\n%s\n%s" % (
            self.ident, self.status, self.rc, self.proc.returncode, self.stats,
            (self.stdout or self.cli_out)[-4000:], self.cli_err[-2000:])


def run_jobs(*jobs):
    """Start the jobs ((private data dir, ident) each) at once, as AWX's slices run; wait for all."""
    started = [RunnerJob(pdd, ident) for pdd, ident in jobs]
    return [job.wait() for job in started]


def peer_routes_found(pids, inventory, routes):
    """{(node, dst, gateway): what ``ip route show <dst>`` prints in the node} for
    every route of ``routes`` whose gateway is not the node's own address."""
    found = {}
    for node in NODES:
        hostvars = inventory["all"]["children"]["lab_nodes"]["hosts"][node]
        own = {hostvars[name].split("/")[0] for name in ("lab_uplink_address", "lab_uplink_address6")
               if hostvars.get(name)}
        for route in routes:
            if route["gateway"] not in own:
                shown = in_node(pids[node], "ip", "-6" if ":" in route["dst"] else "-4", "route", "show", route["dst"])
                assert shown.returncode == 0, shown.stderr
                found[(node, route["dst"], route["gateway"])] = shown.stdout.strip()
    return found


def lab_down(lab_dir, pids):
    down = run_lab(lab_dir, TEARDOWN)
    assert down.rc == 0, down
    assert wait_gone(pids.values()), pids
    assert lab_processes(lab_dir) == []
    assert not relays(lab_dir), "ssh masters or relays of the lab outlived its teardown"


def test_site_through_ansible_runner_from_the_ee_collections_path(sandbox, lab_dir, ee_collections, tmp_path):  # noqa: F811 pylint: disable=unused-argument
    installed = os.path.join(ee_collections, "ansible_collections", "netplumb", "linux")
    assert run_lab(lab_dir).rc == 0
    pids = recorded(lab_dir)
    envvars = runner_env(str(tmp_path), ee_collections)
    pdd = private_data_dir(str(tmp_path / "runner"), envvars, lab_inventory(lab_dir))

    # With the runner's environment, netplumb.linux is the EE's copy and no other.
    listed = galaxy("collection", "list", "netplumb.linux", env=dict(os.environ, **envvars))
    paths = [line[2:] for line in listed.splitlines() if line.startswith("# ")]
    assert paths == [os.path.join(ee_collections, "ansible_collections")], listed

    (first,) = run_jobs((pdd, "first"))
    assert first.successful(NODES), first
    assert all(first.stat("changed", node) > 0 for node in NODES), first
    # netplumb.linux.site resolved to the EE's playbooks/site.yml, and the
    # roles' tasks ran from the EE's copy of the collection, none from the checkout.
    start = [event["event_data"]["playbook"] for event in first.events if event["event"] == "playbook_on_start"]
    assert start == [os.path.join(installed, "playbooks", "site.yml")], start
    task_paths = first.task_paths()
    assert any("/roles/bridge_network/" in path for path in task_paths), task_paths
    assert any("/roles/cni/" in path for path in task_paths), task_paths
    assert all(path.startswith(installed + os.sep) for path in task_paths), task_paths

    (second,) = run_jobs((pdd, "second"))
    assert second.successful(NODES), second
    assert second.changed() == 0, second
    assert all(path.startswith(installed + os.sep) for path in second.task_paths())

    lab_down(lab_dir, pids)


def test_job_slices_need_the_fleets_routes_in_group_vars(sandbox, lab_dir, ee_collections, tmp_path):  # noqa: F811 pylint: disable=unused-argument
    assert run_lab(lab_dir).rc == 0
    pids = recorded(lab_dir)
    envvars = runner_env(str(tmp_path), ee_collections)
    inventory = lab_inventory(lab_dir)
    routes = fleet_routes(inventory)
    assert len(routes) in (2, 4), routes
    with_routes = copy.deepcopy(inventory)
    with_routes["all"]["children"]["lab_nodes"]["vars"] = {"netplumb_fleet_routes": routes,
                                                           "bridge_network_peer_routes": PEER_ROUTES}
    # Sorted by name: node1, node2, wan; slice 1 gets node1 (and the wan, which site.yml does not target).
    slices = {1: ["node1"], 2: ["node2"]}
    assert [sorted(host for group in awx_slice(inventory, n, 2)["all"]["children"].values() for host in group["hosts"])
            for n in slices] == [["node1", "wan"], ["node2"]]

    # Each slice knows only its own nodes: no route to the other slice's containers.
    jobs = run_jobs(*[(private_data_dir(str(tmp_path / ("plain%d" % n)), envvars, awx_slice(inventory, n, 2)),
                       "slice%dof2" % n) for n in slices])
    for job, hosts in zip(jobs, slices.values()):
        assert job.successful(hosts), job
    found = peer_routes_found(pids, inventory, routes)
    assert len(found) == len(routes) and set(found.values()) == {""}, found

    # With the fleet's routes in the group's variables, every slice routes to every peer.
    jobs = run_jobs(*[(private_data_dir(str(tmp_path / ("fleet%d" % n)), envvars, awx_slice(with_routes, n, 2)),
                       "slice%dof2" % n) for n in slices])
    for job, hosts in zip(jobs, slices.values()):
        assert job.successful(hosts) and job.changed() > 0, job
    found = peer_routes_found(pids, inventory, routes)
    assert all("via %s " % gateway in shown + " " for (_node, _dst, gateway), shown in found.items()), found

    # One job over the whole inventory (peers from hostvars) finds nothing to change.
    (whole,) = run_jobs((private_data_dir(str(tmp_path / "whole"), envvars, inventory), "whole"))
    assert whole.successful(NODES) and whole.changed() == 0, whole

    lab_down(lab_dir, pids)
