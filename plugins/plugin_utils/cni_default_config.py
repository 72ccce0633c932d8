# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conflist the cni role writes when it is given no cni_config: bridge
(with host-local ranges in the upper half of each pod subnet, so that
bridge_network's static containers in the lower half never collide) and
portmap. Pure Python; the filter cni_default_config exposes it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.plugin_utils.cidr import host, network

# The smallest subnets whose upper half still holds a usable range: a /29 has
# 8 addresses (upper half .4-.7), an IPv6 /125 likewise.
_SMALLEST = {4: 29, 6: 125}


def ranges(subnet, range_start=""):
    """host-local's range of one pod subnet: the subnet, and where the range
    starts (``range_start`` as given, else the first address of the upper
    half, when the subnet is large enough to have one)."""
    start = range_start
    net = network(subnet, "subnet") if subnet else None
    if not start and net is not None and net.prefixlen <= _SMALLEST[net.version]:
        start = str(host(net, net.num_addresses // 2))
    return dict({"subnet": subnet}, **({"rangeStart": start} if start else {}))


def default_config(subnet, subnet6="", bridge="cni0", ip_masq=True, range_start=""):
    """The conflist as data (cniVersion and name come from cni_config)."""
    ipam_ranges = [[ranges(subnet, range_start)]] + ([[ranges(subnet6)]] if subnet6 else [])
    routes = [{"dst": "0.0.0.0/0"}] + ([{"dst": "::/0"}] if subnet6 else [])
    return {
        "cniVersion": "1.0.0",
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": bool(ip_masq),
             "ipam": {"type": "host-local", "ranges": ipam_ranges, "routes": routes}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
