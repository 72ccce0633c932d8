"""Foreign state untouched, and teardown exact: on a node prepared with
foreign.py, converge, re-converge, check mode and teardown leave every foreign
object (each link, address, route, nft and iptables rule line, file) as it
was; after the teardown the node is exactly as before the first run.

Rule lines are compared as a set: our FORWARD jump is inserted first on
purpose, which moves the foreign lines down without changing them. The
NAT-specific foreign checks (handles included) are in
tests/integration/test_module_nat_rule.py; this one counts across everything."""

import foreign
import scenario
from converge import run_steps
from reliability_lib import moved, node_state, normalized, record, stray_files


def test_converge_reconverge_check_teardown_leave_foreign_state_identical(sandbox):
    foreign.build(sandbox)
    baseline = normalized(node_state(sandbox))
    phases = [("converge", scenario.present(), False), ("re-converge", scenario.present(), False),
              ("check mode", scenario.absent(), True), ("teardown", scenario.absent(), False)]
    changed, checked = {}, 0
    for name, steps, check in phases:
        outcomes = run_steps(steps, check_mode=check)
        if name == "re-converge":
            assert not any(o.changed for o in outcomes), [o.operations for o in outcomes if o.changed]
        state = normalized(node_state(sandbox))
        changed[name] = [key for key in moved(baseline, state) if not key.startswith("files//run/netplumb")]
        checked += len([key for key in moved(baseline, {}) if not key.startswith("files//run/netplumb")])
    final = normalized(node_state(sandbox))
    left = [key for key in moved(final, baseline) if not key.startswith("files//run/netplumb")]
    record("foreign", "all phases", objects=len(moved(baseline, {})), phases=len(phases),
           checks=checked, changed=sum(len(v) for v in changed.values()))
    record("teardown", "foreign node", left=len(left) + len(stray_files()), objects_made=0)
    assert changed == {name: [] for name, _s, _c in phases}
    assert left == [] and stray_files() == [], left
