# Two entry points for a fresh machine with only Python 3.11+ and make:
#   make demo   simulate, train, promote and serve
#   make test   the whole test suite
#   make test-fast   all but the tests that start servers or need PostgreSQL,
#                    Chromium or minutes (markers server, postgres, browser, slow)
# Both install the locked environment into .venv/ first.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy

.PHONY: setup demo test test-fast lint bench clean mlflow-ui

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/polku demo

# The MLflow UI on Polku's store (docs/mlflow.md). An MLFLOW_TRACKING_URI in the
# environment wins; the default is the checkout's own store.
MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlruns/mlflow.db
MLFLOW_ARTIFACT_ROOT ?= $(CURDIR)/mlruns/artifacts
MLFLOW_PORT ?= 5000
mlflow-ui: setup
	mkdir -p mlruns
	@MLFLOW_TRACKING_URI='$(MLFLOW_TRACKING_URI)' $(VENV)/bin/python -c \
		"from training.registry.store import runs_table_url; \
		print('Polku runs:', runs_table_url('http://127.0.0.1:$(MLFLOW_PORT)'))"
	MLFLOW_TRACKING_URI='$(MLFLOW_TRACKING_URI)' $(VENV)/bin/mlflow ui \
		--backend-store-uri '$(MLFLOW_TRACKING_URI)' \
		--default-artifact-root '$(MLFLOW_ARTIFACT_ROOT)' \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

# Two processes (pytest-xdist); a module's tests stay in one (tests/support/scheduling.py).
TEST_PROCESSES ?= 2
PYTEST := $(VENV)/bin/python -m pytest -n $(TEST_PROCESSES) --dist loadscope --no-loadscope-reorder

test: setup
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not slow and not server and not postgres and not browser"

lint: setup
	$(VENV)/bin/ruff check model training api tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .tools

# Benchmarks (not tests): install the optional peer learners, then run.
bench-setup: setup
	$(UV) sync --frozen --compile-bytecode --group bench --python $(PYTHON)
	touch $(VENV)/.synced
