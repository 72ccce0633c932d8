"""The cni role's default conflist (plugins/plugin_utils/cni_default_config.py)."""

import pytest

from ansible_collections.netplumb.linux.plugins.plugin_utils.cni_default_config import default_config, ranges


@pytest.mark.parametrize("subnet, start, expected", [
    ("10.244.1.0/24", "", {"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.128"}),
    ("10.244.1.0/29", "", {"subnet": "10.244.1.0/29", "rangeStart": "10.244.1.4"}),
    ("10.244.1.0/30", "", {"subnet": "10.244.1.0/30"}),  # too small for an upper half of its own
    ("10.244.1.7/24", "", {"subnet": "10.244.1.7/24", "rangeStart": "10.244.1.128"}),  # an address: its network
    ("10.244.1.0/24", "10.244.1.200", {"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.200"}),
    ("fd00:10:244:1::/64", "", {"subnet": "fd00:10:244:1::/64", "rangeStart": "fd00:10:244:1:8000::"}),
    ("fd00::/125", "", {"subnet": "fd00::/125", "rangeStart": "fd00::4"}),
    ("fd00::/126", "", {"subnet": "fd00::/126"}),
    ("", "", {"subnet": ""}),  # no subnet: the role's own check names cni_subnet
])
def test_a_range_starts_in_the_upper_half(subnet, start, expected):
    assert ranges(subnet, start) == expected


def test_single_and_dual_stack_configs():
    single = default_config("10.244.1.0/24", bridge="cni1", ip_masq=False)
    bridge, portmap = single["plugins"]
    assert single["cniVersion"] == "1.0.0" and (bridge["type"], bridge["bridge"], bridge["ipMasq"]) == ("bridge", "cni1", False)
    assert bridge["ipam"] == {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                              "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.128"}]]}
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}
    dual = default_config("10.244.1.0/24", "fd00:10:244:1::/64", range_start="10.244.1.10")
    assert dual["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.10"}],
                                                    [{"subnet": "fd00:10:244:1::/64",
                                                      "rangeStart": "fd00:10:244:1:8000::"}]]
    assert dual["plugins"][0]["ipam"]["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]
