# cav_stack: `make drive` runs the default scenario, `make test` runs the test suite.
# Both create .venv (Python 3.11 or newer) and install the package into it when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# torch is pinned: on these machines 2.13.0 is a CPU build from local disk; unpinned pulls CUDA.
EXTRAS := sim,test,gpu,record,carla,dds

.PHONY: drive test test-fast bench clean

$(INSTALLED): setup.cfg setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

drive: $(INSTALLED)
	$(VENV)/bin/cav-stack drive --scenario highway_cut_in --controller stack

# Unit and integration tests run in separate processes (libsumo keeps one simulation per process).
test: $(INSTALLED)
	$(PY) -m pytest -q test/unit test/ros
	$(PY) -m pytest -q test/integration

test-fast: $(INSTALLED)
	$(PY) -m pytest -q -m "not slow"

bench: $(INSTALLED)
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
