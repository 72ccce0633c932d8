# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: the collection's own ``table ip netplumb`` (and
``table ip6 netplumb`` for IPv6 rules), spoken to through ``nft -j`` (JSON on
stdin, argument lists, no shell). Every change is one nft transaction, so a
rule is replaced atomically and a table goes away with its last rule."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.netplumb.linux.plugins.module_utils.nat.spec import parse_tag
from ansible_collections.netplumb.linux.plugins.module_utils.nat.tools import run_tool

TABLE = "netplumb"
FAMILIES = {4: "ip", 6: "ip6"}
# chain -> (type, hook, priority): srcnat 100, dstnat -100, filter 0
CHAINS = {
    "postrouting": ("nat", "postrouting", 100),
    "prerouting": ("nat", "prerouting", -100),
    "output": ("nat", "output", -100),
    "forward": ("filter", "forward", 0),
}


def chains_for(rule):
    if rule.kind in ("masquerade", "snat"):
        return ["postrouting"]
    if rule.kind == "dnat":
        return ["prerouting", "output"] if rule.output else ["prerouting"]
    return ["forward"]


def _nft(netns, *args, stdin=None, check=True):
    return run_tool(netns, ["nft"] + list(args), stdin=stdin, check=check)


def read(netns, families=(4, 6), texts=True):
    """Our rules: a list of dicts {family, identity, content, chain, handle,
    native, text}; without ``texts`` their "text" is None until
    add_texts fills it (a second listing, which a run that changes
    nothing does not need)."""
    return [rule for family in families for rule in _read_table(netns, family, texts)]


def _read_table(netns, family, texts=True):
    proc = _nft(netns, "-j", "list", "table", FAMILIES[family], TABLE, check=False)
    if proc.returncode != 0:
        return []  # no table: nothing of ours
    rules = []
    for item in json.loads(proc.stdout).get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        tag = parse_tag(rule.get("comment"))
        if tag is None:
            continue
        native = {k: v for k, v in rule.items() if k != "handle"}
        rules.append({"family": family, "identity": tag[0], "content": tag[1], "note": tag[2], "chain": rule["chain"],
                      "handle": rule["handle"], "native": native, "text": None})
    if texts:
        add_texts(netns, rules)
    return rules


def add_texts(netns, rules):
    """Fill in the "text" of ``rules`` (read) that lack it, in place: the
    lines as nft prints them, one listing per family."""
    for family in sorted({rule["family"] for rule in rules if rule["text"] is None}):
        texts = _texts(netns, family)
        for rule in rules:
            if rule["family"] == family and rule["text"] is None:
                rule["text"] = texts.get(rule["handle"], "")


def _texts(netns, family):
    """The rule lines as nft prints them, by handle (for --diff)."""
    proc = _nft(netns, "-a", "list", "table", FAMILIES[family], TABLE, check=False)
    texts = {}
    for line in proc.stdout.splitlines():
        body, _sep, handle = line.strip().rpartition(" # handle ")
        if body and handle.isdigit() and "comment" in body:
            texts[int(handle)] = "%s: %s" % (_chain_of(proc.stdout, line), body)
    return texts


def _chain_of(listing, line):
    chain = ""
    for current in listing.splitlines():
        stripped = current.strip()
        if stripped.startswith("chain "):
            chain = stripped.split()[1]
        if current == line:
            return chain
    return chain


def natives(rule):
    """The rule as nft JSON objects, one per chain it lives in."""
    return [{"family": FAMILIES[rule.family], "table": TABLE, "chain": chain, "comment": rule.tagged_comment(),
             "expr": _expr(rule, chain)} for chain in chains_for(rule)]


def canonical(native):
    """A native rule as comparable data. nft drops a ``meta l4proto`` match
    that a port match already implies, so the comparison drops it too."""
    implied = {m["match"]["left"]["payload"]["protocol"] for m in native["expr"]
               if "payload" in m.get("match", {}).get("left", {})}
    expr = [m for m in native["expr"]
            if not (m.get("match", {}).get("left") == {"meta": {"key": "l4proto"}}
                    and m["match"]["right"] in implied)]
    return json.dumps(dict(native, expr=expr), sort_keys=True)


def render(rule):
    """The rule in nft syntax, one line per chain, as --diff shows it."""
    return ["%s: %s comment \"%s\"" % (chain, " ".join(_words(rule, chain)), rule.tagged_comment())
            for chain in chains_for(rule)]


def ifname(name):
    """An interface name as nft matches it: iptables' wildcard ``eth+`` (every
    name that starts with ``eth``) is ``eth*`` in nft, so both backends match
    the same interfaces."""
    return name[:-1] + "*" if name.endswith("+") else name


