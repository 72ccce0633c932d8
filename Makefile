# netplumb.linux: the two commands of the README, and what they stand on.
#   make demo  - a lab of 2 nodes + a wan (machines reached over SSH), site.yml, verify.yml
#   make test  - every test, each in its own sandbox on the real kernel
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The distribution's own Python, for helpers that need nothing else.
PYTHON_SYSTEM := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/netplumb/linux
APT_PACKAGES := iproute2 iputils-ping util-linux procps git python3 python3-venv python3-pip \
  nftables iptables containerd runc busybox-static containernetworking-plugins shellcheck \
  openssh-client chromium dbus-daemon
PYTEST_ARGS ?=
# Tools run with a home of the checkout's own (.build/home): nothing of theirs stays in ~.
OWN_HOME := tests/own_home.sh

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# pip's downloads are cached in the checkout, not in the user's ~/.cache/pip.
export PIP_CACHE_DIR := $(CURDIR)/.build/pip-cache

.PHONY: help deps demo demo-clean demo-recipe test test-unit sanity lint clean

# Each mk/*.mk brings its own targets and appends to TEST_STEPS what
# make test runs after pytest (molecule, gates, ...).
TEST_STEPS :=

help:
	@echo "make demo   - a lab of 2 nodes + wan, site.yml (check, real, again), verify.yml's real traffic"
	@echo "make demo-clean - tear the lab down"
	@echo "make test   - install what is needed and run every test"

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@touch $@

$(STAMPS)/venv: requirements.txt requirements-dev.txt $(STAMPS)/apt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# The engine once more on the oldest supported pyroute2.
VENV_OLD := .venv-pyroute2-0.7
$(STAMPS)/venv-old: requirements-pyroute2-0.7.txt $(STAMPS)/apt
	@test -x $(VENV_OLD)/bin/python || $(PYTHON) -m venv $(VENV_OLD)
	$(VENV_OLD)/bin/python -m pip install -q --disable-pip-version-check -r requirements-pyroute2-0.7.txt
	@touch $@

$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn $(CURDIR) $@

deps: $(STAMPS)/venv $(COLLECTION_LINK)

demo: deps
	$(OWN_HOME) tests/sandbox.sh demo/run.sh

demo-clean: deps
	$(OWN_HOME) .venv/bin/ansible-playbook $(if $(wildcard .lab/inventory.yml),-i .lab/inventory.yml) \
		-i tests/controller.yml -e lab_state_dir=$(CURDIR)/.lab playbooks/teardown.yml

# The recipe's scenarios 1-4 on one node, in a throwaway sandbox.
demo-recipe: deps
	$(OWN_HOME) tests/sandbox.sh demo/recipe.sh

# Debian's NetworkManager and the libraries it and nmcli lack here, as .debs:
# a test unpacks them over a private /usr to read our conf.d file with
# NetworkManager's own reader, and runs the daemon (with dbus-daemon) in a PID
# namespace of its own (tests/reliability/test_reliability_managers.py).
# Installs nothing.
TEST_DEBS := .build/debs
TEST_DEB_PACKAGES := network-manager libndp0 libnm0
$(STAMPS)/test-debs: Makefile
	@mkdir -p $(TEST_DEBS) $(STAMPS)
	cd $(TEST_DEBS) && { apt-get download -qq $(TEST_DEB_PACKAGES) 2>/dev/null || \
		{ apt-get update -qq && apt-get download -qq $(TEST_DEB_PACKAGES); }; }
	@touch $@

test: deps $(STAMPS)/venv-old $(STAMPS)/test-debs
ifeq ($(PYTEST_ARGS),)
	tests/run_all.sh $(PY) $(VENV_OLD)/bin/python $(TEST_STEPS)
else
	$(OWN_HOME) tests/sandbox.sh $(PY) -m pytest $(PYTEST_ARGS)
endif

sanity: deps
	$(OWN_HOME) tests/sanity/run.sh

# The whole collection from its root, as users, pre-commit hooks and the Galaxy importer lint it.
# A deprecation warning printed on the way fails it too.
lint: deps
	@mkdir -p .build
	set -o pipefail; $(OWN_HOME) $(VENV)/bin/ansible-lint --profile production --offline 2>&1 | tee .build/lint.log
	@! grep -i "deprecation warning" .build/lint.log

test-unit: deps
	$(OWN_HOME) $(PY) -m pytest tests/unit

include $(wildcard mk/*.mk)

clean:
	rm -rf $(VENV) $(VENV_OLD) .build $(STAMPS)
