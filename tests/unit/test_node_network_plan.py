"""node_network's planner (plugins/module_utils/node_network/node_network.py) against a fake node
(tests/lib/fake_netlink.py): the links and routes come from the fake kernel, the NAT rules from a fake
backend holding none, the /proc/sys values from a stub and the sysctl.d file from a temporary
directory. No root, no nft or iptables. What the plan does to a real node is the integration tests'."""

import ipaddress

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network, sysctl

from fake_netlink import FakeNode  # pylint: disable=wrong-import-order

CONTAINERS = [{"name": "c1", "address": "198.51.100.11"}, {"name": "c2", "address": "198.51.100.12"}]


class _NoRules(nat_rule.Backend):
    """nftables without a rule of ours, read without running nft."""

    def read(self, netns, families=(4, 6), texts=True):
        return []

    def problems(self, netns, family, wanted):
        return []


@pytest.fixture
def node(monkeypatch):
    """A node with an uplink and a default route through it, nothing else."""
    monkeypatch.setattr(nat_rule, "choose_backend", lambda requested, netns: (_NoRules("nftables"), "fake"))
    monkeypatch.setattr(sysctl, "current", lambda name: "0")
    fake = FakeNode()
    fake.netns(None).add("eth0", "device", addresses=["192.0.2.10/24"])
    fake.netns(None).route("0.0.0.0/0", "192.0.2.1", "eth0")
    return fake


def plan(fake, tmp_path, check_mode=False, **params):
    ctx = Context(check_mode)
    ctx.kernel = fake.kernel(ctx, node_network.NETLINK)
    # The node's network managers are read from its /etc: the integration tests' business.
    params = dict({"bridge": "br0", "cidr": "198.51.100.0/26", "sysctl_file": str(tmp_path / "60-netplumb.conf"),
                   "network_managers": "none"}, **params)
    return node_network.plan(ctx, node_network.parse(params)), ctx


