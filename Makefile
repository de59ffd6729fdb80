# `make demo` and `make test` create the environment when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench fixtures lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py
	@echo "The wengert command is $(VENV)/bin/wengert (try $(VENV)/bin/wengert --help);"
	@echo "to type wengert alone, activate the environment first: . $(VENV)/bin/activate"

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The benchmarks compare against PyTorch, JAX, micrograd, scikit-learn and SciPy, which
# `make test` never installs. numba goes into a folder of its own, read by the peers' bench
# alone: in the environment itself it would become every test's "auto" backend.
BENCH_SITE := .bench-site
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[peers]"
	test -d $(BENCH_SITE)/numba || $(PY) -m pip install --quiet --no-deps --target $(BENCH_SITE) "numba>=0.60" llvmlite
	$(PY) bench/engine_overhead.py --quick
	$(PY) bench/training.py
	$(PY) bench/lbfgs.py
	$(PY) bench/distributed.py
	PYTHONPATH=$(BENCH_SITE) $(PY) bench/peers.py

fixtures: $(STAMP)
	$(PY) -m pip install --quiet -e ".[peers]"
	$(PY) scripts/make_fixtures.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(BENCH_SITE) build *.egg-info .pytest_cache .ruff_cache .hypothesis
