# cav_stack: `make drive` runs the default scenario, `make test` runs the test suite.
# Both create .venv (Python 3.11 or newer) and install the package into it when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# torch is pinned: on these machines 2.13.0 is a CPU build from local disk; unpinned pulls CUDA.
EXTRAS := sim,test,gpu,record,carla,dds,ray,ros,openscenario

.PHONY: drive lint test test-fast bench clean

$(INSTALLED): setup.cfg setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

drive: $(INSTALLED)
	$(VENV)/bin/cav-stack drive --scenario highway_cut_in --controller stack

# Unit and integration tests run in separate pytest sessions, each spread over TEST_JOBS worker
# processes (pytest-xdist; libsumo keeps one simulation per process, so a worker runs its tests one
# after the other). --dist loadfile keeps a module's shared fixtures (one scenario run) in one worker.
TEST_JOBS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile

# Static checks, before the tests and failing the build on any finding: style (ruff.toml), types
# (mypy.ini: strict on core, world and the algorithm packages) and the import layers (.importlinter).
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo

test: lint
	$(PYTEST) test/unit test/ros
	$(PYTEST) test/integration

test-fast: $(INSTALLED)
	$(PYTEST) -m "not slow"

bench: $(INSTALLED)
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
