"""The routes to the other nodes' container subnets (plugins/plugin_utils/bridge_network_peers.py) and the
filter that reads them from hostvars (plugins/filter/bridge_network_peer_routes.py). No Ansible run, no root."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.netplumb.linux.plugins.filter import bridge_network_peer_routes as peer_filter
from ansible_collections.netplumb.linux.plugins.plugin_utils import bridge_network_peers

PEERS = [{"bridge_network_cidr": "198.51.100.64/26", "bridge_network_node_address": "192.0.2.21",
          "bridge_network_cidr6": "2001:db8:2::/64", "bridge_network_node_address6": "2001:db8:ffff::21"},
         {"bridge_network_cidr": "198.51.100.128/26", "bridge_network_node_address": "",
          "bridge_network_cidr6": "2001:db8:3::/64", "bridge_network_node_address6": "2001:db8:ffff::22"},
         {"bridge_network_cidr": "198.51.100.192/26", "bridge_network_node_address": "192.0.2.23"},
         {"bridge_network_node_address": "192.0.2.24", "bridge_network_cidr6": "",
          "bridge_network_node_address6": "2001:db8:ffff::24"},
         {}]


def test_peer_routes_per_family_from_peers_that_set_both_subnet_and_node_address():
    assert bridge_network_peers.peer_routes(PEERS) == [
        {"dst": "198.51.100.64/26", "gateway": "192.0.2.21"},
        {"dst": "2001:db8:2::/64", "gateway": "2001:db8:ffff::21"},
        {"dst": "2001:db8:3::/64", "gateway": "2001:db8:ffff::22"},
        {"dst": "198.51.100.192/26", "gateway": "192.0.2.23"}]
    assert bridge_network_peers.peer_routes([]) == []


def test_the_variables_read_are_the_four_of_the_two_pairs():
    assert bridge_network_peers.VARIABLES == ("bridge_network_cidr", "bridge_network_node_address",
                                              "bridge_network_cidr6", "bridge_network_node_address6")


class Peer(dict):
    """hostvars[peer]: each variable templated when read; reading one that
    cannot be templated raises; every name read is recorded."""

    def __init__(self, failing=(), **variables):
        super(Peer, self).__init__(**variables)
        self.failing = set(failing)
        self.read = []

    def __getitem__(self, name):
        self.read.append(name)
        if name in self.failing:
            raise RuntimeError("undefined variable in the template of %s" % name)
        return dict.__getitem__(self, name)

    def get(self, name, default=None):
        raise AssertionError("the filter reads hostvars by subscript only, not get(%r)" % name)

    def __iter__(self):
        raise AssertionError("the filter must not walk all of a peer's variables")

    def items(self):
        raise AssertionError("the filter must not walk all of a peer's variables")


def test_the_filter_reads_only_the_four_variables_and_takes_one_that_fails_as_unset():
    peer = Peer(failing=["bridge_network_cidr6"], bridge_network_cidr="198.51.100.64/26",
                bridge_network_node_address="192.0.2.21", bridge_network_cidr6="2001:db8:2::/64",
                bridge_network_node_address6="2001:db8:ffff::21", other="{{ never read }}")
    assert peer_filter.bridge_network_peer_routes([peer]) == [{"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}]
    assert sorted(peer.read) == sorted(bridge_network_peers.VARIABLES)
    # A failing node address drops that family too; the other family stays.
    other = Peer(failing=["bridge_network_node_address"], bridge_network_cidr="198.51.100.128/26",
                 bridge_network_node_address="192.0.2.22", bridge_network_cidr6="2001:db8:3::/64",
                 bridge_network_node_address6="2001:db8:ffff::22")
    assert peer_filter.bridge_network_peer_routes([peer, other]) == [
        {"dst": "198.51.100.64/26", "gateway": "192.0.2.21"},
        {"dst": "2001:db8:3::/64", "gateway": "2001:db8:ffff::22"}]


def test_the_filter_takes_missing_and_none_as_unset_and_keeps_the_peers_order():
    peers = [Peer(bridge_network_cidr="198.51.100.192/26", bridge_network_node_address="192.0.2.23",
                  bridge_network_cidr6=None, bridge_network_node_address6="2001:db8:ffff::23"),
             Peer(bridge_network_cidr="198.51.100.64/26", bridge_network_node_address="192.0.2.21"),
             Peer()]
    assert peer_filter.bridge_network_peer_routes(peers) == [
        {"dst": "198.51.100.192/26", "gateway": "192.0.2.23"},
        {"dst": "198.51.100.64/26", "gateway": "192.0.2.21"}]
    assert peer_filter.bridge_network_peer_routes(()) == []


def test_the_filter_refuses_an_input_that_is_not_a_list():
    for value in ({"bridge_network_cidr": "198.51.100.64/26"}, "198.51.100.64/26", None, 3):
        with pytest.raises(AnsibleFilterError, match="bridge_network_peer_routes: the input must be a list"):
            peer_filter.bridge_network_peer_routes(value)


def test_the_filter_is_registered_under_its_name():
    assert peer_filter.FilterModule().filters() == {
        "bridge_network_peer_routes": peer_filter.bridge_network_peer_routes}
