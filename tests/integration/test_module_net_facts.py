"""Module contract of netplumb.linux.net_facts, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). The topology is built with ``ip``; the facts are compared with what the
kernel itself reports (``ip -d -j link``, ``ip -j addr``, ``ip -j route``).
"""

import time

import pytest

from netplumb_testlib import assert_clean_failure

MODULE = "netplumb.linux.net_facts"

# The assertions of the module's EXAMPLES, as written there.
EXAMPLE_ASSERT = {"ansible.builtin.assert": {"that": [
    "netplumb_net.netns.red.links['veth-red'].state == 'up'",
    "netplumb_net.netns.red.links['veth-red'].peer == {'name': 'veth-blue', 'netns': 'blue'}",
    "'192.0.2.1/24' in netplumb_net.netns.red.links['veth-red'].addresses",
]}}


# -- helpers ---------------------------------------------------------------------------------


def task(**params):
    return {MODULE: params}


def facts_of(result):
    return result["ansible_facts"]["netplumb_net"]


def topology(sandbox):
    """Scenarios 1-4 by hand: red<->blue cable, c1 on bridge v-net-0 with a
    default route, plus red2 (a name that starts like red)."""
    for netns in ("red", "blue", "c1", "red2"):
        sandbox.ip("netns", "add", netns)
        sandbox.ip("link", "set", "lo", "up", netns=netns)
    sandbox.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "veth-blue",
               "netns", "blue")
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "veth-red", netns="red")
    sandbox.ip("addr", "add", "192.0.2.2/24", "dev", "veth-blue", netns="blue")
    sandbox.ip("link", "set", "veth-red", "up", netns="red")
    sandbox.ip("link", "set", "veth-blue", "up", netns="blue")
    sandbox.ip("link", "add", "v-net-0", "type", "bridge")
    sandbox.ip("addr", "add", "198.51.100.1/24", "dev", "v-net-0")
    sandbox.ip("-6", "addr", "add", "2001:db8:1::1/64", "dev", "v-net-0", "nodad")
    sandbox.ip("link", "set", "v-net-0", "up")
    sandbox.ip("link", "add", "eth0", "netns", "c1", "mtu", "1400", "type", "veth", "peer", "name",
               "veth-c1", "mtu", "1400")
    sandbox.ip("link", "set", "veth-c1", "master", "v-net-0", "up")
    sandbox.ip("addr", "add", "198.51.100.11/24", "dev", "eth0", netns="c1")
    sandbox.ip("link", "set", "eth0", "up", netns="c1")
    sandbox.ip("route", "add", "default", "via", "198.51.100.1", netns="c1")
    sandbox.ip("route", "add", "203.0.113.0/24", "via", "198.51.100.11", "metric", "100", "table", "100")
    settle(sandbox)


def settle(sandbox, tries=25):
    """Wait (bounded) until the kernel is done with the ip commands: link-local
    addresses, operstate and the routes that follow them appear with a delay."""
    last = _view(sandbox)
    for _attempt in range(tries):
        time.sleep(0.2)
        current = _view(sandbox)
        if current == last:
            return
        last = current
    raise AssertionError("the kernel view did not settle")


def _view(sandbox):
    return {netns: (sandbox.ip("-j", "addr", netns=netns), sandbox.ip("-j", "link", netns=netns),
                    sandbox.ip("-j", "route", "show", "table", "all", netns=netns))
            for netns in [None] + sandbox.netns_list()}


def kernel_links(sandbox, netns):
    """What the facts of one namespace's links must say, from ip."""
    links = {}
    for link in sandbox.ipj("-d", "link", "show", netns=netns):
        kind = link.get("linkinfo", {}).get("info_kind") or (
            "loopback" if "LOOPBACK" in link["flags"] else "device")
        links[link["ifname"]] = {
            "name": link["ifname"], "index": link["ifindex"], "kind": kind, "mtu": link["mtu"],
            "mac": link.get("address", ""), "state": "up" if "UP" in link["flags"] else "down",
            "master": link.get("master"), "addresses": _addresses(sandbox, link["ifname"], netns),
        }
    return links


def _addresses(sandbox, name, netns):
    data = sandbox.ipj("addr", "show", "dev", name, netns=netns)[0]["addr_info"]
    return sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in data
                  if not (a["family"] == "inet6" and a["local"].startswith("fe80:")))


_TABLES = {"main": 254, "default": 253}


def kernel_routes(sandbox, netns):
    """(dst, gateway, dev, metric, table) of every route but the local table's."""
    routes = set()
    for route in sandbox.ipj("route", "show", "table", "all", netns=netns):
        table = route.get("table", "main")
        if table == "local":
            continue
        routes.add((route["dst"], route.get("gateway"), route.get("dev"), route.get("metric", 0),
                    _TABLES.get(table) or int(table)))
    return routes


def fact_routes(facts_ns):
    return {(r["dst"], r["gateway"], r["dev"], r["metric"], r["table"]) for r in facts_ns["routes"]}


def assert_matches_kernel(sandbox, facts, netns):
    facts_ns = facts["host"] if netns is None else facts["netns"][netns]
    compared = ("name", "index", "kind", "mtu", "mac", "state", "master", "addresses")
    links = {name: {k: v for k, v in link.items() if k in compared} for name, link in facts_ns["links"].items()}
    assert links == kernel_links(sandbox, netns)
    assert fact_routes(facts_ns) == kernel_routes(sandbox, netns)


# -- 1./2. what the kernel shows, never changed ------------------------------------------


