# The template's own tasks. `make test` is the one command that runs every template test.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: test lint bootstrap

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"

test: bootstrap ## render every matrix row with both tools and run all checks and generated suites
	$(UV) run --group dev pytest

lint: bootstrap
	$(UV) run --group dev ruff check tests hooks
	$(UV) run --group dev ruff format --check tests hooks
