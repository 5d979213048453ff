// Run pynet's pytest suite inside Pyodide under Node, with exactly what the site ships.
//
//   node tests/pyodide/run_pytest.mjs [runner options] [pytest args...] [-- pytest args...]
//
// Runner options (everything else, and everything after "--", goes to pytest):
//   --dist DIR         the built site (default: <repo>/dist); Pyodide is loaded from DIR/pyodide/
//                      and pynet is installed from the wheel named by DIR/build.json
//   --wheel PATH       a pure-Python wheel to install (pytest and its dependencies); repeatable.
//                      Default: every *-py3-none-any.whl in <repo>/.cache/wheels
//   --tests DIR        the tests directory (default: <repo>/tests)
//   --cache DIR        mounted as PYNET_CACHE (default: <repo>/.cache)
//
// The tests and the cache are NODEFS mounts; pynet is imported from the installed wheel (the
// repo checkout is not on sys.path inside Pyodide). Browser tests (tests/e2e, marker "browser")
// are excluded. The process exits with pytest's exit code; 5 (no tests collected) is a failure.

import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");

// Inside Pyodide: /repo/pyproject.toml (copied, for the pytest config and markers),
// /repo/tests (NODEFS), /repo/.cache (NODEFS). No pynet/ directory here, on purpose.
const VREPO = "/repo";
const VTESTS = `${VREPO}/tests`;
const VCACHE = `${VREPO}/.cache`;

function fail(msg, code = 3) {
  process.stderr.write(`run_pytest.mjs: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { dist: path.join(REPO, "dist"), wheels: [], tests: path.join(REPO, "tests"),
                 cache: path.join(REPO, ".cache"), pytest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--") { opts.pytest.push(...argv.slice(i + 1)); break; }
    else if (a === "--dist") opts.dist = value();
    else if (a === "--wheel") opts.wheels.push(value());
    else if (a === "--tests") opts.tests = value();
    else if (a === "--cache") opts.cache = value();
    else opts.pytest.push(a);
  }
  for (const k of ["dist", "tests", "cache"]) opts[k] = path.resolve(opts[k]);
  opts.wheels = opts.wheels.map((w) => path.resolve(w));
  if (opts.wheels.length === 0) {
    const dir = path.join(REPO, ".cache", "wheels");
    if (fs.existsSync(dir)) {
      opts.wheels = fs.readdirSync(dir).filter((f) => f.endsWith("-py3-none-any.whl")).sort()
        .map((f) => path.join(dir, f));
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const pyodideDir = path.join(opts.dist, "pyodide");
const buildJson = path.join(opts.dist, "build.json");
for (const p of [path.join(pyodideDir, "pyodide.mjs"), buildJson, opts.tests]) {
  if (!fs.existsSync(p)) fail(`${p} is missing (build the site first: python3 build/make_site.py)`);
}
if (!opts.wheels.some((w) => path.basename(w).toLowerCase().startsWith("pytest-"))) {
  fail("no pytest wheel given (--wheel) or found in .cache/wheels (python3 tests/pyodide/run.py fetches them)");
}
const pynetWheel = path.join(opts.dist, JSON.parse(fs.readFileSync(buildJson, "utf8")).pynet_wheel);
if (!fs.existsSync(pynetWheel)) fail(`${pynetWheel} (named by build.json) is missing`);

const t0 = Date.now();
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep });
// Unbuffered, byte-exact output so pytest's progress and report show up as they are written.
function writeAll(fd, buf) {
  for (let off = 0; off < buf.length;) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err; // a full non-blocking pipe: try again
    }
  }
  return buf.length;
}
pyodide.setStdout({ write: (buf) => writeAll(1, buf) });
pyodide.setStderr({ write: (buf) => writeAll(2, buf) });
const note = (msg) => process.stderr.write(`[pyodide] ${msg}\n`);

// NumPy from the lock file beside pyodide.mjs (its sha256 is checked by loadPackage).
await pyodide.loadPackage("numpy", { messageCallback: note, errorCallback: note });
// pynet from the site's wheel, pytest & co. from the verified wheels: into site-packages.
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const wheel of [pynetWheel, ...opts.wheels]) {
  // A plain Uint8Array copy: Pyodide 0.27 fails on a Node Buffer here.
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel", { extractDir: sitePackages });
  note(`installed ${path.basename(wheel)}`);
}

const FS = pyodide.FS;
FS.mkdirTree(VTESTS);
FS.mkdirTree(VCACHE);
FS.mount(FS.filesystems.NODEFS, { root: opts.tests }, VTESTS);
FS.mount(FS.filesystems.NODEFS, { root: opts.cache }, VCACHE);
const pyproject = path.join(path.dirname(opts.tests), "pyproject.toml");
if (fs.existsSync(pyproject)) FS.writeFile(`${VREPO}/pyproject.toml`, fs.readFileSync(pyproject));
note(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

// --strict-skips: a skip other than a test marked not_in_pyodide fails the run (tests/conftest.py).
const args = ["-q", "--capture=sys", "--strict-skips", "-m", "not browser", "-p", "no:cacheprovider",
              VTESTS, `--ignore=${VTESTS}/e2e`, ...opts.pytest];
pyodide.globals.set("PYTEST_ARGS", pyodide.toPy(args));
pyodide.globals.set("PYNET_CACHE", VCACHE);
pyodide.globals.set("SITE_PACKAGES", sitePackages);
// PYNET_SLOW=1 selects the slow tests, as natively (see tests/conftest.py).
pyodide.globals.set("PYNET_SLOW", process.env.PYNET_SLOW ?? "");
let code;
try {
  code = await pyodide.runPythonAsync(`
import os, sys
os.environ["PYNET_CACHE"] = PYNET_CACHE
if PYNET_SLOW:
    os.environ["PYNET_SLOW"] = PYNET_SLOW
sys.dont_write_bytecode = True  # nothing written into the mounted tests/ directory
os.chdir(${JSON.stringify(VREPO)})
import numpy, pynet, pytest
print(f"pynet {pynet.__version__} from {pynet.__file__}")
print(f"numpy {numpy.__version__}, pytest {pytest.__version__}, {sys.platform}, Python {sys.version.split()[0]}")
if not pynet.__file__.startswith(SITE_PACKAGES + "/pynet/"):
    raise SystemExit(f"pynet was not imported from the installed wheel: {pynet.__file__}")
sys.stdout.flush()
_code = int(pytest.main(list(PYTEST_ARGS)))
sys.stdout.flush(); sys.stderr.flush()
_code
`);
} catch (err) {
  process.stderr.write(`${err}\n`);
  code = 3;
}
if (code === 5) process.stderr.write("run_pytest.mjs: pytest collected no tests (exit 5): counted as a failure\n");
note(`pytest exit code ${code}, ${((Date.now() - t0) / 1000).toFixed(1)}s in all`);
process.exit(code === 0 ? 0 : code || 1);
