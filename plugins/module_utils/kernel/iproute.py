# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink session over pyroute2's IPRoute (0.7 and later), for the
full-featured paths. Everything pyroute2-shaped stays in this file: its
request keywords, its message objects, and what differs between its versions.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import ipaddress
import socket

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetlinkError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import model
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.session import NetlinkSession

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_SCOPE_LINK = 253
_SCOPE_ANY = 255


def _kernel_errors(method):
    """pyroute2's NetlinkError is no OSError: turn it into the sessions' own
    (an OSError with ``code``), so every caller catches one kind."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except OSError:
            raise
        except Exception as exc:  # pyroute2.NetlinkError, imported only where pyroute2 is
            code = getattr(exc, "code", None)
            if not isinstance(code, int) or code <= 0:
                raise
            raise NetlinkError(code) from exc
    return call


class Pyroute2Session(NetlinkSession):
    def __init__(self, ipr):
        self._ipr = ipr

    @classmethod
    def open(cls, iproute_class):
        """A session on a new IPRoute socket in the calling thread's namespace."""
        return cls(iproute_class())

    def close(self):
        self._ipr.close()

    # -- reads -------------------------------------------------------------------

    def links(self):
        return [_link(msg) for msg in self._ipr.get_links()]

    def link(self, name):
        found = self._ipr.link_lookup(ifname=name)
        if not found:
            return None
        return _link(self._ipr.get_links(found[0])[0])

    def index(self, name):
        found = self._ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def addresses(self, index=None):
        result = []
        for msg in self._ipr.get_addr():
            if index is not None and msg["index"] != index:
                continue
            addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
            if addr is None:
                continue
            iface = ipaddress.ip_interface("%s/%d" % (addr, msg["prefixlen"]))
            if not model.managed_address(iface):
                continue
            # IFA_FLAGS carries the 32-bit flags; the header's are the low 8 bits.
            flags = msg.get_attr("IFA_FLAGS")
            flags = msg["flags"] if flags is None else flags
            result.append(model.Address(msg["index"], iface, bool(flags & model.IFA_F_SECONDARY), flags))
        return result

    def routes(self, families=(4, 6), table=None, unicast_only=False):
        result = []
        for version in families:
            for msg in self._ipr.get_routes(family=_FAMILY[version]):
                route = _route(msg, version)
                if (unicast_only and route.type != "unicast") or (table is not None and route.table != table):
                    continue
                result.append(route)
        return result

    def netnsid(self, fd):
        reply = self._ipr.get_netnsid(fd=fd)
        # pyroute2 answers a dict ({"nsid": n}); -1 or nothing: no id yet. The
        # kernel's -1 is a signed 32-bit value that pyroute2 0.9 decodes unsigned.
        nsid = reply.get("nsid") if isinstance(reply, dict) else None
        return nsid if isinstance(nsid, int) and 0 <= nsid < 1 << 31 else None

    # -- writes ------------------------------------------------------------------

    def add_bridge(self, name, mtu=None, address=None):
        mac = {"address": ":".join("%02x" % byte for byte in address)} if address else {}
        self._ipr.link("add", ifname=name, kind="bridge", **dict(_mtu(mtu), **mac))

    def add_veth(self, name, peer, peer_netns_fd=None, mtu=None):
        peer_args = dict(ifname=peer, **_mtu(mtu))
        if peer_netns_fd is not None:
            peer_args["net_ns_fd"] = peer_netns_fd
        self._ipr.link("add", ifname=name, kind="veth", peer=peer_args, **_mtu(mtu))

    def delete_link(self, index):
        self._ipr.link("del", index=index)

    def set_link(self, index, mtu=None, master=None, up=None, netns_fd=None, alias=None):
        args = _mtu(mtu)
        if master is not None:
            args["master"] = master
        if up is not None:
            args["state"] = "up" if up else "down"
        if netns_fd is not None:
            args["net_ns_fd"] = netns_fd
        if alias is not None:
            args["ifalias"] = alias
        self._ipr.link("set", index=index, **args)

    def set_bridge(self, index, stp=None, vlan_filtering=None):
        args = {}
        if stp is not None:
            args["br_stp_state"] = int(stp)
        if vlan_filtering is not None:
            args["br_vlan_filtering"] = int(vlan_filtering)
        self._ipr.link("set", index=index, kind="bridge", **args)

    def add_address(self, index, iface, nodad=False):
        extra = {"flags": model.IFA_F_NODAD} if nodad else {}
        self._ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen, **extra)

    def delete_address(self, index, iface):
        self._ipr.addr("del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def route(self, command, route, oif=None):
        request = {"dst": str(route.dst), "table": route.table, "priority": route.metric}
        if command == "del":
            request["scope"] = _SCOPE_ANY  # match the route whatever its scope, as ip route del
        else:
            if route.gateway is not None:
                request["gateway"] = str(route.gateway)
            else:
                request["scope"] = _SCOPE_LINK  # on-link, as ip route add ... dev X
            if oif:
                request["oif"] = oif
        self._ipr.route(command, **request)


for _name in [n for n, v in vars(Pyroute2Session).items() if callable(v) and not n.startswith("_")]:
    setattr(Pyroute2Session, _name, _kernel_errors(getattr(Pyroute2Session, _name)))


def _mtu(mtu):
    return {"mtu": mtu} if mtu else {}


def _link(msg):
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    data = info.get_attr("IFLA_INFO_DATA") if info is not None else None
    if not kind:
        kind = "loopback" if msg["flags"] & model.IFF_LOOPBACK else "device"
    stp = vlan_filtering = None
    if kind == "bridge" and data is not None:
        stp = bool(data.get_attr("IFLA_BR_STP_STATE"))
        vlan_filtering = bool(data.get_attr("IFLA_BR_VLAN_FILTERING"))
    veth = kind == "veth"
    return model.Link(
        netns=None, index=msg["index"], name=msg.get_attr("IFLA_IFNAME"), kind=kind,
        up=bool(msg["flags"] & model.IFF_UP), mtu=msg.get_attr("IFLA_MTU"),
        master_index=msg.get_attr("IFLA_MASTER") or None,
        peer_index=msg.get_attr("IFLA_LINK") if veth else None,
        peer_nsid=msg.get_attr("IFLA_LINK_NETNSID") if veth else None,
        alias=msg.get_attr("IFLA_IFALIAS") or "", mac=msg.get_attr("IFLA_ADDRESS") or "",
        operstate=(msg.get_attr("IFLA_OPERSTATE") or "").lower(), stp=stp, vlan_filtering=vlan_filtering)


def _route(msg, version):
    dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if version == 4 else "::")
    gateway = msg.get_attr("RTA_GATEWAY")
    return model.Route(
        netns=None, dst=ipaddress.ip_network("%s/%d" % (dst, msg["dst_len"]), strict=False),
        table=msg.get_attr("RTA_TABLE") or msg["table"], metric=msg.get_attr("RTA_PRIORITY") or 0,
        gateway=ipaddress.ip_address(gateway) if gateway else None,
        proto=model.named(model.PROTOS, msg["proto"]), scope=model.named(model.SCOPES, msg["scope"]),
        type=model.named(model.TYPES, msg["type"]), oif=msg.get_attr("RTA_OIF"))
