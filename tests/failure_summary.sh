#!/usr/bin/env bash
# What failed in a make test run, once more, in at most 40 lines: a CI page
# shows the tail of the output first, and the failure itself may be a
# thousand lines above it (pytest's summary above the other steps' log, a
# molecule scenario's fatal line above its destroy).
#   usage: tests/failure_summary.sh PYTEST_LOG PYTEST_RC OTHER_STEPS_LOG OTHER_STEPS_RC
set -uo pipefail
pytest_log=$1 pytest_rc=$2 other_log=$3 other_rc=$4
# pytest's short summary, Ansible's failed and unreachable hosts, molecule's
# and the tools' own error lines.
pattern='^(FAILED|ERROR) |fatal: \[|UNREACHABLE!|^ERROR |^E  |[Ee]rror: |\*\*\* '
if [ "$pytest_rc" -ne 0 ]; then
  echo "== pytest failed (exit $pytest_rc):"
  grep -E '^(FAILED|ERROR) ' "$pytest_log" | head -20 | cut -c1-400
fi
if [ "$other_rc" -ne 0 ]; then
  # The steps run one after the other and stop at the first failure: the
  # last "== " header is the step that failed.
  step=$(grep '^== ' "$other_log" | tail -1)
  echo "== the other steps failed (exit $other_rc) in: ${step#== }"
  awk -v header="$step" '$0 == header {found = 1} found' "$other_log" | grep -E "$pattern" | head -20 | cut -c1-400
fi
exit 0
