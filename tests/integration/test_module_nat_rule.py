"""Module contract of netplumb.linux.nat_rule, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). After every run the kernel's own view is read back (``nft list table ip
netplumb``, ``iptables-*-save``, or the engine's reader of owned rules), never
only what the module reports. The firewall as a whole (``nft list ruleset``,
``iptables-legacy-save``, ``iptables-nft-save``, counters stripped) must not
move on check mode or bad input, and foreign tables (kube-proxy-like, an
admin's ``inet filter``) must stay byte-identical, handles included.
"""

import difflib
import re
import subprocess

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from nat_topology import CONTAINER, MASQUERADE, PORT_FORWARD, UPLINK, WAN, build
from nat_traffic import ask, whoami_server
from netplumb_testlib import assert_clean_failure, descriptions

MODULE = "netplumb.linux.nat_rule"
MOVED = dict(PORT_FORWARD, to="198.51.100.12:8080")
FORWARD_ACCEPT = {"kind": "forward", "source": "198.51.100.0/24"}

# A kube-proxy-like nft table and an admin's own inet filter table: never ours.
FOREIGN_NFT = """\
table ip kube-proxy {
    chain services {
        type nat hook prerouting priority -100; policy accept;
        tcp dport 30080 dnat to 198.51.100.50:80
    }
    chain masquerading {
        type nat hook postrouting priority 100; policy accept;
        ip saddr 10.244.0.0/16 oifname "uplink0" masquerade
    }
}
table inet filter {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 22 accept comment "admin: ssh"
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip saddr 192.0.2.0/24 drop
    }
}
"""


# -- helpers ---------------------------------------------------------------------------------


def task(params=None, **extra):
    """One nat_rule task: ``params`` with ``extra`` on top."""
    return {MODULE: dict(params or {}, **extra)}


def _run(argv, stdin=None):
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)


def _in(netns, argv):
    return (["ip", "netns", "exec", netns] if netns else []) + argv


def nft_table(netns=None):
    """``nft list table ip netplumb`` as printed, or None when the table is not there."""
    proc = _run(_in(netns, ["nft", "list", "table", "ip", "netplumb"]))
    return proc.stdout if proc.returncode == 0 else None


def ipt_save(variant, table="nat"):
    proc = _run(["iptables-%s-save" % variant, "-t", table])
    return [line for line in proc.stdout.splitlines() if not line.startswith("#")]


def owned(label, netns=None):
    """The collection's rules as the engine's own reader sees them in the kernel."""
    return nat_rule.Backend(label).read(netns)


def _stable(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):  # timestamps of *-save, the tools' warnings
            continue
        line = re.sub(r"counter packets \d+ bytes \d+", "counter", line)
        lines.append(re.sub(r"\[\d+:\d+\]", "[0:0]", line))
    return lines


def firewall():
    """The whole firewall as a user lists it, counters stripped: compare for 'unchanged'."""
    return {argv[0]: _stable(_run(argv).stdout)
            for argv in (["nft", "list", "ruleset"], ["iptables-legacy-save"], ["iptables-nft-save"])}


def moved_lines(before, after):
    """What changed between two firewall() views, as a unified diff ('' when nothing)."""
    return "\n".join(line for key in sorted(before) for line in
                     difflib.unified_diff(before[key], after[key], key, key, lineterm=""))


def foreign():
    """The foreign nft tables with their handles, and the ruleset minus our table."""
    state = {name: _run(["nft", "-a", "list", "table"] + name.split()).stdout
             for name in ("ip kube-proxy", "inet filter")}
    ruleset = _run(["nft", "-a", "list", "ruleset"]).stdout
    state["ruleset"] = re.sub(r"table ip netplumb \{.*?\n\}\n?", "", ruleset, flags=re.S)
    return state


