"""The node_network resource: a node's whole container network (bridge,
containers, NAT rules, routes to the other nodes, forwarding) as one plan
made from the other resources' planners, applied and verified as one.

Imports: every other package (it composes them); nothing imports it but the
node_network module.
"""
