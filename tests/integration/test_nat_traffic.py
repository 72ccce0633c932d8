"""nat_rule through the engine on each backend, proven with real TCP: the wan
sees the node's uplink address (masquerade), and the node's port 80 is
answered by a server in the container (DNAT). Foreign rules stay byte-identical."""

import re

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from nat_topology import (CONTAINER, FORWARD, FORWARD6, FORWARD_BACK, FORWARD_BACK6, MASQUERADE, MASQUERADE6,
                          PORT_FORWARD, PORT_FORWARD6, SUBNET, UPLINK, UPLINK6, WAN, WAN6, build, build6)
from nat_traffic import ask, whoami_server

BACKENDS = ["nftables", "iptables-nft", "iptables-legacy"]


def prepare_backend(box, label):
    """Make ``backend: auto`` land on ``label`` the way it would on a real node."""
    if label == "iptables-legacy":  # a docker host: its rules live in iptables-legacy
        docker_like(box, "legacy")
    elif label == "iptables-nft":
        docker_like(box, "nft")
    return {"backend": "auto"}


def docker_like(box, variant):
    ipt = "iptables-%s" % variant
    for args in (["-t", "nat", "-N", "DOCKER"],
                 ["-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.128/25", "!", "-o", "docker0", "-j", "MASQUERADE"],
                 ["-N", "DOCKER"],
                 ["-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"],
                 ["-P", "FORWARD", "DROP"]):
        box_run(ipt, *args)


def box_run(*argv):
    import subprocess
    subprocess.run(list(argv), check=True, capture_output=True, timeout=30)


def foreign_state():
    """Everything not ours, with counters stripped: must not change."""
    import subprocess
    out = {}
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=False).stdout
    out["nft"] = re.sub(r"table ip6? netplumb \{.*?\n\}\n?", "", ruleset, flags=re.S)
    out["nft"] = re.sub(r"\tchain NETPLUMB-[A-Z]+ \{.*?\n\t\}\n\n?", "", out["nft"], flags=re.S)
    out["nft"] = "\n".join(line for line in out["nft"].splitlines()
                           if "NETPLUMB" not in line and "netplumb" not in line)
    # iptables-nft creates a built-in chain on first use (the jump into ours)
    # and keeps it, empty and accepting, after we leave: inert, so not compared.
    out["nft"] = re.sub(r"\tchain [A-Z]+ \{\n\t\ttype \w+ hook \w+ priority [\w-]+; policy accept;\n\t\}\n\n?",
                        "", out["nft"])
    out["nft"] = re.sub(r"table \w+ \w+ \{\n\}\n?", "", out["nft"])  # and the table they were in, now empty
    for variant in ("legacy", "nft"):
        for table, tool in (("nat", "iptables"), ("filter", "iptables"), ("nat", "ip6tables"), ("filter", "ip6tables")):
            text = subprocess.run(["%s-%s-save" % (tool, variant), "-t", table], capture_output=True, text=True,
                                  check=False).stdout
            out[tool + variant + table] = [re.sub(r"\[\d+:\d+\]", "", line) for line in text.splitlines()
                                           if not line.startswith("#") and "NETPLUMB" not in line]
    out["nft"] = [re.sub(r"counter packets \d+ bytes \d+", "counter", line)
                  for line in out["nft"].splitlines() if line.strip()]
    return out


def assert_same(now, before):
    """Foreign state unchanged; on failure show the differing lines."""
    import difflib
    for key in before:
        assert now[key] == before[key], "\n".join(difflib.unified_diff(before[key], now[key], lineterm=""))


def converge(params, **extra):
    return engine.run(nat_rule, dict(params, **extra))


def idempotent_then_gone(label, rules, extra, foreign):
    """Foreign state untouched; each rule unchanged on a rerun, then removed
    with nothing of ours left and the foreign state still untouched."""
    assert_same(foreign_state(), foreign)
    for params in rules:
        assert not converge(params, **extra).changed
        converge(params, state="absent", **extra)
    assert_same(foreign_state(), foreign)
    assert nat_rule.Backend(label).read(None) == []
    assert not nat_rule.Backend(label).exists(None), "owned table/chains left behind"


