# make release-check: the release procedure of docs/release.md rehearsed end to end,
# offline, on a copy in a temporary directory (tests/gates/release_check.sh): version
# check, changelog release, build, install into a clean path, every module's EXAMPLES
# and the docs site from that install. The checkout is not changed.

.PHONY: release-check

release-check: deps $(STAMPS)/venv-docs
	$(OWN_HOME) env DOCS_VENV=$(VENV_DOCS) tests/gates/release_check.sh
