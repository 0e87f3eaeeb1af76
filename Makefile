# newsdesk: `make run` ingests the sample articles, `make test` runs the tests.
# Both create .venv from requirements.lock first; nothing else needs installing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit lint format bench bench-extract bench-dedup bench-stories bench-web bench-scale bench-lock bench-analyst bench-metadata lock clean

install: $(STAMP)

# Python 3.11 or newer, checked before .venv is made; a .venv made by an older
# Python (or half made) is removed and made again.
PYTHON_OK := import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c '$(PYTHON_OK)' 2>/dev/null || { \
	  echo "newsdesk needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo 'not found')"; \
	  echo "Install one, then run e.g. 'make PYTHON=python3.12 $(or $(MAKECMDGOALS),install)'."; exit 2; }
	@if [ -d $(VENV) ] && ! $(BIN)/python -c '$(PYTHON_OK)' 2>/dev/null; then \
	  echo "Removing $(VENV): it was made by another Python ($$($(BIN)/python --version 2>&1 || echo none))."; \
	  rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (a few minutes the first time)..."
	@if [ -t 1 ]; then quiet=; else quiet=--quiet; fi; \
	  $(BIN)/pip install $$quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)
	@echo "Installed. Call newsdesk as $(BIN)/newsdesk, or 'source $(BIN)/activate' first."

run: install
	$(BIN)/newsdesk ingest --sources seeds/sources.toml

test: install
	$(BIN)/python -m pytest

# The pure tests alone: no database, no Prefect.
test-unit: install
	$(BIN)/python -m pytest tests/unit

# mypy resolves modules by folder, so it reads flows/ and tasks/ through a tree of
# links that lays them out as installed (newsdesk.flows, newsdesk.tasks).
TYPECHECK := build/typecheck/newsdesk

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf build/typecheck && mkdir -p $(TYPECHECK)
	ln -s $(CURDIR)/newsdesk/*.py $(TYPECHECK)/
	ln -s $(CURDIR)/flows $(TYPECHECK)/flows
	ln -s $(CURDIR)/tasks $(TYPECHECK)/tasks
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p newsdesk

# Fix what ruff can fix, and format.
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench.run

bench-extract: install
	$(BIN)/python -m bench.extract

bench-web: install
	$(BIN)/python -m bench.web

# One day over 1 and 2 Dask workers pinned to a core each (docs/scale.md).
bench-scale: install
	$(BIN)/python -m bench.scale

bench-lock: install
	$(BIN)/python -m bench.lock_probe --workers 1
	$(BIN)/python -m bench.lock_probe --workers 2
	$(BIN)/python -m bench.lock_probe --limit 2000 --batch 10 --workers 1
	$(BIN)/python -m bench.lock_probe --limit 2000 --batch 10 --workers 2

bench-dedup: install
	$(BIN)/python -m bench.dedup

# Metadata against what the pages themselves state, on both page sets of bench/data and the seeds.
bench-metadata: install
	$(BIN)/python -m bench.metadata

# Same-event stories on the 676 real pages of bench/data (hand labels in bench/data/stories-dev),
# the copy tiers, and the story decision's cost as the corpus grows.
bench-stories: install
	$(BIN)/python -m bench.stories

# Story queries at 200,000 generated articles (a scratch database on $TEST_DATABASE_URL's or $DATABASE_URL's server).
bench-analyst: install
	$(BIN)/python -m bench.analyst

# Re-pin every dependency after a change to pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[test,lint,bench]'
	.lock-venv/bin/pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build bench/corpus
