# Común CMS — set-up, run, tests, benchmarks, translations.
# Quick start: `make run` (serve http://127.0.0.1:5000 with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
COMUN := $(VENV)/bin/comun
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
XDIST ?= -n 2 --dist worksteal

.PHONY: install run test test-sqlite test-postgres bench lint translations clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(COMUN) init
	$(COMUN) notary demo-witness --quiet
	$(COMUN) demo
	$(COMUN) search reindex --quiet
	$(COMUN) run

# Both databases: SQLite always; PostgreSQL when the server at $(PG_URL) answers
# (with COMUN_REQUIRE_POSTGRES=1, as in CI, a missing server is a failure).
test: install
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ "$$COMUN_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL at $(PG_URL) does not answer and COMUN_REQUIRE_POSTGRES=1"; exit 1; \
	else echo "PostgreSQL at $(PG_URL) does not answer: PostgreSQL run skipped."; fi

test-sqlite: install
	@echo "== tests on SQLite"
	$(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)

test-postgres: install
	@echo "== tests on PostgreSQL ($(PG_URL))"
	COMUN_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -q $(XDIST) -m 'not browser' $(PYTEST_ARGS)

bench: install
	$(PY) bench/run_all.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m compileall -q comun_cms plugins

# Extract every message (core + each plugin), create missing catalogs, update them, fill the
# English ones (msgstr = msgid), compile; then list what still needs a Spanish translation.
translations: install
	$(PY) tools/i18n_check.py --update
	$(PY) tools/i18n_check.py --missing

# Removes the virtual environment and caches only. instance/ holds the database, uploads, the
# secret key and the notary's private keys: delete it by hand, knowingly.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
