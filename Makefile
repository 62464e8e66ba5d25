# The README's two commands: `make reproduce` (the main job) and `make test` (the test suite).
# Both create or refresh .venv and install adamlab with the exact versions in requirements.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REPORT ?= report
WORKERS ?= 2

.PHONY: install test reproduce bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[test,ray,parquet]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -n $(WORKERS) --dist loadfile

reproduce: $(STAMP)
	$(VENV)/bin/adamlab reproduce --out $(REPORT) --workers $(WORKERS)

bench: $(STAMP)
	$(PY) benchmarks/synthetic_speed.py

clean:
	rm -rf $(VENV) .pytest_cache
