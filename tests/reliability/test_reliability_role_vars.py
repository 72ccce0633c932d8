"""Bad role variables: every case of role_corpus.py in one ansible-playbook
run (a block per case, its rescue keeping what failed and why). Each must be
rejected by the role's argument spec, before the role's first task, with a
message naming the variable and the value, and the node must be unchanged.
The format cases (right type, wrong content) must be rejected by the role's
first task (tasks/validate.yml), also naming the variable and the value."""

import role_corpus
from netplumb_testlib import run_playbook
from reliability_lib import core_hides_the_value, node_state, normalized, record

VALIDATION = "Validating arguments against arg spec"


def _block(number, role, variables):
    keep = "{{ reliability_cases + [%s] }}"
    return {
        "name": "case %d" % number,
        "block": [
            {"ansible.builtin.include_role": {"name": "netplumb.linux." + role}, "vars": variables},
            {"ansible.builtin.set_fact": {"reliability_cases": keep % ("{'case': %d, 'rejected': false}" % number)}},
        ],
        "rescue": [
            {"ansible.builtin.set_fact": {"reliability_cases": keep % (
                "{'case': %d, 'rejected': true, 'task': ansible_failed_task.name, "
                "'msg': ansible_failed_result.msg | default('') | string}" % number)}},
        ],
    }


def test_role_argument_specs_reject_bad_variables_before_any_task(sandbox):
    cases = role_corpus.ROLE_CASES + role_corpus.FORMAT_CASES
    tasks = [{"ansible.builtin.set_fact": {"reliability_cases": []}}]
    tasks += [_block(n, role, variables) for n, (role, variables, _var, _text) in enumerate(cases)]
    tasks.append({"ansible.builtin.debug": {"var": "reliability_cases"}})
    before = normalized(node_state(sandbox))
    run = run_playbook(tasks)
    after = normalized(node_state(sandbox))
    assert run.rc == 0, run
    seen = {entry["case"]: entry for entry in run.results[-1]["reliability_cases"]}
    bad, format_named, format_rejected = [], 0, 0
    for number, (role, _variables, variable, text) in enumerate(cases):
        entry = seen.get(number, {})
        msg = entry.get("msg", "")
        named = (variable in msg or variable.split("_", 1)[-1] in msg) and (
            text is None or text in msg or core_hides_the_value(msg))
        if number >= len(role_corpus.ROLE_CASES):
            # rejected by the role's first task, tasks/validate.yml, or what only the node
            # can judge by the task that judges it (role_corpus.NODE_JUDGED)
            task = entry.get("task", "")
            format_rejected += bool(entry.get("rejected")) and (
                "validate" in task.lower() or role_corpus.NODE_JUDGED.get(variable, "\0") in task)
            format_named += named
            continue
        wrong = []
        if not entry.get("rejected"):
            wrong.append("not rejected")
        elif VALIDATION not in entry.get("task", ""):
            wrong.append("rejected by task %r, not by the argument spec" % entry.get("task"))
        if not named:
            wrong.append("message does not name %s and %r" % (variable, text))
        if wrong:
            bad.append((number, role, variable, msg[:300], wrong))
    tried = len(role_corpus.ROLE_CASES)
    record("bad_input", "role variables", tried=tried, clean=tried - len(bad), state_changes=int(after != before),
           roles=len({case[0] for case in cases}))
    record("bad_input", "role variables, format", tried=len(role_corpus.FORMAT_CASES),
           rejected_before_any_change=format_rejected, naming_the_variable=format_named,
           state_changes=int(after != before))
    assert after == before
    assert bad == [], "\n".join(map(repr, bad))
    assert format_rejected == len(role_corpus.FORMAT_CASES)
    assert format_named == len(role_corpus.FORMAT_CASES), [
        (role, variable, seen.get(number, {}).get("msg", "")[:300])
        for number, (role, _vars, variable, _text) in enumerate(cases) if number >= len(role_corpus.ROLE_CASES)]
