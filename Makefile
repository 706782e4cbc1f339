# The template's own tasks. `make test` is the one command that runs every template test.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: test test-fast lint bootstrap bench bench-smoke

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"

test: bootstrap ## render every matrix row with both tools and run all checks and generated suites
	$(UV) run --group dev pytest

test-fast: bootstrap ## rendering, answers, parity, lint and types of every matrix row; no generated suites
	$(UV) run --group dev pytest -m "not slow"

lint: bootstrap
	$(UV) run --group dev ruff check tests hooks bench
	$(UV) run --group dev ruff format --check tests hooks bench

bench: bootstrap ## benchmark the generated service against the baselines (~12 min; bench/README.md)
	$(UV) run --group dev --group bench python -m bench.run

bench-smoke: bootstrap ## the same harness with a tiny load: proves it runs (~1-2 min)
	$(UV) run --group dev --group bench python -m bench.run --smoke
