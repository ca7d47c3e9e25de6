# CaseLab: `make run` serves the app with demo accounts; `make test` runs ruff, mypy and the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEMO_PASSWORD ?= caselab-demo
export CASELAB_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/caselab.db

.PHONY: install lint run test db workbench bench clean

# A fresh Debian/Ubuntu has python3 but may lack its venv module: add it when we can.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "Python's venv module is missing: run 'sudo apt-get install python3-venv' and try again" >&2; exit 1; fi; }

# constraints.txt pins every package to the version CI passed with (regenerate it with pip freeze: see its header).
$(STAMP): $(BIN)/python setup.py pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' -c constraints.txt
	@touch $(STAMP)

install: $(STAMP)

db: install
	$(BIN)/caselab db upgrade
	$(BIN)/caselab import scenarios rubrics

run: db
	$(BIN)/caselab demo --password '$(DEMO_PASSWORD)'
	$(BIN)/caselab serve --host $(HOST) --port $(PORT)

# ruff and mypy read their settings from pyproject.toml (mypy checks lms_plugin, the core strictly).
lint: install
	$(BIN)/ruff check . && $(BIN)/mypy

# The broker-fault test kills and restarts real processes: it runs first, in a pytest of its own, on a machine
# not yet busy with the rest of the suite (whose processes and timing it must not share).
FAULT_TEST := tests/test_rush_faults.py
test: install lint
	$(BIN)/python -m pytest -q $(FAULT_TEST)
	$(BIN)/python -m pytest -q --ignore=$(FAULT_TEST) $(PYTEST_ARGS)

# The xblock-sdk workbench with the CaseLab blocks, on the same store as `make run` (CASELAB_DATABASE_URL).
WORKBENCH_PORT ?= 8000
WORKBENCH_DIR  := instance/workbench
WORKBENCH_ENV  := DJANGO_SETTINGS_MODULE=workbench.settings EXCLUDE_SAMPLE_XBLOCKS=yes
workbench: db
	mkdir -p $(WORKBENCH_DIR)/var
	cd $(WORKBENCH_DIR) && $(WORKBENCH_ENV) $(CURDIR)/$(BIN)/django-admin migrate --run-syncdb -v 0
	@echo "CaseLab workbench: http://$(HOST):$(WORKBENCH_PORT)/"
	cd $(WORKBENCH_DIR) && $(WORKBENCH_ENV) $(CURDIR)/$(BIN)/django-admin runserver $(HOST):$(WORKBENCH_PORT)

# Benchmarks read the public data sets in ../shared/datasets (not part of this repository).
bench: install
	$(BIN)/python bench/accuracy_clough.py
	$(BIN)/python bench/passages_pan.py
	$(BIN)/python bench/paraphrase_vnpara.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/speed.py --text bigram --peer-sizes ''

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache test-artifacts
