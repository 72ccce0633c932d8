#!/usr/bin/env bash
# make test: pytest over tests/ in the foreground and, at the same time, the
# other steps one after the other (the slowest pytest files, the site
# playbooks over SSH on the lab among them, the engine tests on pyroute2 0.7,
# sanity, lint, then every TEST_STEPS target of mk/*.mk), their output kept
# in a log that is printed when both are done; then a check that the run
# left nothing in the user's home, and what failed once more at the end.
# Two streams, because pytest drives one ansible-playbook at a time and leaves
# the second core idle; each stream works in sandboxes of its own.
#   usage: tests/run_all.sh PYTHON OLD_PYROUTE2_PYTHON [TEST_STEP...]
set -uo pipefail
cd "$(dirname "$0")/.."
py=$1 old=$2
shift 2
logs=.build/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.xml  # a report is this run's or none
log=$logs/other-steps.log

# Nothing of the run stays in the user's home (tests/own_home.sh).
# shellcheck source=tests/own_home.sh
. tests/own_home.sh
# Where the tools write in a home, to tell afterwards that nothing new is there.
home_paths() {
  (cd "$real_home" && find .ansible .cache .config .local antsibull.log -maxdepth 3 2>/dev/null | LC_ALL=C sort)
}
home_before=$(home_paths)

# Run in the other stream, so that both take about as long: in one run on
# this 2-core machine the other steps alone took 13 of pytest's 25 minutes.
# Each file's test times are in .build/test-logs/*.xml (junit) for the next
# balance.
ALONGSIDE=(tests/integration/test_site_lab.py tests/integration/test_lab_role.py
           tests/integration/test_ansible_runner.py tests/integration/test_bench_smoke.py
           tests/integration/test_recipe_end_to_end.py)

other_steps() {
  set -e
  echo "== pytest ${ALONGSIDE[*]}"
  tests/sandbox.sh "$py" -m pytest --durations=5 --junitxml="$logs/alongside.xml" "${ALONGSIDE[@]}"
  echo "== engine tests again with pyroute2 0.7 (the oldest supported)"
  tests/sandbox.sh "$old" -m pytest -q tests/integration/test_engine_*.py tests/unit/test_validate.py tests/unit/test_plan.py
  echo "== ansible-test sanity"
  tests/sanity/run.sh
  echo "== ansible-lint, production profile"
  "${MAKE:-make}" --no-print-directory lint
  for step in "$@"; do
    echo "== $step"
    "${MAKE:-make}" --no-print-directory "$step"
  done
}

start=$SECONDS
other_steps "$@" >"$log" 2>&1 &
others=$!
echo "== pytest (the other steps run alongside; their log: $log)"
tests/sandbox.sh "$py" -m pytest --durations=10 --junitxml="$logs/pytest.xml" tests "${ALONGSIDE[@]/#/--ignore=}"
pytest_rc=$?
echo "== pytest done after $((SECONDS - start)) s; waiting for the other steps"
wait "$others"
others_rc=$?
cat "$log"
tidy_passwd_home
home_rc=0
left=$(comm -13 <(echo "$home_before") <(home_paths))
if [ -n "$left" ]; then
  echo "== the run left this in $real_home:"
  echo "$left"
  home_rc=1
fi
tests/failure_summary.sh "$logs/pytest.xml" "$pytest_rc" "$log" "$others_rc"
echo "== pytest: exit $pytest_rc; other steps: exit $others_rc; $((SECONDS - start)) s in all"
[ "$pytest_rc" -eq 0 ] && [ "$others_rc" -eq 0 ] && [ "$home_rc" -eq 0 ]
