"""Module contract of netplumb.linux.veth, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). Wrong states are prepared with ``ip``; after every run the kernel's own
view (``ip -d -j link``, ``ip -j addr``, ``ip netns list-id``) is checked,
never only what the module reports.
"""


import pytest

from netplumb_testlib import assert_clean_failure, descriptions

MODULE = "netplumb.linux.veth"

# Scenario 1 of the recipe: two namespaces joined by one cable.
PAIR = {"name": "veth-red", "netns": "red", "addresses": ["192.0.2.1/24"],
        "peer": "veth-blue", "peer_netns": "blue", "peer_addresses": ["192.0.2.2/24"]}
# Both ends in the node's own namespace, dual stack, own MTU.
HOST_PAIR = {"name": "veth-a", "addresses": ["192.0.2.1/24", "2001:db8::1/64"],
             "peer": "veth-b", "peer_addresses": ["192.0.2.2/24"], "mtu": 1400}
# Scenario 2: container c1 on bridge v-net-0, the host end enslaved.
PORT = {"name": "eth0", "netns": "c1", "addresses": ["198.51.100.11/24"],
        "peer": "veth-c1", "peer_master": "v-net-0"}
CASES = {"red-blue": PAIR, "host": HOST_PAIR, "bridge-port": PORT}


# -- helpers ---------------------------------------------------------------------------------


def task(**params):
    return {MODULE: params}


def prepare(sandbox, spec):
    """The namespaces (and bridges) ``spec`` needs, made with ip, all down."""
    for netns in sorted({spec.get("netns"), spec.get("peer_netns")} - {None}):
        if netns not in sandbox.netns_list():
            sandbox.ip("netns", "add", netns)
    for master in (spec.get("master"), spec.get("peer_master")):
        if master and sandbox.link(master) is None:
            sandbox.ip("link", "add", master, "type", "bridge")


def peer_of(sandbox, name, netns=None):
    """(name, netns) of the veth peer of ``name``, read from the kernel."""
    link = sandbox.link(name, netns=netns)
    if "link_netnsid" not in link:
        return link["link"], netns
    ids = {entry["nsid"]: entry.get("name") for entry in sandbox.ipj("netns", "list-id", netns=netns)}
    assert link["link_netnsid"] in ids, (link, ids)
    peer_netns = ids[link["link_netnsid"]]  # no name: the node's own (unnamed) namespace
    found = [other["ifname"] for other in sandbox.ipj("link", "show", netns=peer_netns)
             if other["ifindex"] == link["link_index"]]
    assert len(found) == 1, (link, found)
    return found[0], peer_netns


def where(sandbox, name):
    """Every namespace (None: the node's own) holding a link called ``name``."""
    return [netns for netns in [None] + sandbox.netns_list() if sandbox.link(name, netns=netns)]


def assert_veth(sandbox, spec):
    """The kernel shows the pair exactly as ``spec`` asks, and only once."""
    name, netns, peer, peer_netns = spec["name"], spec.get("netns"), spec["peer"], spec.get("peer_netns")
    assert where(sandbox, name) == [netns]
    assert where(sandbox, peer) == [peer_netns]
    for me, my_netns, other, other_netns, prefix in ((name, netns, peer, peer_netns, ""),
                                                     (peer, peer_netns, name, netns, "peer_")):
        link = sandbox.link(me, netns=my_netns)
        assert link["linkinfo"]["info_kind"] == "veth"
        assert "UP" in link["flags"], link
        assert peer_of(sandbox, me, my_netns) == (other, other_netns)
        if spec.get(prefix + "addresses") is not None:
            assert sandbox.addresses(me, my_netns) == sorted(spec[prefix + "addresses"])
        if spec.get(prefix + "master") is not None:
            assert link.get("master") == spec[prefix + "master"]
        if spec.get("mtu") is not None:
            assert link["mtu"] == spec["mtu"]


# -- 1. changed on first run, kernel shows it ---------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_create(sandbox, case):
    spec = CASES[case]
    prepare(sandbox, spec)
    run = sandbox.playbook([task(**spec)])
    assert run.rc == 0, run
    result = run.results[0]
    assert result["changed"] is True
    assert result["operations"][0]["op"] == "link_add"
    assert_veth(sandbox, spec)
    if case == "red-blue":
        assert sandbox.ping("192.0.2.2", netns="red")
    if case == "host":
        assert sandbox.link("veth-b")["mtu"] == 1400 and sandbox.addresses("veth-b") == ["192.0.2.2/24"]


# -- 2. not changed on a second identical run ---------------------------------------------


