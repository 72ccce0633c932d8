# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lean rtnetlink socket (netns, veth, container_net): standard library only.

Why not pyroute2 here: importing it costs about 200 ms and decoding one link
of a dump about 0.4 ms (docs/performance.md has the profile), which alone is
more than the whole per-container budget of a no-change run. This socket
encodes the handful of requests the engine's apply step sends, and reads dumps
into plain tuples, decoding only the attributes the engine looks at.

``RtnlSocket`` answers the subset of pyroute2's ``IPRoute`` API that
``apply.py`` and ``kernel.py`` call (``link``, ``addr``, ``route``,
``link_lookup``, ``get_netnsid``, ``close``), so the same operations, errno
handling and rollback run on it unchanged; kernel.Kernel(lean=True) reads its
dumps (``links``, ``addresses``, ``routes``) into the same model as pyroute2's.
A socket is bound to the namespace it is created in, as any netlink socket.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import ipaddress
import os
import socket
import struct

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_GETNSID = 90

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x100, 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD, IFLA_EXT_MASK, IFLA_LINK_NETNSID = 18, 20, 28, 29, 37
IFLA_OPERSTATE = 16
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING = 5, 7
NETNSA_NSID, NETNSA_FD = 1, 3
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
IFF_UP = 0x1
RTN_UNICAST = 1
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255

_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTA = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
RTEXT_FILTER_SKIP_STATS = 1 << 3
_LINK_ATTRS = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE,
                         IFLA_LINKINFO, IFLA_IFALIAS, IFLA_LINK_NETNSID))
_INFO_ATTRS = frozenset((IFLA_INFO_KIND, IFLA_INFO_DATA))
_BRIDGE_ATTRS = frozenset((IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING))
# RFC 2863 operational states, as the kernel numbers them and ``ip`` names them.
_OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")
_ADDR_ATTRS = frozenset((IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS))
_ROUTE_ATTRS = frozenset((RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE))
# ipaddress constructors take (packed bytes, prefix) directly.
_PACKED = {socket.AF_INET: ipaddress.IPv4Interface, socket.AF_INET6: ipaddress.IPv6Interface}
_NETWORK = {socket.AF_INET: ipaddress.IPv4Network, socket.AF_INET6: ipaddress.IPv6Network}
_ADDRESS = {socket.AF_INET: ipaddress.IPv4Address, socket.AF_INET6: ipaddress.IPv6Address}
_ZERO = {socket.AF_INET: b"\0" * 4, socket.AF_INET6: b"\0" * 16}

# One link, one address, one route of a dump: only what the engine reads.
LinkMsg = collections.namedtuple("LinkMsg", "index name kind flags mtu master peer_index peer_nsid alias "
                                            "mac operstate stp vlan_filtering",
                                 defaults=("", "", None, None))
AddrMsg = collections.namedtuple("AddrMsg", "index address flags")
RouteMsg = collections.namedtuple("RouteMsg", "dst table metric gateway oif proto scope type")


# One receive buffer for every socket: each answer is copied out before the next recv.
_BUF = bytearray(1 << 16)
_VIEW = memoryview(_BUF)


class NetlinkError(OSError):
    """The kernel's answer to a request: ``code`` is the errno, as pyroute2's."""

    def __init__(self, code, what=""):
        self.code = code
        super(NetlinkError, self).__init__(code, "%s%s" % (what + ": " if what else "", os.strerror(code)))


def _attr(kind, payload):
    length = 4 + len(payload)
    return _RTA.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _name(value):
    return os.fsencode(value) + b"\0"


def _pick(data, offset, wanted):
    """{type: payload} of the attributes of ``wanted`` types in a run of attributes."""
    found = {}
    end = len(data)
    unpack = _RTA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        kind &= 0x3FFF
        if kind in wanted:
            found[kind] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return found


def _text(payload):
    return payload.split(b"\0", 1)[0].decode("utf-8", "replace") if payload is not None else None


def _u32(payload):
    return _U32.unpack(payload[:4])[0] if payload is not None else None


