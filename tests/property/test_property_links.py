"""Generated topologies of the link resources (netns, bridge, veth, route):
namespaces, bridges, veth pairs within and across namespaces, ports,
addresses of both families (IPv4 secondaries included), MTUs, routes by
gateway or device in several tables, each case in a sandbox of its own.

a. Converged through the engine, the kernel (read with ip -j, not through
   the engine) holds exactly the desired state; check mode on the cold state
   plans the very operations the real run applies and changes nothing; a
   second run plans nothing; ``state: absent`` in reverse order leaves the
   sandbox as it was.
b. Drift made by hand with ip (addresses removed or added, links deleted,
   moved to another namespace, set down or given another MTU, ports
   released or moved to another bridge, routes replaced or deleted): check
   mode plans a repair in exactly the steps whose objects ip shows
   differing from the desired state, naming only their objects; the real run
   applies that plan, after which ip shows the desired state and a further
   run plans nothing.
"""

import ipaddress
import os

from hypothesis import example, given, strategies as st

from ansible_collections.netplumb.linux.plugins.module_utils.kernel.model import kernel_metric
from netplumb_testlib import resource, sandboxed
from property_lib import addresses, count, generated, kind, links, route_table, peers, routes, run_steps, up

NAMESPACES = ("pa", "pb", "pc")
SUBNETS = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/25", "192.0.2.128/26", "198.51.100.0/24",
                                                  "203.0.113.0/24", "2001:db8:1::/64", "2001:db8:2::/64"))
# Addresses are the hosts 1-20 of a subnet, gateways its last but one and
# last but two addresses: never one of the addresses.
HOSTS = st.integers(1, 20)
EXTRA = {4: "203.0.113.250/24", 6: "2001:db8:2::fa/64"}
# IPv6 needs an MTU of 1280 at least: below it the kernel drops the link's IPv6 addresses.
MTUS = st.sampled_from([None, 1280, 1400, 1500, 9000])
DESTINATIONS = {4: ("default", "198.18.0.0/24", "198.18.1.0/24", "198.19.0.0/16"),
                6: ("default", "2001:db8:ff00::/48", "2001:db8:ff01::/48")}


def _version(route):
    return ipaddress.ip_address(route["gateway"]).version if route.get("gateway") else \
        ipaddress.ip_network(route["dst"]).version


def route_key(route):
    """A route's identity as the kernel's: namespace, destination, table, metric."""
    version = _version(route)
    table = {None: 254, "main": 254}.get(route.get("table"), route.get("table"))
    return route.get("netns"), version, route["dst"], table, kernel_metric(version, route.get("metric") or 0)


def _root(joined, bridge):
    while bridge in joined:
        bridge = joined[bridge]
    return bridge


# Found by make fuzz (seed 1368500287): with a pair whose both ends are
# ports of one bridge (a loop, STP off), an IPv6 address of another port's
# peer, removed by hand and added back by the repair, failed duplicate
# address detection (the fuzz case run again: 6 of 7 times; without the
# loop, 3 of 3 passed). veth now refuses such a pair; the topologies here
# close no loop through several pairs either.
@st.composite
def topologies(draw):
    """[(module, params)]: namespaces, then bridges, veth pairs, routes."""
    namespaces = sorted(draw(st.sets(st.sampled_from(NAMESPACES))))
    places = st.sampled_from([None] + namespaces)
    bridges = [{"name": "br%d" % i, "netns": draw(places), "mtu": draw(MTUS)} for i in range(draw(st.integers(0, 2)))]
    veths = []
    joined = {}  # bridge -> a bridge it is joined to through pairs: no pair may close a loop
    for i in range(draw(st.integers(1, 3))):
        veth = {"name": "va%d" % i, "netns": draw(places), "peer": "vb%d" % i, "peer_netns": draw(places),
                "mtu": draw(MTUS)}
        for field, where in (("master", "netns"), ("peer_master", "peer_netns")):
            veth[field] = draw(st.sampled_from([None] + [b["name"] for b in bridges if b["netns"] == veth[where]]))
        if veth["master"] and veth["peer_master"]:
            ends = [_root(joined, (veth[where], veth[field])) for field, where in (("master", "netns"),
                                                                                   ("peer_master", "peer_netns"))]
            if ends[0] == ends[1]:
                veth["peer_master"] = None
            else:
                joined[ends[0]] = ends[1]
        veths.append(veth)
    # The link ends whose addresses are managed (a list, maybe empty): (params, field, name key, netns key).
    ends = [(b, "addresses", "name", "netns") for b in bridges] + \
        [(v, "addresses", "name", "netns") for v in veths] + \
        [(v, "peer_addresses", "peer", "peer_netns") for v in veths]
    managed = [end for end in ends if draw(st.booleans())]
    connected = []  # (netns, dev, subnet) of each address
    for params, field, _name, _where in managed:
        params[field] = []
    if managed:
        for subnet, host in draw(st.lists(st.tuples(st.sampled_from(SUBNETS), HOSTS), unique=True, max_size=8)):
            params, field, name, where = draw(st.sampled_from(managed))
            params[field].append("%s/%d" % (subnet[host], subnet.prefixlen))
            connected.append((params[where], params[name], subnet))
    route_list = []
    for netns, dev, subnet in draw(st.lists(st.sampled_from(connected), max_size=3)) if connected else ():
        gateway = draw(st.sampled_from([str(subnet[-2]), None]))
        route = {"netns": netns, "dst": draw(st.sampled_from(DESTINATIONS[subnet.version][0 if gateway else 1:])),
                 "gateway": gateway, "dev": dev if gateway is None else draw(st.sampled_from([None, dev])),
                 "metric": draw(st.sampled_from([None, 0, 10, 1000])),
                 "table": draw(st.sampled_from([None, "main", 100]))}
        if route_key(route) not in map(route_key, route_list):
            route_list.append(route)
    steps = [("netns", {"name": name}) for name in namespaces] + [("bridge", b) for b in bridges] + \
        [("veth", v) for v in veths] + [("route", r) for r in route_list]
    return [(module, {k: v for k, v in params.items() if v is not None}) for module, params in steps]


