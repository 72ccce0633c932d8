# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One owned NAT or forward rule, as data: what it matches, what it does, and
the ownership tag every backend writes into the rule's comment.

The tag is ``netplumb:<identity>:<content>``. The identity hash covers the
kind and the match, so a changed ``to`` or comment finds the same rule and
replaces it; the content hash covers everything, so an unchanged rule is left
alone without re-parsing what the backend printed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
import hashlib
import ipaddress
import json
import re
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

KINDS = ("masquerade", "snat", "dnat", "forward")
BACKENDS = ("auto", "nftables", "iptables")
FAMILIES = {"ipv4": 4, "ipv6": 6}
PROTOCOLS = ("tcp", "udp")
TAG_PREFIX = "netplumb:"
COMMENT_MAX = 64
_COMMENT = re.compile(r"[A-Za-z0-9 _.,:/@+=-]*")


@dataclasses.dataclass(frozen=True)
class NatRule:
    """One NAT or forward rule as nat_rule's parameters describe it, checked."""
    kind: str
    source: Optional[object] = None        # ipaddress network
    destination: Optional[object] = None   # ipaddress network
    in_interface: Optional[str] = None
    out_interface: Optional[str] = None
    protocol: Optional[str] = None
    dport: Optional[Tuple[int, int]] = None
    to_address: Optional[object] = None    # ipaddress address
    to_port: Optional[int] = None
    comment: str = ""
    output: bool = False                   # dnat: also for the node's own traffic
    family: int = 4                        # 4 or 6
    not_source: bool = False               # match every source but ``source``
    not_destination: bool = False          # match every destination but ``destination``

    def match(self):
        family = {"family": 6} if self.family == 6 else {}  # IPv4 rules keep the tags of earlier releases
        return dict(family, **{
            "kind": self.kind,
            "source": _negated(self.source, self.not_source),
            "destination": _negated(self.destination, self.not_destination),
            "in_interface": self.in_interface,
            "out_interface": self.out_interface,
            "protocol": self.protocol,
            "dport": list(self.dport) if self.dport else None,
        })

    def as_dict(self):
        data = self.match()
        data.update(to=self.to_text(), comment=self.comment, output=self.output)
        return data

    def to_text(self):
        if self.to_address is None:
            return None
        if not self.to_port:
            return str(self.to_address)
        return ("[%s]:%d" if self.family == 6 else "%s:%d") % (self.to_address, self.to_port)

    @property
    def identity(self):
        return _digest(self.match())

    @property
    def key(self):
        """identity:content, as backends report the rules they read."""
        return "%s:%s" % (self.identity, _digest(self.as_dict()))

    @property
    def tag(self):
        return TAG_PREFIX + self.key

    def tagged_comment(self):
        return (self.tag + " " + self.comment).strip()


@dataclasses.dataclass(frozen=True)
class NatRuleSpec:
    """nat_rule's parameters, checked: the rule, where it goes and whether it is wanted."""
    rule: NatRule
    backend: str = "auto"
    netns: Optional[str] = None
    state: str = "present"


def _negated(network, negated):
    """``network`` as the user writes it: ``!`` in front when negated."""
    return None if network is None else ("!" if negated else "") + str(network)


def _digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def parse_tag(comment):
    """(identity, content, note) from a rule comment, the note being the
    rule's own comment after the tag; or None if the rule is not ours."""
    if not comment or not comment.startswith(TAG_PREFIX):
        return None
    tag, _sep, note = comment[len(TAG_PREFIX):].partition(" ")
    parts = tag.split(":")
    return (parts[0], parts[1], note) if len(parts) == 2 else None


