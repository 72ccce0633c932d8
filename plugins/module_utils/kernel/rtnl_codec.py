# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rtnetlink messages as bytes, for the lean session (rtnl.py): the numbers
the kernel uses, the attributes its requests carry, and the kernel's answers
decoded into the model's objects.

Only the attributes the model holds are decoded: a link message carries about
40, and walking them is most of what a read costs in Python.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import socket
import struct

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import model

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
RTEXT_FILTER_SKIP_STATS = 1 << 3

NLMSG = struct.Struct("=IHHII")
IFINFO = struct.Struct("=BxHiII")
IFADDR = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")
U32 = struct.Struct("=I")
I32 = struct.Struct("=i")
_RTA = struct.Struct("=HH")
_HEAD = struct.Struct("=I")  # an attribute's length and type as one number
FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
NSID_REQUEST = struct.pack("=Bxxx", socket.AF_UNSPEC)
IFF_UP, IFF_LOOPBACK = model.IFF_UP, model.IFF_LOOPBACK

_LINK_ATTRS = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE,
                         IFLA_LINKINFO, IFLA_IFALIAS, IFLA_LINK_NETNSID))
_INFO_ATTRS = frozenset((IFLA_INFO_KIND, IFLA_INFO_DATA))
_BRIDGE_ATTRS = frozenset((IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING))
_NSID_ATTRS = frozenset((NETNSA_NSID,))
# RFC 2863 operational states, as the kernel numbers them and ``ip`` names them.
_OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")
_ADDR_ATTRS = frozenset((IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS))
_ROUTE_ATTRS = frozenset((RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE))
# ipaddress constructors take (packed bytes, prefix) directly.
PACKED = {socket.AF_INET: ipaddress.IPv4Interface, socket.AF_INET6: ipaddress.IPv6Interface}
_NETWORK = {socket.AF_INET: ipaddress.IPv4Network, socket.AF_INET6: ipaddress.IPv6Network}
_ADDRESS = {socket.AF_INET: ipaddress.IPv4Address, socket.AF_INET6: ipaddress.IPv6Address}
_ZERO = {socket.AF_INET: b"\0" * 4, socket.AF_INET6: b"\0" * 16}


# -- encoding ------------------------------------------------------------------


def attr(kind, payload):
    length = 4 + len(payload)
    return _RTA.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def name(value):
    return os.fsencode(value) + b"\0"


_NO_STATS = attr(IFLA_EXT_MASK, U32.pack(RTEXT_FILTER_SKIP_STATS))
LINK_DUMP = IFINFO.pack(0, 0, 0, 0, 0) + _NO_STATS
ADDRESS_DUMP = IFADDR.pack(0, 0, 0, 0, 0)


def link_lookup(ifname):
    return _once(_link_lookup, ifname)


def _link_lookup(ifname):
    return IFINFO.pack(0, 0, 0, 0, 0) + attr(IFLA_IFNAME, name(ifname)) + _NO_STATS


def nsid_lookup(fd):
    """The id under which the namespace asked knows the namespace of ``fd``."""
    return NSID_REQUEST + attr(NETNSA_FD, U32.pack(fd))


def route_dump(family, table, unicast_only):
    """A route dump that a strict socket's kernel filters by ``table`` and type itself."""
    body = RTMSG.pack(family, 0, 0, 0, 0, 0, 0, RTN_UNICAST if unicast_only else 0, 0)
    return body + attr(RTA_TABLE, U32.pack(table)) if table is not None else body


def new_bridge(ifname, mtu=None, address=None):
    body = IFINFO.pack(0, 0, 0, 0, 0) + link_attrs(ifname, mtu) + (attr(IFLA_ADDRESS, address) if address else b"")
    return body + attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge"))


def new_veth(ifname, peer, peer_netns_fd=None, mtu=None):
    peer_body = IFINFO.pack(0, 0, 0, 0, 0) + link_attrs(peer, mtu, netns_fd=peer_netns_fd)
    info = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_body))
    return IFINFO.pack(0, 0, 0, 0, 0) + link_attrs(ifname, mtu) + attr(IFLA_LINKINFO, info)


def link_index(index):
    return IFINFO.pack(0, 0, index, 0, 0)


def link_change(index, mtu=None, master=None, up=None, netns_fd=None, alias=None):
    flags, change = (0, 0) if up is None else ((IFF_UP if up else 0), IFF_UP)
    return IFINFO.pack(0, 0, index, flags, change) + link_attrs(None, mtu, master, netns_fd, alias)


def bridge_change(index, stp=None, vlan_filtering=None):
    data = b""
    if stp is not None:
        data += attr(IFLA_BR_STP_STATE, U32.pack(int(stp)))
    if vlan_filtering is not None:
        data += attr(IFLA_BR_VLAN_FILTERING, struct.pack("=B", int(vlan_filtering)))
    info = attr(IFLA_INFO_KIND, b"bridge") + attr(IFLA_INFO_DATA, data)
    return IFINFO.pack(0, 0, index, 0, 0) + attr(IFLA_LINKINFO, info)