def test_facts_match_the_kernel(sandbox):
    topology(sandbox)
    before = sandbox.snapshot()
    run = sandbox.playbook([task(), EXAMPLE_ASSERT])
    assert run.rc == 0, run
    result = run.results[0]
    assert result["changed"] is False and result["operations"] == []
    facts = facts_of(result)
    assert facts["namespaces"] == sandbox.netns_list() == ["blue", "c1", "red", "red2"]
    assert facts["missing_namespaces"] == []
    assert sorted(facts["netns"]) == ["blue", "c1", "red", "red2"]
    for netns in [None] + sandbox.netns_list():
        assert_matches_kernel(sandbox, facts, netns)
    # peers by name and namespace, across namespaces and to the node itself
    host, red, c1 = facts["host"]["links"], facts["netns"]["red"]["links"], facts["netns"]["c1"]["links"]
    assert red["veth-red"]["peer"] == {"name": "veth-blue", "netns": "blue"}
    assert facts["netns"]["blue"]["links"]["veth-blue"]["peer"] == {"name": "veth-red", "netns": "red"}
    assert c1["eth0"]["peer"] == {"name": "veth-c1", "netns": None}
    assert host["veth-c1"]["peer"] == {"name": "eth0", "netns": "c1"}
    assert host["veth-c1"]["master"] == "v-net-0" and c1["eth0"]["mtu"] == 1400
    assert host["v-net-0"]["stp"] is False and host["v-net-0"]["vlan_filtering"] is False
    assert host["v-net-0"]["addresses"] == ["198.51.100.1/24", "2001:db8:1::1/64"]
    assert {"dst": "default", "family": "ipv4", "gateway": "198.51.100.1", "dev": "eth0", "metric": 0,
            "table": 254} in [{k: r[k] for k in ("dst", "family", "gateway", "dev", "metric", "table")}
                              for r in facts["netns"]["c1"]["routes"]]
    assert (("203.0.113.0/24", "198.51.100.11", "v-net-0", 100, 100)) in fact_routes(facts["host"])
    assert all(r["table"] != 255 for ns in [facts["host"]] + list(facts["netns"].values())
               for r in ns["routes"])
    # the EXAMPLES' assertions hold: the facts are set as a variable
    assert not run.results[1].get("failed"), run.results[1]
    assert sandbox.snapshot() == before


def test_second_run_same_facts_not_changed(sandbox):
    topology(sandbox)
    run = sandbox.playbook([task(), task()])
    assert run.rc == 0, run
    first, second = run.results
    assert first["changed"] is False and second["changed"] is False
    assert first["operations"] == [] and second["operations"] == []
    assert facts_of(first) == facts_of(second)


# -- 3./4. check mode, --diff ---------------------------------------------------------------


def test_check_mode_and_diff_report_the_same_and_change_nothing(sandbox):
    topology(sandbox)
    before = sandbox.snapshot()
    check = sandbox.playbook([task(netns=["red", "nosuch"]), task()], check=True, diff=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    real = sandbox.playbook([task(netns=["red", "nosuch"]), task()])
    assert real.rc == 0, real
    for predicted, applied in zip(check.results, real.results):
        assert predicted["changed"] is False and predicted["operations"] == []
        assert not predicted.get("diff"), predicted  # nothing changes, nothing to show
        assert facts_of(predicted) == facts_of(applied)
    assert facts_of(check.results[0])["missing_namespaces"] == ["nosuch"]


def test_fresh_node(sandbox):
    run = sandbox.playbook([task()], check=True)
    assert run.rc == 0, run
    facts = facts_of(run.results[0])
    assert facts["namespaces"] == [] and facts["netns"] == {}
    assert list(facts["host"]["links"]) == ["lo"]


# -- 5. options, exact names ----------------------------------------------------------------


def test_filters_and_exact_names(sandbox):
    topology(sandbox)
    run = sandbox.playbook([task(netns=["red", "nosuch"]), task(netns=["red"], include_host=False),
                            task(routes=False)])
    assert run.rc == 0, run
    some, no_host, no_routes = (facts_of(r) for r in run.results)
    assert sorted(some["netns"]) == ["red"]  # not red2
    assert some["missing_namespaces"] == ["nosuch"]
    assert some["namespaces"] == ["blue", "c1", "red", "red2"]
    # a peer in a namespace not reported is still named
    assert some["netns"]["red"]["links"]["veth-red"]["peer"] == {"name": "veth-blue", "netns": "blue"}
    assert "host" in some
    assert "host" not in no_host and sorted(no_host["netns"]) == ["red"]
    assert all("routes" not in ns for ns in [no_routes["host"]] + list(no_routes["netns"].values()))
    assert all("links" in ns for ns in [no_routes["host"]] + list(no_routes["netns"].values()))


# -- 7. bad input -------------------------------------------------------------------------------


BAD = [
    # (id, params, field, field set by the engine)
    ("netns-slash", {"netns": ["a/b"]}, "netns[0]", True),
    ("netns-dotdot", {"netns": [".."]}, "netns[0]", True),
    ("netns-empty", {"netns": [""]}, "netns[0]", True),
    ("netns-space-second", {"netns": ["red", "b c"]}, "netns[1]", True),
    ("netns-dict", {"netns": {"red": 1}}, "netns", False),
    ("include-host-not-bool", {"include_host": "maybe"}, "include_host", False),
    ("routes-not-bool", {"routes": "often"}, "routes", False),
]


@pytest.mark.parametrize("params, field, engine_field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(sandbox, params, field, engine_field):
    sandbox.ip("netns", "add", "red")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(**params)])
    assert_clean_failure(run, field, before, sandbox.snapshot(), engine_field)
