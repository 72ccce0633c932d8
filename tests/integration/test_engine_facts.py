"""engine.run(net_facts, ...) on the real kernel, without Ansible.

A small topology is built with ``ip`` in the test's sandbox; the facts are
compared with what the kernel itself reports (``ip -j -d link``, ``ip -j
addr``, ``ip -j route``), link by link and route by route.

    host:  br0 (192.0.2.1/24, up) <- h0 (up) ==veth== c0 (netns red, 192.0.2.10/24, 2001:db8::10/64)
                                  <- h1 (up) ==veth== c1 (netns blue, down)
    red:   vr (198.51.100.1/24, mtu 1400) ==veth== vb (netns blue, 198.51.100.2/24, mtu 1400)
           default via 192.0.2.1, 2001:db8:1::/64 via 2001:db8::1
"""

import os

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.facts import net_facts
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

from topologies import build_topology  # pylint: disable=wrong-import-order

TABLES = {"main": 254, "default": 253, "local": 255}


# -- helpers -------------------------------------------------------------------------


def gather(params=None, check_mode=False):
    outcome = engine.run(net_facts, params or {}, check_mode=check_mode)
    assert not outcome.changed
    assert outcome.operations == []
    return outcome.extra["ansible_facts"]["netplumb_net"]


def kernel_kind(klink):
    kind = klink.get("linkinfo", {}).get("info_kind")
    if kind:
        return kind
    return "loopback" if "LOOPBACK" in klink["flags"] else "device"


def kernel_routes(sandbox, netns=None):
    """(dst, family, gateway, dev, table, metric) of every route outside the
    local table, fe80::/64 aside (see fact_routes)."""
    result = set()
    for family in (4, 6):
        for r in sandbox.ipj("-%d" % family, "route", "show", "table", "all", netns=netns):
            table = r.get("table", "main")
            table = TABLES.get(table, None) or int(table)
            if table == 255 or r["dst"] == "fe80::/64":
                continue
            result.add((r["dst"], "ipv%d" % family, r.get("gateway"), r.get("dev"), table,
                        r.get("metric", 0)))
    return result


def fact_routes(routes):
    # fe80::/64 is left out on both sides: the kernel adds it a moment after a
    # link comes up, so it may appear between the two reads.
    return {(r["dst"], r["family"], r["gateway"], r["dev"], r["table"], r["metric"]) for r in routes
            if r["dst"] != "fe80::/64"}


def assert_namespace_matches_kernel(sandbox, nsfacts, netns=None, all_facts=None):
    """Every link of one namespace's facts against ``ip -d -j link`` / ``ip addr``."""
    klinks = {k["ifname"]: k for k in sandbox.ipj("-d", "link", "show", netns=netns)}
    assert set(nsfacts["links"]) == set(klinks)
    for name, fact in nsfacts["links"].items():
        k = klinks[name]
        assert fact["name"] == name
        assert fact["index"] == k["ifindex"], name
        assert fact["kind"] == kernel_kind(k), name
        assert fact["mtu"] == k["mtu"], name
        assert fact["mac"] == k["address"], name
        assert fact["state"] == ("up" if "UP" in k["flags"] else "down"), name
        assert fact["master"] == k.get("master"), name
        assert sorted(fact["addresses"]) == sorted(sandbox.addresses(name, netns=netns)), name
        if fact["kind"] == "bridge":
            data = k["linkinfo"]["info_data"]
            assert fact["stp"] == bool(data["stp_state"])
            assert fact["vlan_filtering"] == bool(data["vlan_filtering"])
        if fact["kind"] == "veth" and all_facts is not None:
            # the peer named by the facts is the link the kernel points at
            peer = fact["peer"]
            assert peer is not None, name
            where = all_facts["host"] if peer["netns"] is None else all_facts["netns"][peer["netns"]]
            if "link_netnsid" in k:  # ip names a peer in another namespace by index only
                assert peer["netns"] != netns, name
                assert where["links"][peer["name"]]["index"] == k["link_index"], name
            else:
                assert peer == {"name": k["link"], "netns": netns}, name
    if "routes" in nsfacts:
        assert fact_routes(nsfacts["routes"]) == kernel_routes(sandbox, netns)


# -- tests ------------------------------------------------------------------------------


