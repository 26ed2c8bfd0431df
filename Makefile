# Everything a newcomer needs: `make setup && make demo`, and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
JVM := .jvm
# The local endpoints, SPARK_REMOTE and DAGSTER_HOME for every command that talks to the services.
WITH_ENV = eval "$$($(BIN)/ecom services env)" &&
DEMO_DATA ?= ../shared/data/lab-2025

.PHONY: setup services stop demo dev docs test test-fast lint clean-state bench

CHROMIUM := /usr/bin/chromium

setup: $(VENV)/.installed $(JVM)/spark/.installed $(JVM)/dynamodb/.installed target/manifest.json $(CHROMIUM)

# uv installs the locked set in about half pip's time (docs/benchmarks.md, "Setup and the test suite"); it
# comes from PyPI.
UV_INSTALL := $(BIN)/uv pip install --quiet --python $(BIN)/python
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9
	$(UV_INSTALL) --compile-bytecode -r requirements.lock
	$(UV_INSTALL) --no-deps -e .
	touch $@

# JVM parts come from Maven Central through Maven into .jvm/ (git-ignored); Spark never resolves at start.
$(JVM)/spark/.installed: jvm/spark/pom.xml
	rm -rf $(JVM)/spark
	mvn --batch-mode --quiet -f jvm/spark/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JVM)/spark
	touch $@

# After the Spark jars, never beside them (`make -j`): two Maven runs must not fill one local repository at once.
$(JVM)/dynamodb/.installed: jvm/dynamodb/pom.xml | $(JVM)/spark/.installed
	rm -rf $(JVM)/dynamodb
	mvn --batch-mode --quiet -f jvm/dynamodb/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JVM)/dynamodb
	touch $@

# Debian's Chromium for the browser test (Playwright drives it; its own browser download is not used).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make setup: install Debian's chromium for the browser test: sudo apt-get install chromium" >&2; exit 1; \
	fi

# The dbt manifest the Dagster definitions load; `dbt parse` needs no warehouse connection.
target/manifest.json: $(VENV)/.installed dbt_project.yml profiles.yml $(shell find dbt_project -type f)
	$(BIN)/dbt parse --quiet --project-dir . --profiles-dir .
	touch $@

services: setup
	$(BIN)/ecom services start

stop:
	$(BIN)/ecom services stop

demo: services
	@if [ -d "$(DEMO_DATA)" ]; then \
		$(WITH_ENV) $(BIN)/ecom upload $(DEMO_DATA); \
	else \
		$(BIN)/ecom generate --out .ecom/sample --orders 2000 --seed 7 && \
		$(WITH_ENV) $(BIN)/ecom upload .ecom/sample; \
	fi
	$(WITH_ENV) $(BIN)/ecom run
	$(WITH_ENV) $(BIN)/ecom kpis --source dynamodb
	@echo "The same rows from the Delta marts, for one day:"
	$(WITH_ENV) $(BIN)/ecom kpis --source delta --date 2025-03-08
	$(WITH_ENV) $(BIN)/ecom report
	@echo
	@echo "Open the asset UI with: make dev   (then http://127.0.0.1:3000)"

dev: services
	$(WITH_ENV) $(BIN)/python -c "from orchestration.cli import ensure_dagster_home; ensure_dagster_home()" && \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -h 127.0.0.1 -p 3000

# The dbt docs site as one self-contained page; the catalog (column types) comes from the Spark server.
docs: services
	$(WITH_ENV) $(BIN)/dbt docs generate --static --project-dir . --profiles-dir .
	@echo "dbt docs: open target/static_index.html, or serve them: $(BIN)/dbt docs serve --port 8080"

# The pipeline against a one-script PySpark job and DuckDB on the same data, on its own services
# (benchmarks/bench.py; SCALE=10k|1m|10m). Writes benchmarks/results/bench-$(SCALE).json.
SCALE ?= 1m
bench: setup
	$(BIN)/python benchmarks/bench.py --scale $(SCALE)

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not slow"

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean-state: stop
	rm -rf .ecom
