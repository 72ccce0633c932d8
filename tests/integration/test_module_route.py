"""Module contract of netplumb.linux.route, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). Routes to be replaced are prepared with ``ip route``; after every run
the kernel's own view (``ip -j route show table all``) is checked, never only
what the module reports.
"""


import pytest

from netplumb_testlib import assert_clean_failure, descriptions

MODULE = "netplumb.linux.route"

CASES = {
    "via-gateway": {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "metric": 100},
    "default-in-netns": {"dst": "default", "gateway": "192.0.2.1", "netns": "c1"},
    "ipv6-in-table": {"dst": "2001:db8:2::/64", "gateway": "2001:db8::1", "table": "100"},
    "ipv6-default": {"dst": "default", "gateway": "2001:db8::1"},
    "direct-on-dev": {"dst": "198.51.100.0/24", "dev": "rt0", "metric": 50},
}


# -- helpers ---------------------------------------------------------------------------------


def task(**params):
    return {MODULE: params}


def uplink(sandbox, name="rt0", netns=None, v4="192.0.2.2/24", v6="2001:db8::2/64"):
    """A veth pair ``name``/``name``p, both up, ``name`` addressed, so that
    192.0.2.1 and 2001:db8::1 (and the rest of those subnets) are on-link
    gateways. No IPv6 link-local addresses: the kernel view stays still."""
    sandbox.ip("link", "add", name, "type", "veth", "peer", "name", name + "p", netns=netns)
    for end in (name, name + "p"):
        sandbox.ip("link", "set", end, "addrgenmode", "none", netns=netns)
        sandbox.ip("link", "set", end, "up", netns=netns)
    sandbox.ip("addr", "add", v4, "dev", name, netns=netns)
    if v6:
        sandbox.ip("-6", "addr", "add", v6, "dev", name, "nodad", netns=netns)


def prepare(sandbox, spec):
    if spec.get("netns") and spec["netns"] not in sandbox.netns_list():
        sandbox.ip("netns", "add", spec["netns"])
        sandbox.ip("link", "set", "lo", "up", netns=spec["netns"])
    if sandbox.link("rt0", netns=spec.get("netns")) is None:
        uplink(sandbox, netns=spec.get("netns"))


def kroutes(sandbox, dst, netns=None, family=4):
    """The kernel's routes to ``dst`` (as ip prints it) in every table but local."""
    data = sandbox.ipj("-%d" % family, "route", "show", "table", "all", netns=netns)
    return [r for r in data if r["dst"] == dst and r.get("table") != "local"]


def family_of(spec):
    return 6 if ":" in spec.get("gateway", "") + spec["dst"] else 4


def assert_route(sandbox, spec, dev=None):
    """Exactly one route with the spec's identity (dst, table, metric), as asked."""
    family = family_of(spec)
    dst = spec["dst"]
    metric = spec.get("metric", 1024 if family == 6 else 0)
    table = spec.get("table", "main")
    found = [r for r in kroutes(sandbox, dst, spec.get("netns"), family)
             if r.get("table", "main") == table and r.get("metric", 0) == metric]
    assert len(found) == 1, found
    route = found[0]
    assert route.get("gateway") == spec.get("gateway"), route
    assert route.get("dev") == (spec.get("dev") or dev or "rt0"), route
    assert "nexthops" not in route, route  # not turned into a multipath route
    return route


# -- 1. changed on first run, kernel shows it ---------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_create(sandbox, case):
    spec = CASES[case]
    prepare(sandbox, spec)
    run = sandbox.playbook([task(**spec)])
    assert run.rc == 0, run
    result = run.results[0]
    assert result["changed"] is True
    assert [op["op"] for op in result["operations"]] == ["route_add"]
    assert_route(sandbox, spec)
    if case == "default-in-netns":
        assert sandbox.link("rt0") is None  # nothing on the node itself
        assert sandbox.ipj("route", "get", "203.0.113.7", netns="c1")[0]["gateway"] == "192.0.2.1"


# -- 2. not changed on a second identical run ---------------------------------------------


def test_second_run_not_changed(sandbox):
    specs = [CASES[case] for case in sorted(CASES)]
    for spec in specs:
        prepare(sandbox, spec)
    run = sandbox.playbook([task(**spec) for spec in specs] * 2)
    assert run.rc == 0, run
    assert [r["changed"] for r in run.results] == [True] * len(specs) + [False] * len(specs)
    assert all(r["operations"] == [] for r in run.results[len(specs):])
    for spec in specs:
        assert_route(sandbox, spec)


