# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck bench bench-compare bench-recall clean venv dynamodb-table

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
	$(VENV)/bin/ruff check mastra_store tests migrations bench
	$(VENV)/bin/mypy

typecheck: lint

# Benchmarks (bench/README.md): one run of W1-W8 + C1; SCALE, DATABASE_URL, BENCH_RESET come from the environment.
BENCH_BACKEND ?= store
bench: $(STAMP)
	$(PY) -m bench.run --backend $(BENCH_BACKEND)

# Reference (@mastra/pg, npm-installed into .cache/bench-reference) vs mastra_store vs raw asyncpg, alternating,
# fresh databases each run; writes bench/RESULTS.md. BACKEND=sqlite: SqliteStore vs @mastra/libsql
# (.cache/bench-reference-libsql) on fresh files; writes the SQLite section of bench/RESULTS.md.
BENCH_COMPARE_ARGS ?=
BACKEND ?= postgres
bench-compare: $(STAMP)
	$(PY) -m bench.compare --backend $(BACKEND) $(BENCH_COMPARE_ARGS)
	$(if $(or $(NO_RECALL),$(filter sqlite,$(BACKEND))),,$(PY) -m bench.recall --out bench/RECALL.md)

# Recall workload (issue 15): mastra_store vs Node @mastra/pg + @mastra/memory on a private pgvector server, and SQLite.
bench-recall: $(STAMP)
	$(PY) -m bench.recall --out bench/RECALL.md

# Create the DynamoDB table (all GSIs, TTL on): make dynamodb-table TABLE=mastra REGION=eu-west-1 [ENDPOINT=http://127.0.0.1:8000]
dynamodb-table: $(STAMP)
	$(PY) -m mastra_store.backends.dynamodb --table $(TABLE) $(if $(REGION),--region $(REGION)) $(if $(ENDPOINT),--endpoint $(ENDPOINT))

clean:
	rm -rf $(VENV) .cache local.db local.db-wal local.db-shm
