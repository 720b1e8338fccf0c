# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck bench bench-compare clean venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m mastra_store.demo

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check mastra_store tests migrations
	$(VENV)/bin/mypy

typecheck: lint

clean:
	rm -rf $(VENV) .cache local.db local.db-wal local.db-shm
