# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_network's parameters as one desired state, checked before anything on
the node changes, and what derives from them: the bridge's addresses, the
containers as container_net takes them, the masquerade rules (and those they
replace), the forward-accept matches, the port forwards with their IPv6
twins and the sysctl settings. What needs the node (the uplink, the rules'
interfaces) is added by the planner."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import ipaddress
import re
from typing import FrozenSet, Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.cni import unmanaged
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import MAX_PORTS
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

DEFAULT_BRIDGE = "v-net-0"
EXCLUSIVE = ("containers", "port_forwards")
BACKENDS = ("auto", "nftables", "iptables")
PROTOCOLS = ("tcp", "udp")
IPV4_FORWARDING = "net.ipv4.ip_forward"
IPV6_FORWARDING = "net.ipv6.conf.all.forwarding"
# "address[:port]" of an IPv4 port forward target.
_TARGET4 = re.compile(r"^(?P<address>[0-9.]+)(?::(?P<port>[0-9]+))?$")
_FORWARD_KEYS = ("port", "protocol", "to", "to6")
_ROUTE_KEYS = ("dst", "gateway")


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """node_network's parameters, checked, the IPv6 twins of the port forwards derived."""
    state: str
    bridge: str
    mtu: Optional[int]
    network: object                     # ipaddress network: the IPv4 container subnet
    gateway: object                     # ipaddress address on the bridge
    network6: Optional[object] = None
    gateway6: Optional[object] = None
    containers: Tuple = ()              # dicts, as container_net takes them
    uplink: Optional[str] = None        # None: the device of the default route
    uplink_variable: str = "uplink"     # what messages call it
    masquerade: bool = True
    masquerades: Tuple = ()             # {source, not_to}
    forward_rules: bool = False
    port_forwards: Tuple = ()           # {port, protocol, to, family}
    routes: Tuple = ()                  # {dst, gateway}
    forwarding: bool = True
    sysctl_file: str = "/etc/sysctl.d/60-netplumb.conf"
    nat_backend: str = "auto"
    network_managers: str = "auto"
    exclusive: FrozenSet[str] = frozenset()

    @property
    def subnets(self):
        return [str(n) for n in (self.network, self.network6) if n is not None]

    @property
    def bridge_addresses(self):
        pairs = ((self.gateway, self.network), (self.gateway6, self.network6))
        return ["%s/%d" % (gw, net.prefixlen) for gw, net in pairs if net is not None]

    @property
    def forward_matches(self):
        """Forward-accept rules: from each subnet, then to each."""
        return [{key: subnet} for key in ("source", "destination") for subnet in self.subnets]

    @property
    def families(self):
        return ("ipv4", "ipv6") if self.network6 is not None else ("ipv4",)


