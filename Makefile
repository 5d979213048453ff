# The two commands a newcomer needs:
#   make serve   build the site (Pyodide, NumPy, pynet, MNIST, a default model) and serve it
#   make test    run every test: native pytest, the same suite inside Pyodide, the browser tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: serve site test test-native test-pyodide test-browser bench mutation clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

serve: $(VENV)/.installed
	$(PY) build/site.py --serve --port $(PORT)

site: $(VENV)/.installed
	$(PY) build/site.py

# PYNET_SLOW=1: "all tests" includes the seed's full 2000-iteration headline run.
test: $(VENV)/.installed
	$(PY) build/site.py
	PYNET_SLOW=1 $(PY) -m pytest -q
	$(PY) tests/pyodide/run.py

bench: $(VENV)/.installed
	$(PY) build/site.py
	$(PY) benchmarks/run.py

# Mutation testing (slow, not in CI): score per module of pynet/; MODULES="optim model" for a subset.
mutation: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[mutation]'
	$(PY) tests/mutation.py $(MODULES)

clean:
	rm -rf dist .cache/pynet-wheel