def add_foreign():
    """The foreign tables, in the sandbox's namespace (this process is in it)."""
    proc = _run(["nft", "-f", "-"], stdin=FOREIGN_NFT)
    assert proc.returncode == 0, proc.stderr
    state = foreign()
    assert "dnat to 198.51.100.50:80" in state["ip kube-proxy"], state
    assert "admin: ssh" in state["inet filter"], state
    return state


def identity_rules(label, params, netns=None):
    """Owned rules with the identity (kind + match) of ``params``."""
    wanted = nat_rule.parse(dict(params)).rule.identity
    return [rule for rule in owned(label, netns) if rule["identity"] == wanted]


def ok(run):
    assert run.rc == 0, run
    return run.results


# -- 1./2. changed on first run, the kernel has it; not changed on the second ---------------


def test_nftables_create_then_not_changed(sandbox):
    sandbox.ip("netns", "add", "node1")
    tasks = [task(PORT_FORWARD), task(MASQUERADE), task(FORWARD_ACCEPT, netns="node1")]
    first = ok(sandbox.playbook(tasks))
    assert [r["changed"] for r in first] == [True, True, True]
    for result in first:
        assert result["backend"] == "nftables", result
        assert result["backend_reason"], result
        assert [op["op"] for op in result["operations"]] == ["nat_apply"], result
        assert result["operations"][0]["args"]["verb"] == "add"

    table = nft_table()
    assert table is not None
    assert re.search(r'iifname "uplink0" tcp dport 80 dnat to 198\.51\.100\.11:8080 comment "netplumb:', table), table
    assert re.search(r'oifname "uplink0" ip saddr 198\.51\.100\.0/24 masquerade comment "netplumb:', table), table
    assert "chain forward" not in table  # the forward rule was for node1
    assert len(owned("nftables")) == 2
    assert [r["chain"] for r in identity_rules("nftables", PORT_FORWARD)] == ["prerouting"]
    assert [r["chain"] for r in identity_rules("nftables", MASQUERADE)] == ["postrouting"]
    # the forward rule went into node1's namespace, and only there
    inner = nft_table("node1")
    assert inner is not None and re.search(r"ip saddr 198\.51\.100\.0/24 accept comment", inner), inner
    assert [r["chain"] for r in owned("nftables", "node1")] == ["forward"]

    second = ok(sandbox.playbook(tasks))
    assert [r["changed"] for r in second] == [False, False, False]
    assert all(r["operations"] == [] for r in second)
    assert all(r["backend"] == "nftables" for r in second)
    assert nft_table() == table


# -- 3. check mode --------------------------------------------------------------------------


def test_check_mode_predicts_and_changes_nothing(sandbox):
    tasks = [task(PORT_FORWARD), task(MASQUERADE)]
    before = firewall()
    check = ok(sandbox.playbook(tasks, check=True))
    assert [r["changed"] for r in check] == [True, True]
    moved_by_check = moved_lines(before, firewall())  # asserted last, so the rest is proven too
    assert nft_table() is None

    real = ok(sandbox.playbook(tasks))
    assert [descriptions(r) for r in real] == [descriptions(r) for r in check]
    assert [r["backend"] for r in real] == [r["backend"] for r in check] == ["nftables"] * 2
    assert len(owned("nftables")) == 2

    converged = firewall()
    again = ok(sandbox.playbook(tasks + [task(PORT_FORWARD, state="absent")], check=True))
    assert [r["changed"] for r in again] == [False, False, True]
    assert again[0]["operations"] == [] and again[1]["operations"] == []
    assert [op["args"]["verb"] for op in again[2]["operations"]] == ["delete"]
    assert firewall() == converged
    assert not moved_by_check, "check mode on a fresh sandbox changed the firewall:\n" + moved_by_check


# -- 4. --diff ------------------------------------------------------------------------------


