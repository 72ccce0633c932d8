# The gates users judge a collection by (issue 9), beyond sanity and lint.
#   make galaxy-gate   - build the tarball, install it into a clean path, ansible-doc every
#                        plugin and role and run a playbook by FQCN, from outside the checkout
#   make changelog-lint - the changelog fragments are valid (antsibull-changelog lint)
#   make changelog     - CHANGELOG.rst from changelogs/ and the pending fragments
#   make ee-check      - execution-environment.yml and bindep.txt pass ansible-builder's schema
#   make docs          - the docs site, HTML without warnings, in .build/docs/html
#   make docs-check    - every internal link and anchor of the built site resolves, then
#                        the site in Debian's headless Chromium at 1280 px: one page per kind
#                        (index, a module, a role, performance) screenshotted into
#                        .build/docs/screenshots, failing on anything that runs past the page
#   make matrix-cheap  - every module's EXAMPLES on the oldest corner: ansible-core 2.16 + pyroute2 0.7
#   make matrix        - the whole suite (and the galaxy gate) on every combination of
#                        ansible-core 2.16 / 2.19 and pyroute2 0.7 / 0.9; takes about an hour
# make test runs galaxy-gate, changelog-lint, docs (the site, warnings as errors), docs-check, ee-check
# and matrix-cheap.

.PHONY: galaxy-gate changelog-lint changelog ee-check docs docs-check matrix-cheap matrix matrix-venvs

TEST_STEPS += galaxy-gate changelog-lint docs docs-check ee-check matrix-cheap

# Docs, changelog and ansible-builder tooling, kept out of .venv.
VENV_DOCS := .venv-docs
$(STAMPS)/venv-docs: requirements-docs.txt $(STAMPS)/apt
	@test -x $(VENV_DOCS)/bin/python || $(PYTHON) -m venv $(VENV_DOCS)
	$(VENV_DOCS)/bin/python -m pip install -q --disable-pip-version-check -r requirements-docs.txt
	@touch $@

# The version matrix: (ansible-core, pyroute2). .venv is 2.19 + 0.9.
VENV_216 := .venv-ansible-2.16
VENV_216_PR07 := .venv-ansible-2.16-pyroute2-0.7
VENV_219_PR07 := .venv-ansible-2.19-pyroute2-0.7
MATRIX_VENVS := $(VENV) $(VENV_216) $(VENV_216_PR07) $(VENV_219_PR07)

$(STAMPS)/venv-ansible-2.16: requirements-ansible-2.16.txt $(STAMPS)/apt
	@test -x $(VENV_216)/bin/python || $(PYTHON) -m venv $(VENV_216)
	$(VENV_216)/bin/python -m pip install -q --disable-pip-version-check -r requirements-ansible-2.16.txt
	@touch $@

$(STAMPS)/venv-ansible-2.16-pyroute2-0.7: requirements-ansible-2.16.txt requirements-pyroute2-0.7.txt $(STAMPS)/apt
	@test -x $(VENV_216_PR07)/bin/python || $(PYTHON) -m venv $(VENV_216_PR07)
	$(VENV_216_PR07)/bin/python -m pip install -q --disable-pip-version-check -r requirements-ansible-2.16.txt
	$(VENV_216_PR07)/bin/python -m pip install -q --disable-pip-version-check -r requirements-pyroute2-0.7.txt
	@touch $@

$(STAMPS)/venv-ansible-2.19-pyroute2-0.7: requirements-dev.txt requirements-pyroute2-0.7.txt $(STAMPS)/apt
	@test -x $(VENV_219_PR07)/bin/python || $(PYTHON) -m venv $(VENV_219_PR07)
	$(VENV_219_PR07)/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV_219_PR07)/bin/python -m pip install -q --disable-pip-version-check -r requirements-pyroute2-0.7.txt
	@touch $@

matrix-venvs: deps $(STAMPS)/venv-ansible-2.16 $(STAMPS)/venv-ansible-2.16-pyroute2-0.7 $(STAMPS)/venv-ansible-2.19-pyroute2-0.7

# pytest under another virtualenv: tests/gates/matrix_plugin.py points the tests'
# ansible-playbook, ansible-doc and managed-node Python at it.
matrix_pytest = $(OWN_HOME) tests/sandbox.sh env PYTHONPATH=$(CURDIR)/tests/gates $(1)/bin/python -m pytest -p matrix_plugin

galaxy-gate: deps
	$(OWN_HOME) tests/gates/galaxy.sh

changelog-lint: $(STAMPS)/venv-docs
	$(OWN_HOME) $(VENV_DOCS)/bin/antsibull-changelog lint

changelog: deps $(STAMPS)/venv-docs
	$(OWN_HOME) tests/gates/changelog.sh $(VENV_DOCS)

ee-check: $(STAMPS)/venv-docs
	@rm -rf .build/ee
	$(OWN_HOME) $(VENV_DOCS)/bin/ansible-builder create -f execution-environment.yml -c .build/ee >/dev/null
	$(VENV_DOCS)/bin/python tests/gates/check_ee.py execution-environment.yml .build/ee

docs: deps $(STAMPS)/venv-docs
	$(OWN_HOME) env DOCS_VENV=$(VENV_DOCS) docs/build.sh

# Offline (file:// URLs), each browser run bounded (60 s), no Chromium left running; about 20 s.
docs-check: docs
	$(OWN_HOME) $(VENV_DOCS)/bin/python docs/check_links.py .build/docs/html
	$(OWN_HOME) $(VENV_DOCS)/bin/python docs/check_site.py .build/docs/html .build/docs/screenshots

matrix-cheap: deps $(STAMPS)/venv-ansible-2.16-pyroute2-0.7
	$(call matrix_pytest,$(VENV_216_PR07)) -q tests/integration/test_module_examples.py

matrix: matrix-venvs
	@set -e; for venv in $(MATRIX_VENVS); do \
		echo "== matrix: $$venv"; \
		$(call matrix_pytest,$$venv) -q $(or $(PYTEST_ARGS),tests); \
		VENV=$$venv $(OWN_HOME) tests/gates/galaxy.sh; \
	done
