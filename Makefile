# Maillon: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The virtual environment is rebuilt only when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HTMX_VERSION := 2.0.11
HTMX := src/maillon/web/static/vendor/htmx.min.js

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# htmx is fetched from the npm registry at the pinned version; without npm the pages still work
# (plain form submits instead of partial updates).
$(HTMX):
	@mkdir -p $(dir $(HTMX))
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack htmx.org@$(HTMX_VERSION) --silent >/dev/null 2>&1 \
	  && tar xzf htmx.org-$(HTMX_VERSION).tgz) && cp $$tmp/package/dist/htmx.min.js $@ \
	  && echo "fetched htmx $(HTMX_VERSION)" || echo "npm unavailable: pages run without htmx"; \
	  rm -rf $$tmp

run: $(STAMP) $(HTMX)
	$(BIN)/maillon demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

pytest: $(STAMP) $(HTMX)
	$(BIN)/pytest -q

test: lint pytest

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) maillon-data
