# make bench: the benchmarks of bench/ (see docs/performance.md), in one go
# inside a throwaway sandbox; rewrites docs/performance.md and its plot.
# Not part of make test (tests carry no timing assertions); the smoke test
# tests/integration/test_bench_smoke.py checks that the scripts still run.
# The fleet part builds labs of 1, 2 and 8 SSH nodes (mk/lab.mk's package
# directory and layer cache, exported) and runs playbooks/site.yml on them:
# most of the run's time (about half an hour on a loaded 2-core machine).
#   make bench BENCH_ARGS="--sizes 10,50 --fleet none"   (a quicker look)
#   make bench BENCH_ARGS="--sizes 10 --fleet 1"         (the fleet on one node)
.PHONY: bench bench-deps
BENCH_ARGS ?=

$(STAMPS)/bench: requirements-bench.txt $(STAMPS)/venv
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	@touch $@

bench-deps: $(STAMPS)/bench

bench: deps $(STAMPS)/bench
	$(OWN_HOME) tests/sandbox.sh $(PY) bench/run.py --json .build/bench.json --doc docs/performance.md \
		--plot docs/performance.png $(BENCH_ARGS)