def test_diff_shows_the_rule_before_and_after(sandbox):
    created = ok(sandbox.playbook([task(PORT_FORWARD)], diff=True))[0]
    assert created["diff"]["before"] == {"state": "absent"}
    after = created["diff"]["after"]
    assert after["state"] == "present"
    assert len(after["rules"]) == 1 and "dnat to 198.51.100.11:8080" in after["rules"][0], after
    assert after["rules"][0].startswith("prerouting: "), after

    moved = ok(sandbox.playbook([task(MOVED)], diff=True))[0]
    assert moved["changed"] is True
    before, after = moved["diff"]["before"], moved["diff"]["after"]
    assert before["state"] == "present" and len(before["rules"]) == 1, before
    assert "dnat to 198.51.100.11:8080" in before["rules"][0], before
    assert len(after["rules"]) == 1 and "dnat to 198.51.100.12:8080" in after["rules"][0], after
    assert "198.51.100.11" not in after["rules"][0]


def test_no_change_diff_shows_the_rules_as_nft_prints_them(sandbox):
    """With nothing to change, "before" is the wanted rules' rendering (nft
    is not listed a second time): it must be exactly what nft prints."""
    tasks = [task(PORT_FORWARD), task(MASQUERADE), task(PORT_FORWARD, output=True, dport=8443, in_interface=None),
             task(FORWARD_ACCEPT), task(MASQUERADE, source="2001:db8:1::/64")]
    ok(sandbox.playbook(tasks))
    again = ok(sandbox.playbook(tasks, diff=True))
    assert not any(r["changed"] for r in again), again
    shown = []
    for result in again:
        assert result["diff"]["before"] == result["diff"]["after"], result["diff"]
        shown += result["diff"]["before"]["rules"]
    printed = [rule["text"] for rule in owned("nftables")]
    assert len(printed) == 6 and all(printed), printed  # the output forward is in two chains
    assert sorted(shown) == sorted(printed)


# -- 5. identity: a changed `to` or comment replaces the rule in place -----------------------


def test_changed_to_or_comment_replaces_in_place(sandbox):
    ok(sandbox.playbook([task(PORT_FORWARD)]))
    original = identity_rules("nftables", PORT_FORWARD)
    assert len(original) == 1

    moved = ok(sandbox.playbook([task(MOVED)]))[0]
    assert moved["changed"] is True
    assert [op["args"]["verb"] for op in moved["operations"]] == ["replace"]
    rules = identity_rules("nftables", PORT_FORWARD)
    assert len(rules) == 1 and "dnat to 198.51.100.12:8080" in rules[0]["text"], rules
    assert rules[0]["content"] != original[0]["content"]

    commented = ok(sandbox.playbook([task(MOVED, comment="web to c2")]))[0]
    assert commented["changed"] is True
    assert [op["args"]["verb"] for op in commented["operations"]] == ["replace"]
    rules = identity_rules("nftables", PORT_FORWARD)
    assert len(rules) == 1 and "web to c2" in rules[0]["text"] and "198.51.100.12:8080" in rules[0]["text"]
    assert len(owned("nftables")) == 1
    assert nft_table().count("dnat to") == 1

    # another dport is another identity: a second rule, the first one kept
    other = dict(PORT_FORWARD, dport="443", to=CONTAINER + ":8443")
    final = [task(MOVED, comment="web to c2"), task(other)]
    run = ok(sandbox.playbook(final))
    assert [r["changed"] for r in run] == [False, True]  # the replaced rule: second run, not changed
    assert run[0]["operations"] == []
    assert len(owned("nftables")) == 2
    run = ok(sandbox.playbook(final))  # and a third: neither changes
    assert [r["changed"] for r in run] == [False, False]
    assert all(r["operations"] == [] for r in run)
    assert len(identity_rules("nftables", PORT_FORWARD)) == 1


# -- 6. state: absent -----------------------------------------------------------------------


