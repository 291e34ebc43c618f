# Carnet: `make run` serves the demo, `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench bench-audit bench-overview bench-overview-full bench-pdf lint format translations extract-messages browser vendor-htmx clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the packaging changes; the editable install keeps code changes live.
$(INSTALLED): pyproject.toml hatch_build.py scripts/install-pdf-libraries | $(BIN)/python
	scripts/install-pdf-libraries
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(INSTALLED)
	$(BIN)/pybabel compile --statistics -d portal/locale -D messages 2>&1 | grep -v '^compiling' || true

run: $(INSTALLED) translations
	$(BIN)/carnet db upgrade
	$(BIN)/carnet demo
	$(BIN)/carnet serve --host $(HOST) --port $(PORT)

test: $(INSTALLED) translations browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Benchmarks (not part of `make test`): figures recorded in docs/performance.md. The audit and
# overview ones also run on PostgreSQL when CARNET_TEST_POSTGRES_URL is set. `make bench` takes a
# few minutes; `make bench-overview-full` adds the 100 000-dossier database (about six minutes
# per database engine).
bench: bench-audit bench-overview bench-pdf

bench-audit: $(INSTALLED)
	$(BIN)/python bench/audit.py

bench-overview: $(INSTALLED) translations
	$(BIN)/python bench/overview.py --sizes 100

bench-overview-full: $(INSTALLED) translations
	$(BIN)/python bench/overview.py --sizes 100,100000

# On SQLite only: a PDF's time is WeasyPrint's, in its worker processes, not the database's.
bench-pdf: $(INSTALLED) translations
	$(BIN)/python bench/pdf.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Messages are written in English in the code; French lives in portal/locale/fr.
# The .po keeps its header (Language, Plural-Forms) but no dates that change on every run, no
# source locations and no obsolete entries (tests/test_translations.py checks the catalog).
extract-messages: $(INSTALLED)
	$(BIN)/pybabel extract -k gettext_lazy --no-location --omit-header -F babel.cfg -o portal/locale/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-pot-creation-date --ignore-obsolete \
		-i portal/locale/messages.pot -d portal/locale -D messages

# Debian's chromium and the npm packages the browser tests inject (axe-core).
browser:
	scripts/install-browser

vendor-htmx: browser
	cp node_modules/htmx.org/dist/htmx.min.js portal/static/htmx.min.js
	sha256sum portal/static/htmx.min.js

clean:
	rm -rf $(VENV) node_modules build dist .pytest_cache .ruff_cache