def test_second_run_not_changed(sandbox):
    specs = [CASES[case] for case in sorted(CASES)]
    for spec in specs:
        prepare(sandbox, spec)
    run = sandbox.playbook([task(**spec) for spec in specs] * 2)
    assert run.rc == 0, run
    assert [r["changed"] for r in run.results] == [True] * 3 + [False] * 3
    assert all(r["operations"] == [] for r in run.results[3:])
    for spec in specs:
        assert_veth(sandbox, spec)


# -- 3. check mode --------------------------------------------------------------------------


def test_check_mode_on_fresh_node_predicts_and_changes_nothing(sandbox):
    """red and blue are made by the play's own first tasks: check mode must
    not fail on them, but warn and predict what the real run then does."""
    tasks = [{"netplumb.linux.netns": {"name": "red"}}, {"netplumb.linux.netns": {"name": "blue"}},
             task(**PAIR)]
    before = sandbox.snapshot()
    check = sandbox.playbook(tasks, check=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    predicted = check.results[2]
    assert predicted["changed"] is True
    assert any("red" in warning for warning in predicted.get("warnings", [])), predicted

    real = sandbox.playbook(tasks)
    assert real.rc == 0, real
    assert descriptions(real.results[2]) == descriptions(predicted)
    assert_veth(sandbox, PAIR)

    again = sandbox.playbook(tasks, check=True)
    assert again.rc == 0, again
    assert again.changed == 0
    assert all(r["operations"] == [] for r in again.results)


def test_check_mode_with_master_bridge_made_by_earlier_task(sandbox):
    tasks = [{"netplumb.linux.netns": {"name": "c1"}},
             {"netplumb.linux.bridge": {"name": "v-net-0", "addresses": ["198.51.100.1/24"]}},
             task(**PORT)]
    before = sandbox.snapshot()
    check = sandbox.playbook(tasks, check=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    predicted = check.results[2]
    assert predicted["changed"] is True
    assert any("v-net-0" in warning for warning in predicted.get("warnings", [])), predicted

    real = sandbox.playbook(tasks)
    assert real.rc == 0, real
    assert [descriptions(r) for r in real.results] == [descriptions(r) for r in check.results]
    assert_veth(sandbox, PORT)
    assert sandbox.ping("198.51.100.11")


# -- 4. --diff --------------------------------------------------------------------------------


def test_diff_shows_before_and_after(sandbox):
    prepare(sandbox, PAIR)
    moved = {**PAIR, "addresses": ["192.0.2.11/24"]}
    run = sandbox.playbook([task(**PAIR), task(**moved)], diff=True)
    assert run.rc == 0, run
    new, changed = (r["diff"] for r in run.results)
    end = {"name": "veth-red", "netns": "red", "kind": "veth", "mtu": 1500, "master": None,
           "addresses": ["192.0.2.1/24"], "up": True}
    peer = dict(end, name="veth-blue", netns="blue", addresses=["192.0.2.2/24"])
    assert new["before"] == {"state": "absent"}
    assert new["after"] == {"state": "present", "end": end, "peer": peer}
    assert changed["before"] == {"state": "present", "end": end, "peer": peer}
    assert changed["after"] == {"state": "present", "end": dict(end, addresses=["192.0.2.11/24"]),
                                "peer": peer}
    assert sandbox.addresses("veth-red", "red") == ["192.0.2.11/24"]


# -- 5. converge from wrong states ------------------------------------------------------


def _end_in_wrong_netns(sandbox):
    sandbox.ip("link", "add", "veth-red", "type", "veth", "peer", "name", "veth-blue", "netns", "blue")


def _ends_swapped(sandbox):
    sandbox.ip("link", "add", "veth-red", "netns", "blue", "type", "veth", "peer", "name", "veth-blue",
               "netns", "red")


def _wrong_peer_name(sandbox):
    sandbox.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "veth-x",
               "netns", "blue")


def _pair_in_place(sandbox):
    sandbox.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "veth-blue",
               "netns", "blue")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "veth-red", netns="red")
    sandbox.ip("addr", "add", "192.0.2.2/24", "dev", "veth-blue", netns="blue")


def _extra_address(sandbox):
    _pair_in_place(sandbox)
    sandbox.ip("addr", "add", "203.0.113.9/24", "dev", "veth-red", netns="red")


def _wanted_address_is_secondary(sandbox):
    """192.0.2.1/24 sits behind an unwanted primary of the same subnet; deleting
    that primary makes the kernel drop 192.0.2.1/24 too (promote_secondaries off)."""
    sandbox.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "veth-blue",
               "netns", "blue")
    sandbox.ip("addr", "add", "192.0.2.9/24", "dev", "veth-red", netns="red")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "veth-red", netns="red")
    sandbox.ip("addr", "add", "192.0.2.2/24", "dev", "veth-blue", netns="blue")