def test_absent_removes_rule_and_last_one_takes_the_table(sandbox):
    ok(sandbox.playbook([task(PORT_FORWARD), task(MASQUERADE)]))
    # absent needs no `to`: identity only
    gone = ok(sandbox.playbook([task(kind="dnat", protocol="tcp", dport="80", in_interface="uplink0",
                                     state="absent")]))[0]
    assert gone["changed"] is True
    assert [op["args"]["verb"] for op in gone["operations"]] == ["delete"]
    assert identity_rules("nftables", PORT_FORWARD) == []
    table = nft_table()
    assert table is not None and "dnat" not in table and "masquerade" in table

    last = ok(sandbox.playbook([task(MASQUERADE, state="absent"), task(MASQUERADE, state="absent"),
                                task(PORT_FORWARD, state="absent")]))
    assert [r["changed"] for r in last] == [True, False, False]
    assert last[1]["operations"] == [] and last[2]["operations"] == []
    assert nft_table() is None, "the owned table outlived its last rule"
    assert not nat_rule.Backend("nftables").exists(None)

    again = ok(sandbox.playbook([task(MASQUERADE, state="absent")]))[0]
    assert again["changed"] is False and again["operations"] == []
    assert nft_table() is None


# -- 7. foreign rules are never touched -----------------------------------------------------


def test_foreign_rules_stay_byte_identical(sandbox):
    before = add_foreign()
    tasks = [task(PORT_FORWARD), task(MASQUERADE), task(FORWARD_ACCEPT)]

    converge = ok(sandbox.playbook(tasks))
    assert [r["changed"] for r in converge] == [True] * 3
    assert [r["backend"] for r in converge] == ["nftables"] * 3
    assert len(owned("nftables")) == 3
    assert foreign() == before

    again = ok(sandbox.playbook(tasks))
    assert again and all(r["changed"] is False for r in again)
    assert foreign() == before

    check = ok(sandbox.playbook([task(MOVED), task(MASQUERADE, state="absent")], check=True))
    assert [r["changed"] for r in check] == [True, True]
    assert foreign() == before
    assert len(owned("nftables")) == 3

    absent = ok(sandbox.playbook([task(params, state="absent")
                                  for params in (PORT_FORWARD, MASQUERADE, FORWARD_ACCEPT)]))
    assert [r["changed"] for r in absent] == [True] * 3
    assert nft_table() is None
    assert foreign() == before


# -- the iptables backend (nft and legacy variants) ------------------------------------------


def _legacy_host():
    """A docker-like host: its own NAT lives in iptables-legacy."""
    proc = _run(["iptables-legacy", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.128/25",
                 "!", "-o", "docker0", "-j", "MASQUERADE"])
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("variant", ["nft", "legacy"])
def test_iptables_backend(sandbox, variant):
    label = "iptables-" + variant
    if variant == "legacy":
        _legacy_host()
    pf, masq = dict(PORT_FORWARD, backend="iptables"), dict(MASQUERADE, backend="iptables")

    before = firewall()
    check = ok(sandbox.playbook([task(pf), task(masq)], check=True))
    assert [r["changed"] for r in check] == [True, True]
    assert [r["backend"] for r in check] == [label] * 2
    moved_by_check = moved_lines(before, firewall())  # asserted last, so the rest is proven too

    first = ok(sandbox.playbook([task(pf), task(masq)], diff=True))
    assert [r["changed"] for r in first] == [True, True]
    assert [descriptions(r) for r in first] == [descriptions(r) for r in check]
    assert [r["backend"] for r in first] == [label] * 2 and all(r["backend_reason"] for r in first)
    assert first[0]["diff"]["before"] == {"state": "absent"}
    assert "--to-destination 198.51.100.11:8080" in first[0]["diff"]["after"]["rules"][0]
    nat = ipt_save(variant)
    rules = [line for line in nat if line.startswith("-A NETPLUMB-PREROUTING")]
    assert len(rules) == 1 and "-i uplink0" in rules[0] and "--dport 80" in rules[0], nat
    assert "-j DNAT --to-destination 198.51.100.11:8080" in rules[0], nat
    assert re.search(r'--comment "?netplumb:', rules[0]), rules
    assert [line for line in nat if line.startswith("-A NETPLUMB-POSTROUTING")], nat
    assert len([line for line in nat if line.startswith("-A PREROUTING") and "NETPLUMB-PREROUTING" in line]) == 1
    assert len(owned(label)) == 2
    other = "iptables-legacy" if variant == "nft" else "iptables-nft"
    assert owned(other) == [] and nft_table() is None

    second = ok(sandbox.playbook([task(pf), task(masq)]))
    assert [r["changed"] for r in second] == [False, False]
    assert all(r["operations"] == [] for r in second)

    moved = ok(sandbox.playbook([task(dict(pf, to="198.51.100.12:8080"))], diff=True))[0]
    assert moved["changed"] is True
    assert [op["args"]["verb"] for op in moved["operations"]] == ["replace"]
    assert "198.51.100.11:8080" in moved["diff"]["before"]["rules"][0]
    assert "198.51.100.12:8080" in moved["diff"]["after"]["rules"][0]
    rules = identity_rules(label, PORT_FORWARD)
    assert len(rules) == 1 and "198.51.100.12:8080" in rules[0]["text"], rules
    assert len([line for line in ipt_save(variant) if line.startswith("-A NETPLUMB-PREROUTING")]) == 1

    absent = ok(sandbox.playbook([task(pf, state="absent"), task(masq, state="absent"),
                                  task(masq, state="absent")]))
    assert [r["changed"] for r in absent] == [True, True, False]
    assert owned(label) == []
    assert not nat_rule.Backend(label).exists(None), "owned chains left behind"
    assert not [line for line in ipt_save(variant) if "NETPLUMB" in line]
    if variant == "legacy":  # the docker-like rule is still there
        assert [line for line in ipt_save(variant) if "192.0.2.128/25" in line]
    assert not moved_by_check, "check mode on a fresh sandbox changed the firewall:\n" + moved_by_check