def engine_steps(steps, state=None):
    return [(resource(module), dict(params, state=state) if state else params) for module, params in steps]


def teardown(steps):
    """The steps with ``state: absent``, in reverse order."""
    return engine_steps([(m, {"name": p["name"]} if m == "netns" else p) for m, p in reversed(steps)], "absent")


# -- the desired state against what ip shows -------------------------------------------------


def _wanted(params, field):
    return sorted(str(ipaddress.ip_interface(a)) for a in params[field]) if field in params else None


def _link_ok(link, want_kind, mtu, master, wanted_addresses):
    return (link is not None and kind(link) == want_kind and up(link)
            and (mtu is None or link["mtu"] == mtu) and (master is None or link.get("master") == master)
            and (wanted_addresses is None or addresses(link) == wanted_addresses))


def _route_ok(kernel_routes, want):
    key = route_key(want)
    for route in kernel_routes[key[1]]:
        if (route_key(dict(route, netns=want.get("netns"), table=route_table(route))) == key
                and route.get("gateway") == want.get("gateway") and want.get("dev", route["dev"]) == route["dev"]):
            return True
    return False


def mismatches(box, steps):
    """Indexes of the steps whose objects ip shows differing from their params."""
    spaces = [None] + box.netns_list()
    view = {netns: links(box, netns) for netns in spaces}
    kernel_routes = {netns: routes(box, netns) for netns in spaces}
    wrong = []
    for index, (module, params) in enumerate(steps):
        if module == "netns":
            ok = params["name"] in view and up(view[params["name"]]["lo"])
        elif module == "bridge":
            ok = _link_ok(view.get(params.get("netns"), {}).get(params["name"]), "bridge", params.get("mtu"), None,
                          _wanted(params, "addresses"))
        elif module == "veth":
            end = view.get(params.get("netns"), {}).get(params["name"])
            peer = view.get(params.get("peer_netns"), {}).get(params["peer"])
            ok = (_link_ok(end, "veth", params.get("mtu"), params.get("master"), _wanted(params, "addresses"))
                  and _link_ok(peer, "veth", params.get("mtu"), params.get("peer_master"),
                               _wanted(params, "peer_addresses"))
                  and peers(end, peer))
        else:
            ok = params.get("netns") in kernel_routes and _route_ok(kernel_routes[params.get("netns")], params)
        if not ok:
            wrong.append(index)
    return wrong


def names(module, params, op):
    """Whether an operation planned for step (module, params) is about that step's own object."""
    if module == "route":
        return op["netns"] == params.get("netns") and op["target"].split()[0] == params["dst"]
    return op["target"] in {"netns": (params["name"], "lo"), "bridge": (params["name"],),
                            "veth": (params["name"], params.get("peer"))}[module]


# -- drift by hand -----------------------------------------------------------------------------


