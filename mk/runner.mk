# Beyond one controller: AWX / Automation Controller runs playbooks as
# ansible-runner jobs in an execution environment (docs/fleet.md).
#   make ee-context - ansible-builder create (.venv's, beside ansible-runner) writes the EE's
#                     build context offline into a temporary directory; its Containerfile and
#                     _build/ files (requirements.txt, bindep.txt, requirements.yml) are checked,
#                     then the directory is removed (tests/gates/ee_context.sh)
# The ansible-runner smoke itself is tests/integration/test_ansible_runner.py, in make test's pytest.
# make test runs ee-context among its TEST_STEPS (the Makefile includes mk/*.mk in name order).

.PHONY: ee-context

TEST_STEPS += ee-context

ee-context: deps
	$(OWN_HOME) tests/gates/ee_context.sh
