# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NAT rules node_network makes for a bridge (masquerade out of the
uplink, forward-accept, port forwards), each planned by nat_rule, and the
rules of ours the desired state no longer names, removed. Each carries a
note in its comment naming the bridge, by which a later run finds it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Plan
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from ansible_collections.netplumb.linux.plugins.module_utils.nat.tools import have
from ansible_collections.netplumb.linux.plugins.module_utils.node_network.parts import parsed

# Owned port forwards: the kind a nat_rule's native form names (nft JSON or iptables words).
_DNAT = ("dnat", "DNAT")
# The comments of the NAT rules node_network makes for a bridge: the rules it
# made for the bridge, whatever subnets, cluster CIDR, uplink or address
# family they were made with, are found by them (at most 43 characters: a
# rule's comment holds 64).
MASQUERADE_NOTE = "node_network %s masq"  # bridge
FORWARD_NOTE = "node_network %s forward"  # bridge
DNAT_NOTE = "node_network %s dnat %s/%s"  # bridge, protocol, port


def dnat(bridge, forward, interface):
    """The nat_rule options of port forward ``forward`` into ``interface``."""
    return {"kind": "dnat", "in_interface": interface, "protocol": forward["protocol"], "dport": forward["port"],
            "to": forward["to"], "family": forward["family"], "comment": _dnat_note(bridge, forward)}


def _dnat_note(bridge, forward):
    return DNAT_NOTE % (bridge, forward["protocol"], forward["port"])


def dnat_notes(spec):
    return {_dnat_note(spec.bridge, forward) for forward in spec.port_forwards}


def forward_accept(bridge, match):
    """The nat_rule options of a forward-accept rule of ``match`` (source or destination)."""
    return dict(match, kind="forward", comment=FORWARD_NOTE % bridge)


def nat(ctx, parts, options, spec, state, field=None, counts=True, renamed=None):
    """nat_rule's plan of ``options`` in ``state``, one part of ``parts``;
    returns the rule. ``field`` and ``renamed`` name its errors after
    node_network's options."""
    params = dict((key, value) for key, value in options.items() if value is not None)
    params.update(backend=spec.nat_backend, state=state)
    want = parsed(nat_rule, field or "nat rule %s" % options.get("kind"), params, renamed)
    part = nat_rule.plan(ctx, want)
    parts.add("nat_rules", _label(want.rule, state), part, counts=counts)
    return want.rule


def _label(rule, state):
    return "%s%s" % (nat_rule.describe(rule), "" if state == "present" else " (absent)")


def masquerade(bridge, source, uplink, not_to):
    """The nat_rule options of masquerading ``source`` out of ``uplink``, but toward ``not_to``."""
    return {"kind": "masquerade", "source": source, "out_interface": uplink,
            "destination": "!" + not_to if not_to else None, "comment": MASQUERADE_NOTE % bridge}


def others(ctx, parts, spec, named):
    """Port forwards of ours that the desired state does not list: removed."""
    for family in (4, 6):
        _remove_owned(ctx, parts, spec, family, "dnat", "unlisted port forward",
                      lambda found: found["identity"] not in named
                      and any(word in repr(found["native"]) for word in _DNAT))


def stale(ctx, parts, spec, kind, notes, planned):
    """Rules of ``kind`` that node_network made for the bridge (their comment
    is one of ``notes``), in either family, and that the plan does not name
    (``planned``: identities): removed."""
    for family in (4, 6):
        _remove_owned(ctx, parts, spec, family, kind, "stale " + kind,
                      lambda found: found["identity"] not in planned and found["note"] in notes)


def _owned(ctx, spec, family):
    """(backend, the rules of ours in ``family``), read once per run; no
    rules where there is no NAT tool yet (check mode before the
    prerequisites)."""
    if not any(have(tool) for tool in nat_rule.TOOLS[spec.nat_backend]):
        return None, []
    backend, _reason = ctx.remember(("nat backend", spec.nat_backend, None),
                                    lambda: nat_rule.choose_backend(spec.nat_backend, None))
    return backend, ctx.remember(("nat rules", backend.label, None, family),
                                 lambda: backend.read(None, (family,), texts=False))


def check_port_free(ctx, spec, forward, uplink):
    """The port of the uplink that another bridge's call forwards already: a
    second forward would never see a packet (the kernel takes the first
    rule that matches), so fail before any change, naming that bridge."""
    backend, owned = _owned(ctx, spec, 4 if forward["family"] == "ipv4" else 6)
    for found in owned:
        words = (found["note"] or "").split()
        other = words[1] if len(words) == 4 else spec.bridge  # DNAT_NOTE's bridge
        if (other != spec.bridge and found["note"] == _dnat_note(other, forward)
                and uplink in backend.interfaces(found["native"])):
            raise ParamError("port_forwards[%d]" % forward["index"], "%s/%s" % (forward["protocol"], forward["port"]),
                             "of %s is forwarded by bridge %s's call already: remove it there first, or forward "
                             "another port" % (uplink, other))


def _remove_owned(ctx, parts, spec, family, kind, label, select):
    """The rules of ours in ``family`` that ``select`` picks: removed."""
    backend, owned = _owned(ctx, spec, family)
    chosen = [found for found in owned if select(found)]
    if chosen:
        backend.add_texts(None, owned)  # the family's one listing, shared with the rules' own plans
    for found in chosen:
        text = found.get("text") or found["identity"]
        part = Plan(before={"state": "present", "rules": [text]}, after={"state": "absent"})
        part.add("nat", nat_rule.removal(None, "%s %s" % (kind, found["identity"]), backend.label, family, [found]))
        parts.add("nat_rules", "%s %s" % (label, text.strip()), part, counts=False)