# -- interfaces that do not exist: a warning, never a failure ---------------------------------


def _warned(result):
    return [w for w in result.get("warnings", []) if "interface" in w]


def test_a_missing_interface_warns_an_existing_or_matching_wildcard_does_not(sandbox):
    sandbox.ip("link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p")
    sandbox.ip("netns", "add", "node1")
    wild_nft, wild_ipt = dict(PORT_FORWARD, in_interface="uplink+"), dict(PORT_FORWARD, in_interface="upl+",
                                                                          backend="iptables", dport="81")
    tasks = [task(MASQUERADE),                                        # exists
             task(MASQUERADE, out_interface="uplink9"),               # does not (yet)
             task(wild_nft),                                          # a wildcard that matches uplink0
             task(wild_ipt),                                          # the same through iptables
             task(PORT_FORWARD, in_interface="wg+", dport="82"),      # a wildcard that matches nothing
             task(MASQUERADE, netns="node1"),                         # uplink0 is not in node1
             task(MASQUERADE, out_interface="uplink8", state="absent")]
    results = ok(sandbox.playbook(tasks))
    assert [r["changed"] for r in results] == [True] * 6 + [False]
    warned = [_warned(r) for r in results]
    assert warned[0] == [] and warned[2] == [] and warned[3] == [] and warned[6] == [], warned
    assert warned[1] == ["out_interface: 'uplink9' is not an interface of the node (yet); the rule does nothing "
                         "until it exists"], warned
    assert warned[4] == ["in_interface: 'wg+' matches no interface of the node yet (a wildcard: every name "
                         "starting with 'wg'); the rule does nothing until one exists"], warned
    assert warned[5] == ["out_interface: 'uplink0' is not an interface of network namespace 'node1' (yet); the "
                         "rule does nothing until it exists"], warned
    # The wildcard means the same in both backends: nft writes it uplink*.
    assert 'iifname "uplink*" tcp dport 80' in nft_table()
    assert [line for line in ipt_save("nft") if "-i upl+" in line and "--dport 81" in line]
    again = ok(sandbox.playbook(tasks))
    assert [r["changed"] for r in again] == [False] * 7, again


