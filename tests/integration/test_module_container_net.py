"""netplumb.linux.container_net through ansible-playbook: the module contract."""

from netplumb_testlib import assert_clean_failure, descriptions

BRIDGE = "v-net-0"


def bridge(box):
    box.ip("link", "add", BRIDGE, "type", "bridge")
    box.ip("addr", "add", "198.51.100.1/24", "dev", BRIDGE)
    box.ip("link", "set", BRIDGE, "up")
    # A foreign port keeps the bridge's carrier steady, so snapshots compare.
    box.ip("link", "add", "fa", "up", "master", BRIDGE, "type", "veth", "peer", "name", "fb")
    box.ip("link", "set", "fb", "up")


def task(containers, **extra):
    args = dict({"bridge": BRIDGE, "gateway": "198.51.100.1", "containers": containers}, **extra)
    return [{"name": "containers", "netplumb.linux.container_net": args}]


CONTAINERS = [{"name": "c1", "address": "198.51.100.11/24"},
              {"name": "c2", "address": "198.51.100.12/24", "mtu": 1400,
               "routes": [{"dst": "203.0.113.0/24", "gateway": "198.51.100.1"}]}]


def test_check_real_idempotent_and_diff(sandbox):
    bridge(sandbox)
    before = sandbox.settled_snapshot()
    check = sandbox.playbook(task(CONTAINERS), check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check
    assert sandbox.settled_snapshot() == before, "check mode changed the node"
    diff = check.results[0]["diff"]
    assert diff["before"] == {"c1": {"state": "absent"}, "c2": {"state": "absent"}}
    assert diff["after"]["c2"] == {"state": "present", "host_end": "veth-c2", "master": BRIDGE, "mtu": 1400,
                                   "addresses": ["198.51.100.12/24"], "up": True,
                                   "routes": ["203.0.113.0/24 via 198.51.100.1", "default via 198.51.100.1"]}

    real = sandbox.playbook(task(CONTAINERS), diff=True)
    assert real.rc == 0 and real.changed == 1, real
    assert descriptions(real.results[0]) == descriptions(check.results[0])
    assert real.results[0]["diff"] == diff
    assert sandbox.ping("198.51.100.12", netns="c1") and sandbox.ping("198.51.100.11")

    again = sandbox.playbook(task(CONTAINERS), diff=True)
    assert again.rc == 0 and again.changed == 0, again
    assert again.results[0]["operations"] == []
    # Only the containers that change are shown; the summary counts them all.
    assert again.results[0]["diff"] == {"before": {}, "after": {}}
    assert again.results[0]["summary"] == {"created": 0, "changed": 0, "removed": 0, "unchanged": 2, "total": 2,
                                           "operations": 0}
    assert real.results[0]["summary"] == {"created": 2, "changed": 0, "removed": 0, "unchanged": 0, "total": 2,
                                          "operations": 2}

    settled = sandbox.settled_snapshot()
    check_again = sandbox.playbook(task(CONTAINERS), check=True)
    assert check_again.rc == 0 and check_again.changed == 0, check_again
    assert sandbox.settled_snapshot() == settled


def test_bad_input_fails_naming_index_and_field(sandbox):
    bridge(sandbox)
    before = sandbox.settled_snapshot()
    containers = CONTAINERS + [{"name": "c3", "address": "198.51.100.13/24"},
                               {"name": "c4", "address": "198.51.100.400/24"}]
    run = sandbox.playbook(task(containers))
    assert_clean_failure(run, "containers[3].address", before, sandbox.settled_snapshot())


def test_refused_step_is_rolled_back(sandbox):
    bridge(sandbox)
    before = sandbox.settled_snapshot()
    # The gateway is the subnet's broadcast address: the kernel refuses the route.
    containers = CONTAINERS + [{"name": "c3", "address": "198.51.100.13/24",
                                "routes": [{"dst": "192.0.2.0/24", "gateway": "198.51.100.255"}]}]
    run = sandbox.playbook(task(containers))
    assert run.rc != 0, run
    result = run.failed[0]
    assert result["failed_operation"]["op"] == "container_add", result
    assert result["rolled_back"] and not result["rollback_errors"], result
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.settled_snapshot() == before
