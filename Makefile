# OMS — run the demo or the test suite from a fresh clone.
#   make run    virtualenv, install, migrate, seed demo data, serve on http://127.0.0.1:8000
#   make test   the whole test suite on PostgreSQL (DATABASE_URL, default local postgres)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres

.PHONY: run install migrate seed serve worker beat test lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	./scripts/serve.sh $(HOST) $(PORT)

worker: install
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-oms.settings.local} \
		$(BIN)/celery -A oms worker --loglevel=INFO

beat: install
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-oms.settings.local} \
		$(BIN)/celery -A oms beat --loglevel=INFO

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/pytest -n $${PYTEST_WORKERS:-2}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

typecheck: install
	$(BIN)/mypy core oms customers inventory shipping orders fulfillment billing returns selfservice webhooks analytics planning tools

check: lint typecheck
	DJANGO_SETTINGS_MODULE=oms.settings.test DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
		$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles

# Every figure of the benchmark in one run, each beside the peer and the SQL limit, written
# to docs/benchmarks.md: order intake (OMS, also paid by card, the peer, the SQL limit at
# 1, 4 and 16 clients) and invoicing; routing (one order per task, then batches on 1, 2
# and 4 workers); intake under pressure (hot SKU, 64 and 256 clients, batch intake);
# the background pipeline (commit -> e-mail, the relay). Duration: BENCH_SECONDS=5, the
# short mode that checks every step runs, took 22 minutes on 2 cores under a load of
# 7-14 (the peer's first run installing it included); the default (20 s runs, a
# 100,000-order routing backlog) adds about 14 minutes of runs and setup to that: about
# 35 minutes (an estimate). BENCH_SUITE ("intake routing pressure pipeline") picks the
# steps after intake; BENCH_CLIENTS ("1 4 16"), BENCH_INVOICES (200); see bench/run.sh.
# The console and the reports at a million orders are not part of it: they need the
# million-order database (make bench-console, bench/reports.py).
.PHONY: bench
bench: install
	BENCH_COMMAND="make bench" bash bench/run.sh

# The console at a million orders: rebuilds BENCH_CONSOLE_DATABASE_URL (default
# bench_console) with BENCH_CONSOLE_ORDERS orders (1000000) by COPY, then times the order
# list, filters, searches, a deep page and a 50-line order page beside a plain ModelAdmin;
# writes its section of docs/benchmarks.md. See bench/console.py.
.PHONY: bench-console
bench-console: install
	$(BIN)/python bench/console.py all --orders $${BENCH_CONSOLE_ORDERS:-1000000} --write-docs

# One section of make bench on its own (the figures of the other sections are not
# refreshed): intake under pressure, with the SQL limit measured again
# (bench/pressure.sh); the background pipeline (bench/pipeline.py).
.PHONY: bench-pressure bench-pipeline
bench-pressure: install
	BENCH_COMMAND="make bench-pressure" bash bench/pressure.sh

bench-pipeline: install
	$(BIN)/python bench/pipeline.py --clients 16 4 --rates 8 16 --seconds 20 \
		--command-line "make bench-pipeline"

# Screenshots of the console's main pages for docs/screenshots/ (a throwaway demo on
# SQLite, one signed-in browser per role; needs /usr/bin/chromium). See scripts/screenshots.py.
.PHONY: screenshots
screenshots: install
	$(BIN)/python scripts/screenshots.py
