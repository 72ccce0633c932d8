# The reliability suite (tests/reliability) runs with every make test, as part
# of pytest. make reliability-report runs it alone, with the property tests
# (tests/property, bounded profile) for their counts of generated cases, and
# rewrites docs/reliability.md from the figures they record.
.PHONY: reliability reliability-report

RELIABILITY_FIGURES := $(CURDIR)/.build/reliability/figures.json

reliability: deps
	$(OWN_HOME) tests/sandbox.sh $(PY) -m pytest -q tests/reliability

reliability-report: deps
	rm -f $(RELIABILITY_FIGURES)
	$(OWN_HOME) tests/sandbox.sh $(PY) -m pytest -q tests/reliability tests/property
	$(PY) tests/reliability/report.py $(RELIABILITY_FIGURES) docs/reliability.md
