# The pyroute2 wheel that tests/integration/test_prereqs.py pip-installs into a
# throwaway virtualenv, the way the roles install it on a node. Tests run in a
# sandbox without network, so the wheel is fetched here, once, by make deps
# (the version pinned in requirements.txt).
WHEELHOUSE := $(CURDIR)/.build/wheelhouse
PYROUTE2_PIN := $(shell sed -n 's/^pyroute2==//p' requirements.txt)

.PHONY: wheelhouse

$(STAMPS)/wheelhouse: requirements.txt $(STAMPS)/venv
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
		-d $(WHEELHOUSE) pyroute2==$(PYROUTE2_PIN)
	@touch $@

wheelhouse: $(STAMPS)/wheelhouse

deps: $(STAMPS)/wheelhouse
