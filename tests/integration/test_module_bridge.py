"""Module contract of netplumb.linux.bridge, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). Wrong states are prepared with ``ip``; after every run the kernel's own
view (``ip -d -j link``, ``ip -j addr``) is checked, never only what the module
reports.
"""


import pytest

from netplumb_testlib import assert_clean_failure, descriptions

MODULE = "netplumb.linux.bridge"

# Scenarios 2 and 3: the containers' bridge with the gateway address.
HOST_BRIDGE = {"name": "v-net-0", "addresses": ["198.51.100.1/24", "2001:db8:1::1/64"]}
NETNS_BRIDGE = {"name": "br-lab", "netns": "lab", "stp": True, "mtu": 9000}
CASES = {"host": HOST_BRIDGE, "netns": NETNS_BRIDGE}


# -- helpers ---------------------------------------------------------------------------------


def task(**params):
    return {MODULE: params}


def info_data(link):
    return link["linkinfo"]["info_data"]


def assert_bridge(sandbox, spec):
    """The kernel shows the bridge exactly as ``spec`` asks."""
    netns = spec.get("netns")
    link = sandbox.link(spec["name"], netns=netns)
    assert link is not None, spec
    assert link["linkinfo"]["info_kind"] == "bridge"
    assert "UP" in link["flags"], link
    if spec.get("addresses") is not None:
        assert sandbox.addresses(spec["name"], netns) == sorted(spec["addresses"])
    if spec.get("mtu") is not None:
        assert link["mtu"] == spec["mtu"]
    if spec.get("stp") is not None:
        assert bool(info_data(link)["stp_state"]) == spec["stp"]
    if spec.get("vlan_filtering") is not None:
        assert bool(info_data(link)["vlan_filtering"]) == spec["vlan_filtering"]
    return link


# -- 1. changed on first run, kernel shows it ---------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_create(sandbox, case):
    spec = CASES[case]
    if spec.get("netns"):
        sandbox.ip("netns", "add", spec["netns"])
    run = sandbox.playbook([task(**spec)])
    assert run.rc == 0, run
    result = run.results[0]
    assert result["changed"] is True
    assert result["operations"][0]["op"] == "link_add"
    assert_bridge(sandbox, spec)
    if case == "netns":
        assert sandbox.link("br-lab") is None  # in lab only, not on the node
    else:
        assert not info_data(sandbox.link("v-net-0"))["stp_state"]  # a new bridge has STP off


def test_host_reaches_a_port_through_the_bridge_address(sandbox):
    """Scenario 3: with the bridge address, the node talks to a container."""
    sandbox.ip("netns", "add", "c1")
    sandbox.ip("link", "add", "eth0", "netns", "c1", "type", "veth", "peer", "name", "veth-c1")
    sandbox.ip("addr", "add", "198.51.100.11/24", "dev", "eth0", netns="c1")
    sandbox.ip("link", "set", "eth0", "up", netns="c1")
    run = sandbox.playbook([task(**HOST_BRIDGE)])
    assert run.rc == 0, run
    sandbox.ip("link", "set", "veth-c1", "master", "v-net-0", "up")
    assert sandbox.ping("198.51.100.11", count=3)


# -- 2. not changed on a second identical run ---------------------------------------------


def test_second_run_not_changed(sandbox):
    sandbox.ip("netns", "add", "lab")
    specs = [CASES[case] for case in sorted(CASES)]
    run = sandbox.playbook([task(**spec) for spec in specs] * 2)
    assert run.rc == 0, run
    assert [r["changed"] for r in run.results] == [True, True, False, False]
    assert all(r["operations"] == [] for r in run.results[2:])
    for spec in specs:
        assert_bridge(sandbox, spec)


# -- 3. check mode --------------------------------------------------------------------------


