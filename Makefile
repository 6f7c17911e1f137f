# pteroca: `make run` starts the panel on SQLite, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
export PTEROCA_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run lint test test-postgres install bench clean i18n i18n-init

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/pteroca demo --host 127.0.0.1 --port 5000

# ruff with the settings in pyproject.toml (docs/architecture.md, "Lint"); `make test` runs it
# before the suite, so a lint error fails the build in seconds instead of after the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# --no-loadscope-reorder: longest files first (tests/file_order.py).
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The suite again with every test app on its own fresh PostgreSQL database (tests/conftest.py).
# Needs PTEROCA_TEST_POSTGRES_URL (.ci/run sets it). The browser tests and the wheel build do not
# depend on the database, and the cluster test always runs on PostgreSQL: they already ran in
# `make test`, so this pass leaves them out, and the files that never open a database too
# (tests/database_free.py, checked on every `make test`). --no-loadscope-reorder: the workers
# hand out the longest files first (tests/file_order.py, docs/testing.md "The order of the files").
test-postgres: $(STAMP)
	@test -n "$$PTEROCA_TEST_POSTGRES_URL" || { echo "make test-postgres needs PTEROCA_TEST_POSTGRES_URL: an admin URL of a PostgreSQL server where the tests may create databases (see .ci/run)" >&2; exit 2; }
	PTEROCA_TEST_DATABASE=postgres $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--ignore=tests/browser --ignore=tests/test_packaging.py \
		--ignore=tests/topology/test_cluster.py --ignore=tests/topology/test_cluster_faults.py \
		--ignore=tests/topology/test_journey_browser.py \
		--ignore=tests/pterodactyl/test_simulator.py --ignore=tests/pelican --ignore=tests/pterodactyl/test_client.py \
		--ignore=tests/pterodactyl/test_client_api.py --ignore=tests/devkit/test_e2e.py

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Translations (docs/i18n.md): extract every string into the template, merge it into each
# language's .po, compile the .mo files the app reads. Commit all three.
I18N_DIR      := kernel/translations
I18N_KEYWORDS := -k _l -k lazy_gettext

i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --project=pteroca \
		--copyright-holder="pteroca contributors" \
		-w 100 -o $(I18N_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -w 100 --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(I18N_DIR) --statistics

# Start a new language: make i18n-init LOCALE=de (then translate, then make i18n).
i18n-init: $(STAMP)
	@test -n "$(LOCALE)" || { echo "usage: make i18n-init LOCALE=de"; exit 2; }
	$(BIN)/pybabel init -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -l $(LOCALE) -w 100

clean:
	rm -rf $(VENV) build dist *.egg-info