def test_facts_on_a_clean_sandbox(sandbox):
    data = gather()
    assert data["namespaces"] == []
    assert data["missing_namespaces"] == []
    assert data["netns"] == {}
    assert list(data["host"]["links"]) == ["lo"]
    lo = data["host"]["links"]["lo"]
    assert lo["kind"] == "loopback" and lo["state"] == "up" and lo["peer"] is None
    assert lo["addresses"] == ["127.0.0.1/8", "::1/128"]
    assert data["host"]["routes"] == []  # lo's routes are all in the local table
    assert_namespace_matches_kernel(sandbox, data["host"])


def test_facts_describe_the_topology(sandbox):
    build_topology(sandbox)
    data = gather()
    assert data["namespaces"] == ["blue", "red"]
    assert data["missing_namespaces"] == []
    assert sorted(data["netns"]) == ["blue", "red"]
    host, red, blue = data["host"]["links"], data["netns"]["red"]["links"], data["netns"]["blue"]["links"]

    assert sorted(host) == ["br0", "h0", "h1", "lo"]
    assert sorted(red) == ["c0", "lo", "vr"]
    assert sorted(blue) == ["c1", "lo", "vb"]

    assert host["br0"]["kind"] == "bridge"
    assert host["br0"]["addresses"] == ["192.0.2.1/24"]
    assert host["br0"]["state"] == "up"
    assert host["br0"]["stp"] is False and host["br0"]["vlan_filtering"] is False
    assert host["br0"]["peer"] is None

    assert host["h0"]["kind"] == "veth"
    assert host["h0"]["master"] == "br0"
    assert host["h0"]["peer"] == {"name": "c0", "netns": "red"}
    assert host["h1"]["peer"] == {"name": "c1", "netns": "blue"}

    assert red["c0"]["peer"] == {"name": "h0", "netns": None}
    assert red["c0"]["master"] is None
    assert red["c0"]["addresses"] == ["192.0.2.10/24", "2001:db8::10/64"]
    assert red["c0"]["state"] == "up"
    assert blue["c1"]["peer"] == {"name": "h1", "netns": None}
    assert blue["c1"]["state"] == "down"
    assert blue["c1"]["addresses"] == []

    assert red["vr"]["peer"] == {"name": "vb", "netns": "blue"}
    assert blue["vb"]["peer"] == {"name": "vr", "netns": "red"}
    assert red["vr"]["mtu"] == blue["vb"]["mtu"] == 1400
    assert red["vr"]["addresses"] == ["198.51.100.1/24"]
    assert blue["vb"]["addresses"] == ["198.51.100.2/24"]
    assert red["lo"]["state"] == "up" and blue["lo"]["state"] == "up"

    routes = data["netns"]["red"]["routes"]
    default = [r for r in routes if r["dst"] == "default"]
    assert len(default) == 1
    assert default[0]["gateway"] == "192.0.2.1"
    assert default[0]["dev"] == "c0"
    assert default[0]["family"] == "ipv4"
    assert default[0]["table"] == 254
    assert default[0]["metric"] == 0
    v6 = [r for r in routes if r["dst"] == "2001:db8:1::/64"]
    assert [(r["gateway"], r["dev"], r["family"], r["metric"]) for r in v6] == [
        ("2001:db8::1", "c0", "ipv6", 1024)]
    assert all(r["table"] != 255 for ns in [data["host"]] + list(data["netns"].values())
               for r in ns["routes"])
    connected = [r for r in data["host"]["routes"] if r["dst"] == "192.0.2.0/24"]
    assert [(r["dev"], r["proto"], r["scope"]) for r in connected] == [("br0", "kernel", "link")]


def test_facts_match_the_kernel_link_by_link(sandbox):
    build_topology(sandbox)
    sandbox.ip("link", "set", "br0", "type", "bridge", "stp_state", "1")
    sandbox.ip("link", "set", "br0", "mtu", "1450")
    data = gather()
    assert data["host"]["links"]["br0"]["stp"] is True
    assert data["host"]["links"]["br0"]["mtu"] == 1450
    assert_namespace_matches_kernel(sandbox, data["host"], None, data)
    for name in ("red", "blue"):
        assert_namespace_matches_kernel(sandbox, data["netns"][name], name, data)


