# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nat_rule: one owned MASQUERADE/SNAT/DNAT/forward rule in the backend the
node really uses. Only rules carrying our tag are read, compared or removed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netplumb.linux.plugins.module_utils.nat import iptables as nat_iptables
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nft as nat_nft
from ansible_collections.netplumb.linux.plugins.module_utils.nat import spec as nat_spec
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.nat.tools import have
from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import Operation
from ansible_collections.netplumb.linux.plugins.module_utils.core.plan import Op, Plan

# nft and iptables run as commands; netlink only reads the interfaces a rule names.
NETLINK = "lean"
VARIANTS = ("legacy", "nft")
# The commands each backend choice can work with.
TOOLS = {"auto": ("nft", "iptables-nft", "iptables-legacy"), "nftables": ("nft",),
         "iptables": ("iptables-nft", "iptables-legacy")}


def parse(params):
    return nat_spec.parse(params)


class Backend:
    """nftables, or iptables in one of its two variants, behind one interface."""

    def __init__(self, label):
        self.label = label
        self.variant = label.split("-", 1)[1] if label.startswith("iptables-") else None

    def _call(self, name, *args):
        if self.variant is None:
            return getattr(nat_nft, name)(*args)
        return getattr(nat_iptables, name)(self.variant, *args)

    def read(self, netns, families=(4, 6), texts=True):
        return self._call("read", netns, families, texts)

    def add_texts(self, netns, rules):
        """Fill in the rules' "text" for a diff, where read was told it need not."""
        self._call("add_texts", netns, rules)

    def texts(self, netns, rule, current, synced, read):
        """``current`` (the rules of ``rule`` among ``read``, all rules read of
        its family) as a diff shows them. nft is not listed again for rules in
        sync with ``rule``: they print as it renders. Otherwise every text
        ``read`` lacks is filled at once, one listing a family however many
        of its rules a run changes. iptables-save gave every rule's text with
        the read."""
        if synced and self.variant is None:
            return self.render(rule)
        self.add_texts(netns, read)
        return [found["text"] for found in current]

    def exists(self, netns):
        return self._call("exists", netns)

    def apply(self, netns, family, remove_tags, add):
        self._call("apply", netns, family, remove_tags, add)

    def natives(self, rule):
        return (nat_nft if self.variant is None else nat_iptables).natives(rule)

    def in_sync(self, current, wanted):
        """Whether the rules read are exactly the wanted ones, so a rule edited
        by hand that kept our comment is seen too."""
        canonical = (nat_nft if self.variant is None else nat_iptables).canonical
        return sorted(map(canonical, current)) == sorted(map(canonical, wanted))

    def render(self, rule):
        return (nat_nft if self.variant is None else nat_iptables).render(rule)

    def interfaces(self, native):
        """The interface names a rule read matches (in or out)."""
        return (nat_nft if self.variant is None else nat_iptables).interfaces(native)

    def problems(self, netns, family, wanted):
        """What a run killed half way left broken in our chains: a chain the
        ``wanted`` natives need that nothing jumps to or, for a removal (none
        wanted), a chain of ours left empty. nftables has none: each change
        is one transaction."""
        if self.variant is None:
            return []
        chains = {native[1] for native in wanted} if wanted else None
        return nat_iptables.problems(self.variant, netns, family, chains)


def choose_backend(requested, netns):
    """The backend and why: where our rules already are, else where the node's
    own rules live (a docker host's iptables-legacy), else nftables."""
    if requested == "nftables":
        return Backend("nftables"), "asked for"
    if requested == "auto" and have("nft") and nat_nft.exists(netns):
        return Backend("nftables"), "the collection's table ip netplumb is there"
    variants = [v for v in VARIANTS if have("iptables-%s" % v)]
    for variant in variants:
        if nat_iptables.exists(variant, netns):
            return Backend("iptables-" + variant), "the collection's NETPLUMB chains are in iptables-" + variant
    for variant in variants:
        count = nat_iptables.holds_rules(variant, netns)
        if count:
            return (Backend("iptables-" + variant),
                    "the node's own rules live in iptables-%s (%d rules)" % (variant, count))
    if requested == "iptables":
        if not variants:
            raise ParamError("backend", requested, "is not usable: no iptables-legacy or iptables-nft on the node")
        return Backend("iptables-" + variants[-1]), "asked for; no rules anywhere yet, so the nft variant"
    if not have("nft"):
        raise ParamError("backend", requested, "found neither nft nor iptables on the node")
    return Backend("nftables"), "no rules in iptables; nftables is the node's own"


