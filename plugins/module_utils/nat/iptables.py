# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend (legacy or nft variant): the collection's own chains
``NETPLUMB-*``, each jumped to once from its base chain by a tagged rule, and
every rule in them tagged with the ownership comment. Read with *-save, changed
with argument lists; foreign chains and rules are never written."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import shlex

from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint
from ansible_collections.netplumb.linux.plugins.module_utils.nat.spec import parse_tag
from ansible_collections.netplumb.linux.plugins.module_utils.nat.tools import have, run_tool

JUMP_TAG = "netplumb:jump"
# our chain -> (table, base chain, insert the jump first?)
CHAINS = {
    "NETPLUMB-POSTROUTING": ("nat", "POSTROUTING", False),
    "NETPLUMB-PREROUTING": ("nat", "PREROUTING", False),
    "NETPLUMB-OUTPUT": ("nat", "OUTPUT", False),
    # before anything else in FORWARD, so a drop policy or a foreign DROP does not win
    "NETPLUMB-FORWARD": ("filter", "FORWARD", True),
}


def chains_for(rule):
    if rule.kind in ("masquerade", "snat"):
        return ["NETPLUMB-POSTROUTING"]
    if rule.kind == "dnat":
        return ["NETPLUMB-PREROUTING", "NETPLUMB-OUTPUT"] if rule.output else ["NETPLUMB-PREROUTING"]
    return ["NETPLUMB-FORWARD"]


FAMILIES = (4, 6)


def tool(variant, family):
    return "%s-%s" % ("ip6tables" if family == 6 else "iptables", variant)


def _ipt(variant, family, netns, *args, check=True):
    return run_tool(netns, [tool(variant, family), "-w", "5"] + list(args), check=check)


def _save(variant, netns, family=4):
    """The lines of each existing table. Without -t: naming a table makes the
    legacy kernel create it, which a read must never do."""
    tables, current = {}, None
    if family == 6 and not have(tool(variant, 6) + "-save"):
        return tables  # a node without ip6tables holds no IPv6 rules of ours
    for line in run_tool(netns, [tool(variant, family) + "-save"], check=False).stdout.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), [])
        elif current is not None:
            current.append(line)
    return tables


def read(variant, netns, families=FAMILIES, texts=True):  # pylint: disable=unused-argument
    """Our rules; iptables-save prints their text along (``texts`` is for nft's sake)."""
    return [rule for family in families for rule in _read_family(variant, netns, family)]


def add_texts(variant, netns, rules):  # pylint: disable=unused-argument
    """Nothing to fill in: read gives every rule its text."""


def _read_family(variant, netns, family):
    rules = []
    saved = _save(variant, netns, family)
    for table in ("nat", "filter"):
        for line in saved.get(table, []):
            if not line.startswith("-A NETPLUMB-"):
                continue
            words = shlex.split(line)
            tag = parse_tag(words[words.index("--comment") + 1] if "--comment" in words else None)
            if tag is None:
                continue
            rules.append({"family": family, "identity": tag[0], "content": tag[1], "note": tag[2], "chain": words[1],
                          "native": [table] + words[1:], "text": "%s: %s" % (table, line)})
    return rules


def _our_chains(variant, netns, family):
    found = set()
    saved = _save(variant, netns, family)
    for table in ("nat", "filter"):
        for line in saved.get(table, []):
            if line.startswith(":NETPLUMB-") and line[1:].split()[0] in CHAINS:
                found.add(line[1:].split()[0])
    return found


def problems(variant, netns, family, chains=None):
    """What a run killed between two commands leaves broken in our chains of
    ``family``, from one *-save read. With ``chains`` (where a wanted rule
    lives): those of them that their base chain does not jump to (killed after
    -N). Without: our chains that hold no rule of ours, which only a run killed
    in a teardown (after a -D) leaves."""
    found = []
    for table, lines in sorted(_save(variant, netns, family).items()):
        ours = [line[1:].split()[0] for line in lines if line.startswith(":NETPLUMB-")]
        used, jumped = set(), set()
        for line in lines:
            if not line.startswith("-A "):
                continue
            words = shlex.split(line)
            comment = words[words.index("--comment") + 1] if "--comment" in words else None
            target = words[words.index("-j") + 1] if "-j" in words[:-1] else None
            if words[1].startswith("NETPLUMB-") and parse_tag(comment) is not None:
                used.add(words[1])
            elif comment == JUMP_TAG and target in CHAINS and words[1] == CHAINS[target][1]:
                jumped.add(target)
        for chain in sorted(c for c in ours if c in CHAINS):
            if chains is None and chain not in used:
                found.append("%s %s holds no rule of ours" % (table, chain))
            elif chains is not None and chain in chains and chain not in jumped:
                found.append("%s %s has no jump from %s" % (table, chain, CHAINS[chain][1]))
    return found


