// Byte-compile, once at build time, the Python modules the page imports while it starts, so
// that the browser does not compile them from source on every visit (about half of the
// runtime's start-up, measured in benchmarks/start_results.md).
//
//   node build/precompile.mjs PYODIDE_DIR NUMPY_WHEEL PYNET_WHEEL OUT_DIR
//
// Runs Pyodide itself (PYODIDE_DIR, the verified npm package) under Node, so the bytecode is
// that of the very interpreter the page runs. It imports NumPy and every pynet module, loads an
// .npz as the page does, and writes to OUT_DIR:
//   python_stdlib.zip    the original, each standard-library module imported as NAME.pyc instead of NAME.py
//   NUMPY_WHEEL's name   the original, each NumPy module imported as NAME.pyc instead of NAME.py
//   PYNET_WHEEL's name   the original, plus __pycache__/NAME.cpython-312.pyc for every pynet module
//   pyodide-lock.json    the original, with the new NumPy wheel's sha256 (loadPackage checks it)
// Bytecode is about twice the size of compressed source, so it replaces the source of the
// standard library's and NumPy's modules (their tracebacks lose source lines, as with Pyodide's
// own prebuilt packages); pynet keeps its source, for tracebacks and for showing its code. The
// .pyc files are unchecked hash-based ones (PEP 552): they do not depend on file times, and a
// build is reproducible.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pyodideDir, numpyWheel, pynetWheel, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node build/precompile.mjs PYODIDE_DIR NUMPY_WHEEL PYNET_WHEEL OUT_DIR');
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, 'pyodide.mjs')).href);
const py = await loadPyodide({ indexURL: path.resolve(pyodideDir) + path.sep });
const sitePackages = py.runPython('import site; site.getsitepackages()[0]');
// NumPy as the page installs it (loadPackage also loads its shared libraries); pynet unpacked.
await py.loadPackage(path.resolve(numpyWheel), { messageCallback: () => {}, checkIntegrity: false });
py.unpackArchive(new Uint8Array(fs.readFileSync(pynetWheel)), 'wheel', { extractDir: sitePackages });
for (const wheel of [numpyWheel, pynetWheel]) {
  py.FS.writeFile(`/tmp/${path.basename(wheel)}`, new Uint8Array(fs.readFileSync(wheel)));
}
py.FS.writeFile('/tmp/stdlib.zip', new Uint8Array(fs.readFileSync(path.join(pyodideDir, 'python_stdlib.zip'))));
py.globals.set('NAMES', JSON.stringify({ numpy: path.basename(numpyWheel), pynet: path.basename(pynetWheel) }));
py.runPython(String.raw`
import importlib.util, io, json, pkgutil, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

names = json.loads(NAMES)
import numpy as np
import pynet
for module in pkgutil.walk_packages(pynet.__path__, "pynet."):
    if module.name != "pynet.__main__":  # the command line, which would run
        importlib.import_module(module.name)
buffer = io.BytesIO()
np.savez_compressed(buffer, a=np.zeros(3, np.uint8))
np.load(io.BytesIO(buffer.getvalue()))["a"]
imported = {m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py")}

def pyc(source, filename):
    code = compile(source, filename, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))

def build_only(name):
    """What NumPy ships for building and type-checking against it, never read at run time (the
    page unpacks every file of the wheel while it starts). Its extension modules all stay: even
    a test module is imported by 'import numpy' (numpy._core._add_newdocs)."""
    return name.endswith((".pyi", ".h", ".a", ".pxd", ".pyx", ".c"))

def rewrite(src, dst, mount, keep_source, skip=lambda name: False):
    """Copy the zip src to dst with bytecode for each imported module under mount: beside its
    source (__pycache__/NAME.cpython-312.pyc) if keep_source, else in its place (NAME.pyc);
    without the files skip(name) names."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        added = 0
        for info in zin.infolist():
            if skip(info.filename):
                continue
            data = zin.read(info)
            filename = mount + info.filename
            if not (info.filename.endswith(".py") and filename in imported):
                zout.writestr(info, data)
                continue
            if keep_source:
                zout.writestr(info, data)
            name = importlib.util.cache_from_source(info.filename) if keep_source else info.filename + "c"
            compiled = zipfile.ZipInfo(name, info.date_time)
            compiled.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(compiled, pyc(data, filename))
            added += 1
    return added

site_packages = pynet.__path__[0].rsplit("/", 1)[0] + "/"
counts = {
    "stdlib": rewrite("/tmp/stdlib.zip", "/tmp/out-stdlib.zip", "/lib/python312.zip/", False),
    "numpy": rewrite("/tmp/" + names["numpy"], "/tmp/out-numpy.whl", site_packages, False, build_only),
    "pynet": rewrite("/tmp/" + names["pynet"], "/tmp/out-pynet.whl", site_packages, True),
}
print(json.dumps(counts))
`);
fs.mkdirSync(outDir, { recursive: true });
const write = (from, name) => fs.writeFileSync(path.join(outDir, name), py.FS.readFile(from));
write('/tmp/out-stdlib.zip', 'python_stdlib.zip');
write('/tmp/out-numpy.whl', path.basename(numpyWheel));
write('/tmp/out-pynet.whl', path.basename(pynetWheel));
const lock = JSON.parse(fs.readFileSync(path.join(pyodideDir, 'pyodide-lock.json'), 'utf8'));
const { createHash } = await import('node:crypto');
lock.packages.numpy.sha256 = createHash('sha256').update(fs.readFileSync(path.join(outDir, path.basename(numpyWheel)))).digest('hex');
fs.writeFileSync(path.join(outDir, 'pyodide-lock.json'), JSON.stringify(lock));