def plan(ctx, spec):
    rule = spec.rule
    if spec.netns and not namespaces.exists(spec.netns):
        if not ctx.assume_earlier_task("network namespace %r does not exist; check mode assumes an earlier "
                                       "task creates it, empty" % spec.netns):
            raise ParamError("netns", spec.netns, "is not an existing network namespace")
        backend, reason, current = Backend("nftables"), "check mode on a namespace still to be created", []
    elif not any(have(tool) for tool in TOOLS[spec.backend]):
        wanted = " or ".join(TOOLS[spec.backend])
        if not ctx.assume_earlier_task("%s is not installed; check mode assumes an earlier task installs it, "
                                       "and that the node has no rules yet" % wanted):
            raise ParamError("backend", spec.backend, "needs %s, which is not on the node" % wanted)
        backend, reason, current = Backend("nftables"), "check mode before %s is installed" % wanted, []
    else:
        backend, reason = ctx.remember(("nat backend", spec.backend, spec.netns),
                                       lambda: choose_backend(spec.backend, spec.netns))
        owned = ctx.remember(("nat rules", backend.label, spec.netns, rule.family),
                             lambda: backend.read(spec.netns, (rule.family,), texts=False))
        current = [r for r in owned if r["identity"] == rule.identity]
        wanted = [name for name in (rule.in_interface, rule.out_interface) if name]
        if spec.state == "present" and wanted:
            sess = ctx.kernel.session(spec.netns)  # a dump for a wildcard, else one lookup per name
            names = ([link.name for link in sess.links()] if any(name.endswith("+") for name in wanted)
                     else [name for name in wanted if sess.link(name) is not None])
            ctx.warnings.extend(interface_warnings(rule, names, spec.netns))
    tags = ["%s:%s" % (r["identity"], r["content"]) for r in current]
    old = [r["native"] for r in current]
    target = describe(rule)
    wanted = backend.natives(rule) if spec.state == "present" else []
    synced = spec.state == "present" and tags == [rule.key] * len(wanted) and backend.in_sync(old, wanted)
    result = Plan(before={"state": "present", "rules": backend.texts(spec.netns, rule, current, synced, owned)} if current
                  else {"state": "absent"})
    result.extra = {"backend": backend.label, "backend_reason": reason}
    broken = ctx.remember(("nat problems", backend.label, spec.netns, rule.family, tuple(_chains(wanted))),
                          lambda: backend.problems(spec.netns, rule.family, wanted))
    if broken:
        result.before["problems"] = broken
    if spec.state == "absent":
        result.after = {"state": "absent"}
        if current or broken:
            result.add("nat", removal(spec.netns, target, backend.label, rule.family, current,
                                      "delete" if current else "repair"))
        return result
    result.after = {"state": "present", "rules": backend.render(rule)}
    if synced:
        if broken:  # the rule is right but does not work (no jump): repaired, nothing to undo
            result.add("nat", Op(NAT_APPLY, spec.netns, target, {"verb": "repair", "backend": backend.label,
                                                                 "family": rule.family, "remove": [], "add": []}))
        return result
    result.add("nat", Op(NAT_APPLY, spec.netns, target,
                         {"verb": "replace" if current else "add", "backend": backend.label, "family": rule.family,
                          "remove": tags, "add": wanted},
                         Op(NAT_APPLY, spec.netns, target,
                            {"verb": "restore", "backend": backend.label, "family": rule.family,
                             "remove": [rule.key], "add": old})))
    return result


def removal(netns, target, backend, family, rules, verb="delete"):
    """The op that removes ``rules`` (ours, as a backend reads them) from
    ``backend``; its undo puts them back as they were."""
    return Op(NAT_APPLY, netns, target,
              {"verb": verb, "backend": backend, "family": family,
               "remove": ["%s:%s" % (r["identity"], r["content"]) for r in rules], "add": []},
              Op(NAT_APPLY, netns, target, {"verb": "restore", "backend": backend, "family": family,
                                            "remove": [], "add": [r["native"] for r in rules]}))


def _chains(natives):
    """The iptables chains ``natives`` go to (what their repair check depends on)."""
    return sorted({native[1] for native in natives if isinstance(native, (list, tuple))})


def interface_warnings(rule, names, netns=None):
    """A warning for each interface the rule matches that ``names`` (the
    interfaces of the rule's namespace) lacks: legitimate for one that comes
    later, but a typo otherwise matches nothing. ``eth+`` is a wildcard (every
    name starting with ``eth``): it warns only when no name starts so."""
    where = "network namespace %r" % netns if netns else "the node"
    warnings = []
    for field in ("in_interface", "out_interface"):
        wanted = getattr(rule, field)
        if not wanted:
            continue
        if wanted.endswith("+"):
            if not any(name.startswith(wanted[:-1]) for name in names):
                warnings.append("%s: %r matches no interface of %s yet (a wildcard: every name starting with %r); "
                                "the rule does nothing until one exists" % (field, wanted, where, wanted[:-1]))
        elif wanted not in names:
            warnings.append("%s: %r is not an interface of %s (yet); the rule does nothing until it exists"
                            % (field, wanted, where))
    return warnings


def owned_interfaces(netns):
    """Every interface name (in or out) that the collection's own rules match,
    in each backend holding rules of ours: what a teardown may need to name."""
    found = set()
    if have("nft") and nat_nft.exists(netns):
        for rule in nat_nft.read(netns):
            found |= nat_nft.interfaces(rule["native"])
    for variant in VARIANTS:
        if have("iptables-%s" % variant) and nat_iptables.exists(variant, netns):
            for rule in nat_iptables.read(variant, netns):
                found |= nat_iptables.interfaces(rule["native"])
    return sorted(found)


def describe(rule):
    words = [rule.kind] + (["ipv6"] if rule.family == 6 else [])
    match = rule.match()
    for label, value in (("from", match["source"]), ("to", match["destination"]), ("in", rule.in_interface),
                         ("out", rule.out_interface)):
        if value:
            words.append("%s %s" % (label, value))
    if rule.protocol:
        words.append(rule.protocol + ("/%s" % "-".join(str(p) for p in sorted(set(rule.dport)))
                                      if rule.dport else ""))
    if rule.to_address:
        words.append("-> %s" % rule.to_text())
    return " ".join(words)


def _run(ctx, op):
    Backend(op.args["backend"]).apply(op.netns, op.args.get("family", 4), op.args["remove"], op.args["add"])


NAT_APPLY = Operation("nat_apply", "{verb} rule {target}{where} in {backend}", _run)
OPERATIONS = ((NAT_APPLY,),)
