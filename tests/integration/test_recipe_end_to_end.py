"""The recipe's scenarios 1-4 (demo/recipe.yml, the playbook that make demo
runs), proven with real traffic."""

import os

from nat_traffic import ask, whoami_server
from netplumb_testlib import ROOT, run_playbook_file

RECIPE = os.path.join(ROOT, "demo", "recipe.yml")


def test_recipe_converges_pings_and_is_idempotent(sandbox):
    before = sandbox.snapshot()
    check = run_playbook_file(RECIPE, check=True)
    assert check.rc == 0, check
    assert check.changed > 0
    assert sandbox.snapshot() == before, "check mode changed the node"

    first = run_playbook_file(RECIPE)
    assert first.rc == 0, first
    assert sandbox.netns_list() == ["blue", "c1", "c2", "red", "wan"]

    # Scenario 1: red <-> blue over one veth pair.
    assert sandbox.ping("192.0.2.2", netns="red")
    assert sandbox.ping("192.0.2.1", netns="blue")
    # Scenario 2: containers on v-net-0 reach each other.
    assert sandbox.link("veth-c1")["master"] == "v-net-0"
    assert sandbox.ping("198.51.100.12", netns="c1")
    # Scenario 3: the host reaches a container through the bridge address.
    assert sandbox.ping("198.51.100.11")
    # Scenario 4 (routes): c1 leaves through the bridge; the node's uplink
    # address is off-link for c1, so only the default route gets it there.
    assert sandbox.ping("203.0.113.1", netns="c1")
    default = [r for r in sandbox.routes("c1") if r["dst"] == "default"]
    assert [(r["gateway"], r["dev"]) for r in default] == [("198.51.100.1", "eth0")]
    # Scenario 4 (NAT): the wan has no route to the containers; it sees the
    # node's uplink address, and the node's port 80 reaches c1's server.
    with whoami_server("wan", 7000):
        assert ask("c1", "203.0.113.2", 7000) == "203.0.113.1"
    with whoami_server("c1", 8080):
        assert ask("wan", "203.0.113.1", 80) == "203.0.113.2"
    with open("/etc/sysctl.d/60-netplumb.conf") as handle:
        assert "net.ipv4.ip_forward=1" in handle.read().replace(" ", "")

    second = run_playbook_file(RECIPE)
    assert second.rc == 0 and second.changed == 0, second
    settled = sandbox.snapshot()
    check_again = run_playbook_file(RECIPE, check=True)
    assert check_again.rc == 0 and check_again.changed == 0, check_again
    assert sandbox.snapshot() == settled


def test_default_route_is_what_makes_the_uplink_reachable(sandbox):
    assert run_playbook_file(RECIPE).rc == 0
    sandbox.ip("route", "del", "default", netns="c1")
    assert not sandbox.ping("203.0.113.1", netns="c1")
    rerun = run_playbook_file(RECIPE)
    assert rerun.changed == 1, rerun
    assert sandbox.ping("203.0.113.1", netns="c1")