def natives(rule):
    return [[CHAINS[chain][0], chain] + _args(rule) for chain in chains_for(rule)]


def canonical(native):
    """A native rule as comparable data: table, chain and words as *-save prints them."""
    return tuple(native)


def interfaces(native):
    """The interface names a native rule (table, chain, words) matches, in or out."""
    return {native[i + 1] for i in range(len(native) - 1)
            if native[i] in ("-i", "-o", "--in-interface", "--out-interface")}


def render(rule):
    return ["%s: -A %s" % (native[0], " ".join(shlex.quote(w) for w in native[1:])) for native in natives(rule)]


def _args(rule):
    args = []
    if rule.source:
        args += (["!"] if rule.not_source else []) + ["-s", str(rule.source)]
    if rule.destination:
        args += (["!"] if rule.not_destination else []) + ["-d", str(rule.destination)]
    if rule.in_interface:
        args += ["-i", rule.in_interface]
    if rule.out_interface:
        args += ["-o", rule.out_interface]
    if rule.protocol:
        args += ["-p", rule.protocol]
    if rule.dport:
        low, high = rule.dport
        args += ["-m", rule.protocol, "--dport", str(low) if low == high else "%d:%d" % (low, high)]
    args += ["-m", "comment", "--comment", rule.tagged_comment()]
    if rule.kind == "masquerade":
        args += ["-j", "MASQUERADE"]
    elif rule.kind == "snat":
        args += ["-j", "SNAT", "--to-source", rule.to_text()]
    elif rule.kind == "dnat":
        args += ["-j", "DNAT", "--to-destination", rule.to_text()]
    else:
        args += ["-j", "ACCEPT"]
    return args


def _jump(chain):
    table, base, _first = CHAINS[chain]
    return table, [base, "-m", "comment", "--comment", JUMP_TAG, "-j", chain]


def apply(variant, netns, family, remove_tags, add):
    def ipt(*args, **kwargs):
        return _ipt(variant, family, netns, *args, **kwargs)

    def change(*args):
        """One command that changes a table; a run may die right after it."""
        ipt(*args)
        crashpoint.reached("%s %s" % (tool(variant, family), " ".join(args)))

    def jump_to(chain):
        """The tagged jump from the base chain, added when missing: a run
        killed right after -N left a chain that nothing jumps to."""
        table, jump = _jump(chain)
        if ipt("-t", table, "-C", *jump, check=False).returncode != 0:
            change("-t", table, "-I" if CHAINS[chain][2] else "-A", *jump)

    current = read(variant, netns, (family,))
    existing = _our_chains(variant, netns, family)
    needed = sorted({native[1] for native in add})
    for chain in needed:
        if chain not in existing:
            change("-t", CHAINS[chain][0], "-N", chain)
            existing.add(chain)
        jump_to(chain)
    for rule in current:
        if "%s:%s" % (rule["identity"], rule["content"]) in remove_tags:
            change("-t", rule["native"][0], "-D", *rule["native"][1:])
    for native in add:
        change("-t", native[0], "-A", *native[1:])
    left = {rule["chain"] for rule in read(variant, netns, (family,))}
    for chain in sorted(left - set(needed)):  # a repair: rules of ours whose jump is missing
        jump_to(chain)
    # Chains holding no rule of ours go, with their jump: those emptied now
    # and those a run killed half way through a teardown left behind.
    for chain in sorted(existing - left):
        table, jump = _jump(chain)
        for _attempt in range(8):  # a jump added twice by hand goes too; bounded
            if ipt("-t", table, "-C", *jump, check=False).returncode != 0:
                break
            change("-t", table, "-D", *jump)
        change("-t", table, "-F", chain)
        change("-t", table, "-X", chain)


def exists(variant, netns):
    return any(_our_chains(variant, netns, family) for family in FAMILIES)


def holds_rules(variant, netns):
    """How many rules (anyone's) this iptables variant holds, both families."""
    return sum(1 for family in FAMILIES for lines in _save(variant, netns, family).values()
               for line in lines if line.startswith("-A "))