def test_facts_follow_changes(sandbox):
    build_topology(sandbox)
    sandbox.ip("link", "set", "vb", "netns", "red", netns="blue")
    sandbox.ip("link", "set", "h1", "nomaster")
    sandbox.ip("link", "set", "h1", "down")
    data = gather()
    red = data["netns"]["red"]["links"]
    assert "vb" not in data["netns"]["blue"]["links"]
    assert red["vr"]["peer"] == {"name": "vb", "netns": "red"}
    assert red["vb"]["peer"] == {"name": "vr", "netns": "red"}
    assert red["vb"]["addresses"] == [] and red["vb"]["state"] == "down"
    assert data["host"]["links"]["h1"]["master"] is None
    assert data["host"]["links"]["h1"]["state"] == "down"
    for name in (None, "red", "blue"):
        nsfacts = data["host"] if name is None else data["netns"][name]
        assert_namespace_matches_kernel(sandbox, nsfacts, name, data)


def test_netns_filter_and_missing_namespaces(sandbox):
    build_topology(sandbox)
    data = gather({"netns": ["red", "ghost"]})
    assert data["namespaces"] == ["blue", "red"]
    assert sorted(data["netns"]) == ["red"]
    assert data["missing_namespaces"] == ["ghost"]
    # the peer in an unreported namespace is still named
    assert data["netns"]["red"]["links"]["vr"]["peer"] == {"name": "vb", "netns": "blue"}
    assert "host" in data
    assert sandbox.netns_list() == ["blue", "red"]  # facts never create one


def test_netns_filter_uses_exact_names(sandbox):
    engine.run(netns, {"name": "red"})
    engine.run(netns, {"name": "red2"})
    data = gather({"netns": ["red"]})
    assert sorted(data["netns"]) == ["red"]
    assert data["namespaces"] == ["red", "red2"]
    data = gather({"netns": ["re"]})
    assert data["netns"] == {}
    assert data["missing_namespaces"] == ["re"]


def test_empty_filter_reports_no_namespace(sandbox):
    engine.run(netns, {"name": "red"})
    data = gather({"netns": []})
    assert data["netns"] == {}
    assert data["missing_namespaces"] == []
    assert data["namespaces"] == ["red"]


def test_include_host_and_routes_switches(sandbox):
    build_topology(sandbox)
    data = gather({"include_host": False})
    assert "host" not in data
    assert sorted(data["netns"]) == ["blue", "red"]
    data = gather({"routes": False})
    assert "routes" not in data["host"]
    assert all("routes" not in ns for ns in data["netns"].values())
    assert data["netns"]["red"]["links"]["c0"]["peer"] == {"name": "h0", "netns": None}


def test_stale_file_is_not_a_namespace(sandbox):
    engine.run(netns, {"name": "red"})
    open("/run/netns/ghost", "w").close()
    data = gather({"netns": ["red", "ghost"]})
    assert data["namespaces"] == ["red"]
    assert data["missing_namespaces"] == ["ghost"]
    assert sorted(data["netns"]) == ["red"]
    assert os.path.isfile("/run/netns/ghost")


def test_facts_change_nothing_and_check_mode_is_the_same(sandbox):
    build_topology(sandbox)
    before = sandbox.snapshot()
    real = gather()
    assert sandbox.snapshot() == before
    checked = gather(check_mode=True)
    assert sandbox.snapshot() == before
    assert checked == real


def test_facts_on_engine_made_objects(sandbox):
    from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge
    from ansible_collections.netplumb.linux.plugins.module_utils.link import route
    engine.run(netns, {"name": "red"})
    engine.run(bridge, {"name": "br0", "netns": "red", "addresses": ["203.0.113.1/24"], "mtu": 1400})
    engine.run(route, {"dst": "198.51.100.0/24", "gateway": "203.0.113.254", "netns": "red", "table": 100})
    data = gather({"netns": ["red"], "include_host": False})
    br0 = data["netns"]["red"]["links"]["br0"]
    assert (br0["kind"], br0["mtu"], br0["state"], br0["addresses"]) == ("bridge", 1400, "up", ["203.0.113.1/24"])
    table100 = [r for r in data["netns"]["red"]["routes"] if r["table"] == 100]
    assert [(r["dst"], r["gateway"], r["dev"]) for r in table100] == [
        ("198.51.100.0/24", "203.0.113.254", "br0")]
    assert_namespace_matches_kernel(sandbox, data["netns"]["red"], "red")


@pytest.mark.parametrize("params, field", [
    ({"netns": "red"}, "netns"),
    ({"netns": ["a/b"]}, "netns[0]"),
    ({"netns": ["red", None]}, "netns[1]"),
    ({"include_host": "yes"}, "include_host"),
    ({"routes": 0}, "routes"),
])
def test_bad_params(sandbox, params, field):
    with pytest.raises(ParamError) as info:
        engine.run(net_facts, params)
    assert info.value.field == field
    assert field in str(info.value)
