#!/usr/bin/env bash
# What failed in a make test run, once more, in a few lines: a CI page shows
# the tail of the output first, and the failure itself may be a thousand
# lines above it (pytest's summary above the other steps' log, a molecule
# scenario's fatal line above its destroy).
#   usage: tests/failure_summary.sh PYTEST_JUNIT_XML PYTEST_RC OTHER_STEPS_LOG OTHER_STEPS_RC
set -uo pipefail
junit=$1 pytest_rc=$2 other_log=$3 other_rc=$4
if [ "$pytest_rc" -ne 0 ]; then
  echo "== pytest failed (exit $pytest_rc):"
  # From pytest's JUnit report: its output went to the terminal, unpiped, so
  # that a process a test leaves behind cannot hold the run open.
  python3 - "$junit" <<'PY' | head -20 | cut -c1-400
import sys
import xml.etree.ElementTree as ET
try:
    cases = ET.parse(sys.argv[1]).iter("testcase")
except (OSError, ET.ParseError) as exc:
    print("no JUnit report (%s): pytest's own output is above" % exc)
    sys.exit(0)
for case in cases:
    for outcome, word in (("failure", "FAILED"), ("error", "ERROR")):
        found = case.find(outcome)
        if found is not None:
            message = (found.get("message") or "").strip().splitlines() or [""]
            print("%s %s::%s - %s" % (word, case.get("classname"), case.get("name"), message[0]))
PY
fi
if [ "$other_rc" -ne 0 ]; then
  # The steps run one after the other and stop at the first failure: the
  # last "== " header is the step that failed. Its error lines: pytest's
  # summary, Ansible's failed and unreachable hosts, molecule's and the
  # tools' own errors.
  pattern='^(FAILED|ERROR) |fatal: \[|UNREACHABLE!|^ERROR |^E  |[Ee]rror: |\*\*\* '
  step=$(grep '^== ' "$other_log" | tail -1)
  echo "== the other steps failed (exit $other_rc) in: ${step#== }"
  awk -v header="$step" '$0 == header {found = 1} found' "$other_log" | grep -E "$pattern" | head -20 | cut -c1-400
fi
exit 0