def test_route_made_by_ip_is_recognised(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100")
    sandbox.ip("-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8::1", "table", "100")
    run = sandbox.playbook([task(**CASES["via-gateway"]), task(**CASES["ipv6-in-table"])])
    assert run.rc == 0, run
    assert run.changed == 0
    assert all(r["operations"] == [] for r in run.results)


# -- 3. check mode --------------------------------------------------------------------------


def test_check_mode_on_fresh_node_predicts_and_changes_nothing(sandbox):
    """Namespace c1 and its link are made by the play's own first tasks:
    check mode must not fail on them, but warn and predict."""
    tasks = [{"netplumb.linux.netns": {"name": "c1"}},
             {"netplumb.linux.veth": {"name": "eth0", "netns": "c1", "addresses": ["198.51.100.11/24"],
                                      "peer": "veth-c1", "peer_addresses": ["198.51.100.1/24"]}},
             task(netns="c1", dst="default", gateway="198.51.100.1"),
             task(netns="c1", dst="203.0.113.0/24", dev="eth0", metric=10)]
    before = sandbox.snapshot()
    check = sandbox.playbook(tasks, check=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    assert [r["changed"] for r in check.results] == [True] * 4
    assert any("c1" in warning for warning in check.results[2].get("warnings", [])), check.results[2]

    real = sandbox.playbook(tasks)
    assert real.rc == 0, real
    assert [descriptions(r) for r in real.results] == [descriptions(r) for r in check.results]
    assert_route(sandbox, {"netns": "c1", "dst": "default", "gateway": "198.51.100.1"}, dev="eth0")
    assert_route(sandbox, {"netns": "c1", "dst": "203.0.113.0/24", "dev": "eth0", "metric": 10})
    assert sandbox.ping("198.51.100.1", netns="c1")

    again = sandbox.playbook(tasks, check=True)
    assert again.rc == 0, again
    assert again.changed == 0
    assert all(r["operations"] == [] for r in again.results)


# -- 4. --diff --------------------------------------------------------------------------------


def test_diff_shows_before_and_after(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100")
    run = sandbox.playbook([task(dst="203.0.113.0/24", gateway="192.0.2.3", metric=100),
                            task(dst="198.51.100.0/24", gateway="192.0.2.1")], diff=True)
    assert run.rc == 0, run
    changed, new = (r["diff"] for r in run.results)
    before = {"state": "present", "dst": "203.0.113.0/24", "family": "ipv4", "gateway": "192.0.2.1",
              "dev": "rt0", "metric": 100, "table": 254}
    assert {k: changed["before"].get(k) for k in before} == before
    assert {k: changed["after"].get(k) for k in before} == dict(before, gateway="192.0.2.3")
    assert new["before"] == {"state": "absent"}
    wanted = {"state": "present", "dst": "198.51.100.0/24", "family": "ipv4", "gateway": "192.0.2.1",
              "metric": 0, "table": 254}
    assert {k: new["after"].get(k) for k in wanted} == wanted
    assert_route(sandbox, {"dst": "203.0.113.0/24", "gateway": "192.0.2.3", "metric": 100})


# -- 5. converge: replaced in place, never duplicated --------------------------------------


def _second_uplink(sandbox):
    uplink(sandbox, "rt1", v4="198.51.100.2/24", v6=None)


WRONG = {
    # name: (ip route command that makes the wrong route, spec, extra setup, expected dev)
    "gateway-changed": (("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100"),
                        {"dst": "203.0.113.0/24", "gateway": "192.0.2.3", "metric": 100}, None, "rt0"),
    "gateway-on-other-dev": (("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100"),
                             {"dst": "203.0.113.0/24", "gateway": "198.51.100.1", "metric": 100},
                             _second_uplink, "rt1"),
    "dev-changed": (("route", "add", "203.0.113.0/24", "dev", "rt0"),
                    {"dst": "203.0.113.0/24", "dev": "rt1"}, _second_uplink, "rt1"),
    "ipv6-gateway-changed": (("-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8::1"),
                             {"dst": "2001:db8:2::/64", "gateway": "2001:db8::3"}, None, "rt0"),
    "default-gateway-changed-in-table": (
        ("route", "add", "default", "via", "192.0.2.1", "table", "100"),
        {"dst": "default", "gateway": "192.0.2.3", "table": "100"}, None, "rt0"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_replaced_in_place_not_duplicated(sandbox, case):
    wrong, spec, setup, dev = WRONG[case]
    uplink(sandbox)
    if setup:
        setup(sandbox)
    sandbox.ip(*wrong)
    # the same destination elsewhere (other metric, other table) is another route: untouched
    family = family_of(spec)
    other = "2001:db8::1" if family == 6 else "192.0.2.1"
    sandbox.ip("-%d" % family, "route", "add", spec["dst"], "via", other, "metric", "7", "table",
               "200" if spec.get("table") else "main")
    before = sandbox.settled_snapshot()
    check = sandbox.playbook([task(**spec)], check=True)
    assert check.rc == 0, check
    assert [op["op"] for op in check.results[0]["operations"]] == ["route_replace"]
    assert sandbox.snapshot() == before

    run = sandbox.playbook([task(**spec), task(**spec)])
    assert run.rc == 0, run
    first, second = run.results
    assert descriptions(first) == descriptions(check.results[0])
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert_route(sandbox, spec, dev=dev)
    untouched = [r for r in kroutes(sandbox, spec["dst"], family=family) if r.get("metric") == 7]
    assert len(untouched) == 1 and untouched[0]["gateway"] == other


# -- 6. absent ----------------------------------------------------------------------------


def test_absent_removes_only_that_identity(sandbox):
    uplink(sandbox)
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100")
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "200")
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100", "table", "100")
    sandbox.ip("route", "add", "203.0.113.128/25", "via", "192.0.2.1", "metric", "100")
    absent = task(dst="203.0.113.0/24", metric=100, state="absent")
    run = sandbox.playbook([absent, absent, task(dst="203.0.113.0/24", netns="nosuch", state="absent")])
    assert run.rc == 0, run
    first, second, elsewhere = run.results
    assert first["changed"] is True and [op["op"] for op in first["operations"]] == ["route_del"]
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert elsewhere["changed"] is False and elsewhere["operations"] == []
    left = sorted((r.get("table", "main"), r.get("metric", 0)) for r in kroutes(sandbox, "203.0.113.0/24"))
    assert left == [("100", 100), ("main", 200)]
    assert len(kroutes(sandbox, "203.0.113.128/25")) == 1


def test_absent_ipv6_default(sandbox):
    uplink(sandbox)
    sandbox.ip("-6", "route", "add", "default", "via", "2001:db8::1")
    sandbox.ip("route", "add", "default", "via", "192.0.2.1")
    run = sandbox.playbook([task(dst="default", gateway="2001:db8::1", state="absent")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert kroutes(sandbox, "default", family=6) == []
    assert len(kroutes(sandbox, "default", family=4)) == 1


# -- 7. bad input -------------------------------------------------------------------------------


BAD = [
    # (id, params, field, field set by the engine)
    ("dst-no-prefix", {"dst": "192.0.2.1", "gateway": "192.0.2.1"}, "dst", True),
    ("dst-octet-300", {"dst": "192.0.2.300/24", "gateway": "192.0.2.1"}, "dst", True),
    ("dst-host-bits", {"dst": "198.51.100.1/24", "gateway": "192.0.2.1"}, "dst", True),
    ("dst-word", {"dst": "anywhere", "gateway": "192.0.2.1"}, "dst", True),
    ("gateway-family", {"dst": "203.0.113.0/24", "gateway": "2001:db8::1"}, "gateway", True),
    ("gateway-not-ip", {"dst": "203.0.113.0/24", "gateway": "192.0.2"}, "gateway", True),
    ("no-gateway-no-dev", {"dst": "203.0.113.0/24"}, "gateway", True),
    ("metric-negative", {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "metric": -1}, "metric", True),
    ("table-name", {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "table": "nosuch"}, "table", True),
    ("dev-slash", {"dst": "203.0.113.0/24", "dev": "rt/0"}, "dev", True),
    ("dev-missing", {"dst": "203.0.113.0/24", "dev": "nosuch"}, "dev", True),
    ("netns-missing", {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "netns": "nosuch"}, "netns", True),
    ("netns-space", {"dst": "203.0.113.0/24", "gateway": "192.0.2.1", "netns": "c 1"}, "netns", True),
]


@pytest.mark.parametrize("params, field, engine_field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(sandbox, params, field, engine_field):
    uplink(sandbox)
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "192.0.2.1", "metric", "100")
    before = sandbox.settled_snapshot()
    run = sandbox.playbook([task(**params)])
    assert_clean_failure(run, field, before, sandbox.snapshot(), engine_field)


def test_unreachable_gateway_is_named_before_any_change(sandbox):
    """A gateway on no connected network: check mode warns (an earlier task
    may connect it), the real run fails naming it before anything changes."""
    uplink(sandbox)
    before = sandbox.settled_snapshot()
    checked = sandbox.playbook([task(dst="203.0.113.0/24", gateway="198.51.100.99")], check=True)
    assert checked.rc == 0 and "198.51.100.99" in checked.stdout + checked.stderr, checked
    run = sandbox.playbook([task(dst="203.0.113.0/24", gateway="198.51.100.99")])
    assert run.rc != 0, run
    result = run.failed[0]
    assert result.get("field") == "gateway" and "no network connected" in result["msg"], result
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.snapshot() == before


def test_kernel_refusal_fails_cleanly(sandbox):
    """A gateway the kernel will not take (the on-link network's broadcast
    address): the kernel says no; nothing changes."""
    uplink(sandbox)
    before = sandbox.settled_snapshot()
    run = sandbox.playbook([task(dst="203.0.113.0/24", gateway="192.0.2.255")])
    assert run.rc != 0, run
    result = run.failed[0]
    assert "203.0.113.0/24" in result["msg"] and "192.0.2.255" in result["msg"]
    assert "Traceback" not in run.stdout + run.stderr
    assert sandbox.snapshot() == before
