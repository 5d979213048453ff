"""Run pynet's native test suite inside Pyodide under Node, against the built site.

    python tests/pyodide/run.py [--no-build] [pytest args...]

Builds dist/ with build/make_site.py (cached: seconds when nothing changed; --no-build only checks
that dist/ exists), makes sure the verified pytest wheels and MNIST are in .cache/ (build/fetch.py),
then runs `node tests/pyodide/run_pytest.mjs`, which loads the Pyodide that dist/ ships, installs
the pynet wheel that dist/build.json names, and runs pytest on tests/ (minus tests/e2e and the
`browser` marker). Extra arguments go to pytest. The exit code is pytest's; 5 (nothing
collected) counts as a failure.
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "build"))
import fetch  # noqa: E402
import make_site  # noqa: E402


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    build = "--no-build" not in argv
    argv = [a for a in argv if a != "--no-build"]
    node = shutil.which("node")
    if node is None:
        print("run.py: node (>= 18) is needed to run the tests in Pyodide", file=sys.stderr)
        return 3
    builder = make_site
    dist = builder.DIST
    try:
        if build:
            builder.build(dist)
        elif not (dist / "build.json").exists():
            print(f"run.py: {dist}/build.json is missing; run without --no-build", file=sys.stderr)
            return 3
        wheels = fetch.test_wheels()
        fetch.mnist()
    except (fetch.VerificationError, RuntimeError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 3
    cmd = [node, str(HERE / "run_pytest.mjs"), "--dist", str(dist), "--tests", str(ROOT / "tests"),
           "--cache", str(fetch.CACHE)]
    for wheel in wheels:
        cmd += ["--wheel", str(wheel)]
    cmd += ["--", *argv]
    t0 = time.monotonic()
    code = subprocess.call(cmd, cwd=ROOT)
    print(f"[run.py] Pyodide test run: exit code {code} in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
