"""The read-back after every real apply, on the real kernel: another agent
changes what a run just made (between its apply and its read-back), or the
kernel does not make an IPv6 address usable; the run is rolled back whole
and fails naming the object, the field, the wanted and the found value."""

import json
import os
import subprocess

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config, cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import VerifyError
from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge, netns, route, veth
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nat_rule
from cni_fixtures import CHAIN, cni_archives, cni_dirs, conflist, copy_plugins  # noqa: F401 pylint: disable=unused-import
from reliability_lib import record

BIN = "/opt/cni/bin"


def _uplink(box):
    box.ip("link", "add", "up0", "type", "veth", "peer", "name", "up0p")
    box.ip("addr", "add", "192.0.2.2/24", "dev", "up0")
    box.ip("link", "set", "up0", "up")
    box.ip("link", "set", "up0p", "up")


def _bridge(box):
    box.ip("link", "add", "br-ct", "type", "bridge")
    box.ip("addr", "add", "198.51.100.1/24", "dev", "br-ct")
    box.ip("link", "set", "br-ct", "up")
    # A foreign port keeps the bridge's carrier (and its route's flags) as they are.
    box.ip("link", "add", "fa", "up", "master", "br-ct", "type", "veth", "peer", "name", "fb")
    box.ip("link", "set", "fb", "up")