def parse(params):
    state = validate.choice("state", params.get("state") or "present", ("present", "absent"))
    bridge = validate.ifname("bridge", DEFAULT_BRIDGE if params.get("bridge") is None else params.get("bridge"))
    network = _network("cidr", params.get("cidr"), 4)
    raw6 = params.get("cidr6")
    network6 = _network("cidr6", raw6, 6) if raw6 not in (None, "") else None
    gateway = _gateway("gateway", params.get("gateway"), network)
    gateway6 = _gateway("gateway6", params.get("gateway6"), network6) if network6 is not None else None
    uplink = params.get("uplink")
    variable = params.get("uplink_variable") or "uplink"
    uplink = validate.ifname(variable, uplink) if uplink not in (None, "") else None
    exclusive = params.get("exclusive") or []
    if not isinstance(exclusive, (list, tuple)):
        raise ParamError("exclusive", exclusive, "must be a list of %s" % ", ".join(EXCLUSIVE))
    raw_containers = _list("containers", params.get("containers"))
    if state == "present" and len(raw_containers) > MAX_PORTS:
        raise ParamError("containers", "%d containers" % len(raw_containers), "are more than the %d ports a Linux "
                         "bridge holds: spread them over several bridges" % MAX_PORTS)
    return NodeSpec(
        state=state, bridge=bridge, mtu=validate.mtu_for("mtu", params.get("mtu"), (gateway6,)),
        network=network, gateway=gateway, network6=network6, gateway6=gateway6,
        containers=tuple(_container(index, item, network, network6) for index, item in enumerate(raw_containers)),
        uplink=uplink, uplink_variable=variable,
        masquerade=_flag(params, "masquerade", True),
        masquerades=tuple(_masquerades(params, network, network6)),
        forward_rules=_flag(params, "forward_rules", False),
        port_forwards=tuple(port_forwards(_list("port_forwards", params.get("port_forwards")), raw_containers,
                                          network6 is not None)),
        routes=tuple(_route(index, item) for index, item in enumerate(_list("routes", params.get("routes")))),
        forwarding=_flag(params, "forwarding", True),
        sysctl_file=_absolute("sysctl_file", params.get("sysctl_file") or NodeSpec.sysctl_file),
        nat_backend=validate.choice("nat_backend", params.get("nat_backend") or "auto", BACKENDS),
        network_managers=validate.choice("network_managers", params.get("network_managers") or "auto",
                                         unmanaged.MODES),
        exclusive=frozenset(validate.choice("exclusive", item, EXCLUSIVE) for item in exclusive),
    )


def _flag(params, name, default):
    value = validate.boolean(name, params.get(name))
    return default if value is None else value


