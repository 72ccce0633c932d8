"""Bad input: the corpus (corpus.py) against every module, on a prepared node.

Each case must fail with a message that names the field and the value, print
no traceback, and leave the node exactly as it was (links, addresses, routes of
every namespace, firewall, sysctls, CNI and sysctl files). The modules run as
Ansible runs them on a node: the module file with a JSON args file, in a
process of its own (forked from the test, so the imports are paid once)."""

import json
import os
import re
import shutil

import pytest

import corpus
import scenario
from cni_fixtures import CHAIN, REFERENCE, cni_archives  # pylint: disable=unused-import # noqa: F401
from reliability_lib import core_hides_the_value, node_state, normalized, record, run_module_forked

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.facts import net_facts


def prepare(box):
    """A node with a namespace, a bridge, a veth pair, a bridge inside the
    namespace, CNI plugins and the config ``pods``."""
    box.ip("netns", "add", "red")
    box.ip("link", "add", "br-ext", "type", "bridge")
    box.ip("link", "add", "veth-x", "type", "veth", "peer", "name", "veth-y")
    box.ip("link", "add", "brx", "type", "bridge", netns="red")
    os.makedirs("/opt/cni/bin")
    for name in CHAIN:
        shutil.copy2(os.path.join(REFERENCE, name), "/opt/cni/bin/" + name)
    os.makedirs("/etc/cni/net.d")
    with open("/etc/cni/net.d/10-pods.conflist", "w") as handle:
        json.dump(corpus.GOOD_CONFLIST, handle)
    engine.run(net_facts, {}, check_mode=True)  # makes the node lock, so that it is in the baseline


def _args(args, archives):
    src = args.get("src")
    if isinstance(src, str) and src.startswith("@"):
        args = dict(args, src=archives.chain if src == "@good" else archives.bad[src.split(":", 1)[1]])
    return args


def _value_text(case, args):
    value = case["value"]
    if value is None:
        return None
    if case["field"] == "src" and isinstance(case["args"].get("src"), str) and case["args"]["src"].startswith("@"):
        return args["src"]
    return value if isinstance(value, str) else str(value)


def judge(case, args, run, before, after):
    """What is wrong with this case's outcome: a list of reasons, empty when clean."""
    wrong = []
    msg = run.result.get("msg", "")
    if run.rc == 0 or not run.result.get("failed"):
        wrong.append("did not fail (rc %s)" % run.rc)
    if case["field"] not in msg:
        wrong.append("message does not name the field %r" % case["field"])
    if case["engine_field"] and run.result.get("field") != case["field"]:
        wrong.append("the result's field is %r, not %r" % (run.result.get("field"), case["field"]))
    value = _value_text(case, args)
    if value is not None and value not in msg and repr(value)[1:-1] not in msg and not core_hides_the_value(msg):
        wrong.append("message does not name the value %r" % value)
    if re.search(r"\bNone\b", msg) and value != "None":
        wrong.append("message prints Python's None")
    if "Traceback" in run.stdout + run.stderr or not run.result:
        wrong.append("traceback or no JSON result")
    if after != before:
        wrong.append("the node changed")
    return wrong


# node_network's cases apart (-k node_network), the other modules' together; at least this many each.
GROUPS = {"modules": 80, "node_network": 40}


def _in_group(case, group):
    return (case["module"] == "node_network") == (group == "node_network")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_bad_input_fails_cleanly_and_changes_nothing(sandbox, cni_archives, group):  # noqa: F811
    if group == "node_network":
        scenario.node_uplink(sandbox)  # its uplink0, to a wan namespace
    prepare(sandbox)
    baseline = normalized(node_state(sandbox))
    cases = [case for case in corpus.MODULE_CASES if _in_group(case, group)]
    outcomes, changed_state = [], 0
    for number, case in enumerate(cases):
        args = _args(case["args"], cni_archives)
        run = run_module_forked(case["module"], args)
        after = normalized(node_state(sandbox))
        changed_state += after != baseline
        wrong = judge(case, args, run, baseline, after)
        outcomes.append((number, case["module"], case["field"], run.result.get("msg", run.stderr[-300:]), wrong))
    modules = sorted({case["module"] for case in cases})
    known = [outcome for outcome in outcomes if outcome[4] and _known(cases[outcome[0]], outcome[4])]
    bad = [outcome for outcome in outcomes if outcome[4] and outcome not in known]
    fixed = [outcome for outcome in outcomes if cases[outcome[0]]["defect"] and not outcome[4]]
    record("bad_input", group, tried=len(outcomes), clean=len(outcomes) - len(bad) - len(known),
           state_changes=changed_state, modules=len(modules), known_defects=len(known))
    assert len(outcomes) >= GROUPS[group]
    assert bad == [], "\n".join(map(repr, bad))
    assert fixed == [], "these known defects are fixed: drop their defect mark in corpus.py\n%s" % fixed


def _known(case, wrong):
    """True when ``wrong`` is exactly the known defect of ``case``: the wrong field named."""
    return bool(case["defect"]) and all("field" in reason for reason in wrong)
