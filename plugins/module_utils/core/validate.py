# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parameter checks. Each returns the parsed value or raises ParamError naming
the field and the value; none of them touches the node."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

IFNAMSIZ = 16
_IFNAME = re.compile(r"[A-Za-z0-9_.@+-]+")
_NETNS = re.compile(r"[A-Za-z0-9_.@+:-]+")
NAME_MAX = 255
MTU_MIN = 68
MTU_MAX = 65535
IPV6_MTU_MIN = 1280
_TABLES = {"main": 254, "local": 255, "default": 253}


def _text(field, value):
    if not isinstance(value, str):
        raise ParamError(field, value, "must be a string")
    return value


def ifname(field, value, allow_lo=False):
    _text(field, value)
    if not value:
        raise ParamError(field, value, "must not be empty")
    if len(value.encode()) >= IFNAMSIZ:
        raise ParamError(field, value, "is longer than %d characters (IFNAMSIZ)" % (IFNAMSIZ - 1))
    if value in (".", "..") or not _IFNAME.fullmatch(value):
        raise ParamError(field, value, "is not a valid interface name "
                         "(letters, digits and _ . @ + - only)")
    if value == "lo" and not allow_lo:
        raise ParamError(field, value, "is the loopback interface, which this module does not manage")
    return value


def netns(field, value, required=False):
    """A namespace name; None means the node's own namespace."""
    if value is None or value == "":
        if required:
            raise ParamError(field, value, "is required")
        return None
    _text(field, value)
    if len(value.encode()) > NAME_MAX:
        raise ParamError(field, value, "is longer than %d bytes" % NAME_MAX)
    if value in (".", "..") or not _NETNS.fullmatch(value):
        raise ParamError(field, value, "is not a valid namespace name "
                         "(letters, digits and _ . @ + : - only; no '/', no spaces)")
    return value


def interface_address(field, value):
    """An address with its prefix, as on an interface: 192.0.2.1/24."""
    _text(field, value)
    if "/" not in value:
        raise ParamError(field, value, "needs a prefix length, e.g. 192.0.2.1/24")
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError as exc:
        raise ParamError(field, value, "is not an address with prefix: %s" % exc)
    if iface.version == 6 and iface.ip.is_link_local:
        raise ParamError(field, value, "is IPv6 link-local, which the kernel manages itself")
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise ParamError(field, value, "is not a unicast address")
    return iface


def address_list(field, values):
    """The full set of addresses of an interface; None means 'leave alone'."""
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise ParamError(field, values, "must be a list of addresses with prefix")
    parsed = {}
    for index, value in enumerate(values):
        iface = interface_address("%s[%d]" % (field, index), value)
        if iface.ip in parsed and parsed[iface.ip] != iface:
            raise ParamError(field, values, "lists %s twice with different prefixes" % iface.ip)
        parsed[iface.ip] = iface
    return tuple(sorted(parsed.values(), key=lambda i: (i.version, i)))


def ip(field, value):
    _text(field, value)
    try:
        return ipaddress.ip_address(value)
    except ValueError as exc:
        raise ParamError(field, value, "is not an IP address: %s" % exc)


def network(field, value):
    """A destination network, strict: host bits must be zero."""
    _text(field, value)
    if "/" not in value:
        raise ParamError(field, value, "needs a prefix length, e.g. 198.51.100.0/24")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ParamError(field, value, "is not a network in CIDR form: %s" % exc)


def integer(field, value, low, high):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise ParamError(field, value, "must be an integer")
    if not low <= value <= high:
        raise ParamError(field, value, "must be between %d and %d" % (low, high))
    return value


def mtu(field, value):
    return integer(field, value, MTU_MIN, MTU_MAX)


def mtu_for(field, value, addresses):
    """``mtu`` of a link that gets ``addresses``: the kernel refuses an IPv6
    address on a link below IPv6's minimum MTU (1280)."""
    value = mtu(field, value)
    ipv6 = [str(address) for address in addresses if address is not None and address.version == 6]
    if value is not None and value < IPV6_MTU_MIN and ipv6:
        raise ParamError(field, value, "is below %d, IPv6's minimum: the kernel refuses the IPv6 address %s on it"
                         % (IPV6_MTU_MIN, ipv6[0]))
    return value


def table(field, value):
    """A routing table by number or by its iproute2 name; None means main."""
    if value is None:
        return _TABLES["main"]
    if isinstance(value, str) and value in _TABLES:
        return _TABLES[value]
    return integer(field, value, 1, 2 ** 32 - 1)


def choice(field, value, choices):
    if value not in choices:
        raise ParamError(field, value, "must be one of %s" % ", ".join(choices))
    return value


def boolean(field, value):
    if value is None or isinstance(value, bool):
        return value
    raise ParamError(field, value, "must be a boolean")
