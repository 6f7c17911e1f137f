# pteroca: `make run` starts the panel on SQLite, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PTEROCA_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/pteroca init --admin-email admin@example.com
	$(BIN)/pteroca run --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info