def _list(field, value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ParamError(field, value, "must be a list")
    return list(value)


def _absolute(field, value):
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise ParamError(field, value, "must be an absolute path")
    return value


def _network(field, value, version):
    net = validate.network(field, value)
    if net.version != version:
        raise ParamError(field, value, "is not an IPv%d network" % version)
    return net


def _gateway(field, value, network):
    """The address given, or the subnet's first one; it must be in the subnet."""
    if value in (None, ""):
        if network.num_addresses < 2:
            raise ParamError(field, value, "cannot default to the first address of %s: set it" % network)
        return network.network_address + 1
    address = validate.ip(field, value)
    if address not in network:
        raise ParamError(field, value, "is not in %s" % network)
    if _reserved(address, network):
        raise ParamError(field, value, "is the network or broadcast address of %s" % network)
    return address


def _reserved(address, network):
    """The network and broadcast addresses of an IPv4 subnet, which no interface may take."""
    edges = (network.network_address, network.broadcast_address)
    return network.version == 4 and network.prefixlen < 31 and address in edges


def _container(index, item, network, network6):
    """One container as container_net takes it: its addresses get the
    subnet's prefix length when written without one."""
    if not isinstance(item, dict):
        raise ParamError("containers[%d]" % index, item, "must be a dictionary")
    container = dict(item)
    for key, net in (("address", network), ("address6", network6)):
        value = container.get(key)
        if value in (None, ""):
            container.pop(key, None)
            continue
        if net is None:
            raise ParamError("containers[%d].%s" % (index, key), value, "needs cidr6, the node's IPv6 subnet")
        if "/" not in str(value):
            container[key] = "%s/%d" % (value, net.prefixlen)
        address = validate.interface_address("containers[%d].%s" % (index, key), container[key])
        if address.network != net:
            raise ParamError("containers[%d].%s" % (index, key), value, "is not an address of %s" % net)
        if _reserved(address.ip, net):
            raise ParamError("containers[%d].%s" % (index, key), value, "is the network or broadcast address of %s"
                             % net)
    return container


def _masquerades(params, network, network6):
    """Masquerade per subnet; with a cluster CIDR of its family, not toward it."""
    rules = []
    for field, subnet, version in (("cluster_cidr", network, 4), ("cluster_cidr6", network6, 6)):
        raw = params.get(field)
        cluster = _network(field, raw, version) if raw not in (None, "") else None
        if subnet is None:
            continue
        if cluster is not None and not subnet.subnet_of(cluster):
            raise ParamError(field, raw, "must contain %s" % subnet)
        rules.append({"source": str(subnet), "not_to": str(cluster) if cluster is not None else ""})
    return rules


def _route(index, item):
    if not isinstance(item, dict) or set(item) - set(_ROUTE_KEYS) or not all(key in item for key in _ROUTE_KEYS):
        raise ParamError("routes[%d]" % index, item, "must be a dictionary of exactly dst and gateway")
    return {"dst": str(item["dst"]), "gateway": str(item["gateway"])}


def _address(text):
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def port_forward_target(to, port):
    """(target with port, the target's address, the target's port) of an IPv4
    port forward's ``to``: 198.51.100.11 with port 80 gives
    ('198.51.100.11:80', '198.51.100.11', '80'). A target that is not an IPv4
    address (with an optional port) stays as written, with the port appended
    when it has no colon, and has no address: nat_rule's check names it."""
    text = str(to)
    match = _TARGET4.match(text)
    if match and isinstance(_address(match.group("address")), ipaddress.IPv4Address):
        target_port = match.group("port") or str(port)
        return "%s:%s" % (match.group("address"), target_port), match.group("address"), target_port
    return (text if ":" in text else "%s:%s" % (text, port)), None, None


def ipv6_target(to6, target_port):
    """The IPv6 twin's ``to``: ``to6`` as written when bracketed ([address]:port),
    else [to6]:<the IPv4 target's port>."""
    text = str(to6)
    if text.startswith("["):
        return text
    return "[%s]:%s" % (text, target_port)


def _twin_address(forward, containers, target_address):
    """The IPv6 address a port forward's twin goes to: its own ``to6`` when it
    has that key, else the address6 of the container whose address is the
    IPv4 target; '' for none."""
    if "to6" in forward:
        return forward["to6"] or ""
    if target_address is None:
        return ""
    for container in containers:
        if not isinstance(container, dict):
            continue
        address = str(container.get("address") or "").split("/", maxsplit=1)[0]
        if _address(address) is not None and _address(address) == _address(target_address):
            return str(container.get("address6") or "").split("/", maxsplit=1)[0]
    return ""


def port_forwards(forwards, containers, dual_stack):
    """Each port forward as nat_rule options (port, protocol, to, family):
    IPv4, and its IPv6 twin on a dual-stack node when there is an IPv6 target.
    Without one, the twin is ``gone``: one made while there was one goes."""
    rules = []
    for index, forward in enumerate(forwards):
        field = "port_forwards[%d]" % index
        if not isinstance(forward, dict):
            raise ParamError(field, forward, "must be a dictionary")
        unknown = sorted(set(forward) - set(_FORWARD_KEYS))
        if unknown or "port" not in forward or "to" not in forward:
            raise ParamError(field, forward, "must have port and to (and may have protocol and to6)%s"
                             % ("; unknown: %s" % ", ".join(unknown) if unknown else ""))
        if forward["port"] is None or forward["to"] in (None, ""):
            raise ParamError(field, forward, "must have port and to set")
        port = str(validate.integer(field + ".port", forward["port"], 1, 65535))
        protocol = validate.choice(field + ".protocol", forward.get("protocol") or "tcp", PROTOCOLS)
        to, target_address, target_port = port_forward_target(forward["to"], port)
        rules.append({"port": port, "protocol": protocol, "to": to, "family": "ipv4", "index": index, "field": "to"})
        if not dual_stack:
            continue
        to6 = _twin_address(forward, containers, target_address)
        twin = {"port": port, "protocol": protocol, "family": "ipv6", "index": index, "field": "to6"}
        if to6:
            # A target that was not an address keeps what follows its last colon as the port.
            twin_port = target_port if target_port is not None else to.rpartition(":")[2]
            # What the twin's target came from, for messages: to6, or the container's address6.
            rules.append(dict(twin, to=ipv6_target(to6, twin_port)))
        else:
            rules.append(dict(twin, to=None, gone=True))
    return rules