# (resource, params, what the agent does in between, the mismatch it must name).
# A route is its (dst, table, metric), as the kernel's: the rollback deletes
# the route the run added, whatever gateway the agent gave it.
CASES = {
    "netns": (netns, {"name": "red"}, ["ip", "netns", "del", "red"], "state: wanted present, found absent"),
    "bridge": (bridge, {"name": "br0", "mtu": 1400, "addresses": ["192.0.2.1/24"]},
               ["ip", "link", "set", "br0", "mtu", "1500"], "mtu: wanted 1400, found 1500"),
    "veth": (veth, {"name": "a0", "peer": "b0", "addresses": ["203.0.113.1/24"]},
             ["ip", "addr", "del", "203.0.113.1/24", "dev", "a0"], "found []"),
    "route": (route, {"dst": "203.0.113.0/24", "gateway": "192.0.2.1"},
              ["ip", "route", "replace", "203.0.113.0/24", "via", "192.0.2.9"],
              "gateway: wanted 192.0.2.1, found 192.0.2.9"),
    "container_net": (container_net, {"bridge": "br-ct", "gateway": "198.51.100.1",
                                      "containers": [{"name": "c1", "address": "198.51.100.11/24"}]},
                      ["ip", "-n", "c1", "addr", "del", "198.51.100.11/24", "dev", "eth0"],
                      'c1.addresses: wanted ["198.51.100.11/24"], found []'),
    "nat_rule": (nat_rule, {"kind": "masquerade", "source": "198.51.100.0/24", "out_interface": "up0",
                            "backend": "nftables"},
                 ["nft", "delete", "table", "ip", "netplumb"], "state: wanted present, found absent"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_change_between_apply_and_read_back_rolls_the_run_back(sandbox, monkeypatch, name):
    resource, params, agent, mismatch = CASES[name]
    _uplink(sandbox)
    _bridge(sandbox)
    before = sandbox.settled_snapshot()
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    applied = engine.apply

    def apply_then_agent(ctx, ops):
        done = applied(ctx, ops)
        subprocess.run(agent, check=True, timeout=10)
        return done

    monkeypatch.setattr(engine, "apply", apply_then_agent)
    with pytest.raises(VerifyError) as info:
        engine.run(resource, params)
    error = info.value
    assert any(mismatch in text for text in error.mismatches), error.mismatches
    assert mismatch in str(error) and error.rolled_back and not error.rollback_errors, str(error)
    assert sandbox.settled_snapshot() == before
    assert subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout == ruleset
    record("verify", "%s: %s between apply and read-back" % (name, " ".join(agent)), caught=mismatch,
           rolled_back=len(error.rolled_back), node_unchanged=1)


def test_a_duplicate_ipv6_address_fails_dad_and_is_rolled_back(sandbox):
    """Another node on the link holds 2001:db8::1: the kernel marks our copy
    dadfailed, and the run that added it fails naming it and removes it."""
    sandbox.ip("netns", "add", "other")
    sandbox.ip("link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", "other")
    sandbox.ip("addr", "add", "2001:db8::1/64", "dev", "b0", "nodad", netns="other")
    sandbox.ip("link", "set", "b0", "up", netns="other")
    sandbox.ip("link", "set", "a0", "up")
    before = sandbox.settled_snapshot()
    with pytest.raises(VerifyError) as info:
        engine.run(veth, {"name": "a0", "peer": "b0", "peer_netns": "other", "addresses": ["2001:db8::1/64"]})
    assert any("2001:db8::1/64 on a0: wanted usable, found dadfailed" in text for text in info.value.mismatches), \
        info.value.mismatches
    assert info.value.failed.action == "addr_add" and info.value.rolled_back
    assert sandbox.settled_snapshot() == before
    record("verify", "veth: an IPv6 address another node on the link holds", caught="dadfailed",
           rolled_back=len(info.value.rolled_back), node_unchanged=1)


def test_an_ipv6_address_is_usable_when_the_run_returns(sandbox):
    """With nobody else holding it, the run waits out duplicate address
    detection: the address is no longer tentative when engine.run returns."""
    sandbox.ip("netns", "add", "other")
    outcome = engine.run(veth, {"name": "a0", "peer": "b0", "peer_netns": "other",
                                "addresses": ["2001:db8::1/64"], "peer_addresses": ["2001:db8::2/64"]})
    assert outcome.changed
    for name, where in (("a0", None), ("b0", "other")):
        (found,) = [a for a in sandbox.ipj("addr", "show", "dev", name, netns=where)[0]["addr_info"]
                    if a["local"].startswith("2001:db8::")]
        assert not found.get("tentative") and not found.get("dadfailed"), found
    assert sandbox.ping("2001:db8::2")


def test_a_link_without_carrier_is_not_waited_for(sandbox):
    """DAD does not run on a link without carrier (its peer is down): the
    address stays tentative until the carrier comes, which is not a failure."""
    sandbox.ip("netns", "add", "other")
    sandbox.ip("link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", "other")
    sandbox.ip("link", "set", "a0", "up")
    outcome = engine.run(veth, {"name": "a0", "peer": "b0", "peer_netns": "other", "addresses": ["2001:db8::1/64"]})
    assert outcome.changed


def _agent_after_apply(monkeypatch, agent):
    applied = engine.apply

    def apply_then_agent(ctx, ops):
        done = applied(ctx, ops)
        agent()
        return done

    monkeypatch.setattr(engine, "apply", apply_then_agent)


def test_a_config_rewritten_between_apply_and_read_back_rolls_back(cni_dirs, monkeypatch):
    copy_plugins(BIN, CHAIN)
    path = "/etc/cni/net.d/10-testnet.conflist"

    def agent():
        with open(path, "w") as handle:
            json.dump(dict(conflist(), cniVersion="0.4.0"), handle)

    _agent_after_apply(monkeypatch, agent)
    with pytest.raises(VerifyError) as info:
        engine.run(cni_config, {"name": "testnet", "config": conflist()})
    assert any("wanted" in text and "found" in text for text in info.value.mismatches), info.value.mismatches
    assert not os.path.exists(path) and not os.path.exists("/etc/cni/net.d")
    record("verify", "cni_config: the conflist rewritten between apply and read-back", caught=info.value.mismatches[0],
           rolled_back=len(info.value.rolled_back), node_unchanged=1)


def test_a_plugin_changed_between_apply_and_read_back_rolls_back(cni_dirs, cni_archives, monkeypatch):
    _agent_after_apply(monkeypatch, lambda: os.chmod(os.path.join(BIN, "bridge"), 0o700))
    with pytest.raises(VerifyError) as info:
        engine.run(cni_install.with_download(None), {"src": cni_archives.chain, "bin_dir": BIN})
    assert any("bridge" in text and "0755" in text and "0700" in text for text in info.value.mismatches), \
        info.value.mismatches
    assert not os.path.isdir(BIN) or os.listdir(BIN) == []
    record("verify", "cni_install: a plugin chmodded between apply and read-back", caught=info.value.mismatches[0],
           rolled_back=len(info.value.rolled_back), node_unchanged=1)


def test_a_read_back_that_cannot_read_rolls_back(sandbox, monkeypatch):
    """The agent puts a veth where the run made a bridge: planning the bridge
    again refuses the name, and the run is undone all the same, never left
    half done with a traceback."""
    before = sandbox.settled_snapshot()

    def agent():
        subprocess.run(["ip", "link", "del", "br0"], check=True, timeout=10)
        subprocess.run(["ip", "link", "add", "br0", "type", "veth", "peer", "name", "br0p"], check=True, timeout=10)

    _agent_after_apply(monkeypatch, agent)
    with pytest.raises(VerifyError) as info:
        engine.run(bridge, {"name": "br0", "addresses": ["192.0.2.1/24"]})
    assert "reading the node back failed" in str(info.value) and "br0" in str(info.value), str(info.value)
    subprocess.run(["ip", "link", "del", "br0p"], check=False, timeout=10)  # the agent's pair, if the rollback left it
    assert sandbox.settled_snapshot() == before
    record("verify", "bridge: a veth in the bridge's place between apply and read-back",
           caught="reading the node back failed", rolled_back=len(info.value.rolled_back), node_unchanged=1)


def _rewrite_keeping_the_tag(backend):
    """Another agent rewrites the run's masquerade rule with a narrower source,
    its comment (the collection's tag) kept."""
    if backend == "nftables":
        listed = json.loads(subprocess.run(["nft", "-j", "-a", "list", "chain", "ip", "netplumb", "postrouting"],
                                           capture_output=True, text=True, check=True, timeout=10).stdout)
        (rule,) = [item["rule"] for item in listed["nftables"] if "rule" in item]
        subprocess.run(["nft", "replace", "rule", "ip", "netplumb", "postrouting", "handle", str(rule["handle"]),
                        'oifname "up0" ip saddr 198.51.100.0/25 masquerade comment "%s"' % rule["comment"]],
                       check=True, timeout=10)
        return
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True,
                           timeout=10).stdout
    (line,) = [line for line in saved.splitlines() if line.startswith("-A NETPLUMB-POSTROUTING")]
    comment = line.split('--comment "', 1)[1].split('"', 1)[0]
    subprocess.run(["iptables", "-t", "nat", "-R", "NETPLUMB-POSTROUTING", "1", "-s", "198.51.100.0/25", "-o", "up0",
                    "-m", "comment", "--comment", comment, "-j", "MASQUERADE"], check=True, timeout=10)


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_a_rule_rewritten_with_its_tag_between_apply_and_read_back_rolls_back(sandbox, monkeypatch, backend):
    """The tag alone does not make a rule the run's: the read-back reads what
    the rule matches, finds the other source, and the run is undone."""
    _uplink(sandbox)
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    _agent_after_apply(monkeypatch, lambda: _rewrite_keeping_the_tag(backend))
    with pytest.raises(VerifyError) as info:
        engine.run(nat_rule, {"kind": "masquerade", "source": "198.51.100.0/24", "out_interface": "up0",
                              "backend": backend})
    assert info.value.rolled_back and not info.value.rollback_errors, str(info.value)
    assert "replace rule masquerade from 198.51.100.0/24 out up0" in str(info.value), str(info.value)
    after = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    if backend == "nftables":
        assert after == ruleset
    else:  # iptables-nft leaves the nat table's built-in chains it made, empty
        saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
        assert "NETPLUMB" not in saved and "\n-A " not in saved, saved
    record("verify", "nat_rule (%s): the rule rewritten with its tag kept between apply and read-back" % backend,
           caught=info.value.mismatches[0] if info.value.mismatches else str(info.value),
           rolled_back=len(info.value.rolled_back), node_unchanged=1)
