# Molecule scenarios on the lab (2 nodes + wan, built by the lab role):
#   default - check mode on fresh nodes, converge, idempotence, verify
#   drift   - converge, break by hand, check mode names the repair, converge, verify
.PHONY: molecule
TEST_STEPS += molecule

molecule: deps
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH NO_COLOR=1 ANSIBLE_NOCOLOR=1 \
		$(OWN_HOME) tests/sandbox.sh $(VENV)/bin/molecule test --all
