# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_net's checks before any change: the bridge, its ports after the
run, an address another container on the bridge holds, a container another
bridge's call made."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.container_net.read import paired, read_container
from ansible_collections.netplumb.linux.plugins.module_utils.container_net.spec import MAX_PORTS, owner
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError


def check_ports(host, spec, removed):
    """The bridge's ports after the run, its other ports counted (the
    kernel refuses the port over MAX_PORTS half way through a run): more
    fail before any read of the containers."""
    listed = {container.host for container in spec.containers}
    others = sum(1 for name, link in host.links.items()
                 if link.master == spec.bridge and name not in listed and name not in removed)
    if others + len(listed) > MAX_PORTS:
        raise ParamError("containers", "%d containers" % len(listed), "and the %d other ports of bridge %s are more "
                         "than the %d ports a Linux bridge holds: spread them over several bridges"
                         % (others, spec.bridge, MAX_PORTS))


def check_addresses(kernel, spec, host, staying):
    """A listed container's address that a container left in place on the
    bridge holds (``staying``: host end -> container, ones container_net
    made and the call neither lists nor removes) would be on the bridge
    twice, and the two would take each other's traffic: fail before any
    change, naming both. One read per such container, and a node without
    any reads nothing."""
    wanted = {address.ip: (container, "address" if address.version == 4 else "address6")
              for container in spec.containers for address in container.addresses}
    for name, other in sorted(staying.items()):
        ns = read_container(kernel, other, spec.ifname)
        eth = ns.get(spec.ifname)
        if not paired(ns, host.get(name), eth):
            continue
        for address in eth.addresses:
            if address.ip in wanted:
                container, key = wanted[address.ip]
                raise ParamError(container.field(key), str(address.ip), "is the address of container %s on bridge "
                                 "%s, which is not listed and stays: list it with another address, or remove it "
                                 "(state absent, or containers exclusive)" % (other, spec.bridge))


def check_bridge(ctx, host, bridge):
    link = host.get(bridge)
    if link is None:
        if ctx.plans_link(None, bridge):
            return
        if ctx.assume_earlier_task("bridge: %r does not exist yet; check mode assumes an earlier task "
                                   "creates it" % bridge):
            return
        raise ParamError("bridge", bridge, "is not a link in the node's namespace")
    if link.kind != "bridge":
        raise ParamError("bridge", bridge, "is a %s, not a bridge" % link.kind)


def check_not_taken(spec, want, hlink):
    """A container that container_net made for another bridge, still a port
    of that bridge, belongs to that bridge's call: taking it over would move
    it to and fro on every run of the two calls. One whose bridge is gone is
    taken over (a call that renamed its bridge)."""
    made_for = owner(hlink.alias)
    if made_for is not None and made_for[0] != spec.bridge and hlink.master == made_for[0]:
        raise ParamError(want.field("name"), want.name, "is a container of bridge %s (its host end %s is a port of "
                         "it), made for that bridge's call: remove it there first (state absent with bridge %s), "
                         "or give this one another name" % (made_for[0], want.host, made_for[0]))