def test_on_an_empty_node_the_bridge_comes_before_the_containers_and_routes_and_nat_after(node, tmp_path):
    result, ctx = plan(node, tmp_path, containers=CONTAINERS, forward_rules=True,
                       routes=[{"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}],
                       port_forwards=[{"port": 80, "to": "198.51.100.11:8080"}])
    assert ctx.warnings == []
    # Phase order (core/plan.py PHASES): files, bridge, veth (a new container is one op), address, up, route, nat.
    assert result.describe() == [
        "set net.ipv4.ip_forward = 1",
        "write %s (67 bytes, mode 0644, owner 0:0)" % (tmp_path / "60-netplumb.conf"),  # the marker and the key
        "create bridge br0",
        "create container c1: eth0 198.51.100.11/26 in netns c1, host end veth-c1 on br0",
        "create container c2: eth0 198.51.100.12/26 in netns c2, host end veth-c2 on br0",
        "add address 198.51.100.1/26 to br0",
        "set br0 up=on",
        "add route 198.51.100.64/26 via 192.0.2.21 table 254 metric 0",
        "add rule masquerade from 198.51.100.0/26 out eth0 in nftables",
        "add rule forward from 198.51.100.0/26 in nftables",
        "add rule forward to 198.51.100.0/26 in nftables",
        "add rule dnat in eth0 tcp/80 -> 198.51.100.11:8080 in nftables"]


def test_the_summary_counts_each_kind(node, tmp_path):
    result, _ctx = plan(node, tmp_path, containers=CONTAINERS, cidr6="2001:db8:1::/64",
                        routes=[{"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}])
    summary = result.extra["summary"]
    assert summary == {
        "bridge": {"total": 1, "changed": 1},
        # Also by outcome, as container_net counts them ("updated": changed in place).
        "containers": {"total": 2, "changed": 2, "created": 2, "updated": 0, "removed": 0, "unchanged": 0},
        # Masquerade per subnet, forward-accept from and to each (off: nothing to remove).
        "nat_rules": {"total": 6, "changed": 2},
        "routes": {"total": 1, "changed": 1},
        "sysctl": {"total": 1, "changed": 1},
        "network_managers": {"total": 0, "changed": 0},
        "operations": len(result.ops)}
    assert result.extra["uplink"] == "eth0"
    assert result.extra["ansible_facts"]["netplumb_container_network"] == {
        "bridge": "br0", "cidr": "198.51.100.0/26", "cidr6": "2001:db8:1::/64"}
    assert result.after["sysctl"][str(tmp_path / "60-netplumb.conf")]["settings"] == {
        "net.ipv4.ip_forward": "1", "net.ipv6.conf.eth0.accept_ra": "2", "net.ipv6.conf.all.forwarding": "1"}


def test_a_bridge_planned_in_the_same_run_needs_no_earlier_task(node, tmp_path):
    for check_mode in (False, True):
        result, ctx = plan(node, tmp_path, check_mode=check_mode, containers=CONTAINERS)
        assert not any("assumes an earlier task" in warning for warning in ctx.warnings), ctx.warnings
        assert ctx.plans_link(None, "br0")
        assert sum(text.startswith("create container ") for text in result.describe()) == 2


def test_an_existing_bridge_is_not_planned_again(node, tmp_path):
    node.netns(None).add("br0", "bridge", addresses=["198.51.100.1/26"])
    result, ctx = plan(node, tmp_path, containers=CONTAINERS)
    assert not ctx.plans_link(None, "br0")
    assert not any("br0" in text and "bridge" in text for text in result.describe())
    assert result.extra["summary"]["bridge"] == {"total": 1, "changed": 0}


def test_a_teardown_names_each_rule_and_sysctl_key_with_every_name_the_uplink_may_have_had(
        node, monkeypatch, tmp_path):
    monkeypatch.setattr(nat_rule, "owned_interfaces", lambda netns: ["eth0", "old0"])
    (tmp_path / "60-netplumb.conf").write_text("vm.swappiness=10\nnet.ipv4.ip_forward=1\n"
                                               "net.ipv6.conf.old0.accept_ra=2\nnet.ipv6.conf.all.forwarding=1\n")
    result, _ctx = plan(node, tmp_path, state="absent", cidr6="2001:db8:1::/64", cluster_cidr="198.51.100.0/24",
                        port_forwards=[{"port": 80, "to": "198.51.100.11:8080"}],
                        containers=[{"name": "c1", "address": "198.51.100.11", "address6": "2001:db8:1::11"}])
    assert result.extra["ansible_facts"]["netplumb_uplink"]["names"] == ["eth0", "old0"]
    labels = sorted(result.after["nat_rules"])
    # The masquerade not toward the cluster CIDR, by whatever words its label gives the negation.
    not_to = [label for label in labels if label.startswith("masquerade from 198.51.100.0/26 to ")]
    assert [label.rpartition("198.51.100.0/24 ")[2] for label in not_to] == ["out eth0 (absent)", "out old0 (absent)"]
    assert sorted(set(labels) - set(not_to)) == sorted(
        ["dnat in %s tcp/80 -> 198.51.100.11:8080 (absent)" % name for name in ("eth0", "old0")]
        + ["dnat ipv6 in %s tcp/80 -> [2001:db8:1::11]:8080 (absent)" % name for name in ("eth0", "old0")]
        + ["forward from 198.51.100.0/26 (absent)", "forward to 198.51.100.0/26 (absent)",
           "forward ipv6 from 2001:db8:1::/64 (absent)", "forward ipv6 to 2001:db8:1::/64 (absent)"]
        + ["masquerade from 198.51.100.0/26 out %s (absent)" % name for name in ("eth0", "old0")]
        + ["masquerade ipv6 from 2001:db8:1::/64 out %s (absent)" % name for name in ("eth0", "old0")])
    # Forwarding stays on until the next boot; only the file's lines go, every uplink name's accept_ra too.
    assert result.describe()[0] == "write %s (17 bytes, mode 0644, owner 0:0)" % (tmp_path / "60-netplumb.conf")
    assert result.after["sysctl"][str(tmp_path / "60-netplumb.conf")]["file"] == "vm.swappiness=10\n"


def _many(count):
    """``count`` containers in 198.51.96.0/20, the gateway's address (the first) left free."""
    subnet = ipaddress.ip_network("198.51.96.0/20")
    return [{"name": "c%d" % i, "address": str(subnet[i + 2])} for i in range(count)]


class _Counting(dict):
    """The fake node's namespaces, counting every session opened on them."""

    opened = 0

    def __getitem__(self, name):
        self.opened += 1
        return dict.__getitem__(self, name)


def test_more_than_1023_containers_fail_with_param_error(node, tmp_path):
    many = _many(1024)
    with pytest.raises(ParamError, match="1024 containers.*more than the 1023 ports a Linux bridge holds"):
        plan(node, tmp_path, cidr="198.51.96.0/20", containers=many)
    plan(node, tmp_path, cidr="198.51.96.0/20", containers=many[:1023])  # the limit itself is fine


def test_more_than_1023_containers_fail_before_any_read(node, tmp_path):
    node.namespaces = _Counting(node.namespaces)
    many = _many(1024)
    with pytest.raises(ParamError, match="more than the 1023 ports"):
        plan(node, tmp_path, cidr="198.51.96.0/20", containers=many)
    assert node.namespaces.opened == 0
