# lofisite: `make run` sets up and starts everything; `make test` runs the whole suite.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
BIND ?= 127.0.0.1:8000

.PHONY: run test setup venv deps dev-deps lint clean

$(VENV)/.created:
	@base="$$(PYTHON="$(PYTHON)" bin/find-python)" || exit 1; \
	echo "Using $$base ($$($$base --version))"; \
	"$$base" -m venv $(VENV) && $(PY) -m pip install --quiet --upgrade pip && touch $@

# Reinstall only when a requirements file changed.
$(VENV)/.deps: requirements.txt $(VENV)/.created
	$(PY) -m pip install --quiet -r requirements.txt && touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt $(VENV)/.deps
	$(PY) -m pip install --quiet -r requirements-dev.txt && touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

# First run writes a local .env (random SECRET_KEY, plain-HTTP cookies for 127.0.0.1).
.env:
	bin/write-local-env $(PY)

setup: deps .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	BIND=$(BIND) $(PY) manage.py bootstrap_admin

run: setup
	@echo "Starting web (http://$(BIND)), worker and scheduler. Ctrl-C stops all."
	BIND=$(BIND) $(VENV)/bin/honcho start

test: dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: dev-deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