def interfaces(native):
    """The interface names a native rule matches (in or out), as nat_rule
    takes them (``eth+`` for a wildcard)."""
    found = set()
    for item in native.get("expr", []):
        match = item.get("match", {}) if isinstance(item, dict) else {}
        if match.get("left") in ({"meta": {"key": "iifname"}}, {"meta": {"key": "oifname"}}) \
                and isinstance(match.get("right"), str):
            right = match["right"]
            found.add(right[:-1] + "+" if right.endswith("*") else right)
    return found


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _addr(net):
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}


def _expr(rule, chain):
    expr = []
    ip = FAMILIES[rule.family]
    if rule.in_interface:
        expr.append(_match({"meta": {"key": "iifname"}}, ifname(rule.in_interface)))
    if rule.out_interface:
        expr.append(_match({"meta": {"key": "oifname"}}, ifname(rule.out_interface)))
    if rule.source:
        expr.append(_match({"payload": {"protocol": ip, "field": "saddr"}}, _addr(rule.source),
                           "!=" if rule.not_source else "=="))
    if rule.destination:
        expr.append(_match({"payload": {"protocol": ip, "field": "daddr"}}, _addr(rule.destination),
                           "!=" if rule.not_destination else "=="))
    if rule.protocol:
        expr.append(_match({"meta": {"key": "l4proto"}}, rule.protocol))
    if rule.dport:
        low, high = rule.dport
        expr.append(_match({"payload": {"protocol": rule.protocol, "field": "dport"}},
                           low if low == high else {"range": [low, high]}))
    if rule.kind == "masquerade":
        expr.append({"masquerade": None})
    elif rule.kind == "snat":
        expr.append({"snat": {"addr": str(rule.to_address)}})
    elif rule.kind == "dnat":
        target = {"addr": str(rule.to_address)}
        if rule.to_port:
            target["port"] = rule.to_port
        expr.append({"dnat": target})
    else:
        expr.append({"accept": None})
    return expr


def _words(rule, chain):
    words = []
    ip = FAMILIES[rule.family]
    if rule.in_interface:
        words += ["iifname", '"%s"' % ifname(rule.in_interface)]
    if rule.out_interface:
        words += ["oifname", '"%s"' % ifname(rule.out_interface)]
    for field, net, negated in (("saddr", rule.source, rule.not_source),
                                ("daddr", rule.destination, rule.not_destination)):
        if net:
            words += [ip, field] + (["!="] if negated else [])
            words.append(str(net if net.prefixlen < net.max_prefixlen else net.network_address))
    if rule.protocol and not rule.dport:
        words += ["meta", "l4proto", rule.protocol]
    if rule.dport:
        low, high = rule.dport
        words += [rule.protocol, "dport", str(low) if low == high else "%d-%d" % (low, high)]
    verdict = {"masquerade": ["masquerade"], "snat": ["snat", "to", rule.to_text() or ""],
               "dnat": ["dnat", "to", rule.to_text() or ""], "forward": ["accept"]}[rule.kind]
    return words + verdict


def apply(netns, family, remove_tags, add):
    """One transaction in the family's table: delete our rules carrying
    ``remove_tags``, add the ``add`` natives, drop the table if nothing of
    ours is left."""
    current = read(netns, (family,))
    name = FAMILIES[family]
    removing = [r for r in current if "%s:%s" % (r["identity"], r["content"]) in remove_tags]
    commands = []
    if add:
        commands.append({"add": {"table": {"family": name, "name": TABLE}}})
        for chain in sorted({n["chain"] for n in add}):
            kind, hook, prio = CHAINS[chain]
            commands.append({"add": {"chain": {"family": name, "table": TABLE, "name": chain, "type": kind,
                                               "hook": hook, "prio": prio, "policy": "accept"}}})
    for rule in removing:
        commands.append({"delete": {"rule": {"family": name, "table": TABLE, "chain": rule["chain"],
                                             "handle": rule["handle"]}}})
    for native in add:
        commands.append({"add": {"rule": native}})
    if not add and len(removing) == len(current) and (current or _table_exists(netns, family)):
        commands.append({"delete": {"table": {"family": name, "name": TABLE}}})
    else:
        # A chain of ours left without rules goes too, so undoing an add leaves the table as it was.
        kept = {r["chain"] for r in current if r not in removing} | {n["chain"] for n in add}
        for chain in sorted({r["chain"] for r in removing} - kept):
            commands.append({"delete": {"chain": {"family": name, "table": TABLE, "name": chain}}})
    if commands:
        _nft(netns, "-j", "-f", "-", stdin=json.dumps({"nftables": commands}))


def _table_exists(netns, family):
    return _nft(netns, "list", "table", FAMILIES[family], TABLE, check=False).returncode == 0


def exists(netns):
    return any(_table_exists(netns, family) for family in FAMILIES)