class RtnlSocket:
    """One rtnetlink socket in the namespace of the thread that creates it."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._sock.bind((0, 0))
        except OSError:
            self._sock.close()
            raise
        self._seq = 0

    def close(self):
        self._sock.close()

    # -- the wire --------------------------------------------------------------

    def _send(self, kind, flags, body):
        self._seq += 1
        self._sock.send(_NLMSG.pack(16 + len(body), kind, flags | NLM_F_REQUEST, self._seq, 0) + body)
        return self._seq

    def _replies(self, seq):
        """Yield (type, payload) of the answers to request ``seq`` until it is done."""
        buf, view = _BUF, _VIEW
        while True:
            size = self._sock.recv_into(buf)
            data = bytes(view[:size])
            offset = 0
            while offset + 16 <= size:
                length, kind, flags, mseq, _pid = _NLMSG.unpack_from(data, offset)
                start = offset
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = -_I32.unpack_from(data, start + 16)[0]
                    if code:
                        raise NetlinkError(code)
                    return
                yield kind, data[start + 16:start + length]
                if not flags & NLM_F_MULTI:
                    return

    def request(self, kind, body, flags=0):
        for _reply in self._replies(self._send(kind, flags | NLM_F_ACK, body)):
            pass

    def dump(self, kind, body):
        return [payload for _kind, payload in self._replies(self._send(kind, NLM_F_DUMP, body))]

    # -- dumps -----------------------------------------------------------------

    def links(self):
        request = _IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        return [_link_msg(payload) for payload in self.dump(RTM_GETLINK, request)]

    def get_link(self, ifname):
        """One link by name (one request, no dump), or None."""
        body = (_IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_IFNAME, _name(ifname))
                + _attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS)))
        try:
            for _kind, payload in self._replies(self._send(RTM_GETLINK, 0, body)):
                return _link_msg(payload)
        except NetlinkError as exc:
            if exc.code == 19:  # ENODEV
                return None
            raise
        return None

    def link_lookup(self, ifname):
        found = self.get_link(ifname)
        return [found.index] if found is not None else []

    def addresses(self, index=None):
        """Addresses (IPv6 link-local left out), of link ``index`` only if given."""
        result = []
        for payload in self.dump(RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0)):
            family, prefixlen, flags, _scope, ifindex = _IFADDR.unpack_from(payload)
            if (index is not None and ifindex != index) or family not in _PACKED:
                continue
            attrs = _pick(payload, 8, _ADDR_ATTRS)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw is None or (family == socket.AF_INET6 and raw[:2] == b"\xfe\x80"):
                continue
            iface = _PACKED[family]((raw, prefixlen))
            extended = _u32(attrs.get(IFA_FLAGS))
            result.append(AddrMsg(ifindex, iface, extended if extended is not None else flags))
        return result

    def get_netnsid(self, fd):
        """{"nsid": id} under which this socket's namespace knows the namespace
        of ``fd`` (-1: none yet), as pyroute2's IPRoute.get_netnsid."""
        body = struct.pack("=Bxxx", socket.AF_UNSPEC) + _attr(NETNSA_FD, _U32.pack(fd))
        for _kind, payload in self._replies(self._send(RTM_GETNSID, 0, body)):
            nsid = _pick(payload, 4, (NETNSA_NSID,)).get(NETNSA_NSID)
            return {"nsid": _I32.unpack(nsid[:4])[0] if nsid is not None else -1}
        return {"nsid": -1}

    def routes(self, families=(socket.AF_INET, socket.AF_INET6), table=None, unicast_only=True):
        """Routes of ``families`` (of ``table`` only if given; every type, not
        only unicast, with ``unicast_only=False``)."""
        result = []
        for family in families:
            for payload in self.dump(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)):
                _fam, dst_len, _src, _tos, rtm_table, proto, scope, rtype, _flags = _RTMSG.unpack_from(payload)
                if (unicast_only and rtype != RTN_UNICAST) or (table is not None and table < 256
                                                               and rtm_table != table):
                    continue
                attrs = _pick(payload, 12, _ROUTE_ATTRS)
                real_table = _u32(attrs.get(RTA_TABLE)) or rtm_table
                if table is not None and real_table != table:
                    continue
                dst = attrs.get(RTA_DST) or _ZERO[family]
                gateway = attrs.get(RTA_GATEWAY)
                result.append(RouteMsg(_NETWORK[family]((dst, dst_len)), real_table,
                                       _u32(attrs.get(RTA_PRIORITY)) or 0,
                                       _ADDRESS[family](gateway) if gateway else None,
                                       _u32(attrs.get(RTA_OIF)), proto, scope, rtype))
        return result

    # -- pyroute2's IPRoute subset that apply.py uses --------------------------

    def link(self, command, index=0, ifname=None, kind=None, peer=None, mtu=None, master=None,
             state=None, net_ns_fd=None, ifalias=None, br_stp_state=None, br_vlan_filtering=None):
        if command == "del":
            self.request(RTM_DELLINK, _IFINFO.pack(0, 0, index, 0, 0))
            return
        flags = change = 0
        if state is not None:
            flags, change = (IFF_UP if state == "up" else 0), IFF_UP
        body = _IFINFO.pack(0, 0, index, flags, change) + _link_attrs(ifname, mtu, master, net_ns_fd, ifalias)
        if command == "add":
            data = b""
            if peer is not None:
                data = _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(
                    peer.get("ifname"), peer.get("mtu"), None, peer.get("net_ns_fd"), None)))
            body += _attr(IFLA_LINKINFO, _attr(IFLA_INFO_KIND, kind.encode()) + data)
            self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)
        elif command == "set":
            if kind is not None:
                body += _attr(IFLA_LINKINFO, _attr(IFLA_INFO_KIND, kind.encode()) + _attr(
                    IFLA_INFO_DATA, _bridge_attrs(br_stp_state, br_vlan_filtering)))
            self.request(RTM_NEWLINK, body)
        else:
            raise ValueError("link command %r" % command)

    def addr(self, command, index, address, prefixlen, flags=0):
        ip = ipaddress.ip_address(address)
        family = _FAMILY[ip.version]
        body = _IFADDR.pack(family, prefixlen, flags, 0, index) + _attr(IFA_LOCAL, ip.packed) + _attr(IFA_ADDRESS, ip.packed)
        if command == "add":
            self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL)
        else:
            self.request(RTM_DELADDR, body)

    def route(self, command, dst, table=254, priority=0, gateway=None, oif=None, scope=None):
        net = ipaddress.ip_network(dst, strict=False)
        family = _FAMILY[net.version]
        if scope is None:
            scope = RT_SCOPE_UNIVERSE
        rtype, proto = RTN_UNICAST, RTPROT_STATIC
        if command == "del":
            rtype, proto = 0, 0
        body = _RTMSG.pack(family, net.prefixlen, 0, 0, table if table < 256 else 252, proto, scope, rtype, 0)
        if net.prefixlen:
            body += _attr(RTA_DST, net.network_address.packed)
        body += _attr(RTA_TABLE, _U32.pack(table))
        if priority:
            body += _attr(RTA_PRIORITY, _U32.pack(priority))
        if gateway is not None:
            body += _attr(RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
        if oif:
            body += _attr(RTA_OIF, _U32.pack(oif))
        if command == "add":
            self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL)
        elif command == "replace":
            self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_REPLACE)
        else:
            self.request(RTM_DELROUTE, body)


