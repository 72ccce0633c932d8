# make fuzz: the property tests of tests/property with the fuzz profile, 20
# times the cases of the bounded profile that runs in make test, from a new
# seed each run (printed, and recorded in .build/reliability/figures.json);
# replay a failure with the same seed: make fuzz FUZZ_SEED=<seed>.
# Not part of make test; roughly half an hour on this 2-core machine.
.PHONY: fuzz
ifeq ($(FUZZ_SEED),)
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif

fuzz: deps
	@echo "== make fuzz: seed $(FUZZ_SEED)"
	NETPLUMB_HYPOTHESIS_PROFILE=fuzz NETPLUMB_HYPOTHESIS_SEED=$(FUZZ_SEED) \
		$(OWN_HOME) tests/sandbox.sh $(PY) -m pytest -q tests/property
