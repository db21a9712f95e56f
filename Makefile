# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv from the lock file first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

.PHONY: venv java demo test test-spark lint dev lock clean browser docs

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Spark (CDP_ENGINE=spark and the tests marked `spark`) needs a Java 17 runtime: from Debian, only when missing.
java:
	@command -v java >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

demo: venv
	$(BIN)/cdp demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every test, Spark's engine tests (marker `spark`, ~10 min on 2 cores) included; `make test-spark` runs
# only those.
test: venv lint java
	$(BIN)/python -m pytest -q --durations=40

test-spark: venv java
	$(BIN)/python -m pytest -q -m spark

CDP_HOME ?= $(CURDIR)/.cdp
DAGSTER_HOME ?= $(CDP_HOME)/dagster

# The UI on the instance `cdp run` and `cdp demo` record their runs in (CDP_HOME/dagster): sensors, the
# automation sensor and alerts are on by default; schedules are off until turned on.
dev: venv
	mkdir -p $(DAGSTER_HOME) && cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	CDP_HOME=$(CDP_HOME) DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -w workspace.yaml

# Headless Chromium from Debian for the UI's browser test (Playwright drives it; it downloads no browser).
browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

docs: venv
	$(BIN)/cdp docs

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: venv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .cdp dbt_project/target dbt_project/logs dbt_project/dbt_packages
