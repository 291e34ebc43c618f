# Carnet: `make run` serves the demo, `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run run-with-providers test bench bench-audit bench-overview bench-overview-full bench-pdf bench-fhir bench-encryption lint format translations extract-messages browser vendor-htmx clean

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

# The demo with its national logins: a local Pro Santé Connect and FranceConnect
# (scripts/identity-providers.mjs, on oidc-provider) on PROVIDERS_PORT, stopped with the portal.
# Both read the same CARNET_* settings. "Se connecter avec Pro Santé Connect", then Dr Sophie
# Bernard, lands on her patients.
PROVIDERS_PORT ?= 8100
PROVIDERS := http://127.0.0.1:$(PROVIDERS_PORT)
run-with-providers: export CARNET_BASE_URL = http://$(HOST):$(PORT)
run-with-providers: export CARNET_PSC_ISSUER = $(PROVIDERS)/psc/.well-known/wallet-openid-configuration
run-with-providers: export CARNET_PSC_CLIENT_ID = carnet
run-with-providers: export CARNET_PSC_CLIENT_SECRET = local-pro-sante-connect-secret
run-with-providers: export CARNET_FRANCECONNECT_ISSUER = $(PROVIDERS)/franceconnect
run-with-providers: export CARNET_FRANCECONNECT_CLIENT_ID = carnet
run-with-providers: export CARNET_FRANCECONNECT_CLIENT_SECRET = local-franceconnect-secret
run-with-providers: $(INSTALLED) translations node_modules/.package-lock.json
	$(BIN)/carnet db upgrade
	$(BIN)/carnet demo
	@echo "Local Pro Santé Connect and FranceConnect: $(PROVIDERS)/psc and $(PROVIDERS)/franceconnect"
	node scripts/identity-providers.mjs --port $(PROVIDERS_PORT) --carnet $(CARNET_BASE_URL) & \
		trap 'kill $$!' EXIT; \
		$(BIN)/carnet serve --host $(HOST) --port $(PORT)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test: $(INSTALLED) translations browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Benchmarks (not part of `make test`): figures recorded in docs/performance.md. The audit,
# overview and FHIR ones also run on PostgreSQL when CARNET_TEST_POSTGRES_URL is set.
# `make bench` takes a few minutes; `make bench-overview-full` adds the 100 000-dossier
# database (about six minutes per database engine).
bench: bench-audit bench-overview bench-pdf bench-fhir bench-encryption

bench-audit: $(INSTALLED)
	$(BIN)/python bench/audit.py

bench-overview: $(INSTALLED) translations
	$(BIN)/python bench/overview.py --sizes 100

bench-overview-full: $(INSTALLED) translations
	$(BIN)/python bench/overview.py --sizes 100,100000

bench-fhir: $(INSTALLED)
	$(BIN)/python bench/fhir.py

# The encrypted portal against one storing in clear, in the same run (docs/encryption.md).
bench-encryption: $(INSTALLED) translations
	$(BIN)/python bench/encryption.py

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

# Debian's chromium and the npm packages the tests use (axe-core, oidc-provider).
browser:
	scripts/install-browser

vendor-htmx: browser
	cp node_modules/htmx.org/dist/htmx.min.js portal/static/htmx.min.js
	sha256sum portal/static/htmx.min.js

clean:
	rm -rf $(VENV) node_modules build dist .pytest_cache .ruff_cache
