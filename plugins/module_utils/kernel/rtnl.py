# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lean netlink session: standard library only.

Why not pyroute2 here: importing it costs about 200 ms and decoding one link
of a dump about 0.4 ms (docs/performance.md has the profile), which alone is
more than the whole per-container budget of a no-change run. This session
encodes the handful of requests the kernel operations send, and decodes only
the attributes the model holds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import ipaddress
import os
import socket
import struct

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetlinkError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import model
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.session import NetlinkSession

NETLINK_ROUTE = 0
SOL_NETLINK, NETLINK_GET_STRICT_CHK = 270, 12

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
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
_NSID_REQUEST = struct.pack("=Bxxx", socket.AF_UNSPEC)
IFF_UP, IFF_LOOPBACK = model.IFF_UP, model.IFF_LOOPBACK

# Addresses parsed in this process: lo's come back from every namespace read,
# and every container's default route names the same gateway.
_PARSED = {}


def _parsed(kind, raw):
    key = (kind, raw)
    value = _PARSED.get(key)
    if value is None:
        value = _PARSED[key] = kind(raw)
    return value


def _iface(family, raw, prefixlen):
    """The interface of an address, or None for one the engine leaves to the
    kernel (IPv6 link-local, told by its first bytes without parsing it)."""
    if family == socket.AF_INET6 and raw[0] == 0xFE and raw[1] & 0xC0 == 0x80:
        return None
    return _parsed(_PACKED[family], (raw, prefixlen))


# One receive buffer for every socket: each answer is copied out before the next recv.
_BUF = bytearray(1 << 16)
_VIEW = memoryview(_BUF)


def _attr(kind, payload):
    length = 4 + len(payload)
    return _RTA.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _name(value):
    return os.fsencode(value) + b"\0"


def _pick(data, offset, wanted):
    """{type: payload} of the attributes of ``wanted`` types in a run of attributes."""
    found = {}
    end = len(data) - 4
    unpack = _RTA.unpack_from
    while offset <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        kind &= 0x3FFF
        if kind in wanted:
            found[kind] = data[offset + 4:offset + length]
        offset += (length + 3) & -4
    return found


def _text(payload):
    return payload.split(b"\0", 1)[0].decode("utf-8", "replace") if payload is not None else None


def _u32(payload):
    return _U32.unpack(payload[:4])[0] if payload is not None else None