# -- 8. bad input fails cleanly, naming the field, changing nothing --------------------------


BAD = [
    # (id, params, field, field set by the engine)
    ("source-host-bits", dict(MASQUERADE, source="198.51.100.1/24"), "source", True),
    ("source-octet-300", dict(MASQUERADE, source="10.0.0.300/8"), "source", True),
    ("source-ipv6-family-ipv4", dict(MASQUERADE, source="2001:db8::/64", family="ipv4"), "source", True),
    ("snat-ipv6-source-ipv4-to", {"kind": "snat", "source": "2001:db8::/64", "to": UPLINK}, "to", True),
    ("dnat-to-ipv6-unclosed-bracket", dict(PORT_FORWARD, to="[2001:db8::11:8080"), "to", True),
    ("family-unknown", dict(MASQUERADE, family="ipv5"), "family", False),
    ("dport-0", dict(PORT_FORWARD, dport="0"), "dport", True),
    ("dport-70000", dict(PORT_FORWARD, dport="70000"), "dport", True),
    ("dport-name", dict(PORT_FORWARD, dport="http"), "dport", True),
    ("dport-without-protocol", {"kind": "dnat", "dport": "80", "to": CONTAINER}, "protocol", True),
    ("to-not-an-address", dict(PORT_FORWARD, to="nowhere"), "to", True),
    ("snat-to-with-port", {"kind": "snat", "source": "198.51.100.0/24", "to": UPLINK + ":80"}, "to", True),
    ("dnat-without-to", {"kind": "dnat", "protocol": "tcp", "dport": "80"}, "to", True),
    ("in-interface-space", dict(PORT_FORWARD, in_interface="uplink 0"), "in_interface", True),
    ("out-interface-semicolon", dict(MASQUERADE, out_interface="uplink0;drop"), "out_interface", True),
    ("out-interface-16-chars", dict(MASQUERADE, out_interface="a" * 16), "out_interface", True),
    ("kind-unknown", dict(MASQUERADE, kind="nat"), "kind", False),
    ("backend-unknown", dict(MASQUERADE, backend="pf"), "backend", False),
    ("comment-65-chars", dict(MASQUERADE, comment="c" * 65), "comment", True),
    ("comment-double-quote", dict(MASQUERADE, comment='web" accept'), "comment", True),
    ("output-with-masquerade", dict(MASQUERADE, output=True), "output", True),
    ("netns-missing", dict(MASQUERADE, netns="nosuch"), "netns", True),
]


@pytest.mark.parametrize("params, field, engine_field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(sandbox, params, field, engine_field):
    # the sandbox's namespace is this process's own: the engine writes there
    engine.run(nat_rule, dict(PORT_FORWARD, to=CONTAINER + ":9090"))  # something of ours to keep
    before = firewall()
    run = sandbox.playbook([task(params)])
    assert_clean_failure(run, field, before, firewall(), engine_field)
    kept = identity_rules("nftables", PORT_FORWARD)
    assert len(kept) == 1 and "198.51.100.11:9090" in kept[0]["text"], kept


# -- 9. scenario 4 end to end through Ansible, with real traffic -----------------------------


@pytest.mark.parametrize("backend", ["auto", "iptables"])
def test_masquerade_and_port_forward_carry_real_traffic(sandbox, backend):
    build(sandbox)
    with whoami_server("wan", 7000):
        assert ask("c1", WAN, 7000) is None  # no route back to the containers without masquerade
        results = ok(sandbox.playbook([task(MASQUERADE, backend=backend),
                                       task(PORT_FORWARD, backend=backend)]))
        assert [r["changed"] for r in results] == [True, True]
        assert [r["backend"] for r in results] == ["nftables" if backend == "auto" else "iptables-nft"] * 2
        assert ask("c1", WAN, 7000) == UPLINK  # the wan saw the node, not the container
    with whoami_server("c1", 8080):
        assert ask("wan", UPLINK, 80) == WAN  # answered by the container, seeing the real client
