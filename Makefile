# The README's two commands: `make reproduce` (the main job) and `make test` (the test suite).
# Both create or refresh .venv and install adamlab with the exact versions in requirements.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REPORT ?= report
WORKERS ?= 2

FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: install test reproduce docs bench bench-images data browser clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[test,ray,parquet,docs]"
	touch $(STAMP)

test: $(STAMP) browser
	$(PY) -m pytest -q -n $(WORKERS) --dist loadfile --durations=10

# Headless Chromium for the report's browser test (tests/test_report_browser.py), from Debian's
# chromium and chromium-driver; best effort and only when missing (without them the test is
# skipped with the reason).
browser:
	-@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || \
	  ! command -v apt-get >/dev/null 2>&1 || \
	  { SUDO=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
	    $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && \
	      $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	    echo "note: chromium not installed; the report's browser test will be skipped"; }

# Fashion-MNIST for the real-image track, from Debian's dataset-fashion-mnist; best effort and only
# when the files are missing (without apt, image runs take --data-dir or --download instead).
data:
	-@test -f $(FASHION_MNIST) || ! command -v apt-get >/dev/null 2>&1 || \
	  { SUDO=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
	    $$SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && \
	      $$SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } || \
	    echo "note: dataset-fashion-mnist not installed; image runs need --data-dir or --download"; }

# The synthetic items, plus images-anchor, images-fig1 and images-fig2 when Fashion-MNIST is on
# disk (`adamlab reproduce` prints which, and why; adamlab/report/items/__init__.py).
reproduce: $(STAMP) data
	$(VENV)/bin/adamlab reproduce --out $(REPORT) --workers $(WORKERS)

# The documentation site (mkdocs-material + mkdocstrings, docs/ into site/); the tests build the
# same site with --strict (tests/test_docs.py), so a broken link or API reference fails there too.
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

# The synthetic benchmark with its JAX column: installs the optional `bench` extra (jax, pinned by
# the lock) into .venv first; `make install` and `make test` never need it.
bench: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[bench]"
	$(PY) benchmarks/synthetic_speed.py

bench-images: $(STAMP) data
	$(PY) benchmarks/images_speed.py

clean:
	rm -rf $(VENV) .pytest_cache site
