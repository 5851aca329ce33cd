# digigov: `make run` builds the dataset, `make test` runs the tests. `make help` lists targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
RAW    ?= raw
OUT    ?= curated
# Values a user passes (make release VERSION=…) reach the recipes through the environment and are
# quoted there ("$$VERSION"), never pasted into a shell line: a `;`, quote, `$(…)` or newline in
# them stays part of the value, and the command's own exit status is make's.
export RAW OUT VERSION
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast test-slow coverage validate release browser bench clean eval

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create .venv from the pinned requirements.lock (done by run and test)

run: $(STAMP) ## Build the dataset from raw/ into curated/ (RAW=… OUT=… to change)
	$(VENV)/bin/digigov run --raw "$$RAW" --out "$$OUT"

# The overview page's test opens it in Debian's chromium; a CJK font makes its screenshot legible.
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
browser: ## Install Debian's chromium (+ a CJK font) for the browser test, only where missing
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium fonts-wqy-microhei; fi

# pytest-xdist: one worker per core (TEST_WORKERS=1 runs in this process); worksteal evens out
# the long flow tests. The session builds are made once and shared by the workers (tests/conftest.py).
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test: $(STAMP) browser ## Run the test suite (everything but tests marked slow)
	$(PYTEST) -m "not slow"

test-fast: $(STAMP) ## The inner loop: unit, golden and property tests, no flow runs (no slow, no e2e)
	$(PYTEST) -m "not slow and not e2e"

coverage: $(STAMP) browser ## make test with line and branch coverage of flows/ (report: coverage.json, terminal)
	$(PYTEST) -m "not slow" --cov=flows --cov-branch --cov-report=term --cov-report=json:coverage.json

test-slow: $(STAMP) ## Run the slow tests too (long property runs)
	$(PY) -m pytest -q -m slow

release: $(STAMP) ## Cut an immutable release of the current tables: make release VERSION=2026.11.0
	@test -n "$$VERSION" || { echo "make release: set VERSION, e.g. make release VERSION=2026.11.0" >&2; exit 2; }
	$(PY) -m flows.cli release --version "$$VERSION" --out "$$OUT" --raw "$$RAW"

validate: $(STAMP) ## Validate the current tables in curated/ again; Data Docs in curated/validation/ (OUT=…)
	$(VENV)/bin/digigov validate --out "$$OUT"

eval: $(STAMP) ## Score the tables in OUT against ../shared/eval (seeds and corpus) and print the scores
	$(VENV)/bin/digigov eval --out $(OUT)

BENCH_DOCS ?= 1000 10000
export BENCH_DOCS
bench: $(STAMP) ## Benchmark full and incremental runs on synthetic corpora (BENCH_DOCS="1000 10000")
	$(VENV)/bin/digigov bench --docs $$BENCH_DOCS --workdir .bench --keep

clean: ## Remove generated tables (curated/) and caches, keep .venv
	@test -n "$$OUT" || { echo "make clean: OUT is empty" >&2; exit 2; }
	rm -rf "$$OUT"/*.parquet "$$OUT"/.builds "$$OUT"/.current "$$OUT"/.previous "$$OUT"/.cache "$$OUT"/_build.json .pytest_cache