def drifts(steps):
    """Every hand-made change ip can make to the objects of ``steps``: (netns, ip argv)."""
    found = []
    for module, params in steps:
        if module == "route":
            version = _version(params)
            table, metric = route_key(params)[3:]
            where = ["-%d" % version, "route"]
            tail = ["table", str(table), "metric", str(metric)]
            found.append((params.get("netns"), where + ["del", params["dst"]] + tail))
            if params.get("gateway"):
                other = str(ipaddress.ip_address(params["gateway"]) - 1)
                found.append((params.get("netns"), where + ["replace", params["dst"], "via", other] + tail))
            continue
        for name_key, netns_key, field, master_key in (("name", "netns", "addresses", "master"),
                                                       ("peer", "peer_netns", "peer_addresses", "peer_master")):
            if name_key not in params:
                continue
            name, netns = params[name_key], params.get(netns_key)
            found += [(netns, ["link", "set", name, "down"]), (netns, ["link", "set", name, "mtu", "1300"]),
                      (netns, ["link", "del", name])]
            found += [(netns, ["addr", "del", a, "dev", name]) for a in params.get(field, ())]
            found += [(netns, ["addr", "add", EXTRA[v], "dev", name]) for v in (4, 6)]
            if module == "veth":
                # Into any named namespace of the topology (VETH_MOVED_AWAY below) or the
                # sandbox's own one: this process's, never pid 1's (the host's).
                found += [(netns, ["link", "set", name, "netns", other or str(os.getpid())])
                          for other in {None} | {p["name"] for m, p in steps if m == "netns"} - {netns}]
                if master_key in params:
                    found.append((netns, ["link", "set", name, "nomaster"]))
                found += [(netns, ["link", "set", name, "master", p["name"]]) for m, p in steps
                          if m == "bridge" and p.get("netns") == netns and p["name"] != params.get(master_key)]
    return found


# -- the properties --------------------------------------------------------------------------

# Found here: a bridge made with an MTU took its ports' MTU when they joined
# (the kernel keeps a bridge's MTU only once it was set after the bridge was
# made), so a second run set it again. Fixed in kernel/operations.py.
BRIDGE_MTU_DEFECT = [("bridge", {"name": "br1", "mtu": 1280}),
                     ("veth", {"name": "va0", "peer": "vb0", "peer_master": "br1"})]
BRIDGE_MTU_1500 = [("bridge", {"name": "br1", "mtu": 1500}),
                   ("veth", {"name": "va0", "peer": "vb0", "mtu": 9000, "master": "br1"})]


@generated(bounded=20)
@given(topologies())
@example(steps=BRIDGE_MTU_DEFECT)
@example(steps=BRIDGE_MTU_1500)
def test_a_topology_converges_reads_back_and_tears_down(steps):
    count("a. links: converge, read back, check mode, teardown")
    with sandboxed() as box:
        cold = box.snapshot()
        predicted = run_steps(engine_steps(steps), check_mode=True)
        assert box.snapshot() == cold, "check mode changed the kernel"
        applied = run_steps(engine_steps(steps))
        assert [o.operations for o in applied] == [o.operations for o in predicted]
        assert mismatches(box, steps) == []
        again = run_steps(engine_steps(steps))
        assert [o.operations for o in again] == [[] for _step in steps]
        run_steps(teardown(steps))
        assert box.snapshot() == cold


# Found here: a veth end moved into a namespace its step does not name was
# not found there, so the step made the pair anew, which dropped the routes
# over it, and a route step that check mode found in order had to add its
# route again. veth.py now looks for the peer in every named namespace and
# moves it back.
VETH_MOVED_AWAY = ([("netns", {"name": "pa"}), ("veth", {"name": "va0", "peer": "vb0", "addresses": ["192.0.2.1/25"]}),
                    ("route", {"dst": "default", "gateway": "192.0.2.126"})],
                   [(None, ["link", "set", "vb0", "netns", "pa"])])


def drifted_topologies():
    """(steps, drift): a topology and one to three hand-made changes to it."""
    return topologies().flatmap(lambda steps: st.tuples(
        st.just(steps), st.lists(st.sampled_from(drifts(steps)), min_size=1, max_size=3)))


@generated(bounded=20)
@given(drifted_topologies())
@example(case=VETH_MOVED_AWAY)
def test_b_drift_is_planned_exactly_and_repaired(case):
    count("b. links: drift planned and repaired")
    steps, drift = case
    with sandboxed() as box:
        run_steps(engine_steps(steps))
        for netns, argv in drift:
            box.ip(*argv, netns=netns, check=False)  # a change an earlier one made impossible is no change
        wrong = mismatches(box, steps)
        planned = run_steps(engine_steps(steps), check_mode=True)
        assert [i for i, outcome in enumerate(planned) if outcome.changed] == wrong
        for (module, params), outcome in zip(steps, planned):
            assert all(names(module, params, op) for op in outcome.operations), outcome.operations
        repaired = run_steps(engine_steps(steps))
        assert [o.operations for o in repaired] == [o.operations for o in planned]
        assert mismatches(box, steps) == []
        assert not any(o.changed for o in run_steps(engine_steps(steps)))