def address_change(index, interface_, flags):
    """The body of adding or deleting address ``interface_`` (an ipaddress interface) of link ``index``."""
    packed = interface_.ip.packed
    return (IFADDR.pack(FAMILY[interface_.version], interface_.network.prefixlen, flags, 0, index)
            + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed))


def route_change(command, wanted, oif=None):
    """The body of "add", "replace" or "del" of model.Route ``wanted``;
    "del" matches any scope, as ip route del."""
    net = wanted.dst
    rtype, proto = RTN_UNICAST, RTPROT_STATIC
    if command == "del":
        rtype, proto, scope = 0, 0, RT_SCOPE_NOWHERE
    else:
        scope = RT_SCOPE_UNIVERSE if wanted.gateway is not None else RT_SCOPE_LINK
    table = wanted.table
    body = RTMSG.pack(FAMILY[net.version], net.prefixlen, 0, 0, table if table < 256 else 252, proto, scope, rtype, 0)
    if net.prefixlen:
        body += attr(RTA_DST, net.network_address.packed)
    body += attr(RTA_TABLE, U32.pack(table))
    if wanted.metric:
        body += attr(RTA_PRIORITY, U32.pack(wanted.metric))
    if wanted.gateway is not None and command != "del":
        body += attr(RTA_GATEWAY, wanted.gateway.packed)
    if oif and command != "del":
        body += attr(RTA_OIF, U32.pack(oif))
    return body


def link_attrs(ifname, mtu, master=None, netns_fd=None, alias=None):
    out = b""
    if ifname is not None:
        out += attr(IFLA_IFNAME, name(ifname))
    if mtu:
        out += attr(IFLA_MTU, U32.pack(mtu))
    if master is not None:
        out += attr(IFLA_MASTER, U32.pack(master))
    if netns_fd is not None:
        out += attr(IFLA_NET_NS_FD, U32.pack(netns_fd))
    if alias is not None:
        out += attr(IFLA_IFALIAS, alias.encode())
    return out


# -- decoding ------------------------------------------------------------------

# Values made once in this process: lo's addresses come back from every
# namespace read, every container's default route names the same gateway,
# every container read looks up lo and the same interface name, and every
# veth's link info is the same bytes. At most _MADE_MAX are kept: past that,
# each is made again when asked.
_MADE = {}
_MADE_MAX = 8192


def _once(make, value):
    """make(value), made once per process."""
    key = (make, value)
    made = _MADE.get(key)
    if made is None:
        made = make(value)
        if len(_MADE) < _MADE_MAX:
            _MADE[key] = made
    return made


def interface(family, raw, prefixlen):
    """The interface of an address, or None for one the engine leaves to the
    kernel (IPv6 link-local, told by its first bytes without parsing it)."""
    if family == socket.AF_INET6 and raw[0] == 0xFE and raw[1] & 0xC0 == 0x80:
        return None
    return _once(PACKED[family], (raw, prefixlen))


# Attribute layouts met in this process, by the message's length, where its
# attributes start, the wanted types and the first attribute's header. The
# kernel writes one kind of message with its attributes in one order, so such
# messages nearly always share a layout: one struct call then reads every
# attribute header of a message at once, and only if all of them are the
# layout's are its payloads taken from the layout's places; any other message
# is walked, and its layout kept in place of the one that did not fit. A link
# message carries about 40 attributes: the walk costs about 5 us, the check
# about 1.5.
_LAYOUTS = {}
_LAYOUTS_MAX = 1024


def pick(data, offset, wanted):
    """{type: payload} of the attributes of ``wanted`` types (a frozenset) in a run of attributes."""
    key = (len(data), offset, wanted, data[offset:offset + 4])
    layout = _LAYOUTS.get(key)
    if layout is not None and layout[0].unpack_from(data, offset) == layout[1]:
        return {kind: data[start:stop] for kind, start, stop in layout[2]}
    found, learned = _walk(data, offset, wanted)
    if learned is not None and (layout is not None or len(_LAYOUTS) < _LAYOUTS_MAX):
        _LAYOUTS[key] = learned
    return found


def _walk(data, offset, wanted):
    """pick() attribute by attribute; with the layout of ``data``: (a
    struct of its attribute headers, their values, (type, start, stop) of the
    wanted ones), or None for a message that ends inside an attribute."""
    found = {}
    end = len(data) - 4
    unpack = _RTA.unpack_from
    heads, fmt, places = [], ["="], []
    while offset <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            return found, None
        step = (length + 3) & -4
        heads.append(_HEAD.unpack_from(data, offset)[0])
        fmt.append("I%dx" % (step - 4))
        kind &= 0x3FFF
        if kind in wanted:
            found[kind] = data[offset + 4:offset + length]
            places.append((kind, offset + 4, offset + length))
        offset += step
    if offset > len(data):
        return found, None
    return found, (struct.Struct("".join(fmt)), tuple(heads), tuple(places))