@pytest.mark.parametrize("label", BACKENDS)
def test_masquerade_and_port_forward_carry_real_traffic(sandbox, label):
    build(sandbox)
    extra = prepare_backend(sandbox, label)
    foreign = foreign_state()
    rules = [MASQUERADE, PORT_FORWARD]
    with whoami_server("wan", 7000):
        assert ask("c1", WAN, 7000) is None  # no route back from the wan yet
        outcome = converge(MASQUERADE, **extra)
        assert outcome.extra["backend"] == label, outcome.extra
        if label != "nftables":
            # FORWARD drops (docker's policy): without our accept rules, nothing passes.
            assert ask("c1", WAN, 7000) is None
            converge(FORWARD, **extra)
            converge(FORWARD_BACK, **extra)
            rules += [FORWARD, FORWARD_BACK]
        assert ask("c1", WAN, 7000) == UPLINK  # the wan saw the node, not the container
    converge(PORT_FORWARD, **extra)
    with whoami_server("c1", 8080):
        assert ask("wan", UPLINK, 80) == WAN  # answered by the container, seeing the real client
    idempotent_then_gone(label, rules, extra, foreign)


@pytest.mark.parametrize("label", BACKENDS)
def test_a_negated_destination_is_left_unmasqueraded(sandbox, label):
    """``destination: "!net"`` (as ansible.builtin.iptables writes it): traffic
    to that network keeps the container's address, the rest is masqueraded."""
    build(sandbox)
    extra = prepare_backend(sandbox, label)
    sandbox.ip("addr", "add", "192.0.2.1/24", "dev", "uplink0")
    sandbox.ip("addr", "add", "192.0.2.2/24", "dev", "eth0", netns="wan")
    sandbox.ip("route", "add", SUBNET, "via", UPLINK, netns="wan")  # answers can find the container now
    foreign = foreign_state()
    rules = [dict(MASQUERADE, destination="!203.0.113.0/24")]
    rules += [FORWARD, FORWARD_BACK] if label != "nftables" else []
    with whoami_server("wan", 7000):
        if label == "nftables":  # (docker's FORWARD policy drops everything on the others until ours accept)
            assert ask("c1", WAN, 7000) == CONTAINER and ask("c1", "192.0.2.2", 7000) == CONTAINER  # nothing yet
        for params in rules:
            assert converge(params, **extra).extra["backend"] == label
        assert ask("c1", WAN, 7000) == CONTAINER  # the excluded network sees the container itself
        assert ask("c1", "192.0.2.2", 7000) == "192.0.2.1"  # anywhere else sees the node
    idempotent_then_gone(label, rules, extra, foreign)


def docker_like6(variant):
    """docker's IPv6 FORWARD policy (with ip6tables enabled) is drop too."""
    box_run("ip6tables-%s" % variant, "-P", "FORWARD", "DROP")


@pytest.mark.parametrize("label", BACKENDS)
def test_ipv6_masquerade_and_port_forward_carry_real_traffic(sandbox, label):
    build(sandbox)
    build6(sandbox)
    extra = prepare_backend(sandbox, label)
    if label != "nftables":
        docker_like6(label.split("-", 1)[1])
    foreign = foreign_state()
    rules = [MASQUERADE6, PORT_FORWARD6] + ([FORWARD6, FORWARD_BACK6] if label != "nftables" else [])
    with whoami_server("wan", 7000, host="::"):
        assert ask("c1", WAN6, 7000) is None  # no route back from the wan
        for params in rules[:1] + rules[2:]:
            outcome = converge(params, **extra)
            assert outcome.extra["backend"] == label, outcome.extra
        assert ask("c1", WAN6, 7000) == UPLINK6  # the wan saw the node, not the container
    converge(PORT_FORWARD6, **extra)
    with whoami_server("c1", 8080, host="::"):
        assert ask("wan", UPLINK6, 80) == WAN6
        assert ask("wan", UPLINK, 80) is None  # the IPv6 port forward leaves IPv4 alone
    idempotent_then_gone(label, rules, extra, foreign)


