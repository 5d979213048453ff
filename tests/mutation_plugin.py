"""pytest plugin for the mutation runs (tests/mutation.py): every session imports the test modules anew.

mutmut runs pytest many times in one process (then forks it for each mutant). pytest 9 keeps
state on the parametrize marks of an imported test module, and a second collection of
``ids=repr`` parameters holding backslashes doubles them, so the test ids mutmut recorded no
longer match and pytest exits with "not found". Forgetting the test modules first makes each
session collect exactly what a fresh process would.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def pytest_sessionstart(session):
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent == TESTS and Path(path).name.startswith(("test_", "conftest")):
            del sys.modules[name]