def test_check_mode_on_fresh_node_predicts_and_changes_nothing(sandbox):
    """lab is made by the play's first task: check mode must not fail on it,
    but warn and predict what the real run then does."""
    tasks = [{"netplumb.linux.netns": {"name": "lab"}}, task(**NETNS_BRIDGE), task(**HOST_BRIDGE)]
    before = sandbox.snapshot()
    check = sandbox.playbook(tasks, check=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    assert [r["changed"] for r in check.results] == [True, True, True]
    assert any("lab" in warning for warning in check.results[1].get("warnings", [])), check.results[1]

    real = sandbox.playbook(tasks)
    assert real.rc == 0, real
    assert [descriptions(r) for r in real.results] == [descriptions(r) for r in check.results]
    assert_bridge(sandbox, NETNS_BRIDGE)
    assert_bridge(sandbox, HOST_BRIDGE)

    again = sandbox.playbook(tasks, check=True)
    assert again.rc == 0, again
    assert again.changed == 0
    assert all(r["operations"] == [] for r in again.results)


# -- 4. --diff --------------------------------------------------------------------------------


def test_diff_shows_before_and_after(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    sandbox.ip("link", "set", "br0", "up")
    run = sandbox.playbook([task(name="br0", addresses=["203.0.113.1/24"]),
                            task(name="br1", mtu=1400, stp=True)], diff=True)
    assert run.rc == 0, run
    changed, new = (r["diff"] for r in run.results)
    existing = {"state": "present", "name": "br0", "netns": None, "kind": "bridge", "mtu": 1500,
                "master": None, "addresses": ["198.51.100.1/24"], "up": True, "stp": False,
                "vlan_filtering": False}
    assert changed["before"] == existing
    assert changed["after"] == dict(existing, addresses=["203.0.113.1/24"])
    assert new["before"] == {"state": "absent"}
    assert new["after"] == dict(existing, name="br1", mtu=1400, addresses=[], stp=True)
    assert sandbox.addresses("br0") == ["203.0.113.1/24"]


# -- 5. converge from wrong states ------------------------------------------------------


WRONG = {
    # name: (ip commands that spoil an up bridge br0 with 198.51.100.1/24, the spec, the one
    # operation expected, None: any that converges)
    "down": ([("link", "set", "br0", "down")], {}, "set br0 up=on"),
    "wrong-mtu": ([("link", "set", "br0", "mtu", "1300")], {"mtu": 1400}, "set br0 mtu=1400"),
    "extra-address": ([("addr", "add", "203.0.113.9/24", "dev", "br0")], {},
                      "remove address 203.0.113.9/24 from br0"),
    "missing-address": ([("addr", "del", "198.51.100.1/24", "dev", "br0")], {},
                        "add address 198.51.100.1/24 to br0"),
    "stp-on": ([("link", "set", "br0", "type", "bridge", "stp_state", "1")], {"stp": False},
               "set br0 stp=off"),
    # the wanted address is a secondary of an unwanted primary in the same subnet: removing the
    # primary makes the kernel drop its secondaries too (promote_secondaries is off by default)
    "wanted-address-is-secondary": ([("addr", "flush", "dev", "br0"),
                                     ("addr", "add", "198.51.100.9/24", "dev", "br0"),
                                     ("addr", "add", "198.51.100.1/24", "dev", "br0")], {}, None),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_converges_from_wrong_state(sandbox, case):
    spoil, changes, expected = WRONG[case]
    spec = dict(name="br0", addresses=["198.51.100.1/24"], **changes)
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    sandbox.ip("link", "set", "br0", "up")
    for argv in spoil:
        sandbox.ip(*argv)
    before = sandbox.settled_snapshot()
    check = sandbox.playbook([task(**spec)], check=True)
    assert check.rc == 0, check
    assert check.results[0]["changed"] is True
    if expected:
        assert descriptions(check.results[0]) == [expected]
    assert sandbox.snapshot() == before

    run = sandbox.playbook([task(**spec), task(**spec)])
    assert run.rc == 0, run
    first, second = run.results
    assert descriptions(first) == descriptions(check.results[0])
    assert_bridge(sandbox, spec)
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert_bridge(sandbox, spec)


def test_names_match_exactly(sandbox):
    sandbox.ip("link", "add", "br01", "type", "bridge")
    sandbox.ip("link", "add", "xbr0", "type", "bridge")
    run = sandbox.playbook([task(name="br0", state="absent"), task(name="br0")])
    assert run.rc == 0, run
    absent, present = run.results
    assert absent["changed"] is False and absent["operations"] == []
    assert present["changed"] is True and present["operations"][0]["op"] == "link_add"
    names = sorted(link["ifname"] for link in sandbox.ipj("link", "show") if link["ifname"] != "lo")
    assert names == ["br0", "br01", "xbr0"]


# -- 6. absent ----------------------------------------------------------------------------


def test_absent_removes_bridge_and_releases_ports(sandbox):
    sandbox.ip("link", "add", "v-net-0", "type", "bridge")
    sandbox.ip("link", "add", "v-net-1", "type", "bridge")
    sandbox.ip("link", "add", "veth-c1", "master", "v-net-0", "type", "veth", "peer", "name", "veth-c1p")
    sandbox.ip("link", "add", "veth-c2", "master", "v-net-1", "type", "veth", "peer", "name", "veth-c2p")
    absent = task(name="v-net-0", state="absent")
    run = sandbox.playbook([absent, absent, task(name="v-net-0", netns="nosuch", state="absent")])
    assert run.rc == 0, run
    first, second, elsewhere = run.results
    assert first["changed"] is True and descriptions(first) == ["delete v-net-0"]
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert elsewhere["changed"] is False and elsewhere["operations"] == []
    assert sandbox.link("v-net-0") is None
    port = sandbox.link("veth-c1")
    assert port is not None and "master" not in port  # released, not deleted
    assert sandbox.link("v-net-1") is not None
    assert sandbox.link("veth-c2")["master"] == "v-net-1"


def test_absent_in_netns(sandbox):
    sandbox.ip("netns", "add", "lab")
    sandbox.ip("link", "add", "br0", "type", "bridge", netns="lab")
    sandbox.ip("link", "add", "br0", "type", "bridge")
    run = sandbox.playbook([task(name="br0", netns="lab", state="absent")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert sandbox.link("br0", netns="lab") is None
    assert sandbox.link("br0") is not None


# -- 7. bad input -------------------------------------------------------------------------------


BAD = [
    # (id, params, field, field set by the engine)
    ("name-16-chars", {"name": "bridge-012345678"}, "name", True),
    ("name-slash", {"name": "br/0"}, "name", True),
    ("name-space", {"name": "br 0"}, "name", True),
    ("name-semicolon", {"name": "br0;reboot"}, "name", True),
    ("name-dotdot", {"name": ".."}, "name", True),
    ("name-lo", {"name": "lo"}, "name", True),
    ("name-held-by-veth", {"name": "veth-c1"}, "name", True),
    ("address-no-prefix", {"name": "br0", "addresses": ["192.0.2.1"]}, "addresses[0]", True),
    ("address-octet-300", {"name": "br0", "addresses": ["192.0.2.300/24"]}, "addresses[0]", True),
    ("address-twice", {"name": "br0", "addresses": ["192.0.2.1/24", "192.0.2.1/25"]}, "addresses", True),
    ("mtu-10", {"name": "br0", "mtu": 10}, "mtu", True),
    ("mtu-70000", {"name": "br0", "mtu": 70000}, "mtu", True),
    ("netns-missing", {"name": "br0", "netns": "nosuch"}, "netns", True),
    ("netns-slash", {"name": "br0", "netns": "../lab"}, "netns", True),
    ("stp-not-bool", {"name": "br0", "stp": "maybe"}, "stp", False),
]


@pytest.mark.parametrize("params, field, engine_field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(sandbox, params, field, engine_field):
    sandbox.ip("netns", "add", "lab")
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    sandbox.ip("link", "add", "veth-c1", "type", "veth", "peer", "name", "veth-c1p")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(**params)])
    assert_clean_failure(run, field, before, sandbox.snapshot(), engine_field)


# -- 8. rollback ----------------------------------------------------------------------------------


def test_new_bridge_rolled_back_when_vlan_filtering_fails(sandbox):
    """This kernel has no bridge VLAN filtering: the bridge is created, then
    the kernel refuses; the bridge must be gone again."""
    sandbox.ip("netns", "add", "lab")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(name="br-vlan", netns="lab", vlan_filtering=True,
                                 addresses=["198.51.100.1/24"])])
    assert run.rc != 0, run
    result = run.failed[0]
    assert "vlan_filtering" in result["msg"] and "Operation not supported" in result["msg"]
    assert result["rolled_back"] == ["delete br-vlan (netns lab)"]
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.snapshot() == before
    assert sandbox.link("br-vlan", netns="lab") is None


def test_existing_bridge_restored_when_vlan_filtering_fails(sandbox):
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "br0")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(name="br0", mtu=1400, vlan_filtering=True)])
    assert run.rc != 0, run
    result = run.failed[0]
    assert result["rolled_back"] == ["set br0 mtu=1500"]
    assert sandbox.snapshot() == before
    assert sandbox.link("br0")["mtu"] == 1500