class LeanSession(NetlinkSession):
    """One rtnetlink socket (``sock``, bound) in the namespace it was opened
    in; ``strict``: the kernel checks requests strictly and filters dumps."""

    def __init__(self, sock, strict):
        self._sock = sock
        self._strict = strict
        self._seq = 0

    @classmethod
    def open(cls):
        """A session on a new socket in the calling thread's namespace."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((0, 0))
        except OSError:
            sock.close()
            raise
        try:
            # The kernel then filters route dumps by table and type itself (4.20 and later).
            sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            strict = True
        except OSError:
            strict = False
        return cls(sock, strict)

    def close(self):
        self._sock.close()

    # -- the wire --------------------------------------------------------------

    def _message(self, kind, flags, body):
        self._seq += 1
        return _NLMSG.pack(16 + len(body), kind, flags | NLM_F_REQUEST, self._seq, 0) + body

    def _send(self, kind, flags, body):
        self._sock.send(self._message(kind, flags, body))
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
                    # A dump that failed after it started says so here.
                    code = -_I32.unpack_from(data, start + 16)[0] if length >= 20 else 0
                    if code > 0:
                        raise NetlinkError(code)
                    return
                if kind == NLMSG_ERROR:
                    code = -_I32.unpack_from(data, start + 16)[0]
                    if code:
                        raise NetlinkError(code)
                    return
                yield kind, data[start + 16:start + length]
                if not flags & NLM_F_MULTI:
                    return

    def _request(self, kind, body, flags=0):
        for _reply in self._replies(self._send(kind, flags | NLM_F_ACK, body)):
            pass

    def _dump(self, kind, body):
        return [payload for _kind, payload in self._replies(self._send(kind, NLM_F_DUMP, body))]

    # -- reads -----------------------------------------------------------------

    def links(self):
        request = _IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        return [_link(payload) for payload in self._dump(RTM_GETLINK, request)]

    def link(self, name):
        return self.links_named((name,))[0]

    def links_named(self, names):
        return self.read_named(names, addresses=False)[0]

    def read_named(self, names, addresses=True, home_fd=None):
        # One send: the lookups, the id, then the address dump. The kernel
        # answers the requests in turn; the dump goes last since it runs on
        # while its answers are read.
        data, seqs = b"", []
        for name in names:
            data += self._message(RTM_GETLINK, 0, _IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_IFNAME, _name(name))
                                  + _attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS)))
            seqs.append(self._seq)
        if home_fd is not None:
            data += self._message(RTM_GETNSID, 0, _NSID_REQUEST + _attr(NETNSA_FD, _U32.pack(home_fd)))
            nsid_seq = self._seq
        if addresses:
            data += self._message(RTM_GETADDR, NLM_F_DUMP, _IFADDR.pack(0, 0, 0, 0, 0))
            dump_seq = self._seq
        self._sock.send(data)
        links, found, home, error = [], [], None, None
        for seq in seqs:
            try:
                links.append(next((_link(payload) for _kind, payload in self._replies(seq)), None))
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    error = error or exc  # the other answers are read first
                links.append(None)
        try:
            if home_fd is not None:
                home = next((_nsid(payload) for _kind, payload in self._replies(nsid_seq)), None)
        except NetlinkError as exc:
            error = error or exc
        if addresses:
            found = _addresses(payload for _kind, payload in self._replies(dump_seq))
        if error is not None:
            raise error
        return links, found, home

    def addresses(self, index=None):
        return _addresses(self._dump(RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0)), index)

    def netnsid(self, fd):
        body = _NSID_REQUEST + _attr(NETNSA_FD, _U32.pack(fd))
        return next((_nsid(payload) for _kind, payload in self._replies(self._send(RTM_GETNSID, 0, body))), None)

    def routes(self, families=(4, 6), table=None, unicast_only=False):
        wanted = frozenset(_FAMILY[version] for version in families)
        # Both families in one dump: AF_UNSPEC walks every family's routes
        # (multicast routing's too, left out below), one send instead of two.
        result = []
        for family in (socket.AF_UNSPEC,) if len(wanted) > 1 else wanted:
            request = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, RTN_UNICAST if self._strict and unicast_only else 0, 0)
            if self._strict and table is not None:
                request += _attr(RTA_TABLE, _U32.pack(table))
            try:
                payloads = self._dump(RTM_GETROUTE, request)
            except NetlinkError as exc:
                if exc.code != errno.ENOENT or table is None:
                    raise
                payloads = []  # a filtered dump of a table that does not exist
            for payload in payloads:
                family, dst_len, _src, _tos, rtm_table, proto, scope, rtype, _flags = _RTMSG.unpack_from(payload)
                if (family not in wanted or (unicast_only and rtype != RTN_UNICAST)
                        or (table is not None and table < 256 and rtm_table != table)):
                    continue
                attrs = _pick(payload, 12, _ROUTE_ATTRS)
                real_table = _u32(attrs.get(RTA_TABLE)) or rtm_table
                if table is not None and real_table != table:
                    continue
                dst = attrs.get(RTA_DST) or _ZERO[family]
                gateway = attrs.get(RTA_GATEWAY)
                result.append(model.decoded(
                    model.Route, netns=None, dst=_parsed(_NETWORK[family], (dst, dst_len)), table=real_table,
                    metric=_u32(attrs.get(RTA_PRIORITY)) or 0,
                    gateway=_parsed(_ADDRESS[family], gateway) if gateway else None,
                    proto=model.named(model.PROTOS, proto), scope=model.named(model.SCOPES, scope),
                    type=model.named(model.TYPES, rtype), oif=_u32(attrs.get(RTA_OIF))))
        return result

    # -- writes ----------------------------------------------------------------

    def add_bridge(self, name, mtu=None, address=None):
        body = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(name, mtu) + (_attr(IFLA_ADDRESS, address) if address else b"")
        self._request(RTM_NEWLINK, body + _attr(IFLA_LINKINFO, _attr(IFLA_INFO_KIND, b"bridge")),
                      NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(self, name, peer, peer_netns_fd=None, mtu=None):
        peer_body = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(peer, mtu, netns_fd=peer_netns_fd)
        info = _attr(IFLA_INFO_KIND, b"veth") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_body))
        body = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(name, mtu) + _attr(IFLA_LINKINFO, info)
        self._request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)

    def delete_link(self, index):
        self._request(RTM_DELLINK, _IFINFO.pack(0, 0, index, 0, 0))

    def set_link(self, index, mtu=None, master=None, up=None, netns_fd=None, alias=None):
        flags, change = (0, 0) if up is None else ((model.IFF_UP if up else 0), model.IFF_UP)
        body = _IFINFO.pack(0, 0, index, flags, change) + _link_attrs(None, mtu, master, netns_fd, alias)
        self._request(RTM_NEWLINK, body)

    def set_bridge(self, index, stp=None, vlan_filtering=None):
        data = b""
        if stp is not None:
            data += _attr(IFLA_BR_STP_STATE, _U32.pack(int(stp)))
        if vlan_filtering is not None:
            data += _attr(IFLA_BR_VLAN_FILTERING, struct.pack("=B", int(vlan_filtering)))
        info = _attr(IFLA_INFO_KIND, b"bridge") + _attr(IFLA_INFO_DATA, data)
        self._request(RTM_NEWLINK, _IFINFO.pack(0, 0, index, 0, 0) + _attr(IFLA_LINKINFO, info))

    def add_address(self, index, iface, nodad=False):
        self._request(RTM_NEWADDR, _addr_body(index, iface, model.IFA_F_NODAD if nodad else 0),
                      NLM_F_CREATE | NLM_F_EXCL)

    def delete_address(self, index, iface):
        self._request(RTM_DELADDR, _addr_body(index, iface, 0))

    def route(self, command, route, oif=None):
        net = route.dst
        family = _FAMILY[net.version]
        rtype, proto = RTN_UNICAST, RTPROT_STATIC
        if command == "del":
            rtype, proto, scope = 0, 0, RT_SCOPE_NOWHERE  # any scope, as ip route del
        else:
            scope = RT_SCOPE_UNIVERSE if route.gateway is not None else RT_SCOPE_LINK
        table = route.table
        body = _RTMSG.pack(family, net.prefixlen, 0, 0, table if table < 256 else 252, proto, scope, rtype, 0)
        if net.prefixlen:
            body += _attr(RTA_DST, net.network_address.packed)
        body += _attr(RTA_TABLE, _U32.pack(table))
        if route.metric:
            body += _attr(RTA_PRIORITY, _U32.pack(route.metric))
        if route.gateway is not None and command != "del":
            body += _attr(RTA_GATEWAY, route.gateway.packed)
        if oif and command != "del":
            body += _attr(RTA_OIF, _U32.pack(oif))
        if command == "add":
            self._request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL)
        elif command == "replace":
            self._request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_REPLACE)
        elif command == "del":
            self._request(RTM_DELROUTE, body)
        else:
            raise ValueError("route command %r" % command)


def _addresses(payloads, index=None):
    result = []
    for payload in payloads:
        family, prefixlen, flags, _scope, ifindex = _IFADDR.unpack_from(payload)
        if (index is not None and ifindex != index) or family not in _PACKED:
            continue
        attrs = _pick(payload, 8, _ADDR_ATTRS)
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is None:
            continue
        iface = _iface(family, raw, prefixlen)
        if iface is None:
            continue
        extended = _u32(attrs.get(IFA_FLAGS))
        flags = extended if extended is not None else flags
        result.append(model.decoded(model.Address, index=ifindex, address=iface,
                                    secondary=bool(flags & model.IFA_F_SECONDARY), flags=flags))
    return result


def _nsid(payload):
    nsid = _pick(payload, 4, (NETNSA_NSID,)).get(NETNSA_NSID)
    found = _I32.unpack(nsid[:4])[0] if nsid is not None else -1
    return found if found >= 0 else None


def _link(payload):
    _family, _type, index, flags, _change = _IFINFO.unpack_from(payload)
    attrs = _pick(payload, 16, _LINK_ATTRS)
    get = attrs.get
    kind = stp = vlan_filtering = None
    info = get(IFLA_LINKINFO)
    if info is not None:
        info = _pick(info, 0, _INFO_ATTRS)
        kind = _text(info.get(IFLA_INFO_KIND))
        if kind == "bridge" and IFLA_INFO_DATA in info:
            bridge = _pick(info[IFLA_INFO_DATA], 0, _BRIDGE_ATTRS)
            stp = bool(_u32(bridge.get(IFLA_BR_STP_STATE)))
            vlan_filtering = bool(bridge.get(IFLA_BR_VLAN_FILTERING, b"\0")[0])
    if not kind:
        kind = "loopback" if flags & IFF_LOOPBACK else "device"
    peer_index = peer_nsid = None
    if kind == "veth":
        peer_index = _u32(get(IFLA_LINK))
        nsid = get(IFLA_LINK_NETNSID)
        if nsid is not None:
            peer_nsid = _I32.unpack_from(nsid)[0]
    mac = get(IFLA_ADDRESS)
    operstate = get(IFLA_OPERSTATE)
    alias = get(IFLA_IFALIAS)
    return model.decoded(
        model.Link, netns=None, index=index, name=_text(get(IFLA_IFNAME)), kind=kind, up=bool(flags & IFF_UP),
        mtu=_u32(get(IFLA_MTU)),
        peer_index=peer_index, peer_nsid=peer_nsid, alias=_text(alias) if alias else "",
        mac=mac.hex(":") if mac else "",
        operstate=_OPERSTATES[operstate[0]] if operstate and operstate[0] < len(_OPERSTATES) else "",
        stp=stp, vlan_filtering=vlan_filtering, master_index=_u32(get(IFLA_MASTER)) or None)


def _addr_body(index, iface, flags):
    packed = iface.ip.packed
    return (_IFADDR.pack(_FAMILY[iface.version], iface.network.prefixlen, flags, 0, index)
            + _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed))


def _link_attrs(ifname, mtu, master=None, netns_fd=None, alias=None):
    out = b""
    if ifname is not None:
        out += _attr(IFLA_IFNAME, _name(ifname))
    if mtu:
        out += _attr(IFLA_MTU, _U32.pack(mtu))
    if master is not None:
        out += _attr(IFLA_MASTER, _U32.pack(master))
    if netns_fd is not None:
        out += _attr(IFLA_NET_NS_FD, _U32.pack(netns_fd))
    if alias is not None:
        out += _attr(IFLA_IFALIAS, alias.encode())
    return out
