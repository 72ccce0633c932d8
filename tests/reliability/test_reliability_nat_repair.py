"""What a run killed between two iptables commands leaves, made by hand and
repaired by the next run: a NETPLUMB chain with its rule but no jump to it (the
rule has no effect) is drift, not "unchanged"; a NETPLUMB chain left empty by an
interrupted teardown goes with the next removal. Engine alone, iptables-nft,
checked with iptables-nft-save."""

import pytest

import scenario
from converge import run_steps
from netplumb_testlib import resource
from netplumb_testlib import sh
from reliability_lib import node_state, normalized

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine

MASQUERADE, DNAT, FORWARD = scenario.nat_only("iptables")
JUMP = ["-m", "comment", "--comment", "netplumb:jump", "-j"]


def saved():
    return sh("iptables-nft-save").splitlines()


def nat(params, check_mode=False):
    return engine.run(resource("nat_rule"), params[1], check_mode=check_mode)


@pytest.mark.parametrize("step, table, base", [(MASQUERADE, "nat", "POSTROUTING"), (FORWARD, "filter", "FORWARD")])
def test_a_rule_without_its_jump_is_drift_and_gets_the_jump_back(sandbox, step, table, base):
    run_steps([step])
    chain = "NETPLUMB-" + base
    intact = normalized(node_state(sandbox))
    sh("iptables-nft", "-t", table, "-D", base, *JUMP, chain)
    assert not any(line.startswith("-A %s " % base) for line in saved())
    broken = normalized(node_state(sandbox))
    predicted = nat(step, check_mode=True)
    assert predicted.changed and [op["args"]["verb"] for op in predicted.operations] == ["repair"]
    assert predicted.before["problems"] == ["%s %s has no jump from %s" % (table, chain, base)]
    assert normalized(node_state(sandbox)) == broken  # check mode changed nothing
    assert nat(step).changed
    assert normalized(node_state(sandbox)) == intact
    assert not nat(step).changed


def test_an_empty_chain_left_by_a_teardown_goes_with_the_next_removal(sandbox):
    empty = normalized(node_state(sandbox))
    run_steps([MASQUERADE, FORWARD])
    # a teardown of the forward rule killed after its -D: the chain stays, jumped to and empty
    assert [line for line in saved() if line.startswith("-A NETPLUMB-FORWARD ")]
    sh("iptables-nft", "-t", "filter", "-D", "NETPLUMB-FORWARD", "1")
    absent = dict(FORWARD[1], state="absent")
    predicted = engine.run(resource("nat_rule"), absent, check_mode=True)
    assert predicted.before["problems"] == ["filter NETPLUMB-FORWARD holds no rule of ours"]
    assert [op["args"]["verb"] for op in predicted.operations] == ["repair"]
    assert engine.run(resource("nat_rule"), absent).changed
    assert not any("NETPLUMB-FORWARD" in line for line in saved())
    assert any(line.startswith("-A NETPLUMB-POSTROUTING ") for line in saved())  # the other rule stays
    assert not engine.run(resource("nat_rule"), absent).changed
    run_steps(scenario.teardown([MASQUERADE]))
    left = normalized(node_state(sandbox))
    assert not any("NETPLUMB" in line for line in left["(host)"]["firewall"]["iptables-nft"])
    assert left["(host)"]["link"] == empty["(host)"]["link"]
