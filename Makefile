# newsdesk: `make run` ingests the sample articles, `make test` runs the tests.
# Both create .venv from requirements.lock first; nothing else needs installing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench bench-extract bench-dedup lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: install
	$(BIN)/newsdesk ingest --sources seeds/sources.toml

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

bench-extract: install
	$(BIN)/python bench/extract.py

bench-dedup: install
	$(BIN)/python bench/dedup.py

# Re-pin every dependency after a change to pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	.lock-venv/bin/pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache bench/corpus
