"""Assemble the static site into dist/ and, optionally, serve it under a sub-path.

    python3 build/make_site.py            # build dist/
    python3 build/make_site.py --serve    # build, then serve at http://localhost:8000/pynet/

dist/ holds everything the page needs, all addressed by relative URLs so it works unchanged
under a GitHub Pages sub-path: the Pyodide runtime and Pyodide's NumPy wheel (both verified),
a wheel of pynet built from this checkout, the web/ front end, the chart library, the MNIST
data as compact uint8 .npz files, and a default model trained here by pynet, deterministically.
"""

import argparse
import functools
import hashlib
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch  # noqa: E402

sys.path.insert(0, str(fetch.ROOT))
from pynet.settings import DEFAULT_MODEL, page_settings  # noqa: E402

ROOT = fetch.ROOT
WEB = ROOT / "web"
DIST = ROOT / "dist"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")


def log(msg):
    print(f"[build] {msg}", file=sys.stderr, flush=True)


def source_digest(paths):
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def pynet_sources():
    return [p for p in (ROOT / "pynet").rglob("*.py")] + [ROOT / "pyproject.toml"]


def build_pynet_wheel():
    """A py3-none-any wheel of pynet from this checkout, cached by the sources' hash."""
    key = source_digest(pynet_sources())
    out = fetch.CACHE / "pynet-wheel" / key
    wheels = list(out.glob("pynet-*.whl"))
    if wheels:
        return wheels[0]
    log("pip wheel . (pynet)")
    with tempfile.TemporaryDirectory() as tmp:
        # Build from a copy so no build/ or egg-info debris lands in the checkout.
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "pynet", src / "pynet", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "pyproject.toml", src)
        (src / "README.md").write_text((ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else "pynet\n")
        fetch._run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(Path(tmp) / "w"), str(src)])
        wheel = next((Path(tmp) / "w").glob("pynet-*.whl"))
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheel, out / wheel.name))


def precompiled(pyodide, numpy_wheel, pynet_wheel):
    """The start-up's Python modules byte-compiled by Pyodide itself (build/precompile.mjs):
    {site path: file}, cached by the inputs' hashes."""
    script = ROOT / "build" / "precompile.mjs"
    inputs = [pyodide / "python_stdlib.zip", pyodide / "pyodide-lock.json", numpy_wheel, pynet_wheel, script]
    key = hashlib.sha256("".join(fetch.sha256(p) for p in inputs).encode()).hexdigest()[:16]
    out = fetch.CACHE / "precompiled" / key
    names = {"pyodide/python_stdlib.zip": "python_stdlib.zip", "pyodide/pyodide-lock.json": "pyodide-lock.json",
             f"pyodide/{numpy_wheel.name}": numpy_wheel.name, f"wheels/{pynet_wheel.name}": pynet_wheel.name}
    if not all((out / name).exists() for name in names.values()):
        log("byte-compiling the start-up's modules in Pyodide (build/precompile.mjs)")
        part = out.with_suffix(".part")
        shutil.rmtree(part, ignore_errors=True)
        fetch._run(["node", str(script), str(pyodide), str(numpy_wheel), str(pynet_wheel), str(part)])
        shutil.rmtree(out, ignore_errors=True)
        part.replace(out)
    return {rel: out / name for rel, name in names.items()}


def data_files():
    """mnist-small.npz and mnist-full.npz, made once from the verified mnist.pkl.gz."""
    out = fetch.CACHE / "data"
    small, full = out / "mnist-small.npz", out / "mnist-full.npz"
    if not (small.exists() and full.exists()):
        log("exporting MNIST to uint8 .npz")
        from pynet import data

        data.export_npz(out, fetch.mnist())
    return small, full


def default_model(full_data):
    """Train the default model with pynet (deterministic), cached by pynet's sources and recipe."""
    # Keyed on the modules that decide the trained weights, not on every pynet file.
    math_sources = [ROOT / "pynet" / f"{name}.py" for name in ("conv", "core", "layers", "model", "optim",
                                                               "serialize", "spec", "trainer")]
    key = source_digest(math_sources)[:8] + hashlib.sha256(json.dumps(DEFAULT_MODEL, sort_keys=True).encode()).hexdigest()[:8]
    path = fetch.CACHE / "models" / f"default-{key}.npz"
    if path.exists():
        return path
    log(f"training the default model {DEFAULT_MODEL['spec']!r} (about a minute)")
    code = (
        "import json,sys; from pynet import data, serialize, Network, TrainConfig\n"
        "recipe = json.loads(sys.argv[1]); d = data.load_npz(sys.argv[2])\n"
        "net = Network(recipe.pop('spec'), seed=recipe['seed'])\n"
        "(xtr, ytr), (xte, yte) = d['train'], d['test']\n"
        "hist = net.fit(xtr.T, ytr, TrainConfig(**recipe), test=(xte.T, yte))\n"
        "print(json.dumps(hist[-1]))\n"
        "serialize.save(net, sys.argv[3], {'name': 'default', 'recipe': json.loads(sys.argv[1]),"
        " 'test_acc': hist[-1]['test_acc'], 'train_size': len(ytr)})\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part.npz")
    # One BLAS thread: the same sums in the same order on every machine (and no spinning threads
    # on a busy one), so the default model is reproducible.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = fetch._run([sys.executable, "-c", code, json.dumps(DEFAULT_MODEL), str(full_data), str(part)], cwd=ROOT, env=env)
    log(f"default model: test accuracy {json.loads(out)['test_acc']:.4f}")
    part.replace(path)
    return path


def copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.stat().st_size != src.stat().st_size or dst.read_bytes() != src.read_bytes():
        shutil.copy2(src, dst)


def build(dist=DIST):
    """Assemble the site into dist; return the manifest (relative path -> sha256)."""
    pyodide = fetch.pyodide_dir()
    numpy_wheel = fetch.numpy_wasm_wheel()
    uplot = fetch.npm_package("uplot")
    pynet_wheel = build_pynet_wheel()
    small, full = data_files()
    model = default_model(full)

    staging = {}
    for name in PYODIDE_FILES:
        staging[f"pyodide/{name}"] = pyodide / name
    # Beside pyodide-lock.json, so loadPackage('numpy') finds it and checks its sha256.
    staging[f"pyodide/{numpy_wheel.name}"] = numpy_wheel
    staging[f"wheels/{pynet_wheel.name}"] = pynet_wheel
    # The same files with the start-up's modules byte-compiled (and the lock with NumPy's new sha256)
    staging.update(precompiled(pyodide, numpy_wheel, pynet_wheel))
    staging["vendor/uPlot.iife.min.js"] = uplot / "dist" / "uPlot.iife.min.js"
    staging["vendor/uPlot.min.css"] = uplot / "dist" / "uPlot.min.css"
    staging["vendor/uPlot.LICENSE"] = uplot / "LICENSE"
    staging["data/mnist-small.npz"] = small
    staging["data/mnist-full.npz"] = full
    staging["models/default.npz"] = model
    settings = fetch.CACHE / "site" / "settings.json"  # the page's presets and limits (pynet/settings.py)
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(page_settings(), indent=1, sort_keys=True) + "\n")
    staging["settings.json"] = settings
    for path in WEB.rglob("*"):
        if path.is_file() and path.name != "sw.js":
            staging[str(path.relative_to(WEB))] = path

    wanted = {dist / rel for rel in staging} | {dist / "sw.js", dist / "build.json"}
    if dist.exists():
        for path in dist.rglob("*"):
            if path.is_file() and path not in wanted:
                path.unlink()
    manifest = {}
    for rel, src in sorted(staging.items()):
        copy(src, dist / rel)
        manifest[rel] = fetch.sha256(dist / rel)
    version = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12]
    # The service worker carries the version, so each deploy changes its bytes and the browser
    # installs it anew, with a fresh cache (see web/sw.js).
    (dist / "sw.js").write_text((WEB / "sw.js").read_text().replace("__BUILD_VERSION__", version))
    site = {"version": version, "pynet_wheel": f"wheels/{pynet_wheel.name}", "files": manifest}
    (dist / "build.json").write_text(json.dumps(site, indent=1, sort_keys=True) + "\n")
    log(f"built {dist} ({len(manifest)} files, version {version})")
    return site


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files under a sub-path, like GitHub Pages: no special headers, no COOP/COEP."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                      ".whl": "application/zip", ".npz": "application/octet-stream"}

    def __init__(self, *args, base="/pynet/", **kwargs):
        self.base = base
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        if not path.startswith(self.base):
            return str(Path(self.directory) / "__outside_base__")
        return super().translate_path("/" + path[len(self.base):])

    def do_GET(self):
        if self.path.rstrip("/") == self.base.rstrip("/") and not self.path.endswith("/"):
            self.send_response(301)
            self.send_header("Location", self.base)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, fmt, *args):
        if not getattr(self.server, "quiet", False):
            super().log_message(fmt, *args)


def make_server(dist=DIST, port=8000, base="/pynet/", host="127.0.0.1", quiet=False):
    """An HTTP server for dist under base; port 0 picks a free port. Call serve_forever()."""
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    handler = functools.partial(Handler, directory=str(dist), base=base)
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet
    server.url = f"http://{host if host != '0.0.0.0' else 'localhost'}:{server.server_address[1]}{base}"
    return server


def serve_in_thread(**kwargs):
    server = make_server(**kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="serve dist/ after building")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--base", default="/pynet/", help="URL sub-path, as on GitHub Pages (default /pynet/)")
    parser.add_argument("--out", type=Path, default=DIST)
    args = parser.parse_args(argv)
    try:
        build(args.out)
    except (fetch.VerificationError, RuntimeError) as e:
        sys.exit(f"build failed: {e}")
    if args.serve:
        server = make_server(args.out, args.port, args.base)
        print(f"pynet is served at {server.url}  (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