def parse(params):
    state = validate.choice("state", params.get("state", "present"), ("present", "absent"))
    kind = validate.choice("kind", params.get("kind"), KINDS)
    backend = validate.choice("backend", params.get("backend") or "auto", BACKENDS)
    protocol = params.get("protocol")
    if protocol is not None:
        protocol = validate.choice("protocol", protocol, PROTOCOLS)
    dport = _ports("dport", params.get("dport"))
    if dport and not protocol:
        raise ParamError("protocol", protocol, "is required with dport (tcp or udp)")
    to_address, to_port = _to(kind, params.get("to"), state)
    if to_port and not protocol:
        raise ParamError("protocol", protocol, "is required with a port in to (tcp or udp)")
    output = validate.boolean("output", params.get("output")) or False
    if output and kind != "dnat":
        raise ParamError("output", output, "only applies to kind dnat")
    in_interface = _iface("in_interface", params.get("in_interface"))
    if output and in_interface:
        raise ParamError("in_interface", in_interface, "cannot be matched on the output hook (output: true)")
    out_interface = _iface("out_interface", params.get("out_interface"))
    if kind == "dnat" and out_interface:
        raise ParamError("out_interface", out_interface, "is not known yet when dnat happens")
    if kind in ("masquerade", "snat") and in_interface:
        raise ParamError("in_interface", in_interface, "is not known any more when %s happens" % kind)
    comment = params.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX or not _COMMENT.fullmatch(comment):
        raise ParamError("comment", comment, "must be at most %d characters of letters, digits, "
                         "spaces and _ . , : / @ + = -" % COMMENT_MAX)
    source, not_source = _net("source", params.get("source"))
    destination, not_destination = _net("destination", params.get("destination"))
    family = _family(params.get("family"), (("source", source), ("destination", destination), ("to", to_address)))
    rule = NatRule(kind=kind, source=source, destination=destination,
                   in_interface=in_interface, out_interface=out_interface, protocol=protocol, dport=dport,
                   to_address=to_address, to_port=to_port, comment=comment, output=output, family=family,
                   not_source=not_source, not_destination=not_destination)
    return NatRuleSpec(rule, backend, validate.netns("netns", params.get("netns")), state)


def _family(value, addresses):
    """4 or 6: the family of the rule's addresses, which must agree with each
    other and with ``family`` when given; IPv4 for a rule without any."""
    asked = None if value in (None, "") else FAMILIES[validate.choice("family", value, tuple(FAMILIES))]
    seen = [(field, address) for field, address in addresses if address is not None]
    for field, address in seen:
        if asked is not None and address.version != asked:
            raise ParamError(field, str(address), "is IPv%d but family is %s" % (address.version, value))
        if address.version != seen[0][1].version:
            raise ParamError(field, str(address), "is IPv%d but %s is IPv%d" % (
                address.version, seen[0][0], seen[0][1].version))
    if asked is not None:
        return asked
    return seen[0][1].version if seen else 4


def _net(field, value):
    """(network, negated) of ``198.51.100.0/24`` or ``!198.51.100.0/24``."""
    if value in (None, ""):
        return None, False
    if not isinstance(value, str):
        raise ParamError(field, value, "must be an IPv4 or IPv6 address or network in CIDR form")
    negated = value.startswith("!")
    text = value[1:].strip() if negated else value
    try:
        return ipaddress.ip_network(text, strict=True), negated
    except ValueError as exc:
        raise ParamError(field, value, "is not an IPv4 or IPv6 address or network%s: %s"
                         % (" after the !" if negated else "", exc))


def _iface(field, value):
    return None if value in (None, "") else validate.ifname(field, value, allow_lo=True)


def _port(field, value, text):
    try:
        port = int(text, 10)
    except (TypeError, ValueError):
        raise ParamError(field, value, "is not a port number")
    if not 1 <= port <= 65535:
        raise ParamError(field, value, "must be a port between 1 and 65535")
    return port


def _ports(field, value):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ParamError(field, value, "is not a port number")
    text = str(value)
    low, _sep, high = text.partition("-")
    first = _port(field, value, low.strip())
    last = _port(field, value, high.strip()) if high else first
    if last < first:
        raise ParamError(field, value, "is a range whose end is below its start")
    return (first, last)


def _to(kind, value, state):
    if kind in ("masquerade", "forward"):
        if value not in (None, ""):
            raise ParamError("to", value, "is not used with kind %s" % kind)
        return None, None
    if value in (None, ""):
        if state == "absent":
            return None, None
        raise ParamError("to", value, "is required with kind %s" % kind)
    if not isinstance(value, str):
        raise ParamError("to", value, "must be an address, or address:port for dnat")
    address, port = _split_port(value)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ParamError("to", value, "is not an IPv4 or IPv6 address%s" % (
            " (with an optional :port; [IPv6]:port)" if kind == "dnat" else ""))
    if port and kind != "dnat":
        raise ParamError("to", value, "takes no port with kind snat")
    return parsed, (_port("to", value, port) if port else None)


def _split_port(value):
    """address and port text of ``198.51.100.11:8080``, ``[2001:db8::11]:8080``,
    ``2001:db8::11`` or ``198.51.100.11``."""
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ParamError("to", value, "must be [IPv6 address]:port")
        return address, rest[1:]
    if value.count(":") > 1:
        return value, ""
    address, _sep, port = value.partition(":")
    return address, port