def _port_on_wrong_master(sandbox):
    sandbox.ip("link", "add", "br-old", "type", "bridge")
    sandbox.ip("link", "add", "eth0", "netns", "c1", "type", "veth", "peer", "name", "veth-c1")
    sandbox.ip("addr", "add", "198.51.100.11/24", "dev", "eth0", netns="c1")
    sandbox.ip("link", "set", "veth-c1", "master", "br-old")


WRONG = {
    # name: (spec, how to spoil the kernel, the kinds of operation that fix it; None: any)
    "end-in-wrong-netns": (PAIR, _end_in_wrong_netns, {"link_move", "addr_add", "link_set"}),
    "ends-swapped": (PAIR, _ends_swapped, {"link_move", "addr_add", "link_set"}),
    "wrong-peer-name": (PAIR, _wrong_peer_name, {"link_del", "link_add", "addr_add", "link_set"}),
    "extra-address": (PAIR, _extra_address, {"addr_del", "link_set"}),
    "wanted-address-is-secondary": (PAIR, _wanted_address_is_secondary, None),
    "link-down": (PAIR, _pair_in_place, {"link_set"}),
    "wrong-mtu": ({**PAIR, "mtu": 1400}, _pair_in_place, {"link_set"}),
    "wrong-master": (PORT, _port_on_wrong_master, {"link_set"}),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_converges_from_wrong_state(sandbox, case):
    spec, spoil, expected_ops = WRONG[case]
    prepare(sandbox, spec)
    spoil(sandbox)
    before = sandbox.snapshot()
    check = sandbox.playbook([task(**spec)], check=True)
    assert check.rc == 0, check
    assert check.results[0]["changed"] is True
    assert sandbox.snapshot() == before

    run = sandbox.playbook([task(**spec), task(**spec)])
    assert run.rc == 0, run
    first, second = run.results
    assert first["changed"] is True
    assert descriptions(first) == descriptions(check.results[0])
    if expected_ops is not None:
        assert {op["op"] for op in first["operations"]} == expected_ops
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert_veth(sandbox, spec)
    if case == "wrong-peer-name":
        assert where(sandbox, "veth-x") == []
    if case == "extra-address":
        assert "203.0.113.9/24" not in sandbox.addresses("veth-red", "red")
    if case in ("link-down", "wanted-address-is-secondary"):
        assert sandbox.ping("192.0.2.1", netns="blue")
    if case == "wrong-master":
        assert sandbox.link("br-old") is not None  # the old bridge itself is left alone
    if case in ("link-down", "end-in-wrong-netns", "ends-swapped"):
        assert sandbox.ping("192.0.2.2", netns="red")


def test_addresses_omitted_are_not_managed(sandbox):
    prepare(sandbox, PAIR)
    _extra_address(sandbox)
    unmanaged = {k: v for k, v in PAIR.items() if k not in ("addresses", "peer_addresses")}
    run = sandbox.playbook([task(**unmanaged), task(**{**PAIR, "addresses": []})])
    assert run.rc == 0, run
    # first run: only the ends are brought up, the addresses stay
    assert {op["op"] for op in run.results[0]["operations"]} == {"link_set"}
    # an empty list removes them all
    assert sandbox.addresses("veth-red", "red") == []
    assert sandbox.addresses("veth-blue", "blue") == ["192.0.2.2/24"]


# -- 6. absent ----------------------------------------------------------------------------


def test_absent_removes_pair_and_leaves_others(sandbox):
    prepare(sandbox, PAIR)
    _pair_in_place(sandbox)
    sandbox.ip("link", "add", "veth-red2", "netns", "red", "type", "veth", "peer", "name", "veth-blue2",
               "netns", "blue")
    sandbox.ip("link", "add", "br0", "type", "bridge")
    absent = task(name="veth-red", netns="red", state="absent")
    run = sandbox.playbook([absent, absent, task(name="veth-red", netns="nosuch", state="absent")])
    assert run.rc == 0, run
    first, second, elsewhere = run.results
    assert first["changed"] is True and [op["op"] for op in first["operations"]] == ["link_del"]
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert elsewhere["changed"] is False and elsewhere["operations"] == []
    assert where(sandbox, "veth-red") == [] and where(sandbox, "veth-blue") == []
    assert peer_of(sandbox, "veth-red2", "red") == ("veth-blue2", "blue")
    assert sandbox.link("br0") is not None
    assert sandbox.netns_list() == ["blue", "red"]


def test_absent_also_removes_a_veth_holding_the_peer_name(sandbox):
    """As documented: the veth named ``peer`` in ``peer_netns`` goes too when
    it is another pair's end."""
    prepare(sandbox, PAIR)
    _wrong_peer_name(sandbox)  # veth-red <-> veth-x
    sandbox.ip("link", "add", "veth-blue", "netns", "blue", "type", "veth", "peer", "name", "veth-z")
    run = sandbox.playbook([task(**{**PAIR, "state": "absent"})])
    assert run.rc == 0, run
    assert [op["op"] for op in run.results[0]["operations"]] == ["link_del", "link_del"]
    for name in ("veth-red", "veth-x", "veth-blue", "veth-z"):
        assert where(sandbox, name) == [], name


# -- 7. bad input -------------------------------------------------------------------------------


BAD = [
    # (id, changes to PAIR, field, field set by the engine)
    ("name-16-chars", {"name": "veth-0123456789a"}, "name", True),
    ("name-slash", {"name": "veth/red"}, "name", True),
    ("name-semicolon", {"name": "veth;red"}, "name", True),
    ("name-lo", {"name": "lo"}, "name", True),
    ("same-name-same-netns", {"peer": "veth-red", "peer_netns": "red"}, "peer", True),
    ("address-no-prefix", {"addresses": ["192.0.2.1"]}, "addresses[0]", True),
    ("address-octet-300", {"peer_addresses": ["192.0.2.300/24"]}, "peer_addresses[0]", True),
    ("netns-missing", {"netns": "nosuch"}, "netns", True),
    ("peer-netns-missing", {"peer_netns": "nosuch"}, "peer_netns", True),
    ("master-missing", {"master": "nosuch"}, "master", True),
    ("master-not-bridge", {"peer_netns": None, "peer_master": "v-x"}, "peer_master", True),
    ("mtu-10", {"mtu": 10}, "mtu", True),
    ("mtu-70000", {"mtu": 70000}, "mtu", True),
    ("name-held-by-bridge", {"name": "br0", "netns": None}, "name", True),
    ("peer-missing", {"peer": None}, "peer", False),
]


@pytest.mark.parametrize("changes, field, engine_field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(sandbox, changes, field, engine_field):
    prepare(sandbox, PAIR)
    sandbox.ip("link", "add", "br0", "type", "bridge")
    sandbox.ip("link", "add", "v-x", "type", "veth", "peer", "name", "v-y")
    sandbox.ip("link", "add", "old-red", "netns", "red", "type", "veth", "peer", "name", "old-blue",
               "netns", "blue")
    spec = {k: v for k, v in {**PAIR, **changes}.items() if v is not None}
    before = sandbox.snapshot()
    run = sandbox.playbook([task(**spec)])
    assert_clean_failure(run, field, before, sandbox.snapshot(), engine_field)


# -- 8. rollback ----------------------------------------------------------------------------------


def test_failure_half_way_rolls_back(sandbox):
    """blue refuses IPv6 on new links: the pair is created and the first
    address added before the kernel says no; all of it must be undone."""
    prepare(sandbox, PAIR)
    sandbox.ip("netns", "exec", "blue", "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
    before = sandbox.snapshot()
    spec = {**PAIR, "peer_addresses": ["192.0.2.2/24", "2001:db8::2/64"]}
    run = sandbox.playbook([task(**spec)])
    assert run.rc != 0, run
    result = run.failed[0]
    assert "2001:db8::2/64" in result["msg"]
    assert result["rolled_back"] == ["delete veth-red (netns red)"]
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.snapshot() == before
    assert where(sandbox, "veth-red") == [] and where(sandbox, "veth-blue") == []


def test_failure_after_a_move_restores_the_pair_as_it_was(sandbox):
    """The pair sits on the node, veth-red addressed; moving it into red and
    blue succeeds, then red refuses IPv6. Undoing the moves must give back the
    pair as it was: the kernel flushes a link's addresses when it moves it, so
    the rollback has to put veth-red's address back."""
    prepare(sandbox, PAIR)
    sandbox.ip("netns", "exec", "red", "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
    sandbox.ip("link", "add", "veth-red", "type", "veth", "peer", "name", "veth-blue")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "veth-red")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(**{**PAIR, "addresses": ["192.0.2.1/24", "2001:db8::1/64"]})])
    assert run.rc != 0, run
    result = run.failed[0]
    assert "2001:db8::1/64" in result["msg"]
    assert "move veth-red (netns red) to netns (host)" in result["rolled_back"]
    assert "Traceback" not in run.stdout + run.stderr
    assert where(sandbox, "veth-red") == [None] and where(sandbox, "veth-blue") == [None]
    assert sandbox.addresses("veth-red") == ["192.0.2.1/24"], result
    assert sandbox.snapshot() == before