def _link_msg(payload):
    _family, _type, index, flags, _change = _IFINFO.unpack_from(payload)
    attrs = _pick(payload, 16, _LINK_ATTRS)
    kind = stp = vlan_filtering = None
    info = attrs.get(IFLA_LINKINFO)
    if info is not None:
        info = _pick(info, 0, _INFO_ATTRS)
        kind = _text(info.get(IFLA_INFO_KIND))
        if kind == "bridge" and IFLA_INFO_DATA in info:
            bridge = _pick(info[IFLA_INFO_DATA], 0, _BRIDGE_ATTRS)
            stp = bool(_u32(bridge.get(IFLA_BR_STP_STATE)))
            vlan_filtering = bool(bridge.get(IFLA_BR_VLAN_FILTERING, b"\0")[0])
    nsid = attrs.get(IFLA_LINK_NETNSID)
    mac = attrs.get(IFLA_ADDRESS)
    operstate = attrs.get(IFLA_OPERSTATE)
    return LinkMsg(index, _text(attrs.get(IFLA_IFNAME)), kind, flags, _u32(attrs.get(IFLA_MTU)),
                   _u32(attrs.get(IFLA_MASTER)) or None, _u32(attrs.get(IFLA_LINK)),
                   _I32.unpack(nsid[:4])[0] if nsid is not None else None, _text(attrs.get(IFLA_IFALIAS)),
                   mac.hex(":") if mac else "",
                   _OPERSTATES[operstate[0]] if operstate and operstate[0] < len(_OPERSTATES) else "",
                   stp, vlan_filtering)


def _bridge_attrs(stp_state, vlan_filtering):
    out = b""
    if stp_state is not None:
        out += _attr(IFLA_BR_STP_STATE, _U32.pack(stp_state))
    if vlan_filtering is not None:
        out += _attr(IFLA_BR_VLAN_FILTERING, struct.pack("=B", vlan_filtering))
    return out


def _link_attrs(ifname, mtu, master, net_ns_fd, ifalias):
    out = b""
    if ifname is not None:
        out += _attr(IFLA_IFNAME, _name(ifname))
    if mtu:
        out += _attr(IFLA_MTU, _U32.pack(mtu))
    if master is not None:
        out += _attr(IFLA_MASTER, _U32.pack(master))
    if net_ns_fd is not None:
        out += _attr(IFLA_NET_NS_FD, _U32.pack(net_ns_fd))
    if ifalias is not None:
        out += _attr(IFLA_IFALIAS, ifalias.encode())
    return out
