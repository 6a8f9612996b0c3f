# The few verbs people use. Every target installs the project into .venv first (once per
# change of pyproject.toml), so `make dev` and `make test` work on a machine with only Python.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint format migrate bench install clean chromium

dev: $(STAMP)
	$(BIN)/hazardtrack dev

test: $(STAMP) chromium
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/hazardtrack migrate

# The recompute benchmark on generated data; SCALE=tiny|county|province (default county).
SCALE ?= county
bench: $(STAMP)
	$(BIN)/python bench/generate.py --scale $(SCALE)
	$(BIN)/python bench/bench_recompute.py --scale $(SCALE)

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes (the stamp is older than it).
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing hazardtrack and its test tools into $(VENV) …"
	@# uv installs in seconds where pip takes a minute or more; pip stays as the fallback.
	@( $(BIN)/python -m pip install --quiet --disable-pip-version-check uv \
	   && $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]' ) \
	 || $(BIN)/python -m pip install --quiet --no-compile --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# The dashboard's browser test drives Debian's Chromium (a CJK font keeps its screenshot legible);
# a fresh machine of this kind does not have it, so the test target installs it once.
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the dashboard's browser test …"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