def text(payload):
    return payload.split(b"\0", 1)[0].decode("utf-8", "replace") if payload is not None else None


def u32(payload):
    return U32.unpack_from(payload)[0] if payload is not None else None


def _kind(info):
    """(kind, stp, vlan_filtering) of an IFLA_LINKINFO payload."""
    nested = pick(info, 0, _INFO_ATTRS)
    kind = text(nested.get(IFLA_INFO_KIND))
    stp = vlan_filtering = None
    if kind == "bridge" and IFLA_INFO_DATA in nested:
        bridge = pick(nested[IFLA_INFO_DATA], 0, _BRIDGE_ATTRS)
        stp = bool(u32(bridge.get(IFLA_BR_STP_STATE)))
        vlan_filtering = bool(bridge.get(IFLA_BR_VLAN_FILTERING, b"\0")[0])
    return kind, stp, vlan_filtering


def link(payload):
    """A model.Link of an RTM_NEWLINK message's payload (its master by index only)."""
    _family, _type, index, flags, _change = IFINFO.unpack_from(payload)
    get = pick(payload, 16, _LINK_ATTRS).get
    info = get(IFLA_LINKINFO)
    if info is None:
        kind, stp, vlan_filtering = _NO_KIND
    elif len(info) <= 16:  # the kind alone, as a veth's (a bridge port's carries its port's numbers too)
        kind, stp, vlan_filtering = _once(_kind, info)
    else:
        kind, stp, vlan_filtering = _kind(info)
    if not kind:
        kind = "loopback" if flags & IFF_LOOPBACK else "device"
    peer_index = peer_nsid = None
    if kind == "veth":
        peer_index = u32(get(IFLA_LINK))
        nsid_attr = get(IFLA_LINK_NETNSID)
        if nsid_attr is not None:
            peer_nsid = I32.unpack_from(nsid_attr)[0]
    mac = get(IFLA_ADDRESS)
    operstate = get(IFLA_OPERSTATE)
    alias = get(IFLA_IFALIAS)
    return model.decoded(
        model.Link, netns=None, index=index, name=text(get(IFLA_IFNAME)), kind=kind, up=bool(flags & IFF_UP),
        mtu=u32(get(IFLA_MTU)),
        peer_index=peer_index, peer_nsid=peer_nsid, alias=text(alias) if alias else "",
        mac=mac.hex(":") if mac else "",
        operstate=_OPERSTATES[operstate[0]] if operstate and operstate[0] < len(_OPERSTATES) else "",
        stp=stp, vlan_filtering=vlan_filtering, master_index=u32(get(IFLA_MASTER)) or None)


_NO_KIND = (None, None, None)


def addresses(payloads, indexes=None):
    """[model.Address] of RTM_NEWADDR payloads (of the links of ``indexes``
    only, if given), IPv6 link-local left out."""
    result = []
    for payload in payloads:
        family, prefixlen, flags, _scope, ifindex = IFADDR.unpack_from(payload)
        if (indexes is not None and ifindex not in indexes) or family not in PACKED:
            continue
        attrs = pick(payload, 8, _ADDR_ATTRS)
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is None:
            continue
        found = interface(family, raw, prefixlen)
        if found is None:
            continue
        extended = u32(attrs.get(IFA_FLAGS))
        flags = extended if extended is not None else flags
        result.append(model.decoded(model.Address, index=ifindex, address=found,
                                    secondary=bool(flags & model.IFA_F_SECONDARY), flags=flags))
    return result


def route(payload, wanted, table, unicast_only):
    """A model.Route of an RTM_NEWROUTE payload (its device by index only),
    or None for one of another family (of ``wanted``), type or ``table``."""
    family, dst_len, _src, _tos, rtm_table, proto, scope, rtype, _flags = RTMSG.unpack_from(payload)
    if (family not in wanted or (unicast_only and rtype != RTN_UNICAST)
            or (table is not None and table < 256 and rtm_table != table)):
        return None
    attrs = pick(payload, 12, _ROUTE_ATTRS)
    real_table = u32(attrs.get(RTA_TABLE)) or rtm_table
    if table is not None and real_table != table:
        return None
    dst = attrs.get(RTA_DST) or _ZERO[family]
    gateway = attrs.get(RTA_GATEWAY)
    return model.decoded(
        model.Route, netns=None, dst=_once(_NETWORK[family], (dst, dst_len)), table=real_table,
        metric=u32(attrs.get(RTA_PRIORITY)) or 0,
        gateway=_once(_ADDRESS[family], gateway) if gateway else None,
        proto=model.named(model.PROTOS, proto), scope=model.named(model.SCOPES, scope),
        type=model.named(model.TYPES, rtype), oif=u32(attrs.get(RTA_OIF)))


def nsid(payload):
    found = pick(payload, 4, _NSID_ATTRS).get(NETNSA_NSID)
    value = I32.unpack(found[:4])[0] if found is not None else -1
    return value if value >= 0 else None
