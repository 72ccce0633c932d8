"""Bad role variables: (role, vars, variable, value text). The role's
meta/argument_specs.yml must reject each before the role's first task."""

CIDR = {"bridge_network_cidr": "198.51.100.0/24"}


def bn(variable, value, text=None, **more):
    return ("bridge_network", dict(CIDR, **{variable: value}, **more), variable, text if text is not None else str(value))


def role(name, variable, value, text=None):
    return (name, {variable: value}, variable, text if text is not None else str(value))


ROLE_CASES = [
    ("bridge_network", {}, "bridge_network_cidr", None),
    bn("bridge_network_state", "maybe"),
    bn("bridge_network_forwarding", "perhaps"),
    bn("bridge_network_masquerade", "sometimes"),
    bn("bridge_network_forward_rules", "yes please"),
    bn("bridge_network_nat_backend", "pf"),
    bn("bridge_network_containers", [{"name": "c1"}], "address"),
    bn("bridge_network_containers", [{"name": "c1", "address": "198.51.100.11", "mtu": "big"}], "big"),
    bn("bridge_network_containers", [{"name": "c1", "address": "198.51.100.11", "colour": "red"}], "colour"),
    bn("bridge_network_containers", [{"address": "198.51.100.11"}], "name"),
    bn("bridge_network_containers", {"c1": "198.51.100.11"}, "c1"),
    bn("bridge_network_port_forwards", [{"port": "http", "to": "198.51.100.11"}], "http"),
    bn("bridge_network_port_forwards", [{"port": 80, "to": "198.51.100.11", "protocol": "icmp"}], "icmp"),
    bn("bridge_network_port_forwards", [{"to": "198.51.100.11"}], "port"),
    bn("bridge_network_peer_routes", [{"dst": "203.0.113.0/24"}], "gateway"),
    role("cni", "cni_state", "installed"),
    role("cni", "cni_priority", "high"),
    role("cni", "cni_exclusive", "maybe"),
    role("cni", "cni_run_check", "later"),
    role("cni", "cni_ip_masq", "often"),
    role("cni", "cni_config", "bridge", "of type str"),
    role("cni", "cni_plugins", {"bridge": True}, "of type dict"),
    role("lab", "lab_state", "paused"),
    role("lab", "lab_node_count", "two"),
    role("lab", "lab_node_count", [2], "2"),
]

# Right type, wrong content (or a list Ansible turns into text, or a value
# that does not fit the node): argument specs cannot check these; the role's
# first tasks fail on them. Measured: rejected before any change, and whether
# the message names the variable.
FORMAT_CASES = [
    bn("bridge_network_cidr", "300.0.0.0/24", "300.0.0.0/24"),
    bn("bridge_network_cidr", ["198.51.100.0/24"], "198.51.100.0/24"),
    # Content the node judges (the sandbox has no default route, and no such interface):
    # node_network rejects it before it plans anything (NODE_JUDGED).
    bn("bridge_network_uplink", "nosuch0", "'nosuch0' is not an interface of this node"),
    bn("bridge_network_uplink", "", "no IPv4 default route"),
    role("cni", "cni_network_name", ["pods"], "pods"),
    role("lab", "lab_node_prefix", "a/b"),
    role("lab", "lab_fabric_cidr", "192.0.2.0/33"),
    role("lab", "lab_fabric_cidr", {"net": 1}, "net"),
]

# Variables whose content only the node can judge, and the task that does, before any change of the network.
NODE_JUDGED = {"bridge_network_uplink": "The node's container network"}
