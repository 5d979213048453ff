# The two commands a newcomer needs:
#   make serve   build the site (Pyodide, NumPy, pynet, MNIST, a default model) and serve it
#   make test    run every test: native pytest, the same suite inside Pyodide, the browser tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: serve site test test-native test-pyodide test-browser bench bench-peers mutation clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# puppeteer-core for the Firefox tests (it downloads no browser: they use Debian's firefox-esr), axe-core for
# the accessibility tests
E2E_NODE := tests/e2e/node_modules/.package-lock.json
$(E2E_NODE): tests/e2e/package.json tests/e2e/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd tests/e2e && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Firefox and accessibility tests will be skipped"; fi

serve: $(VENV)/.installed
	$(PY) build/make_site.py --serve --port $(PORT)

site: $(VENV)/.installed
	$(PY) build/make_site.py

# PYNET_SLOW=1: "all tests" includes the seed's full 2000-iteration headline run.
# --no-blas: the native suite again, its matrix products on the path Pyodide takes (np.einsum).
# The Pyodide run fails on any skip but those marked not_in_pyodide (--strict-skips).
# tests/js: the page's modules that need no browser, under Node's test runner.
test: $(VENV)/.installed $(E2E_NODE)
	$(PY) build/make_site.py
	PYNET_SLOW=1 $(PY) -m pytest -q -rs
	$(PY) -m pytest -q --no-blas tests --ignore=tests/e2e
	node --test tests/js/
	PYNET_SLOW=1 $(PY) tests/pyodide/run.py

bench: $(VENV)/.installed
	$(PY) build/make_site.py
	$(PY) benchmarks/run.py

# pynet against TensorFlow.js (same Chromium), scikit-learn and PyTorch (native): fetches the
# peers into .cache/peers/ (npm ci, pip --require-hashes) and writes benchmarks/peers_results.md
bench-peers: $(VENV)/.installed
	$(PY) benchmarks/peers.py

# Mutation testing (slow, not in CI): score per module of pynet/; MODULES="optim model" for a subset.
mutation: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[mutation]'
	$(PY) tests/mutation.py $(MODULES)

clean:
	rm -rf dist .cache/pynet-wheel
