# zhongtai — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SDL    := schema/sdl

.PHONY: install run run-federated supergraph test lint format typecheck contracts sdl docs compose-check graphiql graphiql-check bench bench-flash bench-read wrk fuzz fuzz-short lock ci clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zhongtai needs Python 3.11+ (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

## Start the server on the embedded PostgreSQL with demo data (prints a dev token).
run: install
	$(BIN)/zhongtai migrate
	$(BIN)/zhongtai seed-demo
	$(BIN)/zhongtai serve

## The whole suite against the embedded PostgreSQL (or TEST_DATABASE_URL).
test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

## Regenerate the committed SDL (subgraphs and the single-process schema).
sdl: install
	$(BIN)/zhongtai sdl --out $(SDL)

## Compose the nine subgraphs with @apollo/composition; the API schema must equal
## schema.graphql, and the committed SDL must be current.
compose-check: install
	@out=$$(mktemp -d) && $(BIN)/zhongtai sdl --out $$out >/dev/null && \
	  diff -ru $(SDL) $$out --exclude=supergraph.graphql || \
	  { echo "schema/sdl is stale: run 'make sdl' and commit it"; exit 1; }
	npm ci --prefix tools/composition --silent --no-audit --no-fund
	node tools/composition/compose.mjs $(SDL)

## Rebuild GraphiQL's committed assets from the npm lockfile (decision 0170).
GRAPHIQL_ASSETS := kernel/graphql/static/graphiql
graphiql:
	npm ci --prefix tools/graphiql --silent --no-audit --no-fund
	rm -rf $(GRAPHIQL_ASSETS) && node tools/graphiql/build.mjs $(GRAPHIQL_ASSETS)

## The committed GraphiQL assets must be exactly what the lockfile builds.
graphiql-check:
	npm ci --prefix tools/graphiql --silent --no-audit --no-fund
	@out=$$(mktemp -d) && node tools/graphiql/build.mjs $$out && \
	  diff -r $(GRAPHIQL_ASSETS) $$out >/dev/null && echo "GraphiQL assets match tools/graphiql/package-lock.json" || \
	  { echo "$(GRAPHIQL_ASSETS) differs from what tools/graphiql builds: run 'make graphiql' and commit it"; exit 1; }

## Compose the subgraph SDLs into schema/sdl/supergraph.graphql for Hive Gateway, with the
## subgraphs where `make run-federated` serves them (127.0.0.1:4001…, one per subgraph).
supergraph: install
	npm ci --prefix tools/composition --silent --no-audit --no-fund
	SUBGRAPH_URLS='$(shell $(BIN)/python -c "import json; from schema.federated import default_subgraph_urls; print(json.dumps(default_subgraph_urls()))")' \
	  node tools/composition/compose.mjs $(SDL)

## The federated deployment on the demo data: a process per subgraph, a worker, and Hive
## Gateway on http://127.0.0.1:4000/graphql (needs Node 20).
run-federated: install
	npm ci --prefix tools/composition --silent --no-audit --no-fund
	npm ci --prefix deploy/gateway --silent --no-audit --no-fund
	$(BIN)/zhongtai migrate
	$(BIN)/zhongtai seed-demo
	$(BIN)/python -m schema.federated

## Regenerate the generated parts of the docs (permission tables).
docs: install
	$(BIN)/python -m schema.permissions

## Benchmark placeOrder over HTTP against a raw-SQL baseline in the same run.
bench: install wrk
	$(BIN)/python bench/place_order.py $(ARGS)
	$(BIN)/python bench/place_order.py --spread $(ARGS)

## Benchmark flash-sale claims on one hot SKU against the naive row-lock baseline.
bench-flash: install
	$(BIN)/python bench/flash_sale.py

## Read pages (menu, orders, product and order detail) over HTTP, driven by wrk, against
## their raw-SQL twins, at two data sizes. Flags: make bench-read ARGS="--size small --duration 5"
bench-read: install wrk
	$(BIN)/python bench/read_pages.py $(ARGS)

## The HTTP load generator the read bench drives the server with (Debian package wrk).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }; \
	  else \
	    echo "wrk is missing: sudo apt-get install wrk (Debian/Ubuntu) or brew install wrk (macOS)"; exit 1; \
	  fi; }

## Fuzz the API: schemathesis (GraphQL) against a fresh seeded server; fails on any 5xx,
## INTERNAL, stack trace or SQL text (docs/development.md). FUZZ_ARGS="--max-time 600 ...".
fuzz: install
	$(BIN)/python tools/fuzz/run.py $(FUZZ_ARGS)

## The CI run: fixed seed, derandomized, a few examples per operation.
fuzz-short: install
	$(BIN)/python tools/fuzz/run.py --short $(FUZZ_ARGS)

## Re-resolve requirements.lock from pyproject.toml (needs network).
lock:
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --universal --generate-hashes -q -o requirements.lock

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tools/composition/node_modules tools/graphiql/node_modules