@pytest.mark.parametrize("label", BACKENDS)
def test_changed_target_replaces_the_rule_in_place(sandbox, label):
    build(sandbox)
    extra = prepare_backend(sandbox, label)
    converge(PORT_FORWARD, **extra)
    outcome = converge(dict(PORT_FORWARD, to="198.51.100.12:8080", comment="moved"), **extra)
    assert [op["args"]["verb"] for op in outcome.operations] == ["replace"]
    rules = nat_rule.Backend(label).read(None)
    assert len(rules) == 1 and "198.51.100.12:8080" in rules[0]["text"] and "moved" in rules[0]["text"]
    assert not converge(dict(PORT_FORWARD, to="198.51.100.12:8080", comment="moved"), **extra).changed


def edit_dnat_target_by_hand(label, to):
    """What an admin might do: point our port forward elsewhere, keeping our comment."""
    rule = [r for r in nat_rule.Backend(label).read(None) if "dnat" in r["text"].lower()][0]
    if label == "nftables":
        body, _sep, tag = rule["text"].split(": ", 1)[1].partition(' comment "')
        body = re.sub(r"dnat to \S+", "dnat to " + to, body)
        box_run("nft", "replace", "rule", "ip", "netplumb", rule["chain"], "handle", str(rule["handle"]),
                *body.split(), "comment", '"%s' % tag)
    else:
        native = rule["native"]
        box_run("iptables-" + label.split("-", 1)[1], "-t", native[0], "-R", native[1], "1",
                *native[2:-1], to)


@pytest.mark.parametrize("label", BACKENDS)
def test_dnat_target_changed_by_hand_is_drift_and_repaired(sandbox, label):
    build(sandbox)
    extra = prepare_backend(sandbox, label)
    if label != "nftables":  # FORWARD drops (docker's policy)
        converge(FORWARD, **extra)
        converge(FORWARD_BACK, **extra)
    converge(PORT_FORWARD, **extra)
    edit_dnat_target_by_hand(label, "198.51.100.12:8080")
    edited = [r for r in nat_rule.Backend(label).read(None) if "dnat" in r["text"].lower()]
    assert len(edited) == 1 and "198.51.100.12:8080" in edited[0]["text"], edited
    predicted = engine.run(nat_rule, dict(PORT_FORWARD, **extra), check_mode=True)
    assert [op["args"]["verb"] for op in predicted.operations] == ["replace"]
    assert [r for r in nat_rule.Backend(label).read(None) if "dnat" in r["text"].lower()] == edited
    repaired = converge(PORT_FORWARD, **extra)
    assert [op["description"] for op in repaired.operations] == [op["description"] for op in predicted.operations]
    with whoami_server("c1", 8080):
        assert ask("wan", UPLINK, 80) == WAN  # the container answers again
    assert not converge(PORT_FORWARD, **extra).changed


def test_check_mode_predicts_and_changes_nothing(sandbox):
    build(sandbox)
    before = foreign_state()
    predicted = engine.run(nat_rule, MASQUERADE, check_mode=True)
    assert predicted.changed and foreign_state() == before
    assert not nat_rule.Backend("nftables").exists(None)
    applied = engine.run(nat_rule, MASQUERADE)
    assert [op["description"] for op in applied.operations] == [op["description"] for op in predicted.operations]


def test_bad_input_changes_nothing(sandbox):
    build(sandbox)
    converge(PORT_FORWARD)
    before = nat_rule.Backend("nftables").read(None)
    with pytest.raises(Exception) as err:
        engine.run(nat_rule, dict(PORT_FORWARD, to="198.51.100.12:8080", protocol="udp", dport="0"))
    assert "dport" in str(err.value)
    assert nat_rule.Backend("nftables").read(None) == before


def test_output_hook_forwards_the_nodes_own_traffic(sandbox):
    build(sandbox)
    local = {"kind": "dnat", "protocol": "tcp", "dport": "80", "to": "198.51.100.11:8080"}
    converge(local)
    with whoami_server("c1", 8080):
        assert ask(None, UPLINK, 80) is None  # prerouting only: the node's own connection is not rewritten
        outcome = converge(dict(local, output=True))
        assert [op["args"]["verb"] for op in outcome.operations] == ["replace"]
        assert ask(None, UPLINK, 80) == UPLINK
        assert ask("wan", UPLINK, 80) == WAN
    assert [r["chain"] for r in nat_rule.Backend("nftables").read(None)] == ["prerouting", "output"]
